//! Where the memory of a loaded fleet goes (issue #13, item 3), for a heap profiler.
//!
//! Not a test: it loads a `--from-files` fleet (written by `tests/bench/gen-fleet.py`) the way
//! `rollouts-dashboard --from-files` does (parse, apply every object to the store, compute every
//! view), prints RSS after each phase, and exits without freeing the store, so that a heap
//! profiler reports what the store holds as "leaked" and the load's transient peak as "peak".
//! It uses the system allocator (the server uses mimalloc, which heaptrack cannot see):
//!
//! ```sh
//! python3 tests/bench/gen-fleet.py /tmp/fleet-2000 --rollouts 2000 --namespaces 50
//! cargo bench --bench scale_mem --no-run    # prints the executable's path
//! heaptrack target/release/deps/scale_mem-HASH /tmp/fleet-2000
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

fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|a| a != "--bench")
        .unwrap_or_else(|| "/tmp/fleet-2000".to_owned());
    report("start");
    let objects = rollouts_dashboard::source::files::load(std::path::Path::new(&dir))
        .unwrap_or_else(|e| panic!("cannot load {dir}: {e} (run tests/bench/gen-fleet.py)"));
    let rollouts = objects.iter().filter(|o| o.kind() == Kind::Rollout).count();
    report("parsed");
    let store = Store::new(Health::loaded(SourceKind::Files));
    for object in objects {
        store.apply(object);
    }
    report("applied");
    store.flush();
    report("views computed");
    println!(
        "{rollouts} rollouts; the whole list is {:.1} MB of JSON",
        store.list_json(&[]).len() as f64 / 1e6
    );
    // Leave the store allocated: the profiler's "leaked" is what it holds.
    std::mem::forget(store);
}
