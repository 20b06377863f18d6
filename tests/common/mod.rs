//! Shared helpers of the integration tests: fixtures read in place from ../shared, a server
//! on a free loopback port, and a WebSocket client.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use rollouts_dashboard::health::{Health, SourceKind};
use rollouts_dashboard::state::{AppState, Settings};
use rollouts_dashboard::store::Store;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

/// `../shared/fixtures` beside the repository: the one place every test finds fixtures.
///
/// Missing, a test run by CI (`CI=true`) FAILS with one line saying what is missing. A fresh
/// clone without the project's `shared/` beside it instead prints that line and ends this test
/// binary with success, so that `cargo test` goes on to run the tests that need no fixtures.
pub fn fixtures() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures");
    if !dir.join("argo-rollouts-info/canary").is_dir() {
        let line = format!(
            "the fixtures are missing: {} does not hold the project's shared/fixtures (clone \
             shared/ beside this repository)",
            dir.display()
        );
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{line}; CI must provide it");
        }
        // One line from one thread (the others wait here until the exit), straight to stderr:
        // the test harness captures eprintln!, and the exit would lose it.
        use std::io::Write;
        static ONE_LINE: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _gate = ONE_LINE.lock();
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED the tests of this binary: {line}; with CI=true this is a failure"
        );
        std::process::exit(0);
    }
    dir
}

/// `path` under the fixtures directory ([`fixtures`]).
pub fn fixture(path: &str) -> PathBuf {
    fixtures().join(path)
}

/// A store loaded from fixture files, with its views computed.
pub fn store_from(path: &std::path::Path) -> Store {
    let store = Store::new(Health::loaded(SourceKind::Files));
    for object in rollouts_dashboard::source::files::load(path).expect("fixtures load") {
        store.cluster("files").apply(object);
    }
    store.flush();
    store
}

/// App state over `store`.
pub fn state(store: Store, read_only: bool, base_path: &str) -> AppState {
    AppState::new(
        store,
        Settings::new(SourceKind::Files, read_only, base_path),
    )
}

/// Serves `state` on 127.0.0.1:<free port> with the production accept loop (peer address,
/// limits, upgrades), as `run()` does; the server lives as long as the runtime.
pub async fn serve(state: AppState) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        rollouts_dashboard::serve(listener, state, None)
            .await
            .unwrap();
    });
    addr
}

/// The client address in-process requests come from, unless [`Req::from`] says otherwise.
pub const PEER: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 50_000);

/// One HTTP request to the app, run in process with `tower::ServiceExt::oneshot` (no socket),
/// with the peer address set as the accept loop sets it. Build with [`get`] or [`post`].
pub struct Req {
    request: axum::http::request::Builder,
    body: Vec<u8>,
    peer: SocketAddr,
}

/// `GET path` (with `Host: localhost`, which the loopback host guard accepts).
pub fn get(path: &str) -> Req {
    Req::new("GET", path)
}

/// `POST path` (add [`Req::json`] for a body, [`Req::write_headers`] for an action).
pub fn post(path: &str) -> Req {
    Req::new("POST", path)
}

impl Req {
    fn new(method: &str, path: &str) -> Req {
        Req {
            request: axum::http::Request::builder()
                .method(method)
                .uri(path)
                .header("host", "localhost"),
            body: Vec::new(),
            peer: PEER,
        }
    }

    /// Adds (or, for `host`, replaces) a header.
    pub fn header(mut self, name: &str, value: &str) -> Req {
        if name.eq_ignore_ascii_case("host")
            && let Some(headers) = self.request.headers_mut()
        {
            headers.remove("host");
        }
        self.request = self.request.header(name, value);
        self
    }

    /// A JSON body.
    pub fn json(mut self, body: &Value) -> Req {
        self.request = self.request.header("content-type", "application/json");
        self.body = body.to_string().into_bytes();
        self
    }

    /// A raw body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Req {
        self.body = body.into();
        self
    }

    /// The headers a write needs from the web app (JSON and the anti-CSRF header).
    pub fn write_headers(self) -> Req {
        self.header("x-rollouts-dashboard", "1")
    }

    /// As if from `peer`.
    pub fn from(mut self, peer: SocketAddr) -> Req {
        self.peer = peer;
        self
    }

    /// Runs the request through `rollouts_dashboard::app(state)`.
    pub async fn send(self, state: &AppState) -> Reply {
        use tower::ServiceExt;
        let mut request = self
            .request
            .body(axum::body::Body::from(self.body))
            .expect("a valid request");
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(self.peer));
        let response = rollouts_dashboard::app(state.clone())
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .expect("a body")
            .to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Reply {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every value of header `name`.
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }
}

/// A dashboard served on a socket (for WebSockets) whose HTTP requests are sent in process
/// ([`Req::send`]); it prints as its address.
#[derive(Clone)]
pub struct Served {
    pub state: AppState,
    pub addr: SocketAddr,
}

impl std::fmt::Display for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.addr)
    }
}

/// Serves `state` ([`serve`]) and keeps it for in-process requests.
pub async fn served(state: AppState) -> Served {
    let addr = serve(state.clone()).await;
    Served { state, addr }
}

impl Served {
    /// Sends `req` to this dashboard in process.
    pub async fn send(&self, req: Req) -> Reply {
        req.send(&self.state).await
    }
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the stream and consumes `hello` and `status`.
pub async fn connect(addr: SocketAddr, base: &str) -> Socket {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}{base}/api/v1/stream"))
        .await
        .expect("websocket connects");
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "hello", "{hello}");
    assert_eq!(hello["protocol"], 5);
    let status = next_json(&mut ws).await;
    assert_eq!(status["type"], "status", "{status}");
    ws
}

/// Sends a JSON text frame.
pub async fn send(ws: &mut Socket, value: Value) {
    ws.send(Message::Text(value.to_string().into()))
        .await
        .unwrap();
}

/// The next text frame as JSON (fails after 10 s).
pub async fn next_json(ws: &mut Socket) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame within 10 s")
            .expect("stream open")
            .expect("frame ok");
        if let Message::Text(text) = msg {
            return serde_json::from_str(&text).expect("frames are JSON");
        }
    }
}

/// The next list snapshot (protocol 4: `snapshotBegin`, binary gzip pages, `snapshotEnd`),
/// checked frame by frame (the pages' seq and indexes, their count and `total`, nothing else in
/// between) and returned as one `{"type": "snapshot", "seq", "rollouts", "pages"}` (the rollouts
/// in the pages' order, and how many pages carried them).
pub async fn next_snapshot(ws: &mut Socket) -> Value {
    let begin = next_json(ws).await;
    assert_eq!(begin["type"], "snapshotBegin", "{begin}");
    assert_eq!(begin["encoding"], "gzip", "{begin}");
    let seq = begin["seq"].as_u64().expect("seq");
    let pages = begin["pages"].as_u64().expect("pages");
    let mut rollouts = vec![];
    for index in 0..pages {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a page within 10 s")
            .expect("stream open")
            .expect("frame ok");
        let Message::Binary(body) = msg else {
            panic!("page {index} of {pages}: not a binary message: {msg:?}");
        };
        let page = decode_page(&body);
        assert_eq!(page["type"], "snapshotPage");
        assert_eq!(page["seq"], seq);
        assert_eq!(page["index"], index);
        let rows = page["rollouts"].as_array().expect("rollouts");
        assert!(!rows.is_empty(), "an empty page");
        rollouts.extend(rows.iter().cloned());
    }
    assert_eq!(rollouts.len() as u64, begin["total"].as_u64().unwrap());
    let end = next_json(ws).await;
    assert_eq!(end, serde_json::json!({"type": "snapshotEnd", "seq": seq}));
    serde_json::json!({"type": "snapshot", "seq": seq, "rollouts": rollouts, "pages": pages})
}

/// A snapshot page's binary body: gzip-compressed JSON.
pub fn decode_page(body: &[u8]) -> Value {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(body), &mut text)
        .expect("a gzip page");
    serde_json::from_str(&text).expect("a JSON page")
}

/// The frames a message carries, in order: a `batch`'s (protocol 5), or the message itself.
pub fn frames_of(message: Value) -> Vec<Value> {
    match message {
        Value::Object(mut m) if m.get("type").is_some_and(|t| t == "batch") => {
            match m.remove("frames") {
                Some(Value::Array(frames)) => frames,
                other => panic!("a batch without frames: {other:?}"),
            }
        }
        other => vec![other],
    }
}

/// The next frame if one arrives within `wait`.
pub async fn maybe_json(ws: &mut Socket, wait: Duration) -> Option<Value> {
    match tokio::time::timeout(wait, ws.next()).await {
        Ok(Some(Ok(Message::Text(text)))) => Some(serde_json::from_str(&text).unwrap()),
        Ok(other) => panic!("unexpected frame {other:?}"),
        Err(_) => None,
    }
}

/// The test cluster's kubeconfig (tests/cluster). Missing means the end-to-end tests FAIL:
/// they never skip.
pub fn e2e_kubeconfig() -> PathBuf {
    let path = std::env::var("ROLLOUTS_DASHBOARD_E2E_KUBECONFIG").expect(
        "ROLLOUTS_DASHBOARD_E2E_KUBECONFIG is not set: bring the test cluster up with \
         tests/cluster/cluster.sh up NAME (tests/run-all.sh does it)",
    );
    let path = PathBuf::from(path);
    assert!(path.is_file(), "kubeconfig {} is missing", path.display());
    path
}

/// The name the dashboard gives the test cluster: its kubeconfig's current context.
pub fn e2e_cluster_name() -> String {
    kube::config::Kubeconfig::read_from(e2e_kubeconfig())
        .expect("the test cluster's kubeconfig reads")
        .current_context
        .expect("the test cluster's kubeconfig has a current context")
}

/// A dashboard on the test cluster (as `run()` starts one) watching `namespaces` (all when
/// empty), with `extra` flags, served by [`served`].
pub async fn e2e_dashboard(namespaces: &[&str], extra: &[&str]) -> Served {
    e2e_dashboard_with(&e2e_kubeconfig(), namespaces, extra).await
}

/// [`e2e_dashboard`] with another kubeconfig (another identity on the test cluster).
pub async fn e2e_dashboard_with(path: &Path, namespaces: &[&str], extra: &[&str]) -> Served {
    use clap::Parser;
    let mut args = vec!["rollouts-dashboard", "--kubeconfig", path.to_str().unwrap()];
    for ns in namespaces {
        args.extend(["-n", ns]);
    }
    args.extend_from_slice(extra);
    let config = rollouts_dashboard::config::Config::try_parse_from(args)
        .unwrap()
        .validate()
        .unwrap();
    let state = rollouts_dashboard::start(&config)
        .await
        .expect("dashboard starts");
    served(state).await
}

/// An admin client for the test cluster.
pub async fn e2e_client() -> kube::Client {
    rollouts_dashboard::source::cluster::client(Some(&e2e_kubeconfig()), None)
        .await
        .expect("test cluster reachable")
}

/// Creates namespace `name` on the test cluster (fine if it exists).
pub async fn e2e_create_namespace(client: &kube::Client, name: &str) {
    use k8s_openapi::api::core::v1::Namespace;
    let api: kube::Api<Namespace> = kube::Api::all(client.clone());
    let ns: Namespace =
        serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).unwrap();
    match api.create(&Default::default(), &ns).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => panic!("create namespace {name}: {e}"),
    }
}

/// Creates every object of an upstream example file (../shared/fixtures/argo-rollouts-examples)
/// in `ns` on the test cluster (fine if they exist).
pub async fn e2e_create_example(client: &kube::Client, ns: &str, file: &str) {
    use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
    let path = fixtures().join("argo-rollouts-examples").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    for doc in rollouts_dashboard::source::files::parse_documents(&path, &text).unwrap() {
        let api_version = doc["apiVersion"].as_str().unwrap().to_owned();
        let kind = doc["kind"].as_str().unwrap().to_owned();
        let (group, version) = api_version.split_once('/').unwrap_or(("", &api_version));
        let plural = match kind.as_str() {
            "Service" => "services".to_owned(),
            other => format!("{}s", other.to_ascii_lowercase()),
        };
        let ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(group, version, &kind),
            &plural,
        );
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
        let obj: DynamicObject = serde_json::from_value(doc).unwrap();
        match api.create(&Default::default(), &obj).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => panic!("create {kind} from {file}: {e}"),
        }
    }
}

/// A list client's copy of one rollout summary, kept as the web app keeps it
/// (web/src/lib/listState.ts): the snapshot's copy, replaced by `upsert`s, changed by
/// `patch`es, each patch only to the exact version it was made from.
pub struct FollowedCopy {
    pub summary: Value,
    /// Seq of the frame the copy came from, or of the snapshot it came in.
    at: u64,
    from_snapshot: bool,
}

impl FollowedCopy {
    /// The copy a snapshot taken at `snapshot_seq` carried.
    pub fn from_snapshot(summary: Value, snapshot_seq: u64) -> Self {
        Self {
            summary,
            at: snapshot_seq,
            from_snapshot: true,
        }
    }

    /// The copy an `upsert` frame carried.
    pub fn from_upsert(frame: &Value) -> Self {
        Self {
            summary: frame["rollout"].clone(),
            at: frame["seq"].as_u64().expect("upsert seq"),
            from_snapshot: false,
        }
    }

    /// Applies a `patch` frame; panics when it does not fit the version held (a server bug).
    pub fn apply_patch(&mut self, frame: &Value) {
        let base = frame["base"].as_u64().expect("patch base");
        assert!(
            if self.from_snapshot {
                base <= self.at
            } else {
                base == self.at
            },
            "patch {frame} does not fit the copy held at seq {}",
            self.at
        );
        let patch: json_patch::Patch =
            serde_json::from_value(frame["patch"].clone()).expect("RFC 6902 operations");
        json_patch::patch(&mut self.summary, &patch).expect("the patch applies");
        self.at = frame["seq"].as_u64().expect("patch seq");
        self.from_snapshot = false;
    }
}

/// A bound token of ServiceAccount `name` (a TokenRequest), valid for `seconds`.
pub async fn service_account_token(
    sas: &kube::Api<k8s_openapi::api::core::v1::ServiceAccount>,
    name: &str,
    seconds: i64,
) -> String {
    use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
    sas.create_token_request(
        name,
        &Default::default(),
        &TokenRequest {
            spec: TokenRequestSpec {
                expiration_seconds: Some(seconds),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("a token of ServiceAccount {name}: {e}"))
    .status
    .expect("a TokenRequest status")
    .token
}
