//! Build script: records the git commit the binary is built from, for `--version`, the
//! stream's `hello`, `/api/v1/status` and the image's `revision` label (src/build_info.rs).
//!
//! The commit is, in order: `$ROLLOUTS_DASHBOARD_BUILD_COMMIT` (builds without `.git`, such as
//! deploy/Containerfile, pass it in), else `git rev-parse --short HEAD`, else `unknown`
//! (a source tarball, or no git). No "-dirty" suffix: it would need a rerun on every change
//! of the index, which would rebuild the crate on every `git add`.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-env-changed=ROLLOUTS_DASHBOARD_BUILD_COMMIT");
    let commit = match std::env::var("ROLLOUTS_DASHBOARD_BUILD_COMMIT") {
        Ok(c) if !c.trim().is_empty() => c.trim().to_owned(),
        _ => git_commit().unwrap_or_else(|| "unknown".to_owned()),
    };
    println!("cargo::rustc-env=ROLLOUTS_DASHBOARD_COMMIT={commit}");
}

/// The short commit of HEAD, registering the files whose change means a new commit.
fn git_commit() -> Option<String> {
    // Rerun when HEAD moves: HEAD itself (checkout), the branch it points to (commit), and
    // packed-refs (a branch whose loose ref was packed). `--git-path` also finds them in a
    // worktree, where `.git` is a file.
    for path in ["HEAD", "packed-refs"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
            rerun_if_exists(PathBuf::from(p));
        }
    }
    if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(p) = git(&["rev-parse", "--git-path", &reference])
    {
        rerun_if_exists(PathBuf::from(p));
    }
    git(&["rev-parse", "--short", "HEAD"])
}

fn rerun_if_exists(path: PathBuf) {
    // A relative --git-path is relative to the package root, where cargo runs build scripts.
    if path.exists() {
        println!("cargo::rerun-if-changed={}", path.display());
    }
}

/// Runs git in the package root; `None` if git is missing, fails, or prints nothing.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!s.is_empty()).then_some(s)
}
