//! The `rollouts-dashboard` binary: parse the configuration, set up logs, run the server.

use std::process::ExitCode;

use clap::Parser;
use rollouts_dashboard::config::Config;

// mimalloc returns freed memory to the system where glibc's malloc keeps it: the initial list
// of a big cluster is parsed and dropped, and with glibc the process kept that peak for good.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
