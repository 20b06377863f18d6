//! Where the memory of a loaded fleet goes (issue #13, item 3), for a heap profiler.
//!
//! Not a test: it loads a `--from-files` fleet (written by `tests/bench/gen-fleet.py`) the way
//! `rollouts-dashboard --from-files` does (parse and apply each object to the store, compute every
//! view), prints RSS after each phase, and exits without freeing the store, so that a heap
//! profiler reports what the store holds as "leaked" and the load's transient peak as "peak".
//! It uses the system allocator (the server uses mimalloc, which heaptrack cannot see):
//!
//! ```sh
//! python3 tests/bench/gen-fleet.py /tmp/fleet-2000 --rollouts 2000 --namespaces 50
//! cargo bench --bench scale_mem --no-run    # prints the executable's path
//! heaptrack target/release/deps/scale_mem-HASH /tmp/fleet-2000
//! target/release/deps/scale_mem-HASH /tmp/fleet-2000 100   # and 100 Events per rollout
//! heaptrack_print -f heaptrack.scale_mem.*.zst --print-leaks 1 | less
//! ```

use rollouts_dashboard::health::{Health, SourceKind};
use rollouts_dashboard::model::Kind;
use rollouts_dashboard::store::Store;

fn status_mib(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn report(phase: &str) {
    println!(
        "{phase:<28} RSS {:7.1} MiB  VmHWM {:7.1} MiB",
        status_mib("VmRSS:"),
        status_mib("VmHWM:")
    );
}

/// `n` Events about each rollout, as the controller writes them in an update (step
/// completions, pauses, analysis runs), each with its own time: the history's worst case when
/// `n` is the store's bound.
fn events(store: &Store, n: usize) -> usize {
    let mut count = 0;
    for key in store.keys_of(Kind::Rollout) {
        for i in 0..n {
            let value = serde_json::json!({"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": format!("{}.{i:016x}", key.name), "namespace": key.namespace},
                "involvedObject": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                    "name": key.name, "namespace": key.namespace, "uid": format!("uid-{}", key.name)},
                "type": "Normal", "reason": "RolloutStepCompleted",
                "message": format!("Rollout step {}/8 completed (setWeight: {})", i % 8 + 1, i % 100),
                "firstTimestamp": format!("2026-11-30T10:{:02}:{:02}Z", i / 60 % 60, i % 60),
                "lastTimestamp": format!("2026-11-30T10:{:02}:{:02}Z", i / 60 % 60, i % 60),
                "count": 1, "source": {"component": "rollouts-controller"}});
            if let Ok(Some(event)) = rollouts_dashboard::model::RolloutEvent::from_json(value) {
                store.cluster("files").apply_event(event);
                count += 1;
            }
        }
    }
    count
}

fn main() {
    // `scale_mem DIR [EVENTS_PER_ROLLOUT]`.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let dir = args
        .first()
        .cloned()
        .unwrap_or_else(|| "/tmp/fleet-2000".to_owned());
    let per_rollout: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(0);
    report("start");
    let store = Store::new(Health::loaded(SourceKind::Files));
    // As the server does: each object to the store as soon as it is decoded.
    rollouts_dashboard::source::files::load_into(
        std::path::Path::new(&dir),
        &rollouts_dashboard::source::files::Limits::default(),
        &store.cluster("files"),
    )
    .unwrap_or_else(|e| panic!("cannot load {dir}: {e} (run tests/bench/gen-fleet.py)"));
    let rollouts = store.keys_of(Kind::Rollout).len();
    report("parsed and applied");
    store.flush();
    report("views computed");
    println!(
        "{rollouts} rollouts; the whole list is {:.1} MB of JSON",
        store
            .list_json(&rollouts_dashboard::store::ListFilter::ALL)
            .len() as f64
            / 1e6
    );
    if per_rollout > 0 {
        let count = events(&store, per_rollout);
        report("events applied");
        store.flush();
        report("views with history");
        println!("{count} Events ({per_rollout} per rollout)");
    }
    // Leave the store allocated: the profiler's "leaked" is what it holds.
    std::mem::forget(store);
}
