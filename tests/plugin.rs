//! The binary as a kubectl plugin and its `--version`: named `kubectl-rollouts_dashboard` on
//! PATH it runs as `kubectl rollouts-dashboard`, and help, usage and errors say so.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rollouts_dashboard::build_info;

const BIN: &str = env!("CARGO_BIN_EXE_rollouts-dashboard");

/// A fresh directory holding `kubectl-rollouts_dashboard`, a symlink to the built binary, as
/// the README's install step makes it. Removed on drop.
struct PluginDir(PathBuf);

impl PluginDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "rollouts-dashboard-plugin-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink(BIN, dir.join("kubectl-rollouts_dashboard")).unwrap();
        PluginDir(dir)
    }

    /// Runs the plugin found through PATH, as kubectl does (argv[0] is the plugin's name).
    fn run(&self, args: &[&str]) -> Output {
        let path = std::env::join_paths(std::iter::once(self.0.clone()).chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
        ))
        .unwrap();
        Command::new("kubectl-rollouts_dashboard")
            .args(args)
            .env("PATH", path)
            .output()
            .expect("the plugin runs from PATH")
    }
}

impl Drop for PluginDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn as_a_kubectl_plugin_help_and_usage_name_kubectl_rollouts_dashboard() {
    let plugin = PluginDir::new();
    let help = plugin.run(&["--help"]);
    assert!(help.status.success(), "{}", stderr(&help));
    let text = stdout(&help);
    assert!(
        text.contains("Usage: kubectl rollouts-dashboard [OPTIONS]"),
        "usage line: {text}"
    );
    // kubectl's own flags are the plugin's flags.
    for flag in [
        "--kubeconfig <PATH>",
        "--context <[NAME=]CONTEXT>",
        "-n, --namespace",
    ] {
        assert!(text.contains(flag), "{flag} in: {text}");
    }

    let version = plugin.run(&["--version"]);
    assert!(version.status.success(), "{}", stderr(&version));
    assert_eq!(
        stdout(&version).trim(),
        format!("kubectl rollouts-dashboard {}", build_info::LONG_VERSION)
    );

    // A mistake is explained with the name the user typed.
    let bad = plugin.run(&["--no-such-flag"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("Usage: kubectl rollouts-dashboard [OPTIONS]"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn under_its_own_name_usage_says_rollouts_dashboard() {
    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(
        stdout(&help).contains("Usage: rollouts-dashboard [OPTIONS]"),
        "{}",
        stdout(&help)
    );
}

#[test]
fn version_prints_cargo_version_and_git_commit() {
    for flag in ["--version", "-V"] {
        let out = Command::new(BIN).arg(flag).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        assert_eq!(
            text.trim(),
            format!(
                "rollouts-dashboard {} (commit {})",
                env!("CARGO_PKG_VERSION"),
                build_info::COMMIT
            )
        );
    }
    // In a git checkout the commit is a real one (build.rs asked git), not a placeholder.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    if repo.join(".git").exists() && std::env::var_os("ROLLOUTS_DASHBOARD_BUILD_COMMIT").is_none() {
        assert_ne!(
            build_info::COMMIT,
            "unknown",
            "git checkout without a commit"
        );
        let known = Command::new("git")
            .args([
                "cat-file",
                "-e",
                &format!("{}^{{commit}}", build_info::COMMIT),
            ])
            .current_dir(repo)
            .status()
            .expect("git runs in a git checkout");
        assert!(known.success(), "{} is not a commit", build_info::COMMIT);
    }
}
