//! `--from-files` on hostile input (issue #11, item 5): a symlink loop, brackets nested
//! 100,000 deep, files over the size limits. Each case must end quickly with the objects
//! loaded once or a one-line error naming the path and the limit, never hang or abort.
//! Every load runs on a blocking thread under a generous timeout that only guards against
//! a hang (the old code never returned from the first two).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rollouts_dashboard::model::Object;
use rollouts_dashboard::source::files::{self, FilesError, Limits};

/// Only a hang guard: every case here takes milliseconds.
const HANG_GUARD: Duration = Duration::from_secs(30);

/// A fresh directory under the system's temp dir, unique to this test and process.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rd-hostile-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Loads `path` with `limits` on a blocking thread; panics if it takes longer than the
/// hang guard. Returns the result and how long it took.
async fn load(path: &Path, limits: Limits) -> (Result<Vec<Object>, FilesError>, Duration) {
    let path = path.to_owned();
    let started = Instant::now();
    let result = tokio::time::timeout(
        HANG_GUARD,
        tokio::task::spawn_blocking(move || files::load_with_limits(&path, &limits)),
    )
    .await
    .expect("loading finished within the hang guard")
    .unwrap();
    (result, started.elapsed())
}

fn names(objects: &[Object]) -> Vec<String> {
    let mut names: Vec<String> = objects
        .iter()
        .map(|o| format!("{:?}/{}", o.kind(), o.meta().name))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_symlink_loop_is_walked_once() {
    let dir = temp_dir("loop");
    std::fs::write(
        dir.join("a.yaml"),
        "kind: Rollout\nmetadata: {name: r1, namespace: x}\n",
    )
    .unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::write(
        dir.join("sub/b.yaml"),
        "kind: ReplicaSet\nmetadata: {name: rs1, namespace: x}\n",
    )
    .unwrap();
    // Two ways back up: the old walk doubled its work at every level.
    std::os::unix::fs::symlink(".", dir.join("loop")).unwrap();
    std::os::unix::fs::symlink("..", dir.join("sub/up")).unwrap();
    // A symlinked file outside the tree is read; one to a file inside it is not read twice.
    let outside = temp_dir("loop-outside");
    std::fs::write(
        outside.join("c.yaml"),
        "kind: Pod\nmetadata: {name: p1, namespace: x}\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.join("c.yaml"), dir.join("c.yaml")).unwrap();
    std::os::unix::fs::symlink("a.yaml", dir.join("again.yaml")).unwrap();

    let (result, took) = load(&dir, Limits::default()).await;
    let objects = result.expect("the tree loads");
    assert_eq!(
        names(&objects),
        ["Pod/p1", "ReplicaSet/rs1", "Rollout/r1"],
        "each object once"
    );
    eprintln!("symlink loop walked in {took:?}");
    // The directory given may itself be a symlink.
    let named = temp_dir("loop-named").join("link");
    std::os::unix::fs::symlink(&dir, &named).unwrap();
    assert_eq!(load(&named, Limits::default()).await.0.unwrap().len(), 3);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&outside);
}

#[tokio::test]
async fn brackets_nested_100000_deep_are_refused_quickly() {
    let dir = temp_dir("deep");
    // 100,000 nested sequences (200 KB) as a mapping's value: serde_norway 0.9.42 took 41 s
    // to refuse this in a release build (libyaml's scanner is quadratic in the flow depth
    // before serde_norway's own depth limit applies), minutes in a debug build.
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    for (name, text) in [
        ("deep.yaml", format!("x: {nested}\n")),
        ("deep.json", format!("{nested}\n")),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let (result, took) = load(&path, Limits::default()).await;
        let err = result.unwrap_err();
        assert!(
            matches!(
                err,
                FilesError::TooDeep {
                    line: 1,
                    limit: 128,
                    ..
                }
            ),
            "{err}"
        );
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("{}:1: ", path.display()))
                && message.contains("more than 128 levels")
                && !message.contains('\n'),
            "{message}"
        );
        eprintln!("{name}: refused in {took:?}");
        // Linear, not quadratic: far below the hang guard even in a debug build.
        assert!(took < Duration::from_secs(5), "{name} took {took:?}");
    }
    // A block-style value holding the deep part, among valid objects, in a directory.
    std::fs::remove_file(dir.join("deep.json")).unwrap();
    std::fs::write(
        dir.join("deep.yaml"),
        format!(
            "kind: Rollout\nmetadata: {{name: r, namespace: x}}\nspec:\n  x: {}\n",
            "[{a: ".repeat(50_000)
        ),
    )
    .unwrap();
    let (result, _) = load(&dir, Limits::default()).await;
    assert!(
        matches!(result, Err(FilesError::TooDeep { line: 4, .. })),
        "{result:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_file_over_the_size_limit_is_refused_before_reading() {
    let dir = temp_dir("large");
    let path = dir.join("huge.yaml");
    // Sparse: no data is written, and reading it would take 256 MiB.
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(files::MAX_FILE_BYTES + 1).unwrap();
    drop(file);
    let (result, took) = load(&path, Limits::default()).await;
    let err = result.unwrap_err();
    assert!(
        matches!(
            err,
            FilesError::FileTooLarge { size, limit, .. }
                if size == files::MAX_FILE_BYTES + 1 && limit == files::MAX_FILE_BYTES
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{}: 268435457 bytes is more than the limit of 268435456 bytes for one file",
            path.display()
        )
    );
    // Refused from the metadata: reading (and then parsing) 256 MiB takes far longer.
    assert!(took < Duration::from_secs(2), "took {took:?}");
    eprintln!(
        "sparse {} byte file refused in {took:?}",
        files::MAX_FILE_BYTES + 1
    );
    // Also when it is one file of a directory.
    std::fs::write(
        dir.join("a.yaml"),
        "kind: Pod\nmetadata: {name: p, namespace: x}\n",
    )
    .unwrap();
    assert!(matches!(
        load(&dir, Limits::default()).await.0,
        Err(FilesError::FileTooLarge { .. })
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn files_over_the_total_limit_are_refused() {
    let dir = temp_dir("total");
    let object = "kind: Pod\nmetadata: {name: NAME, namespace: x}\n";
    for i in 0..4 {
        std::fs::write(
            dir.join(format!("{i}.yaml")),
            object.replace("NAME", &format!("p{i}")),
        )
        .unwrap();
    }
    let size = object.len() as u64 + 1;
    let limits = Limits {
        max_total_bytes: 3 * size,
        ..Limits::default()
    };
    let (result, _) = load(&dir, limits).await;
    let err = result.unwrap_err();
    assert!(
        matches!(&err, FilesError::TotalTooLarge { path, limit, .. }
            if path.ends_with("3.yaml") && *limit == 3 * size),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains(&format!("limit of {} bytes", 3 * size)),
        "{err}"
    );
    // Within the limit, all four load.
    let limits = Limits {
        max_total_bytes: 4 * size,
        ..Limits::default()
    };
    assert_eq!(load(&dir, limits).await.0.unwrap().len(), 4);

    // The default total limit, with sparse files (each under the file limit).
    let sparse = temp_dir("total-sparse");
    for i in 0..5 {
        let file = std::fs::File::create(sparse.join(format!("{i}.yaml"))).unwrap();
        file.set_len(files::MAX_FILE_BYTES).unwrap();
    }
    let (result, took) = load(&sparse, Limits::default()).await;
    assert!(
        matches!(&result, Err(FilesError::TotalTooLarge { path, .. }) if path.ends_with("4.yaml")),
        "{result:?}"
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&sparse);
}

#[tokio::test]
async fn a_real_fixture_directory_still_loads() {
    let canary = common::fixtures().join("argo-rollouts-info/canary");
    let (result, _) = load(&canary, Limits::default()).await;
    let objects = result.expect("the fixtures load");
    assert!(
        objects
            .iter()
            .any(|o| o.kind() == rollouts_dashboard::model::Kind::Rollout),
        "{:?}",
        names(&objects)
    );
    assert_eq!(
        names(&objects),
        names(&files::load(&canary).unwrap()),
        "load() uses the same defaults"
    );
}
