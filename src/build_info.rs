//! What this binary is: its version and the git commit it was built from.
//!
//! One source for `--version`, the stream's `hello`, `/api/v1/status` and the container
//! image's labels: the version is Cargo.toml's, the commit comes from build.rs (git, or
//! `$ROLLOUTS_DASHBOARD_BUILD_COMMIT` for builds without `.git`).

/// The crate version from Cargo.toml, e.g. `0.1.0`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The short git commit the binary was built from, or `unknown` outside a git checkout.
pub const COMMIT: &str = env!("ROLLOUTS_DASHBOARD_COMMIT");

/// What `--version` prints after the program name: `0.1.0 (commit 1a2b3c4)`.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("ROLLOUTS_DASHBOARD_COMMIT"),
    ")"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_version_names_version_and_commit() {
        assert!(LONG_VERSION.starts_with(VERSION));
        assert!(LONG_VERSION.contains(COMMIT));
        assert!(
            COMMIT == "unknown" || COMMIT.chars().all(|c| c.is_ascii_hexdigit()),
            "{COMMIT:?}"
        );
    }
}
