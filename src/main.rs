//! The `rollouts-dashboard` binary: parse the configuration, set up logs, run the server.
//!
//! Named (or linked as) `kubectl-rollouts_dashboard` on PATH, it is the kubectl plugin
//! `kubectl rollouts-dashboard`; help and errors then name it that way.

use std::ffi::OsStr;
use std::path::Path;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use rollouts_dashboard::build_info;
use rollouts_dashboard::config::Config;

// mimalloc returns freed memory to the system where glibc's malloc keeps it: the initial list
// of a big cluster is parsed and dropped, and with glibc the process kept that peak for good.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The file name kubectl looks for on PATH to run `kubectl rollouts-dashboard` (kubectl maps
/// a `-` in the command to `_` in the file name).
const KUBECTL_PLUGIN_FILE: &str = "kubectl-rollouts_dashboard";

#[tokio::main]
async fn main() -> ExitCode {
    let config = parse_config();
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

/// Parses the command line like `Config::parse`, with the commit in `--version` and the
/// kubectl plugin's name in help and usage when invoked as the plugin.
fn parse_config() -> Config {
    let mut command = Config::command().version(build_info::LONG_VERSION);
    let argv0 = std::env::args_os().next();
    if argv0.as_deref().is_some_and(is_kubectl_plugin) {
        command = command
            .bin_name("kubectl rollouts-dashboard")
            .display_name("kubectl rollouts-dashboard");
    }
    let matches = command.get_matches_mut();
    // Rendered like a parse error (usage with the same name) should the types disagree.
    Config::from_arg_matches(&matches).unwrap_or_else(|err| err.format(&mut command).exit())
}

/// Whether argv[0] is the kubectl plugin's file (kubectl runs plugins by their path).
fn is_kubectl_plugin(argv0: &OsStr) -> bool {
    Path::new(argv0)
        .file_stem()
        .is_some_and(|stem| stem == KUBECTL_PLUGIN_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_the_plugin_name() {
        assert!(is_kubectl_plugin(OsStr::new(
            "/home/me/.cargo/bin/kubectl-rollouts_dashboard"
        )));
        assert!(is_kubectl_plugin(OsStr::new("kubectl-rollouts_dashboard")));
        assert!(is_kubectl_plugin(OsStr::new(
            "kubectl-rollouts_dashboard.exe"
        )));
        assert!(!is_kubectl_plugin(OsStr::new(
            "/usr/bin/rollouts-dashboard"
        )));
        assert!(!is_kubectl_plugin(OsStr::new("kubectl-rollouts")));
    }
}
