//! Scale benchmarks of issue #13: the reconnect storm (item 4) and the pipeline (item 7).
//!
//! Not a test: it measures and prints, it never asserts timings. See tests/bench/README.md,
//! "Scale", for the method and tests/bench/results/scale/latest.md for the figures.
//!
//! * `storm --addr 127.0.0.1:PORT --pid PID --clients K [--idle 5] [--timeout 180]
//!   [--max-rss-mib 10240]`: K WebSocket clients connect at once to a running dashboard and
//!   subscribe to the whole list; reports the time until every client holds its snapshot, the
//!   server's RSS peak and its RSS once the clients have idled (per idle client). It stops
//!   early (and says so) when the server passes `--max-rss-mib` or the machine has less than
//!   3 GiB available, so a too-large K cannot push the shared machine into swap.
//!   `--subscribe JSON` replaces the whole-list subscription (e.g. one cluster's list).
//! * `pipeline --dir /tmp/fleet-1000 --clients C [--rate 1000] [--seconds 20]`: no API server
//!   and no second process: a store is loaded from a generated fleet (tests/bench/gen-fleet.py),
//!   the recompute task and the real app are served on 127.0.0.1:0 (server threads `srv*`), C
//!   list clients connect (threads `cli*`), then a feeder (thread `srv-feed`, playing the watch
//!   source) applies `--rate` rollout changes per second straight to the store, each setting
//!   the label `bench-mark: m<id>`. Latency runs from the `Store::apply` of a change to the
//!   moment a client has read the frame carrying its id; CPU is per thread group from
//!   /proc/self/task/*/stat. `--clusters K` loads the fleet into K cluster parts of the store
//!   (`prod-eu`, `staging`, `us-east`, …; one cluster is `files`, as `--from-files`), so
//!   `--dir /tmp/fleet-1000 --clusters 3` holds 3 × 1,000 rollouts; the changes rotate over the
//!   clusters; with `--split` the fleet's namespace files are dealt over the clusters instead
//!   (the same rollouts, in K clusters). `--filtered F` adds F clients subscribed to the first cluster only, measured
//!   apart (issue #14).
//! * `serve --dir /tmp/fleet-1000 [--clusters K] [--split] [--port 0]`: the same K-cluster store served
//!   by the real app until killed (a multi-cluster `--from-files`, for `storm`); prints
//!   `http://127.0.0.1:PORT` once it listens, and its RSS before and after the load as JSON
//!   on stderr.
//!
//! The clients speak WebSocket over raw TCP and keep only a frame's first bytes (the storm) or
//! frames under 64 KiB (the pipeline), so that 1,000 clients of a 15 MB snapshot cost the
//! client almost nothing and the server's memory is what is measured.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

struct Args(Vec<String>);

impl Args {
    fn get(&self, name: &str) -> Option<String> {
        let flag = format!("--{name}");
        self.0
            .iter()
            .position(|a| *a == flag)
            .and_then(|i| self.0.get(i + 1).cloned())
    }
    fn str(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or_else(|| default.to_owned())
    }
    fn num(&self, name: &str, default: f64) -> f64 {
        self.get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }
}

fn main() {
    let argv: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(cmd) = argv.first().cloned() else {
        eprintln!(
            "usage: scale (storm|pipeline|serve) --flag value ...   (see tests/bench/README.md)"
        );
        std::process::exit(2);
    };
    let args = Args(argv[1..].to_vec());
    let result = match cmd.as_str() {
        "storm" => storm(&args),
        "pipeline" => pipeline(&args),
        "serve" => serve(&args),
        other => Err(format!("unknown subcommand {other:?}").into()),
    };
    if let Err(err) = result {
        eprintln!("[scale] ERROR: {err}");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------------------
// a minimal WebSocket client over raw TCP

/// One complete message as the client saw it.
struct Msg<'a> {
    /// The message's bytes, or only its first bytes when it was longer than the keep limit.
    head: &'a [u8],
    /// Its whole length.
    len: usize,
}

/// Connects, upgrades (with the `Origin` a browser sends), subscribes with `subscribe`, then
/// calls `on_message` for every message (text or binary) until it returns false or `stop` is
/// set.
async fn ws_session(
    addr: &str,
    subscribe: &str,
    keep: usize,
    stop: &AtomicBool,
    mut on_message: impl FnMut(Msg<'_>) -> bool,
) -> Res<()> {
    let mut tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let request = format!(
        "GET /api/v1/stream HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await?;
    let mut buf = vec![0u8; 16 * 1024];
    let mut filled = 0;
    let header_end = loop {
        let n = tcp.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Err("closed during the handshake".into());
        }
        filled += n;
        if let Some(i) = find(&buf[..filled], b"\r\n\r\n") {
            break i + 4;
        }
        if filled == buf.len() {
            return Err("handshake response too long".into());
        }
    };
    if !buf.starts_with(b"HTTP/1.1 101") {
        let head = String::from_utf8_lossy(&buf[..header_end.min(200)]).into_owned();
        return Err(format!("upgrade refused: {head}").into());
    }
    buf.copy_within(header_end..filled, 0);
    filled -= header_end;
    tcp.write_all(&client_frame(0x1, subscribe.as_bytes()))
        .await?;

    // Parser state: the current message's kept bytes and length, the current frame's payload
    // still to read, and whether the frame ends its message.
    let mut message: Vec<u8> = Vec::new();
    let mut message_len = 0usize;
    let mut remaining = 0usize;
    let mut frame_fin = false;
    let mut control: Option<u8> = None;
    let mut control_payload: Vec<u8> = Vec::new();
    let mut pos = 0usize;
    loop {
        // Consume what is buffered.
        loop {
            if remaining == 0 && control.is_none() {
                // A frame header.
                let avail = &buf[pos..filled];
                if avail.len() < 2 {
                    break;
                }
                let (b0, b1) = (avail[0], avail[1]);
                let (len, hlen) = match b1 & 0x7f {
                    126 if avail.len() >= 4 => {
                        (u16::from_be_bytes([avail[2], avail[3]]) as usize, 4)
                    }
                    127 if avail.len() >= 10 => {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(&avail[2..10]);
                        (u64::from_be_bytes(b) as usize, 10)
                    }
                    126 | 127 => break,
                    n => (n as usize, 2),
                };
                pos += hlen;
                let opcode = b0 & 0x0f;
                if opcode >= 0x8 {
                    control = Some(opcode);
                    control_payload.clear();
                    remaining = len;
                } else {
                    frame_fin = b0 & 0x80 != 0;
                    remaining = len;
                }
                if len > 0 {
                    continue;
                }
            }
            let take = remaining.min(filled - pos);
            let chunk = &buf[pos..pos + take];
            pos += take;
            remaining -= take;
            if let Some(op) = control {
                control_payload.extend_from_slice(chunk);
                if remaining == 0 {
                    control = None;
                    match op {
                        0x8 => return Ok(()),
                        0x9 => tcp.write_all(&client_frame(0xA, &control_payload)).await?,
                        _ => {}
                    }
                }
            } else {
                let room = keep.saturating_sub(message.len());
                message.extend_from_slice(&chunk[..chunk.len().min(room)]);
                message_len += take;
                if remaining == 0 && frame_fin {
                    let go_on = on_message(Msg {
                        head: &message,
                        len: message_len,
                    });
                    message.clear();
                    message_len = 0;
                    if !go_on {
                        return Ok(());
                    }
                }
            }
            if pos == filled || (remaining > 0 && take == 0) {
                break;
            }
        }
        if pos == filled {
            pos = 0;
            filled = 0;
        } else if pos > buf.len() / 2 {
            buf.copy_within(pos..filled, 0);
            filled -= pos;
            pos = 0;
        }
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let read = tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut buf[filled..]));
        match read.await {
            Err(_) => continue,
            Ok(Ok(0)) => return Err("server closed the connection".into()),
            Ok(Ok(n)) => filled += n,
            Ok(Err(e)) => return Err(e.into()),
        }
    }
}

/// A masked client frame (the mask key is zero, which leaves the payload as it is).
fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= 0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(payload);
    frame
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

const SUBSCRIBE_ALL: &str = r#"{"type":"subscribeList","namespaces":[]}"#;

/// Follows a client's list snapshot: one `snapshot` message (protocol 3), or `snapshotBegin`,
/// the binary pages and `snapshotEnd` (protocol 4), so that either server can be measured.
#[derive(Default)]
struct SnapshotWatch {
    started: bool,
    /// Bytes of the snapshot's messages (payloads; WebSocket headers aside).
    bytes: usize,
}

impl SnapshotWatch {
    /// Feeds one message; true when it completes the snapshot.
    fn feed(&mut self, m: &Msg<'_>) -> bool {
        if m.head.starts_with(b"{\"type\":\"snapshot\"") {
            self.bytes = m.len;
            return true;
        }
        if m.head.starts_with(b"{\"type\":\"snapshotBegin\"") {
            self.started = true;
            self.bytes = 0;
        }
        if self.started {
            self.bytes += m.len;
        }
        self.started && m.head.starts_with(b"{\"type\":\"snapshotEnd\"")
    }
}

// ---------------------------------------------------------------------------------------------
// /proc

fn status_kib(pid: &str, key: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn mem_available_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/meminfo")
        .ok()?
        .lines()
        .find(|l| l.starts_with("MemAvailable:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// utime + stime (seconds) of the threads of this process whose name starts with `prefix`.
fn threads_cpu(prefix: &str) -> f64 {
    let mut ticks = 0u64;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for entry in dir.flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            if !stat[open + 1..close].starts_with(prefix) {
                continue;
            }
            let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
            let get = |i: usize| {
                fields
                    .get(i)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            ticks += get(11) + get(12);
        }
    }
    ticks as f64 / 100.0
}

fn mib(kib: Option<u64>) -> f64 {
    kib.map_or(f64::NAN, |k| k as f64 / 1024.0)
}

fn runtime(threads: usize, name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name(name)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

// ---------------------------------------------------------------------------------------------
// storm

fn storm(args: &Args) -> Res<()> {
    let addr = args
        .get("addr")
        .ok_or("--addr 127.0.0.1:PORT is required")?;
    let pid = args
        .get("pid")
        .ok_or("--pid of the dashboard is required")?;
    let clients = args.num("clients", 60.0) as usize;
    let idle = Duration::from_secs_f64(args.num("idle", 5.0));
    let timeout = Duration::from_secs_f64(args.num("timeout", 180.0));
    let max_rss_kib = (args.num("max-rss-mib", 10240.0) * 1024.0) as u64;
    let rt = runtime(args.num("threads", 2.0) as usize, "cli");
    let subscribe = args.str("subscribe", SUBSCRIBE_ALL);

    let rss_before = status_kib(&pid, "VmRSS:");
    // Reset the peak (VmHWM) so that it is this storm's.
    let reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
    let stop = Arc::new(AtomicBool::new(false));
    let abort: Arc<std::sync::Mutex<Option<String>>> = Default::default();
    let sampled_peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, abort, peak, pid) = (
            stop.clone(),
            abort.clone(),
            sampled_peak.clone(),
            pid.clone(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let rss = status_kib(&pid, "VmRSS:").unwrap_or(0);
                peak.fetch_max(rss, Ordering::Relaxed);
                let avail = mem_available_kib().unwrap_or(u64::MAX);
                if rss > max_rss_kib || avail < 3 * 1024 * 1024 {
                    *abort.lock().unwrap() = Some(format!(
                        "stopped: server RSS {:.0} MiB, machine MemAvailable {:.0} MiB",
                        rss as f64 / 1024.0,
                        avail as f64 / 1024.0
                    ));
                    stop.store(true, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };

    let done = Arc::new(AtomicUsize::new(0));
    let times: Arc<std::sync::Mutex<Vec<(f64, usize)>>> = Default::default();
    // When each client read the first message after `snapshotBegin` (its first page).
    let first_pages: Arc<std::sync::Mutex<Vec<f64>>> = Default::default();
    let errors: Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let t0 = Instant::now();
    let result = rt.block_on(async {
        let mut tasks = Vec::with_capacity(clients);
        for _ in 0..clients {
            let (addr, stop, done, times, first_pages, errors, subscribe) = (
                addr.clone(),
                stop.clone(),
                done.clone(),
                times.clone(),
                first_pages.clone(),
                errors.clone(),
                subscribe.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut got = false;
                let mut first_page = false;
                let mut watch = SnapshotWatch::default();
                let r = ws_session(&addr, &subscribe, 64, &stop, |m| {
                    if !got && watch.started && !first_page {
                        first_page = true;
                        first_pages.lock().unwrap().push(t0.elapsed().as_secs_f64());
                    }
                    if !got && watch.feed(&m) {
                        got = true;
                        times
                            .lock()
                            .unwrap()
                            .push((t0.elapsed().as_secs_f64(), watch.bytes));
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    true
                })
                .await;
                if let Err(e) = r
                    && !stop.load(Ordering::Relaxed)
                {
                    errors.lock().unwrap().push(e.to_string());
                }
            }));
        }
        while done.load(Ordering::Relaxed) + errors.lock().unwrap().len() < clients
            && t0.elapsed() < timeout
            && !stop.load(Ordering::Relaxed)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let all = t0.elapsed().as_secs_f64();
        let hwm_storm = status_kib(&pid, "VmHWM:");
        // Idle: every client connected and quiet.
        if !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(idle).await;
        }
        let rss_idle = status_kib(&pid, "VmRSS:");
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        (all, hwm_storm, rss_idle)
    });
    let _ = sampler.join();
    let (all, hwm, rss_idle) = result;
    let mut t: Vec<f64> = times.lock().unwrap().iter().map(|x| x.0).collect();
    t.sort_by(f64::total_cmp);
    let bytes = times.lock().unwrap().first().map_or(0, |x| x.1);
    let mut first: Vec<f64> = first_pages.lock().unwrap().clone();
    first.sort_by(f64::total_cmp);
    let got = done.load(Ordering::Relaxed);
    let errs = errors.lock().unwrap().clone();
    let abort = abort.lock().unwrap().clone();
    let per_idle = match (rss_idle, rss_before) {
        (Some(a), Some(b)) if got > 0 => Some((a as f64 - b as f64) / got as f64),
        _ => None,
    };
    let out = json!({
        "clients": clients, "snapshots": got, "errors": errs.len(),
        "firstError": errs.first(), "stopped": abort,
        "allSnapshotsSeconds": if got == clients { json!(all) } else { Value::Null },
        "snapshotSeconds": {"p50": pct(&t, 0.5), "p99": pct(&t, 0.99), "max": t.last()},
        "firstPageSeconds": {"p50": pct(&first, 0.5), "p99": pct(&first, 0.99)},
        "snapshotBytes": bytes,
        "rssBeforeMiB": mib(rss_before), "rssPeakMiB": mib(hwm),
        "hwmReset": reset,
        "rssPeakSampledMiB": mib(Some(sampled_peak.load(Ordering::Relaxed))),
        "rssIdleMiB": mib(rss_idle),
        "perIdleClientKiB": per_idle,
    });
    eprintln!("{}", serde_json::to_string_pretty(&out)?);
    println!(
        "| {clients} | {got} | {} | {:.2} / {:.2} | {:.1} | {:.0} | {:.0} | {:.0} | {} |",
        if got == clients {
            format!("{all:.2}")
        } else {
            "–".into()
        },
        pct(&t, 0.5),
        pct(&t, 0.99),
        bytes as f64 / 1e6,
        mib(rss_before),
        mib(hwm).max(mib(Some(sampled_peak.load(Ordering::Relaxed)))),
        mib(rss_idle),
        per_idle.map_or("–".into(), |k| format!("{k:.0} KiB")),
    );
    if let Some(why) = abort {
        println!("\n{why}");
    }
    if !errs.is_empty() {
        println!("\n{} client errors, first: {}", errs.len(), errs[0]);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// pipeline

/// Latency histogram: 50 µs buckets up to 10 s.
struct Histogram {
    buckets: Vec<AtomicU64>,
}

const BUCKET_US: u64 = 50;

impl Histogram {
    fn new() -> Self {
        Self {
            buckets: (0..200_001).map(|_| AtomicU64::new(0)).collect(),
        }
    }
    fn record(&self, d: Duration) {
        let i = (d.as_micros() as u64 / BUCKET_US).min(self.buckets.len() as u64 - 1);
        self.buckets[i as usize].fetch_add(1, Ordering::Relaxed);
    }
    fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }
    /// The p-quantile in milliseconds (the bucket's upper bound).
    fn quantile(&self, p: f64) -> f64 {
        let total = self.count();
        if total == 0 {
            return f64::NAN;
        }
        let target = ((total as f64) * p).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= target {
                return ((i as u64 + 1) * BUCKET_US) as f64 / 1000.0;
            }
        }
        f64::NAN
    }
}

/// The label the feeder sets; its value `m<id>` names one change.
const MARK: &str = "bench-mark";

/// Ids of the marks in a frame (or a batch of frames): `"bench-mark":"m<id>"` in a whole
/// summary, `"/labels/bench-mark","value":"m<id>"` in a patch. One pass over the bytes looking
/// for `k` (rare in these frames), then a check around it: the clients read every byte the
/// server writes (~200 MB/s with 1,000 clients), and a search comparing the needle at every
/// position took most of the clients' CPU, which shares the server's two cores.
fn marks(frame: &[u8], out: &mut Vec<usize>) {
    const NAME: &[u8] = b"bench-mark";
    const TAILS: [&[u8]; 2] = [b"\":\"m", b"\",\"value\":\"m"];
    let mut from = 0;
    while let Some(k) = frame[from..].iter().position(|&b| b == b'k') {
        let at = from + k;
        from = at + 1;
        if at + 1 < NAME.len() || &frame[at + 1 - NAME.len()..=at] != NAME {
            continue;
        }
        let rest = &frame[at + 1..];
        let Some(tail) = TAILS.iter().find(|t| rest.starts_with(t)) else {
            continue;
        };
        let digits = &rest[tail.len()..];
        let n = digits.iter().take_while(|b| b.is_ascii_digit()).count();
        if let Ok(id) = std::str::from_utf8(&digits[..n])
            .unwrap_or_default()
            .parse()
        {
            out.push(id);
        }
    }
}

/// The names of `k` clusters: one is `files` (as `--from-files` names it), more are named
/// like a fleet's.
fn cluster_names(k: usize) -> Vec<String> {
    const NAMES: [&str; 3] = ["prod-eu", "staging", "us-east"];
    match k {
        0 | 1 => vec![rollouts_dashboard::source::files::CLUSTER.to_owned()],
        _ => (0..k)
            .map(|i| {
                NAMES
                    .get(i)
                    .map_or_else(|| format!("cluster-{i}"), |n| (*n).to_owned())
            })
            .collect(),
    }
}

/// A store holding the fleet of `dir` (loaded as `--from-files` loads, `files::load_into`),
/// flushed: with `split`, its files (one per namespace, in name order) dealt round robin over
/// the clusters, so K clusters share the fleet's rollouts; without, the whole fleet in each.
fn load_fleet(
    dir: &str,
    clusters: &[String],
    split: bool,
) -> Res<rollouts_dashboard::store::Store> {
    use rollouts_dashboard::health::{Health, SourceKind};
    use rollouts_dashboard::source::files;
    let store = rollouts_dashboard::store::Store::new(Health::loaded(SourceKind::Files));
    let load = |path: &std::path::Path, cluster: &str| {
        files::load_into(path, &files::Limits::default(), &store.cluster(cluster))
            .map(|_| ())
            .map_err(|e| format!("cannot load {dir}: {e} (run tests/bench/gen-fleet.py)"))
    };
    if split {
        let mut paths: Vec<_> = std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        paths.retain(|p| p.extension().is_some_and(|x| x == "yaml"));
        paths.sort();
        for (i, path) in paths.iter().enumerate() {
            load(path, &clusters[i % clusters.len()])?;
        }
    } else {
        for cluster in clusters {
            load(std::path::Path::new(dir), cluster)?;
        }
    }
    store.flush();
    Ok(store)
}

/// Serves the real app and the recompute task of `store` on `runtime`, at 127.0.0.1:`port`,
/// with `axum::serve` (no TCP_NODELAY, unlike the binary's accept loop): the pipeline's
/// figures stay comparable with those of earlier builds of this bench.
fn serve_store(
    runtime: &tokio::runtime::Runtime,
    store: &rollouts_dashboard::store::Store,
    port: u16,
) -> Res<String> {
    use rollouts_dashboard::health::SourceKind;
    use rollouts_dashboard::state::{AppState, Settings};
    runtime.block_on(async {
        tokio::spawn(store.clone().run_recompute());
        let state = AppState::new(store.clone(), Settings::new(SourceKind::Files, true, ""));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, rollouts_dashboard::app(state)).await;
        });
        Res::Ok(addr.to_string())
    })
}

/// `serve`: a K-cluster fleet served until the process is killed.
fn serve(args: &Args) -> Res<()> {
    use rollouts_dashboard::model::Kind;
    let dir = args.str("dir", "/tmp/fleet-1000");
    let clusters = cluster_names(args.num("clusters", 1.0) as usize);
    let rss_before = status_kib("self", "VmRSS:");
    let t0 = Instant::now();
    let store = load_fleet(&dir, &clusters, args.0.iter().any(|a| a == "--split"))?;
    let load_s = t0.elapsed().as_secs_f64();
    let rollouts = store.keys_of(Kind::Rollout).len();
    let rt = runtime(args.num("threads", 2.0) as usize, "srv");
    // The binary's own accept loop (TCP_NODELAY, the connection cap), as `--from-files` serves.
    let addr = rt.block_on(async {
        use rollouts_dashboard::health::SourceKind;
        use rollouts_dashboard::state::{AppState, Settings, Shutdown};
        tokio::spawn(store.clone().run_recompute());
        let mut settings = Settings::new(SourceKind::Files, true, "");
        settings.limits.max_connections = args.num("max-connections", 4096.0) as usize;
        let limits = settings.limits;
        let state = AppState::new(store.clone(), settings);
        let port = args.num("port", 0.0) as u16;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let app = rollouts_dashboard::app(state);
        tokio::spawn(async move {
            let serve = rollouts_dashboard::http::serve::serve(
                listener,
                app,
                None,
                limits,
                Shutdown::default(),
            );
            if let Err(err) = serve.await {
                eprintln!("[scale] serve: {err}");
            }
        });
        Res::Ok(addr.to_string())
    })?;
    let rss_after = status_kib("self", "VmRSS:");
    let out = json!({
        "clusters": clusters, "rollouts": rollouts, "loadSeconds": load_s,
        "rssBeforeLoadMiB": mib(rss_before), "rssAfterLoadMiB": mib(rss_after),
    });
    eprintln!("{}", serde_json::to_string(&out)?);
    println!("http://{addr}");
    rt.block_on(std::future::pending::<()>());
    Ok(())
}

fn pipeline(args: &Args) -> Res<()> {
    use rollouts_dashboard::model::{Kind, Object};
    use rollouts_dashboard::store::RolloutKey;

    let dir = args.str("dir", "/tmp/fleet-1000");
    let clients = args.num("clients", 1000.0) as usize;
    let filtered = args.num("filtered", 0.0) as usize;
    let rate = args.num("rate", 1000.0);
    let seconds = args.num("seconds", 20.0);
    let server_threads = args.num("server-threads", 2.0) as usize;
    let client_threads = args.num("client-threads", 2.0) as usize;
    let clusters = cluster_names(args.num("clusters", 1.0) as usize);

    let store = load_fleet(&dir, &clusters, args.0.iter().any(|a| a == "--split"))?;
    let mut keys: Vec<RolloutKey> = store.keys_of(Kind::Rollout);
    // Consecutive changes rotate over the clusters (the same rollout name in each in turn).
    keys.sort_by(|a, b| {
        (&a.name, &a.namespace, a.cluster.as_str()).cmp(&(
            &b.name,
            &b.namespace,
            b.cluster.as_str(),
        ))
    });
    let n = keys.len();
    if n == 0 {
        return Err("no rollouts in the fleet".into());
    }
    let handles: std::collections::HashMap<String, rollouts_dashboard::store::ClusterStore> =
        clusters
            .iter()
            .map(|c| (c.clone(), store.cluster(c.as_str())))
            .collect();
    // The filtered clients follow the first cluster only.
    let watched = clusters[0].clone();
    let subscribe_one = json!({"type": "subscribeList", "clusters": [watched]}).to_string();

    let server = runtime(server_threads, "srv");
    let addr = serve_store(&server, &store, 0)?;

    // Clients: connect (at most 100 handshakes at a time) and wait for every snapshot.
    let cli = runtime(client_threads, "cli");
    let stop = Arc::new(AtomicBool::new(false));
    let total = (rate * (seconds + 5.0)) as usize + 16;
    let base = Instant::now();
    let sent: Arc<Vec<AtomicU64>> = Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());
    let hist = Arc::new(Histogram::new());
    let hist_filtered = Arc::new(Histogram::new());
    // Which changes were of the watched cluster, and how many others a filtered client saw
    // (any is a filter bug).
    let of_watched: Arc<Vec<AtomicBool>> =
        Arc::new((0..total).map(|_| AtomicBool::new(false)).collect());
    let foreign = Arc::new(AtomicU64::new(0));
    let snapshots = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let connect_t0 = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(100));
    let all = clients + filtered;
    let tasks: Vec<_> = (0..all)
        .map(|i| {
            let one = i >= clients;
            let (addr, stop, sent, snapshots, errors, gate) = (
                addr.clone(),
                stop.clone(),
                sent.clone(),
                snapshots.clone(),
                errors.clone(),
                gate.clone(),
            );
            let hist = if one { &hist_filtered } else { &hist }.clone();
            let (of_watched, foreign) = (of_watched.clone(), foreign.clone());
            let subscribe = if one {
                subscribe_one.clone()
            } else {
                SUBSCRIBE_ALL.to_owned()
            };
            cli.spawn(async move {
                let mut permit = Some(gate.acquire_owned().await);
                let mut ids = Vec::new();
                let mut watch = SnapshotWatch::default();
                let r = ws_session(&addr, &subscribe, 64 * 1024, &stop, |m| {
                    let now = Instant::now();
                    if permit.is_some() {
                        if watch.feed(&m) {
                            permit = None;
                            snapshots.fetch_add(1, Ordering::Relaxed);
                        }
                        return true;
                    }
                    ids.clear();
                    marks(m.head, &mut ids);
                    for &id in &ids {
                        if one
                            && !of_watched
                                .get(id)
                                .is_some_and(|w| w.load(Ordering::Relaxed))
                        {
                            foreign.fetch_add(1, Ordering::Relaxed);
                        }
                        let at = sent.get(id).map_or(0, |s| s.load(Ordering::Relaxed));
                        if at > 0 {
                            let at = base + Duration::from_nanos(at);
                            hist.record(now.saturating_duration_since(at));
                        }
                    }
                    true
                })
                .await;
                if r.is_err() && !stop.load(Ordering::Relaxed) {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    while snapshots.load(Ordering::Relaxed) + errors.load(Ordering::Relaxed) < all {
        if connect_t0.elapsed() > Duration::from_secs(300) {
            return Err("clients did not get their snapshots within 300 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let connect_s = connect_t0.elapsed().as_secs_f64();
    if errors.load(Ordering::Relaxed) > 0 {
        return Err(format!(
            "{} of {all} clients failed to connect",
            errors.load(Ordering::Relaxed)
        )
        .into());
    }
    std::thread::sleep(Duration::from_secs(1));
    let rss_connected = status_kib("self", "VmRSS:");

    // The busy phase: the feeder plays the watch source.
    let cpu0 = (threads_cpu("srv"), threads_cpu("cli"), threads_cpu(""));
    let t_busy = Instant::now();
    let feeder = {
        let (store, keys, sent, watched, of_watched) = (
            store.clone(),
            keys.clone(),
            sent.clone(),
            watched.clone(),
            of_watched.clone(),
        );
        std::thread::Builder::new()
            .name("srv-feed".into())
            .spawn(move || {
                let count = (rate * seconds) as usize;
                let start = Instant::now();
                let mut late = Duration::ZERO;
                // Changes of the filtered clients' cluster.
                let mut in_watched = 0u64;
                for id in 1..=count.min(sent.len() - 1) {
                    let due = start + Duration::from_secs_f64(id as f64 / rate);
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    } else {
                        late = late.max(now - due);
                    }
                    let key = &keys[id % keys.len()];
                    let Some(current) = store.rollout(key) else {
                        continue;
                    };
                    let mut ro = (*current).clone();
                    ro.metadata.labels.insert(MARK.to_owned(), format!("m{id}"));
                    ro.metadata.resource_version = format!("b{id}");
                    if key.cluster.as_str() == watched {
                        of_watched[id].store(true, Ordering::Relaxed);
                        in_watched += 1;
                    }
                    sent[id].store(base.elapsed().as_nanos().max(1) as u64, Ordering::Relaxed);
                    handles[key.cluster.as_str()].apply(Object::Rollout(ro));
                }
                (count, late, in_watched)
            })?
    };
    let (changes, late, in_watched) = feeder.join().map_err(|_| "feeder panicked")?;
    let feed_s = t_busy.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(3)); // grace: the last frames arrive
    let wall = t_busy.elapsed().as_secs_f64();
    let cpu1 = (threads_cpu("srv"), threads_cpu("cli"), threads_cpu(""));
    let rss_end = status_kib("self", "VmRSS:");
    stop.store(true, Ordering::Relaxed);
    cli.block_on(async {
        for t in tasks {
            let _ = t.await;
        }
    });

    let expected = changes as u64 * clients as u64;
    let seen = hist.count();
    let expected_filtered = in_watched * filtered as u64;
    let seen_filtered = hist_filtered.count();
    let server_cpu = cpu1.0 - cpu0.0;
    let client_cpu = cpu1.1 - cpu0.1;
    let all_cpu = cpu1.2 - cpu0.2;
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let out = json!({
        "rollouts": n, "clusters": clusters, "clients": clients, "rate": rate, "seconds": seconds,
        "filtered": {"clients": filtered, "cluster": watched, "samples": seen_filtered,
                     "expected": expected_filtered,
                     "foreign": foreign.load(Ordering::Relaxed),
                     "latencyMs": {"p50": hist_filtered.quantile(0.5),
                                   "p99": hist_filtered.quantile(0.99),
                                   "max": hist_filtered.quantile(1.0)}},
        "changes": changes, "feedSeconds": feed_s, "feederMaxLateMs": late.as_secs_f64() * 1e3,
        "connectSeconds": connect_s, "errors": errors.load(Ordering::Relaxed),
        "samples": seen, "expected": expected,
        "latencyMs": {"p50": hist.quantile(0.5), "p90": hist.quantile(0.9),
                      "p99": hist.quantile(0.99), "max": hist.quantile(1.0)},
        "cpuCores": {"server": server_cpu / wall, "clients": client_cpu / wall,
                     "process": all_cpu / wall},
        "rssMiB": {"connected": mib(rss_connected), "end": mib(rss_end)},
        "storeStats": {
            "recomputes": store.stats().recomputes.load(Ordering::Relaxed),
            "recomputeMs": store.stats().recompute_micros.load(Ordering::Relaxed) as f64 / 1e3,
            "changes": store.stats().changes.load(Ordering::Relaxed),
        },
        "loadavg": load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    });
    eprintln!("{}", serde_json::to_string_pretty(&out)?);
    println!(
        "| {n} | {clients} | {rate:.0}/s × {seconds:.0} s | {:.1} / {:.1} / {:.1} ms | {} of {} | {:.2} | {:.2} | {:.0} MiB | {} |",
        hist.quantile(0.5),
        hist.quantile(0.99),
        hist.quantile(1.0),
        seen,
        expected,
        server_cpu / wall,
        client_cpu / wall,
        mib(rss_end),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    );
    if filtered > 0 {
        println!(
            "| {n} | {filtered} of cluster {watched} | {:.0}/s × {seconds:.0} s | {:.1} / {:.1} / {:.1} ms | {seen_filtered} of {expected_filtered} |",
            in_watched as f64 / seconds,
            hist_filtered.quantile(0.5),
            hist_filtered.quantile(0.99),
            hist_filtered.quantile(1.0),
        );
    }
    drop(server);
    Ok(())
}
