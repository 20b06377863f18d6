//! Benchmark client of rollouts-dashboard against the upstream `kubectl argo rollouts dashboard`.
//!
//! Not a test: it measures and prints, it never asserts timings. Driven by `tests/bench/run.sh`
//! (see `tests/bench/README.md` for what every figure means). Subcommands:
//!
//! * `setup --namespaces a,b --total N [--timeout S] [--out F]`: creates N small Rollouts (1 pod
//!   each) spread over the namespaces, then waits until the real controller (and kwok) made every
//!   ReplicaSet and pod and every rollout is Healthy; prints the times as JSON.
//! * `run ...`: one cell of the matrix, for each target (ours over WebSocket, upstream over SSE)
//!   in turn: K list clients + D detail clients connect (time to first full snapshot), then R
//!   label patches per second for `--busy` seconds (latency from the patch's return to the frame
//!   that carries it, at every client), then `--idle` seconds without changes (bytes), fresh
//!   single-client snapshots, and the server's RSS, CPU seconds and API watches throughout.
//!
//! Uses `KUBECONFIG` (kube's usual inference) for the API server.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::{SinkExt, StreamExt};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The label the patcher writes; its value `m<id>` identifies one patch.
const MARK_LABEL: &str = "rdb-mark";
/// How a value of the label appears in a frame: in a whole object (our `upsert`, `detail` and
/// `snapshot`, upstream's events), or as the value of an operation of our `patch` and
/// `detailPatch` frames.
const MARK_NEEDLES: [&str; 3] = [
    "\"rdb-mark\":\"m",
    "\"path\":\"/labels/rdb-mark\",\"value\":\"m",
    "\"path\":\"/summary/labels/rdb-mark\",\"value\":\"m",
];

// ---------------------------------------------------------------------------------------------
// arguments

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
    let argv: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` appends `--bench`; ignore it.
    let argv: Vec<String> = argv.into_iter().filter(|a| a != "--bench").collect();
    let Some(cmd) = argv.first().cloned() else {
        eprintln!("usage: stream (setup|run) --flag value ...   (see tests/bench/README.md)");
        std::process::exit(2);
    };
    let args = Args(argv[1..].to_vec());
    let threads = args.num("threads", 2.0) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = rt.block_on(async {
        match cmd.as_str() {
            "setup" => setup(&args).await,
            "run" => run(&args).await,
            other => Err(format!("unknown subcommand {other:?}").into()),
        }
    });
    match result {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            eprintln!("[bench] ERROR: {err}");
            std::process::exit(1);
        }
    }
}

fn rollout_api(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "rollouts");
    Api::namespaced_with(client.clone(), ns, &ar)
}

fn write_out(args: &Args, value: &Value) -> Res<()> {
    let text = serde_json::to_string_pretty(value)?;
    if let Some(path) = args.get("out") {
        std::fs::write(path, &text)?;
    }
    println!("{text}");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// setup: N rollouts through the real controller

fn rollout_manifest(ns: &str, name: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name, "namespace": ns, "labels": {"app.kubernetes.io/part-of": "rdb-bench"}},
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "registry.invalid/bench:1",
                    "resources": {"requests": {"cpu": "1m", "memory": "1Mi"}}}]}
            },
            "strategy": {"canary": {"steps": [{"setWeight": 50}, {"pause": {"duration": "10s"}}]}}
        }
    })
}

async fn setup(args: &Args) -> Res<i32> {
    let namespaces: Vec<String> = args
        .str("namespaces", "rdb-bench-0")
        .split(',')
        .map(str::to_owned)
        .collect();
    let total = args.num("total", 100.0) as usize;
    let replicas = args.num("replicas", 1.0) as i64;
    let timeout = Duration::from_secs_f64(args.num("timeout", 900.0));
    let client = kube::Client::try_default().await?;
    let ns_api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    for ns in &namespaces {
        let obj = serde_json::from_value(json!({"metadata": {"name": ns}}))?;
        match ns_api.create(&PostParams::default(), &obj).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
    }
    let t0 = Instant::now();
    let created = Arc::new(AtomicU64::new(0));
    let existing = Arc::new(AtomicU64::new(0));
    let work: Vec<(String, String)> = (0..total)
        .map(|i| {
            (
                namespaces[i % namespaces.len()].clone(),
                format!("r-{i:05}"),
            )
        })
        .collect();
    let results: Vec<Res<()>> = futures::stream::iter(work)
        .map(|(ns, name)| {
            let client = client.clone();
            let created = created.clone();
            let existing = existing.clone();
            async move {
                let api = rollout_api(&client, &ns);
                let obj: DynamicObject =
                    serde_json::from_value(rollout_manifest(&ns, &name, replicas))?;
                match api.create(&PostParams::default(), &obj).await {
                    Ok(_) => {
                        created.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(kube::Error::Api(e)) if e.code == 409 => {
                        existing.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => return Err(e.into()),
                }
                Ok(())
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    for r in results {
        r?;
    }
    // Rollouts of an earlier run with another namespace count would skew N: delete them.
    let wanted: HashSet<(String, String)> = (0..total)
        .map(|i| {
            (
                namespaces[i % namespaces.len()].clone(),
                format!("r-{i:05}"),
            )
        })
        .collect();
    let mut removed = 0u64;
    for ns in &namespaces {
        let api = rollout_api(&client, ns);
        for r in api.list(&ListParams::default()).await?.items {
            let name = r.metadata.name.clone().unwrap_or_default();
            if name.starts_with("r-") && !wanted.contains(&(ns.clone(), name.clone())) {
                api.delete(&name, &Default::default()).await?;
                removed += 1;
            }
        }
    }
    let create_s = t0.elapsed().as_secs_f64();
    eprintln!(
        "[bench] setup: {} rollouts created, {} existed, in {create_s:.1}s; waiting for Healthy",
        created.load(Ordering::Relaxed),
        existing.load(Ordering::Relaxed)
    );
    let mut healthy;
    let mut last_log = Instant::now();
    loop {
        let mut count = 0usize;
        for ns in &namespaces {
            let list = rollout_api(&client, ns)
                .list(&ListParams::default())
                .await?;
            count += list
                .items
                .iter()
                .filter(|r| {
                    let s = &r.data["status"];
                    s["phase"] == "Healthy" && s["availableReplicas"].as_i64() == Some(replicas)
                })
                .count();
        }
        healthy = count;
        if healthy >= total || t0.elapsed() > timeout {
            break;
        }
        if last_log.elapsed() > Duration::from_secs(15) {
            eprintln!(
                "[bench] setup: {healthy}/{total} Healthy after {:.0}s",
                t0.elapsed().as_secs_f64()
            );
            last_log = Instant::now();
        }
        tokio::time::sleep(Duration::from_secs(if total > 2000 { 5 } else { 2 })).await;
    }
    let ready_s = t0.elapsed().as_secs_f64();
    eprintln!("[bench] setup: {healthy}/{total} Healthy after {ready_s:.1}s");
    write_out(
        args,
        &json!({
            "total": total, "namespaces": namespaces,
            "created": created.load(Ordering::Relaxed), "existed": existing.load(Ordering::Relaxed),
            "removedStale": removed,
            "createSeconds": create_s, "healthySeconds": ready_s, "healthy": healthy,
        }),
    )?;
    Ok(if healthy >= total { 0 } else { 4 })
}

// ---------------------------------------------------------------------------------------------
// byte-counting socket

struct Counting {
    inner: TcpStream,
    bytes: Arc<AtomicU64>,
}

impl AsyncRead for Counting {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        poll
    }
}

impl AsyncWrite for Counting {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

// ---------------------------------------------------------------------------------------------
// patches and their delivery

struct PatchRec {
    rollout: usize,
    sent: Instant,
    returned: Option<Instant>,
}

/// Every patch of one target's busy phase; ids are `base + index`.
struct Table {
    base: u64,
    patches: Vec<PatchRec>,
    /// Per rollout, the indexes of its patches in order.
    by_rollout: Vec<Vec<usize>>,
}

#[derive(Default)]
struct Samples {
    from_return_us: Vec<u64>,
    from_send_us: Vec<u64>,
}

/// One client's view of the patches.
struct Tracker {
    next: Vec<usize>,
    resolved: u64,
}

impl Tracker {
    fn new(rollouts: usize) -> Self {
        Self {
            next: vec![0; rollouts],
            resolved: 0,
        }
    }

    /// A frame carried `text`: every patch it proves delivered is timed.
    fn frame(&mut self, text: &str, table: &Mutex<Table>, samples: &Mutex<Samples>, now: Instant) {
        let mut found: Vec<u64> = Vec::new();
        for needle in MARK_NEEDLES {
            let mut from = 0;
            while let Some(pos) = text[from..].find(needle) {
                let start = from + pos + needle.len();
                let digits: String = text[start..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                if let Ok(id) = digits.parse::<u64>() {
                    found.push(id);
                }
                from = start;
            }
        }
        if found.is_empty() {
            return;
        }
        let table = table.lock().unwrap();
        let mut new_samples = Samples::default();
        for id in found {
            if id < table.base {
                continue;
            }
            let index = (id - table.base) as usize;
            let Some(rec) = table.patches.get(index) else {
                continue;
            };
            let list = &table.by_rollout[rec.rollout];
            let next = &mut self.next[rec.rollout];
            while *next < list.len() && list[*next] <= index {
                let p = &table.patches[list[*next]];
                let ret = p.returned.unwrap_or(now).min(now);
                new_samples
                    .from_return_us
                    .push(now.duration_since(ret).as_micros() as u64);
                new_samples
                    .from_send_us
                    .push(now.duration_since(p.sent).as_micros() as u64);
                *next += 1;
                self.resolved += 1;
            }
        }
        drop(table);
        if !new_samples.from_return_us.is_empty() {
            let mut s = samples.lock().unwrap();
            s.from_return_us.extend(new_samples.from_return_us);
            s.from_send_us.extend(new_samples.from_send_us);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// stream clients

#[derive(Clone, Copy, PartialEq)]
enum Proto {
    Ws,
    Sse,
}

#[derive(Clone)]
struct Target {
    name: String,
    proto: Proto,
    /// host:port
    addr: String,
    /// URL path prefix (upstream: `/rollouts`).
    prefix: String,
    pid: u32,
}

#[derive(Clone)]
enum Sub {
    List(Option<String>),
    Detail(String, String),
}

#[derive(Default)]
struct ClientStats {
    bytes: AtomicU64,
    frames: AtomicU64,
    snapshot: Mutex<Option<(Duration, u64)>>,
    error: Mutex<Option<String>>,
    closed: AtomicBool,
    /// Chunked-encoding lines that were not chunk sizes (SSE only).
    framing_errors: AtomicU64,
}

struct Shared {
    table: Mutex<Table>,
    /// Latency samples of the list clients.
    samples: Mutex<Samples>,
    /// Latency samples of the detail clients (only patches of the rollout they watch).
    detail_samples: Mutex<Samples>,
    stop: AtomicBool,
}

/// Names of the rollouts an upstream list event is about (first objectMeta name).
fn event_rollout_name(event: &str) -> Option<&str> {
    const NEEDLE: &str = "\"objectMeta\":{\"name\":\"";
    let start = event.find(NEEDLE)? + NEEDLE.len();
    let end = event[start..].find('"')?;
    Some(&event[start..start + end])
}

async fn client(
    target: Target,
    sub: Sub,
    expect: usize,
    stats: Arc<ClientStats>,
    shared: Arc<Shared>,
    rollouts: usize,
) {
    let t0 = Instant::now();
    let result = match target.proto {
        Proto::Ws => ws_client(&target, &sub, &stats, &shared, rollouts, t0).await,
        Proto::Sse => sse_client(&target, &sub, expect, &stats, &shared, rollouts, t0).await,
    };
    if let Err(err) = result
        && !shared.stop.load(Ordering::Relaxed)
    {
        *stats.error.lock().unwrap() = Some(err.to_string());
    }
    stats.closed.store(true, Ordering::Relaxed);
}

async fn ws_client(
    target: &Target,
    sub: &Sub,
    stats: &Arc<ClientStats>,
    shared: &Arc<Shared>,
    rollouts: usize,
    t0: Instant,
) -> Res<()> {
    use tokio_tungstenite::tungstenite::Message;
    let tcp = TcpStream::connect(&target.addr).await?;
    tcp.set_nodelay(true)?;
    let counting = Counting {
        inner: tcp,
        bytes: Arc::new(AtomicU64::new(0)),
    };
    let bytes = counting.bytes.clone();
    let url = format!("ws://{}{}/api/v1/stream", target.addr, target.prefix);
    let (mut ws, _) = tokio_tungstenite::client_async(url, counting).await?;
    let msg = match sub {
        Sub::List(ns) => {
            json!({"type": "subscribeList", "namespaces": ns.iter().collect::<Vec<_>>()})
        }
        Sub::Detail(ns, name) => json!({"type": "subscribeRollout", "namespace": ns, "name": name}),
    };
    ws.send(Message::Text(msg.to_string().into())).await?;
    let mut tracker = Tracker::new(rollouts);
    let mut counted = 0u64;
    loop {
        let next = tokio::time::timeout(Duration::from_millis(500), ws.next()).await;
        let total = bytes.load(Ordering::Relaxed);
        stats.bytes.fetch_add(total - counted, Ordering::Relaxed);
        counted = total;
        if shared.stop.load(Ordering::Relaxed) {
            let _ = ws.close(None).await;
            return Ok(());
        }
        let Ok(next) = next else { continue };
        let Some(msg) = next else {
            return Err("server closed the WebSocket".into());
        };
        let Message::Text(text) = msg? else { continue };
        let now = Instant::now();
        stats.frames.fetch_add(1, Ordering::Relaxed);
        let text: &str = text.as_str();
        let is_snapshot = match sub {
            // Protocol 4 ends its paged snapshot with `snapshotEnd`; 3 sent one `snapshot`.
            Sub::List(_) => {
                text.starts_with("{\"type\":\"snapshotEnd\"")
                    || text.starts_with("{\"type\":\"snapshot\"")
            }
            Sub::Detail(..) => {
                text.starts_with("{\"type\":\"detail\"")
                    || text.starts_with("{\"type\":\"notFound\"")
            }
        };
        if is_snapshot {
            let mut snap = stats.snapshot.lock().unwrap();
            if snap.is_none() {
                *snap = Some((now - t0, total));
            }
        }
        let samples = match sub {
            Sub::List(_) => &shared.samples,
            Sub::Detail(..) => &shared.detail_samples,
        };
        tracker.frame(text, &shared.table, samples, now);
    }
}

/// De-chunks an HTTP/1.1 chunked body incrementally.
struct Dechunk {
    raw: Vec<u8>,
    remaining: usize,
    errors: u64,
}

impl Dechunk {
    /// Moves what is complete from `raw` into `out`.
    fn feed(&mut self, out: &mut Vec<u8>) -> Res<bool> {
        loop {
            if self.remaining > 0 {
                let n = self.remaining.min(self.raw.len());
                out.extend_from_slice(&self.raw[..n]);
                self.raw.drain(..n);
                self.remaining -= n;
                if self.remaining > 0 {
                    return Ok(false);
                }
                // trailing CRLF of the chunk is consumed with the next size line
            }
            let Some(line_end) = self.raw.windows(2).position(|w| w == b"\r\n") else {
                return Ok(false);
            };
            let line = String::from_utf8_lossy(&self.raw[..line_end]).to_string();
            self.raw.drain(..line_end + 2);
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let Ok(size) = usize::from_str_radix(line.split(';').next().unwrap_or("0"), 16) else {
                // Not a chunk size: the framing is broken (seen once under load with 100
                // upstream clients). Count it and resynchronize on the next line.
                self.errors += 1;
                continue;
            };
            if size == 0 {
                return Ok(true);
            }
            self.remaining = size;
        }
    }
}

async fn sse_client(
    target: &Target,
    sub: &Sub,
    expect: usize,
    stats: &Arc<ClientStats>,
    shared: &Arc<Shared>,
    rollouts: usize,
    t0: Instant,
) -> Res<()> {
    let tcp = TcpStream::connect(&target.addr).await?;
    tcp.set_nodelay(true)?;
    let mut sock = Counting {
        inner: tcp,
        bytes: Arc::new(AtomicU64::new(0)),
    };
    let bytes = sock.bytes.clone();
    let path = match sub {
        Sub::List(ns) => format!(
            "{}/api/v1/rollouts/{}/info/watch",
            target.prefix,
            ns.as_deref().unwrap_or("default")
        ),
        Sub::Detail(ns, name) => {
            format!("{}/api/v1/rollouts/{ns}/{name}/info/watch", target.prefix)
        }
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n",
        target.addr
    );
    sock.write_all(request.as_bytes()).await?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut head = Vec::new();
    let mut chunked = false;
    let mut dechunk = Dechunk {
        raw: Vec::new(),
        remaining: 0,
        errors: 0,
    };
    let mut body: Vec<u8> = Vec::new();
    let mut in_body = false;
    let mut names: HashSet<String> = HashSet::new();
    let mut tracker = Tracker::new(rollouts);
    let mut counted = 0u64;
    loop {
        let read = tokio::time::timeout(Duration::from_millis(500), sock.read(&mut buf)).await;
        let total = bytes.load(Ordering::Relaxed);
        stats.bytes.fetch_add(total - counted, Ordering::Relaxed);
        counted = total;
        if shared.stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let Ok(read) = read else { continue };
        let n = read?;
        if n == 0 {
            return Err("server closed the SSE stream".into());
        }
        let now = Instant::now();
        let data = &buf[..n];
        if !in_body {
            head.extend_from_slice(data);
            let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head_text = String::from_utf8_lossy(&head[..end]).to_lowercase();
            if !head_text.starts_with("http/1.1 200") {
                return Err(format!(
                    "SSE answered {}",
                    head_text.lines().next().unwrap_or_default()
                )
                .into());
            }
            chunked = head_text.contains("transfer-encoding: chunked");
            let rest = head[end + 4..].to_vec();
            in_body = true;
            if chunked {
                dechunk.raw.extend_from_slice(&rest);
            } else {
                body.extend_from_slice(&rest);
            }
        } else if chunked {
            dechunk.raw.extend_from_slice(data);
        } else {
            body.extend_from_slice(data);
        }
        let before = dechunk.errors;
        if chunked && dechunk.feed(&mut body)? {
            return Err("SSE stream ended".into());
        }
        stats
            .framing_errors
            .fetch_add(dechunk.errors - before, Ordering::Relaxed);
        // complete events end with a blank line
        while let Some(pos) = body.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = body.drain(..pos + 2).collect();
            let event = String::from_utf8_lossy(&event);
            if !event.contains("data:") {
                continue; // keep-alive comment
            }
            stats.frames.fetch_add(1, Ordering::Relaxed);
            let complete = match sub {
                Sub::List(_) => {
                    if let Some(name) = event_rollout_name(&event)
                        && names.len() < expect
                    {
                        names.insert(name.to_owned());
                    }
                    names.len() >= expect
                }
                Sub::Detail(..) => true,
            };
            if complete {
                let mut snap = stats.snapshot.lock().unwrap();
                if snap.is_none() {
                    *snap = Some((now - t0, total));
                }
            }
            let samples = match sub {
                Sub::List(_) => &shared.samples,
                Sub::Detail(..) => &shared.detail_samples,
            };
            tracker.frame(&event, &shared.table, samples, now);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// server-side measurements

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// utime + stime in seconds (USER_HZ = 100 on Linux).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// The 1-minute load average: the machine may be shared with other work.
fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Established TCP connections of `pid` to the API server port (`ss -tnp`).
fn ss_connections(pid: u32, port: u16) -> Option<u64> {
    let out = std::process::Command::new("ss")
        .args(["-tnpH", "state", "established"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let needle = format!("pid={pid},");
    let port_suffix = format!(":{port}");
    Some(
        text.lines()
            .filter(|l| l.contains(&needle))
            .filter(|l| {
                l.split_whitespace()
                    .nth(3)
                    .is_some_and(|peer| peer.ends_with(&port_suffix))
            })
            .count() as u64,
    )
}

/// Sum of `apiserver_longrunning_requests{verb="WATCH"}`: watches open on the API server.
async fn apiserver_watches(client: &kube::Client) -> Option<f64> {
    let req = axum::http::Request::get("/metrics").body(Vec::new()).ok()?;
    let text = client.request_text(req).await.ok()?;
    Some(
        text.lines()
            .filter(|l| {
                l.starts_with("apiserver_longrunning_requests{") && l.contains("verb=\"WATCH\"")
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum(),
    )
}

fn pct(sorted: &[u64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Some(sorted[idx.min(sorted.len() - 1)] as f64)
}

fn dist_ms(mut v: Vec<u64>, unit_per_ms: f64) -> Value {
    v.sort_unstable();
    let f = |x: Option<f64>| x.map(|x| (x / unit_per_ms * 100.0).round() / 100.0);
    json!({
        "n": v.len(),
        "p50": f(pct(&v, 0.5)),
        "p99": f(pct(&v, 0.99)),
        "max": f(v.last().map(|x| *x as f64)),
    })
}

// ---------------------------------------------------------------------------------------------
// one cell

struct Cell {
    namespace: String,
    names: Vec<String>,
    clients: usize,
    detail_clients: usize,
    rate: f64,
    busy: Duration,
    idle: Duration,
    connect_timeout: Duration,
    apiserver_port: u16,
    watch_baseline: Option<f64>,
    fresh_probes: usize,
}

async fn run(args: &Args) -> Res<i32> {
    let client = kube::Client::try_default().await?;
    let namespace = args.str("namespace", "rdb-bench-0");
    let list = rollout_api(&client, &namespace)
        .list(&ListParams::default())
        .await?;
    let mut names: Vec<String> = list
        .items
        .iter()
        .filter_map(|r| r.metadata.name.clone())
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(format!("no rollouts in namespace {namespace}").into());
    }
    let cell = Cell {
        namespace: namespace.clone(),
        names,
        clients: args.num("clients", 1.0) as usize,
        detail_clients: args.num("detail-clients", 1.0) as usize,
        rate: args.num("rate", 10.0),
        busy: Duration::from_secs_f64(args.num("busy", 30.0)),
        idle: Duration::from_secs_f64(args.num("idle", 25.0)),
        connect_timeout: Duration::from_secs_f64(args.num("connect-timeout", 180.0)),
        apiserver_port: args.num("apiserver-port", 0.0) as u16,
        watch_baseline: args.get("watch-baseline").and_then(|v| v.parse().ok()),
        fresh_probes: args.num("fresh-probes", 3.0) as usize,
    };
    let mut targets = Vec::new();
    if let Some(addr) = args.get("ours") {
        targets.push(Target {
            name: "ours".into(),
            proto: Proto::Ws,
            addr,
            prefix: String::new(),
            pid: args.num("ours-pid", 0.0) as u32,
        });
    }
    if let Some(addr) = args.get("upstream") {
        targets.push(Target {
            name: "upstream".into(),
            proto: Proto::Sse,
            addr,
            prefix: args.str("upstream-prefix", "/rollouts"),
            pid: args.num("upstream-pid", 0.0) as u32,
        });
    }
    let mut results = Vec::new();
    let mut broken = Vec::new();
    for target in &targets {
        eprintln!(
            "[bench] {}: ns {} ({} rollouts), {} list + {} detail clients, {}/s for {:?}, idle {:?}",
            target.name,
            cell.namespace,
            cell.names.len(),
            cell.clients,
            cell.detail_clients,
            cell.rate,
            cell.busy,
            cell.idle
        );
        let (value, problems) = run_target(&client, target, &cell, args).await?;
        for p in problems {
            broken.push(format!("{}: {p}", target.name));
        }
        results.push(value);
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let out = json!({
        "label": args.str("label", ""),
        "namespace": cell.namespace,
        "rolloutsInNamespace": cell.names.len(),
        "rolloutsTotal": args.num("total", 0.0),
        "clients": cell.clients,
        "detailClients": cell.detail_clients,
        "rate": cell.rate,
        "busySeconds": cell.busy.as_secs_f64(),
        "idleSeconds": cell.idle.as_secs_f64(),
        "targets": results,
        "harnessProblems": broken,
    });
    write_out(args, &out)?;
    if !broken.is_empty() {
        for b in &broken {
            eprintln!("[bench] HARNESS PROBLEM: {b}");
        }
        if args.get("strict").is_some_and(|v| v == "1") {
            return Ok(3);
        }
    }
    Ok(0)
}

struct Sampler {
    peak_rss: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

fn start_sampler(pid: u32) -> Sampler {
    let peak = Arc::new(AtomicU64::new(rss_kib(pid).unwrap_or(0)));
    let stop = Arc::new(AtomicBool::new(false));
    let (p, s) = (peak.clone(), stop.clone());
    tokio::spawn(async move {
        while !s.load(Ordering::Relaxed) {
            if let Some(r) = rss_kib(pid) {
                p.fetch_max(r, Ordering::Relaxed);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    Sampler {
        peak_rss: peak,
        stop,
    }
}

fn mib(kib: Option<u64>) -> Option<f64> {
    kib.map(|k| (k as f64 / 1024.0 * 10.0).round() / 10.0)
}

fn sum_bytes(stats: &[Arc<ClientStats>]) -> u64 {
    stats.iter().map(|s| s.bytes.load(Ordering::Relaxed)).sum()
}

fn per_client_per_min(delta: u64, clients: usize, dur: Duration) -> Option<f64> {
    (clients > 0).then(|| (delta as f64 / clients as f64 / dur.as_secs_f64() * 60.0).round())
}

async fn run_target(
    kube: &kube::Client,
    target: &Target,
    cell: &Cell,
    args: &Args,
) -> Res<(Value, Vec<String>)> {
    let mut problems = Vec::new();
    let pid = target.pid;
    let load_start = loadavg();
    let sampler = start_sampler(pid);
    let rss_start = rss_kib(pid);
    let watches_before = apiserver_watches(kube).await;
    let ss_before = ss_connections(pid, cell.apiserver_port);
    let cpu0 = cpu_seconds(pid);
    let base = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() * 1_000_000;
    let shared = Arc::new(Shared {
        table: Mutex::new(Table {
            base,
            patches: Vec::new(),
            by_rollout: vec![Vec::new(); cell.names.len()],
        }),
        samples: Mutex::new(Samples::default()),
        detail_samples: Mutex::new(Samples::default()),
        stop: AtomicBool::new(false),
    });
    // -- connect K list clients and D detail clients at once
    let t_connect = Instant::now();
    let mut list_stats = Vec::new();
    let mut detail_stats = Vec::new();
    let mut handles = Vec::new();
    let n = cell.names.len();
    for i in 0..cell.clients + cell.detail_clients {
        let stats = Arc::new(ClientStats::default());
        let sub = if i < cell.clients {
            list_stats.push(stats.clone());
            Sub::List(Some(cell.namespace.clone()))
        } else {
            detail_stats.push(stats.clone());
            Sub::Detail(cell.namespace.clone(), cell.names[0].clone())
        };
        handles.push(tokio::spawn(client(
            target.clone(),
            sub,
            n,
            stats,
            shared.clone(),
            n,
        )));
    }
    let all: Vec<Arc<ClientStats>> = list_stats.iter().chain(&detail_stats).cloned().collect();
    loop {
        let done = all
            .iter()
            .filter(|s| s.snapshot.lock().unwrap().is_some() || s.closed.load(Ordering::Relaxed))
            .count();
        if done == all.len() || t_connect.elapsed() > cell.connect_timeout {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let connect_wall = t_connect.elapsed();
    let cpu_connected = cpu_seconds(pid);
    let snap_times = |stats: &[Arc<ClientStats>]| -> (Vec<u64>, Vec<u64>) {
        let mut t = Vec::new();
        let mut b = Vec::new();
        for s in stats {
            if let Some((d, bytes)) = *s.snapshot.lock().unwrap() {
                t.push(d.as_micros() as u64);
                b.push(bytes);
            }
        }
        (t, b)
    };
    let (list_snap_us, list_snap_bytes) = snap_times(&list_stats);
    let (detail_snap_us, _) = snap_times(&detail_stats);
    if list_snap_us.len() < cell.clients {
        problems.push(format!(
            "only {}/{} list clients got a full snapshot within {:?}",
            list_snap_us.len(),
            cell.clients,
            cell.connect_timeout
        ));
    }
    // let the API server register the watches of slow starters
    tokio::time::sleep(Duration::from_secs(2)).await;
    let watches_with_clients = apiserver_watches(kube).await;
    let ss_with_clients = ss_connections(pid, cell.apiserver_port);
    // -- busy: R label patches per second, round robin over the namespace's rollouts
    let cpu_busy0 = cpu_seconds(pid);
    let bytes_busy0 = sum_bytes(&list_stats);
    let detail_busy0 = sum_bytes(&detail_stats);
    let frames_busy0: u64 = list_stats
        .iter()
        .map(|s| s.frames.load(Ordering::Relaxed))
        .sum();
    let t_busy = Instant::now();
    let api = rollout_api(kube, &cell.namespace);
    let total_patches = (cell.rate * cell.busy.as_secs_f64()).round() as usize;
    let patch_errors = Arc::new(AtomicU64::new(0));
    let patch_us = Arc::new(Mutex::new(Vec::<u64>::new()));
    let inflight = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / cell.rate.max(0.001)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut patch_tasks = Vec::new();
    for i in 0..total_patches {
        tick.tick().await;
        let rollout = i % n;
        let permit = inflight.clone().acquire_owned().await?;
        let index = {
            let mut table = shared.table.lock().unwrap();
            let index = table.patches.len();
            table.patches.push(PatchRec {
                rollout,
                sent: Instant::now(),
                returned: None,
            });
            table.by_rollout[rollout].push(index);
            index
        };
        let id = base + index as u64;
        let (api, name, shared, errors, patch_us) = (
            api.clone(),
            cell.names[rollout].clone(),
            shared.clone(),
            patch_errors.clone(),
            patch_us.clone(),
        );
        patch_tasks.push(tokio::spawn(async move {
            let patch = json!({"metadata": {"labels": {MARK_LABEL: format!("m{id}")}}});
            let sent = Instant::now();
            let r = api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await;
            let done = Instant::now();
            match r {
                Ok(_) => {
                    shared.table.lock().unwrap().patches[index].returned = Some(done);
                    patch_us
                        .lock()
                        .unwrap()
                        .push((done - sent).as_micros() as u64);
                }
                Err(e) => {
                    if errors.fetch_add(1, Ordering::Relaxed) < 3 {
                        eprintln!("[bench] patch {name} failed: {e}");
                    }
                }
            }
            drop(permit);
        }));
    }
    for t in patch_tasks {
        let _ = t.await;
    }
    let patching_wall = t_busy.elapsed();
    // grace for the last frames
    tokio::time::sleep(Duration::from_secs(3)).await;
    let busy_wall = t_busy.elapsed();
    let cpu_busy1 = cpu_seconds(pid);
    let bytes_busy1 = sum_bytes(&list_stats);
    let detail_busy1 = sum_bytes(&detail_stats);
    let frames_busy1: u64 = list_stats
        .iter()
        .map(|s| s.frames.load(Ordering::Relaxed))
        .sum();
    let samples = std::mem::take(&mut *shared.samples.lock().unwrap());
    let detail_samples = std::mem::take(&mut *shared.detail_samples.lock().unwrap());
    let delivered = samples.from_return_us.len() as u64;
    let detail_delivered = detail_samples.from_return_us.len() as u64;
    let (ok_patches, ok_first) = {
        let table = shared.table.lock().unwrap();
        let ok = table.patches.iter().filter(|p| p.returned.is_some());
        let first = ok.clone().filter(|p| p.rollout == 0).count() as u64;
        (ok.count() as u64, first)
    };
    let expected_deliveries = ok_patches * cell.clients as u64;
    let expected_detail = ok_first * cell.detail_clients as u64;
    // -- idle
    tokio::time::sleep(Duration::from_secs(2)).await;
    let bytes_idle0 = sum_bytes(&list_stats);
    let detail_idle0 = sum_bytes(&detail_stats);
    let cpu_idle0 = cpu_seconds(pid);
    let t_idle = Instant::now();
    tokio::time::sleep(cell.idle).await;
    let idle_wall = t_idle.elapsed();
    let bytes_idle1 = sum_bytes(&list_stats);
    let detail_idle1 = sum_bytes(&detail_stats);
    let cpu_idle1 = cpu_seconds(pid);
    let rss_with_clients = rss_kib(pid);
    for s in &all {
        if let Some(e) = s.error.lock().unwrap().clone() {
            problems.push(format!("client error: {e}"));
            break;
        }
    }
    let frames_total: u64 = all.iter().map(|s| s.frames.load(Ordering::Relaxed)).sum();
    if frames_total == 0 {
        problems.push("no frames at all".into());
    }
    // -- disconnect
    shared.stop.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = tokio::time::timeout(Duration::from_secs(5), h).await;
    }
    // -- fresh single clients, one after the other, on a quiet server
    let mut fresh = Vec::new();
    let mut fresh_bytes = 0;
    let mut fresh_all = Vec::new();
    let mut fresh_all_bytes = 0;
    let all_ns = args.get("all-namespaces-snapshot").is_none_or(|v| v == "1");
    for round in 0..cell.fresh_probes {
        for all_namespaces in [false, true] {
            if all_namespaces && (target.proto != Proto::Ws || !all_ns) {
                continue;
            }
            let shared = Arc::new(Shared {
                table: Mutex::new(Table {
                    base,
                    patches: Vec::new(),
                    by_rollout: vec![Vec::new(); n],
                }),
                samples: Mutex::new(Samples::default()),
                detail_samples: Mutex::new(Samples::default()),
                stop: AtomicBool::new(false),
            });
            let stats = Arc::new(ClientStats::default());
            let sub = Sub::List((!all_namespaces).then(|| cell.namespace.clone()));
            let h = tokio::spawn(client(
                target.clone(),
                sub,
                n,
                stats.clone(),
                shared.clone(),
                n,
            ));
            let t = Instant::now();
            while stats.snapshot.lock().unwrap().is_none()
                && !stats.closed.load(Ordering::Relaxed)
                && t.elapsed() < cell.connect_timeout
            {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            shared.stop.store(true, Ordering::Relaxed);
            if let Some((d, b)) = *stats.snapshot.lock().unwrap() {
                if all_namespaces {
                    fresh_all.push(d.as_micros() as u64);
                    fresh_all_bytes = b;
                } else {
                    fresh.push(d.as_micros() as u64);
                    fresh_bytes = b;
                }
            } else if round == 0 {
                problems.push(format!(
                    "fresh client got no snapshot ({})",
                    stats.error.lock().unwrap().clone().unwrap_or_default()
                ));
            }
            let _ = tokio::time::timeout(Duration::from_secs(5), h).await;
        }
    }
    sampler.stop.store(true, Ordering::Relaxed);
    let server_alive = alive(pid);
    if !server_alive {
        problems.push(format!("server pid {pid} died"));
    }
    let cpu_d = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => Some(((b - a) * 100.0).round() / 100.0),
        _ => None,
    };
    let busy_cpu = cpu_d(cpu_busy0, cpu_busy1);
    let idle_cpu = cpu_d(cpu_idle0, cpu_idle1);
    let value = json!({
        "target": target.name,
        "loadavg1m": {"start": load_start, "end": loadavg()},
        "pid": pid,
        "serverAlive": server_alive,
        "connect": {
            "listClients": cell.clients,
            "detailClients": cell.detail_clients,
            "listSnapshots": list_snap_us.len(),
            "detailSnapshots": detail_snap_us.len(),
            "wallSeconds": (connect_wall.as_secs_f64() * 100.0).round() / 100.0,
            "snapshotMs": dist_ms(list_snap_us, 1000.0),
            "detailFirstFrameMs": dist_ms(detail_snap_us, 1000.0),
            "snapshotBytesPerClient": list_snap_bytes.iter().sum::<u64>() / (list_snap_bytes.len().max(1) as u64),
            "cpuSeconds": cpu_d(cpu0, cpu_connected),
        },
        "freshSnapshotMs": dist_ms(fresh, 1000.0),
        "freshSnapshotBytes": fresh_bytes,
        "freshAllNamespacesSnapshotMs": dist_ms(fresh_all, 1000.0),
        "freshAllNamespacesSnapshotBytes": fresh_all_bytes,
        "latencyFromPatchReturnMs": dist_ms(samples.from_return_us, 1000.0),
        "latencyFromPatchSendMs": dist_ms(samples.from_send_us, 1000.0),
        "deliveries": {"expected": expected_deliveries, "delivered": delivered,
                       "missed": expected_deliveries.saturating_sub(delivered)},
        "detailLatencyFromPatchReturnMs": dist_ms(detail_samples.from_return_us, 1000.0),
        "detailDeliveries": {"expected": expected_detail, "delivered": detail_delivered,
                             "missed": expected_detail.saturating_sub(detail_delivered)},
        "sseFramingErrors": all.iter().map(|s| s.framing_errors.load(Ordering::Relaxed)).sum::<u64>(),
        "patches": {"sent": total_patches, "errors": patch_errors.load(Ordering::Relaxed),
                    "wallSeconds": patching_wall.as_secs_f64(),
                    "requestMs": dist_ms(std::mem::take(&mut *patch_us.lock().unwrap()), 1000.0)},
        "busy": {
            "wallSeconds": busy_wall.as_secs_f64(),
            "cpuSeconds": busy_cpu,
            "cores": busy_cpu.map(|c| (c / busy_wall.as_secs_f64() * 1000.0).round() / 1000.0),
            "bytesPerClientPerMinute": per_client_per_min(bytes_busy1 - bytes_busy0, cell.clients, busy_wall),
            "detailBytesPerClientPerMinute": per_client_per_min(detail_busy1 - detail_busy0, cell.detail_clients, busy_wall),
            "framesPerClient": (frames_busy1 - frames_busy0) / cell.clients.max(1) as u64,
        },
        "idle": {
            "wallSeconds": idle_wall.as_secs_f64(),
            "cpuSeconds": idle_cpu,
            "bytesPerClientPerMinute": per_client_per_min(bytes_idle1 - bytes_idle0, cell.clients, idle_wall),
            "detailBytesPerClientPerMinute": per_client_per_min(detail_idle1 - detail_idle0, cell.detail_clients, idle_wall),
        },
        "rssMiB": {
            "start": mib(rss_start),
            "withClients": mib(rss_with_clients),
            "peak": mib(Some(sampler.peak_rss.load(Ordering::Relaxed))),
        },
        "apiWatches": {
            "metricBaselineWithoutDashboards": cell.watch_baseline,
            "metricBefore": watches_before,
            "metricWithClients": watches_with_clients,
            "addedByClients": match (watches_before, watches_with_clients) {
                (Some(a), Some(b)) => Some(b - a), _ => None },
            "tcpConnsBefore": ss_before,
            "tcpConnsWithClients": ss_with_clients,
        },
    });
    Ok((value, problems))
}
