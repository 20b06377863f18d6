//! The `rollouts-dashboard` binary: parse the configuration, set up logs, run the server.

use std::process::ExitCode;

use clap::Parser;
use rollouts_dashboard::config::Config;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    rollouts_dashboard::telemetry::init(config.log_format);
    match rollouts_dashboard::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let err = anyhow::Error::from(err);
            eprintln!("rollouts-dashboard: {err:#}");
            ExitCode::FAILURE
        }
    }
}
