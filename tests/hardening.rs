//! Hardening, round 2 (issue #11): WebSocket frame limits, Kubernetes name validation at
//! every entry point, slow and idle connections, the connection cap, WebSockets per user,
//! `Cache-Control: no-store` on the API, and per-user status.
//!
//! Every server here is the real one ([`rollouts_dashboard::serve`]: the accept loop with
//! the limits of its configuration) on 127.0.0.1:0. Where a limit is a time, the test
//! configures a short one, asserts bounds that cannot be met by accident (the close must
//! not come before the limit, and must come within a generous bound), and prints the
//! figure measured.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Request;
use clap::Parser;
use common::{fixtures, next_json, next_snapshot, send};
use futures::SinkExt;
use rollouts_dashboard::actions::KubeBackend;
use rollouts_dashboard::auth::{Auth, KubeAccess};
use rollouts_dashboard::config::Config;
use rollouts_dashboard::health::{Health, SourceKind};
use rollouts_dashboard::model::Object;
use rollouts_dashboard::state::{ActionBackends, AppState, Settings};
use rollouts_dashboard::store::Store;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A validated configuration from flags.
fn config(args: &[&str]) -> Config {
    let mut argv = vec!["rollouts-dashboard"];
    argv.extend_from_slice(args);
    Config::try_parse_from(argv).unwrap().validate().unwrap()
}

/// The state `run()` would build for `--from-files <canary fixtures>` plus `args`.
async fn files_state(args: &[&str]) -> AppState {
    let path = fixtures().join("argo-rollouts-info/canary");
    let mut argv = vec!["--from-files", path.to_str().unwrap()];
    argv.extend_from_slice(args);
    rollouts_dashboard::start(&config(&argv)).await.unwrap()
}

/// Serves `state` with the real server function on 127.0.0.1:<free port>.
async fn serve(state: AppState) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(rollouts_dashboard::serve(listener, state, None));
    addr
}

/// Reads until the peer closes (EOF or reset) or `bound` passes; returns what arrived and
/// whether it closed.
async fn read_until_closed(stream: &mut TcpStream, bound: Duration) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + bound;
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return (out, false),
            Ok(Ok(0)) | Ok(Err(_)) => return (out, true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads one HTTP/1.1 response with a Content-Length body; returns (status, body).
async fn read_response(stream: &mut TcpStream, bound: Duration) -> Option<(u16, String)> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        if let Some(end) = out.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&out[..end]).to_string();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .expect("a Content-Length");
            if out.len() >= end + 4 + length {
                let status = head.split_whitespace().nth(1)?.parse().ok()?;
                let body = String::from_utf8_lossy(&out[end + 4..end + 4 + length]).to_string();
                return Some((status, body));
            }
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
            _ => return None,
        }
    }
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n";

/// A raw HTTP/1.1 request on a fresh connection (`connection: close`).
struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }
}

async fn raw(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if method == "POST" {
        req.push_str("content-type: application/json\r\nx-rollouts-dashboard: 1\r\n");
        req.push_str("content-length: 2\r\n\r\n{}");
    } else {
        req.push_str("\r\n");
    }
    stream.write_all(req.as_bytes()).await.unwrap();
    let (out, closed) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(closed, "{method} {path}: no complete answer within 10 s");
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Reply {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

type Ws = common::Socket;

/// Opens the stream with extra headers; consumes `hello`, returns the `status` frame too.
async fn ws_connect(
    addr: SocketAddr,
    headers: &[(&'static str, &str)],
) -> Result<(Ws, Value), tokio_tungstenite::tungstenite::Error> {
    let mut req = format!("ws://{addr}/api/v1/stream")
        .into_client_request()
        .unwrap();
    for (k, v) in headers {
        req.headers_mut().insert(*k, v.parse().unwrap());
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "hello", "{hello}");
    let status = next_json(&mut ws).await;
    assert_eq!(status["type"], "status", "{status}");
    Ok((ws, status))
}

fn http_status(err: &tokio_tungstenite::tungstenite::Error) -> Option<u16> {
    match err {
        tokio_tungstenite::tungstenite::Error::Http(response) => Some(response.status().as_u16()),
        _ => None,
    }
}

/// A stand-in Kubernetes API server: records every request, answers SubjectAccessReviews
/// from `allowed` ((user, namespace) pairs; namespace "" is cluster-wide) and 404 otherwise.
struct FakeApi {
    requests: Arc<Mutex<Vec<String>>>,
    access: KubeAccess,
}

async fn fake_api(allowed: &'static [(&'static str, &'static str)]) -> FakeApi {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    let app = axum::Router::new().fallback(move |req: Request| {
        let seen = seen.clone();
        async move {
            let line = format!("{} {}", req.method(), req.uri());
            seen.lock().unwrap().push(line);
            let sar = req.uri().path() == "/apis/authorization.k8s.io/v1/subjectaccessreviews";
            let body = axum::body::to_bytes(req.into_body(), 1 << 20)
                .await
                .unwrap();
            if sar {
                let mut review: Value = serde_json::from_slice(&body).unwrap();
                let user = review["spec"]["user"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let ns = review["spec"]["resourceAttributes"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let ok = allowed.iter().any(|(u, n)| *u == user && *n == ns);
                review["status"] = json!({"allowed": ok});
                return (axum::http::StatusCode::CREATED, axum::Json(review));
            }
            (
                axum::http::StatusCode::NOT_FOUND,
                axum::Json(
                    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                    "reason": "NotFound", "code": 404, "message": "not found (fake API)"}),
                ),
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let kube_config = kube::Config::new(format!("http://{addr}").parse().unwrap());
    let client = kube::Client::try_from(kube_config.clone()).unwrap();
    FakeApi {
        requests,
        access: KubeAccess {
            config: kube_config,
            client,
        },
    }
}

/// The first canary fixture rollout, renamed into `namespace`/`name`.
fn rollout(namespace: &str, name: &str) -> Object {
    let path = fixtures().join("argo-rollouts-info/canary/canary-rollout.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut doc = rollouts_dashboard::source::files::parse_documents(&path, &text)
        .unwrap()
        .into_iter()
        .next()
        .unwrap();
    doc["metadata"]["namespace"] = json!(namespace);
    doc["metadata"]["name"] = json!(name);
    Object::from_json(doc).unwrap().unwrap()
}

/// VmRSS of this process in KiB (Linux), for printed figures only.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

// ---------------------------------------------------------------------------------------
// 1. WebSocket frame size
// ---------------------------------------------------------------------------------------

/// Upgrades a raw socket by hand and reads past the HTTP answer; returns the socket and
/// the bytes after the head.
async fn raw_websocket(addr: SocketAddr) -> (TcpStream, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET /api/v1/stream HTTP/1.1\r\nhost: {addr}\r\nupgrade: websocket\r\n\
         connection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         sec-websocket-version: 13\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        if let Some(end) = out.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("handshake answer within 10 s")
            .unwrap();
        assert!(n > 0, "closed during the handshake");
        out.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&out[..end]).to_string();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    (stream, out[end + 4..].to_vec())
}

/// A masked client frame header announcing `len` payload bytes (none sent).
fn frame_header(len: u64) -> Vec<u8> {
    let mut header = vec![0x82, 0x80 | 127];
    header.extend_from_slice(&len.to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    header
}

/// The close code of the server's Close frame in `bytes` (unmasked server frames), if any.
fn close_code(bytes: &[u8]) -> Option<u16> {
    let mut at = 0;
    while at + 2 <= bytes.len() {
        let opcode = bytes[at] & 0x0f;
        let (len, header) = match bytes[at + 1] & 0x7f {
            126 if at + 4 <= bytes.len() => (
                u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]) as usize,
                4,
            ),
            127 if at + 10 <= bytes.len() => (
                u64::from_be_bytes(bytes[at + 2..at + 10].try_into().unwrap()) as usize,
                10,
            ),
            n @ 0..=125 => (n as usize, 2),
            _ => return None,
        };
        let payload = bytes.get(at + header..at + header + len)?;
        if opcode == 0x8 && payload.len() >= 2 {
            return Some(u16::from_be_bytes([payload[0], payload[1]]));
        }
        at += header + len;
    }
    None
}

#[tokio::test]
async fn websocket_frame_header_over_the_message_limit_closes_the_socket() {
    let addr = serve(files_state(&[]).await).await;
    let (mut stream, _) = raw_websocket(addr).await;
    stream.write_all(&frame_header(1 << 20)).await.unwrap();
    let started = Instant::now();
    let (bytes, closed) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    let elapsed = started.elapsed();
    println!("1 MiB frame header: closed={closed} after {elapsed:?}");
    assert!(
        closed,
        "the server kept a socket that announced a 1 MiB frame (waiting to buffer it)"
    );
    assert_eq!(close_code(&bytes), Some(1009), "a Close frame 1009 first");

    // Supporting figure only: many sockets announcing big frames do not grow memory.
    let before = rss_kib();
    let mut sockets = Vec::new();
    for _ in 0..100 {
        let (mut s, _) = raw_websocket(addr).await;
        s.write_all(&frame_header(15 << 20)).await.unwrap();
        sockets.push(s);
    }
    let mut closed_count = 0;
    for s in &mut sockets {
        if read_until_closed(s, Duration::from_secs(5)).await.1 {
            closed_count += 1;
        }
    }
    let after = rss_kib();
    println!(
        "100 sockets announcing 15 MiB frames: {closed_count} closed; RSS {before:?} KiB -> \
         {after:?} KiB (the whole test process)"
    );
    assert_eq!(closed_count, 100);
}

#[tokio::test]
async fn websocket_messages_within_the_limit_still_work() {
    let addr = serve(files_state(&[]).await).await;
    let (mut ws, _) = ws_connect(addr, &[]).await.unwrap();
    // A valid subscription padded to just under 16 KiB with spaces.
    let msg = format!(
        "{{\"type\": \"subscribeList\", \"namespaces\": []{}}}",
        " ".repeat(16 * 1024 - 60)
    );
    ws.send(Message::Text(msg.into())).await.unwrap();
    // The whole paged snapshot arrives (next_snapshot checks every frame of it).
    let snapshot = next_snapshot(&mut ws).await;
    assert!(
        !snapshot["rollouts"].as_array().unwrap().is_empty(),
        "{snapshot}"
    );
}

// ---------------------------------------------------------------------------------------
// 2. Namespaces and names
// ---------------------------------------------------------------------------------------

/// (path segment for the namespace, for the name, words the error must contain).
fn bad_keys() -> Vec<(String, String, &'static str)> {
    vec![
        ("a%2F..%2Fother".into(), "x".into(), "DNS-1123 label"),
        ("..%2Fkube-system".into(), "x".into(), "DNS-1123 label"),
        (
            "shop%00".into(),
            "x".into(),
            "only lowercase letters, digits and '-'",
        ),
        (
            "caf%C3%A9".into(),
            "x".into(),
            "only lowercase letters, digits and '-'",
        ),
        ("Shop".into(), "x".into(), "DNS-1123 label"),
        ("a".repeat(64), "x".into(), "at most 63 characters"),
        ("-shop".into(), "x".into(), "start and end with"),
        (
            "shop".into(),
            "x%3FdryRun%3DAll".into(),
            "DNS-1123 subdomain",
        ),
        (
            "shop".into(),
            "x%2F..%2F..%2Fy".into(),
            "DNS-1123 subdomain",
        ),
        ("shop".into(), "a..b".into(), "each '.'-separated part"),
        ("shop".into(), "x".repeat(300), "at most 253 characters"),
    ]
}

#[tokio::test]
async fn invalid_names_get_400_naming_the_rule_and_never_reach_kubernetes() {
    let api = fake_api(&[]).await;
    let store = Store::new(Health::loaded(SourceKind::Cluster));
    // One cluster, as every server has: the paths without a cluster mean it.
    store.cluster("files");
    let state = AppState::new(store, Settings::new(SourceKind::Cluster, false, "")).with_actions(
        ActionBackends::Kube(vec![(
            "files".into(),
            KubeBackend::new(api.access.client.clone()),
        )]),
    );
    let addr = serve(state).await;
    for (ns, name, rule) in bad_keys() {
        for (method, path) in [
            (
                "POST",
                format!("/api/v1/namespaces/{ns}/rollouts/{name}/promote"),
            ),
            ("GET", format!("/api/v1/namespaces/{ns}/rollouts/{name}")),
            (
                "GET",
                format!("/api/v1/namespaces/{ns}/rollouts/{name}/permissions"),
            ),
        ] {
            let reply = raw(addr, method, &path, &[]).await;
            assert_eq!(reply.status, 400, "{method} {path}: {}", reply.body);
            assert_eq!(reply.json()["error"]["code"], "badRequest", "{path}");
            // Every case with the valid namespace "shop" has a bad name.
            let details = if ns == "shop" {
                json!({"field": "name", "rule": "dns1123Subdomain"})
            } else {
                json!({"field": "namespace", "rule": "dns1123Label"})
            };
            assert_eq!(reply.json()["error"]["details"], details, "{path}");
            let message = reply.json()["error"]["message"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(message.contains(rule), "{path}: {message:?} lacks {rule:?}");
        }
    }
    for filter in ["a/b", "ok,a?b", "ok,..", "caf%C3%A9", &"a".repeat(64)] {
        let reply = raw(
            addr,
            "GET",
            &format!("/api/v1/rollouts?namespace={filter}"),
            &[],
        )
        .await;
        assert_eq!(reply.status, 400, "{filter}: {}", reply.body);
        assert_eq!(reply.json()["error"]["code"], "badRequest", "{filter}");
        assert_eq!(
            reply.json()["error"]["details"],
            json!({"field": "namespace", "rule": "dns1123Label"}),
            "{filter}"
        );
    }
    let reached = api.requests.lock().unwrap().clone();
    assert!(
        reached.is_empty(),
        "invalid names reached Kubernetes: {reached:?}"
    );
    // The same plumbing does reach the (fake) API server with a valid name: the emptiness
    // above is the validation's doing.
    let reply = raw(
        addr,
        "POST",
        "/api/v1/namespaces/shop/rollouts/web.v2/promote",
        &[],
    )
    .await;
    assert_eq!(reply.status, 404, "{}", reply.body);
    let reached = api.requests.lock().unwrap().clone();
    assert!(
        reached
            .iter()
            .any(|r| r.contains("/namespaces/shop/rollouts/web.v2")),
        "{reached:?}"
    );
}

#[tokio::test]
async fn invalid_subscriptions_get_an_error_frame_and_the_socket_stays_open() {
    let addr = serve(files_state(&[]).await).await;
    let (mut ws, _) = ws_connect(addr, &[]).await.unwrap();
    for (namespace, name) in [
        ("a/../b", "x"),
        ("shop\u{0}", "x"),
        ("caf\u{e9}", "x"),
        ("jesse-test", "x?dryRun=All"),
        ("jesse-test", &*"x".repeat(300)),
    ] {
        send(
            &mut ws,
            json!({"type": "subscribeRollout", "cluster": "files", "namespace": namespace,
                   "name": name}),
        )
        .await;
        let frame = next_json(&mut ws).await;
        assert_eq!(frame["type"], "error", "{namespace:?}/{name:?}: {frame}");
        assert_eq!(frame["code"], "badSubscription", "{frame}");
        assert!(
            frame["message"].as_str().unwrap().contains("DNS-1123"),
            "{frame}"
        );
    }
    for namespaces in [json!(["ok", "a?b"]), json!(["a,b"]), json!([".."])] {
        send(
            &mut ws,
            json!({"type": "subscribeList", "namespaces": namespaces}),
        )
        .await;
        let frame = next_json(&mut ws).await;
        assert_eq!(frame["type"], "error", "{namespaces}: {frame}");
        assert_eq!(frame["code"], "badSubscription", "{frame}");
    }
    // Still open: a valid subscription is answered.
    send(
        &mut ws,
        json!({"type": "subscribeRollout", "cluster": "files", "namespace": "jesse-test", "name": "canary-demo"}),
    )
    .await;
    let detail = next_json(&mut ws).await;
    assert_eq!(detail["type"], "detail", "{detail}");
}

// ---------------------------------------------------------------------------------------
// 3. Slow clients, idle connections, the connection cap, WebSockets per user
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_slow_request_head_is_closed_after_the_header_timeout() {
    let state = files_state(&[
        "--header-timeout-seconds",
        "1",
        "--idle-timeout-seconds",
        "30",
    ]);
    let addr = serve(state.await).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(b"GET /api/v1/status HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ")
        .await
        .unwrap();
    // Trickle a byte every 200 ms: the limit is on the whole head, not on silence.
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        while writer.write_all(b"a").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let mut out = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut out))
        .await
        .is_ok();
    let elapsed = started.elapsed();
    trickle.abort();
    println!("slow header: closed after {elapsed:?} (header timeout 1 s)");
    assert!(closed, "a trickled request head was still open after 10 s");
    assert!(out.is_empty(), "no answer to a partial head");
    assert!(
        elapsed >= Duration::from_millis(900),
        "closed before the timeout: {elapsed:?}"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let state = files_state(&[
        "--header-timeout-seconds",
        "1",
        "--idle-timeout-seconds",
        "3",
    ]);
    let addr = serve(state.await).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(HEALTHZ).await.unwrap();
    let first = read_response(&mut stream, Duration::from_secs(10)).await;
    assert_eq!(first.map(|r| r.0), Some(200));
    // Idle for longer than the header timeout (1 s) but shorter than the idle one (3 s):
    // still open, and answers.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stream.write_all(HEALTHZ).await.unwrap();
    let second = read_response(&mut stream, Duration::from_secs(10)).await;
    assert_eq!(
        second.map(|r| r.0),
        Some(200),
        "closed while idle < idle timeout"
    );
    let idle_since = Instant::now();
    let (_, closed) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    let elapsed = idle_since.elapsed();
    println!("idle keep-alive: closed after {elapsed:?} (idle timeout 3 s)");
    assert!(
        closed,
        "an idle keep-alive connection was still open after 10 s"
    );
    assert!(
        elapsed >= Duration::from_millis(2900),
        "closed before the idle timeout: {elapsed:?}"
    );
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let state = files_state(&[
        "--max-connections",
        "2",
        "--header-timeout-seconds",
        "30",
        "--idle-timeout-seconds",
        "30",
    ]);
    let addr = serve(state.await).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(HEALTHZ).await.unwrap();
        let reply = read_response(&mut s, Duration::from_secs(10)).await;
        assert_eq!(reply.map(|r| r.0), Some(200));
        held.push(s);
    }
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(HEALTHZ).await.unwrap();
    // Held: no answer while two connections are open (a broken cap answers at once).
    let early = read_response(&mut third, Duration::from_millis(500)).await;
    assert!(
        early.is_none(),
        "the third connection was served beyond a cap of 2"
    );
    let freed = Instant::now();
    drop(held.remove(0));
    let reply = read_response(&mut third, Duration::from_secs(10)).await;
    println!(
        "connection cap 2: the third connection was served {:?} after one closed",
        freed.elapsed()
    );
    assert_eq!(reply.map(|r| r.0), Some(200), "served once a slot freed");
}

#[tokio::test]
async fn websockets_per_user_are_capped_with_429() {
    let state = files_state(&["--auth", "proxy", "--max-websockets-per-user", "2"]);
    let addr = serve(state.await).await;
    let alice = [("x-forwarded-user", "alice")];
    let mut open = Vec::new();
    for _ in 0..2 {
        open.push(ws_connect(addr, &alice).await.expect("within the cap").0);
    }
    let err = ws_connect(addr, &alice)
        .await
        .expect_err("a third socket for alice is refused");
    assert_eq!(http_status(&err), Some(429), "{err}");
    if let tokio_tungstenite::tungstenite::Error::Http(response) = &err {
        let body: Value = serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
        assert_eq!(body["error"]["code"], "tooManyStreams", "{body}");
    }
    // Another person is not affected.
    let bob = ws_connect(addr, &[("x-forwarded-user", "bob")]).await;
    assert!(bob.is_ok(), "bob refused: {:?}", bob.err());
    // A closed socket gives its slot back (polled: the server learns it asynchronously).
    let mut first = open.remove(0);
    first.close(None).await.unwrap();
    drop(first);
    let freed = Instant::now();
    loop {
        match ws_connect(addr, &alice).await {
            Ok(_) => break,
            Err(err) if http_status(&err) == Some(429) => {
                assert!(
                    freed.elapsed() < Duration::from_secs(10),
                    "slot not given back"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => panic!("{err}"),
        }
    }
    println!(
        "websocket cap 2: alice's slot came back {:?} after a close",
        freed.elapsed()
    );
}

#[tokio::test]
async fn websockets_without_auth_are_not_capped_per_address() {
    // Every tab behind `kubectl port-forward` or an Ingress comes from one address: with no
    // users to tell apart, a per-address cap would cap the whole team.
    let addr = serve(files_state(&["--max-websockets-per-user", "2"]).await).await;
    let mut open = Vec::new();
    for _ in 0..5 {
        // ws_connect has read `hello` and `status`.
        let (ws, _) = ws_connect(addr, &[]).await.expect("no per-address cap");
        open.push(ws);
    }
    assert_eq!(open.len(), 5);
}

#[tokio::test]
async fn limits_are_flags_with_env_variables() {
    let c = config(&[]);
    assert_eq!(c.header_timeout_seconds, 10);
    assert_eq!(c.idle_timeout_seconds, 60);
    assert_eq!(c.max_connections, 1024);
    assert_eq!(c.max_websockets_per_user, 32);
    for flag in [
        "--header-timeout-seconds",
        "--idle-timeout-seconds",
        "--max-connections",
        "--max-websockets-per-user",
    ] {
        let err = Config::try_parse_from(["rollouts-dashboard", flag, "0"])
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains(&flag[2..]), "{err}");
    }
    let help = Config::try_parse_from(["rollouts-dashboard", "--help"])
        .unwrap_err()
        .to_string();
    for env in [
        "ROLLOUTS_DASHBOARD_HEADER_TIMEOUT_SECONDS",
        "ROLLOUTS_DASHBOARD_IDLE_TIMEOUT_SECONDS",
        "ROLLOUTS_DASHBOARD_MAX_CONNECTIONS",
        "ROLLOUTS_DASHBOARD_MAX_WEBSOCKETS_PER_USER",
    ] {
        assert!(help.contains(env), "--help lacks {env}");
    }
}

// ---------------------------------------------------------------------------------------
// 4a. Cache-Control
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn every_api_answer_says_no_store() {
    let addr = serve(files_state(&[]).await).await;
    let proxy = serve(files_state(&["--auth", "proxy"]).await).await;
    let cases = [
        (addr, "GET", "/api/v1/status", vec![], 200),
        (addr, "GET", "/api/v1/rollouts", vec![], 200),
        (addr, "GET", "/api/v1/namespaces", vec![], 200),
        (addr, "GET", "/api/v1/whoami", vec![], 200),
        (
            addr,
            "GET",
            "/api/v1/namespaces/jesse-test/rollouts/canary-demo",
            vec![],
            200,
        ),
        (addr, "GET", "/api/v1/nope", vec![], 404),
        (
            addr,
            "GET",
            "/api/v1/namespaces/jesse-test/rollouts/nope",
            vec![],
            404,
        ),
        (
            addr,
            "GET",
            "/api/v1/namespaces/BAD/rollouts/x",
            vec![],
            400,
        ),
        // --from-files is read-only.
        (
            addr,
            "POST",
            "/api/v1/namespaces/jesse-test/rollouts/canary-demo/promote",
            vec![],
            403,
        ),
        (proxy, "GET", "/api/v1/rollouts", vec![], 401),
        (
            proxy,
            "GET",
            "/api/v1/status",
            vec![("x-forwarded-user", "alice")],
            200,
        ),
    ];
    for (at, method, path, headers, status) in cases {
        let reply = raw(at, method, path, &headers).await;
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.body);
        assert_eq!(
            reply.header("cache-control").as_deref(),
            Some("no-store"),
            "{method} {path}: {}",
            reply.head
        );
    }
}

// ---------------------------------------------------------------------------------------
// 4b. Status per user
// ---------------------------------------------------------------------------------------

/// The next `status` frame (other frames skipped; fails after 10 s without a frame).
async fn next_status(ws: &mut Ws) -> Value {
    loop {
        let frame = next_json(ws).await;
        if frame["type"] == "status" {
            return frame;
        }
    }
}

#[tokio::test]
async fn status_shows_a_user_only_their_namespaces() {
    // alice may list rollouts in team-a only; admin cluster-wide.
    let api = fake_api(&[("alice", "team-a"), ("admin", "")]).await;
    let mut health = Health::loaded(SourceKind::Cluster);
    health.namespaces = vec!["team-a".into(), "team-b".into()];
    health.notes = vec![
        "cannot watch pods in namespace team-b: forbidden".into(),
        "the dashboard watches 2 namespaces".into(),
    ];
    let store = Store::new(health);
    store.cluster("files").apply(rollout("team-a", "shop-web"));
    store
        .cluster("files")
        .apply(rollout("team-b", "secret-payroll"));
    store
        .cluster("files")
        .apply(rollout("team-b", "secret-ledger"));
    store.flush();
    tokio::spawn(store.clone().run_recompute());
    let cfg = config(&["--auth", "proxy"]);
    let state = AppState::new(store.clone(), Settings::new(SourceKind::Cluster, true, ""))
        .with_auth(Auth::from_config(&cfg, Some(api.access.clone())));
    let addr = serve(state).await;

    let admin = raw(
        addr,
        "GET",
        "/api/v1/status",
        &[("x-forwarded-user", "admin")],
    )
    .await;
    assert_eq!(admin.status, 200, "{}", admin.body);
    // The data is there: a cluster-wide reader sees it all.
    assert!(admin.body.contains("team-b"), "{}", admin.body);
    assert_eq!(admin.json()["objects"]["Rollout"], 3, "{}", admin.body);

    let alice = raw(
        addr,
        "GET",
        "/api/v1/status",
        &[("x-forwarded-user", "alice")],
    )
    .await;
    assert_eq!(alice.status, 200, "{}", alice.body);
    let body = alice.json();
    assert!(!alice.body.contains("team-b"), "{}", alice.body);
    assert!(!alice.body.contains("secret"), "{}", alice.body);
    assert_eq!(body["health"]["namespaces"], json!(["team-a"]), "{body}");
    assert_eq!(
        body["health"]["notes"],
        json!(["the dashboard watches 2 namespaces"])
    );
    assert_eq!(body["objects"], json!({"Rollout": 1}), "{body}");

    // The stream: the first status frame, and the one after a health change.
    let (mut alice_ws, status) = ws_connect(addr, &[("x-forwarded-user", "alice")])
        .await
        .unwrap();
    assert_eq!(
        status["health"]["namespaces"],
        json!(["team-a"]),
        "{status}"
    );
    assert!(!status.to_string().contains("team-b"), "{status}");
    let (mut admin_ws, status) = ws_connect(addr, &[("x-forwarded-user", "admin")])
        .await
        .unwrap();
    assert!(status.to_string().contains("team-b"), "{status}");
    store.cluster("files").update_health(|h| {
        h.notes
            .push("namespace team-b: the rollouts watch restarted".into())
    });
    let admin_status = next_status(&mut admin_ws).await;
    assert!(
        admin_status.to_string().contains("watch restarted"),
        "{admin_status}"
    );
    let alice_status = next_status(&mut alice_ws).await;
    assert!(
        !alice_status.to_string().contains("team-b"),
        "{alice_status}"
    );
    assert_eq!(
        alice_status["health"]["namespaces"],
        json!(["team-a"]),
        "{alice_status}"
    );
}
