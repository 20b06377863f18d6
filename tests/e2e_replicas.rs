//! Several replicas of `--auth token` against the real test cluster (issue #14 item 5): real
//! dashboard processes (the binary, each with its own memory) sharing a session key file and
//! a revocations ConfigMap. A session signed in on one is accepted by the other for reads,
//! writes and the stream; signed out on one, it is refused by the other (its stream closed);
//! a process with another key never accepts it.
//! Needs ROLLOUTS_DASHBOARD_E2E_KUBECONFIG (an admin kubeconfig); FAILS without it.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Longest wait for anything (start-up, cache, the other replica's watch).
const WAIT: Duration = Duration::from_secs(120);

/// A dashboard process; killed when dropped.
struct Replica {
    addr: SocketAddr,
    child: tokio::process::Child,
    log: PathBuf,
}

impl Replica {
    /// Starts the binary on a free port with `--auth token` and `extra` flags, and waits for
    /// `/readyz` (which waits for the revocations ConfigMap's first list).
    async fn start(name: &str, dir: &Path, namespace: &str, extra: &[&str]) -> Replica {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let kubeconfig = common::e2e_kubeconfig();
        let port_text = port.to_string();
        let mut args = vec![
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "-n",
            namespace,
            "--port",
            &port_text,
            "--auth",
            "token",
        ];
        args.extend_from_slice(extra);
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_rollouts-dashboard"))
            .args(&args)
            .env("RUST_LOG", "info,rollouts_dashboard=debug")
            .stdin(std::process::Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .kill_on_drop(true)
            .spawn()
            .expect("the dashboard binary starts");
        let mut replica = Replica {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child,
            log,
        };
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = replica.child.try_wait() {
                panic!("{name} exited with {status}:\n{}", replica.log_text());
            }
            if let Ok(reply) = replica.request("GET", "/readyz", &[], "").await
                && reply.status == 200
            {
                return replica;
            }
            assert!(
                start.elapsed() < WAIT,
                "{name} never ready:\n{}",
                replica.log_text()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// One HTTP/1.1 request on its own connection, as a browser on this address sends it.
    async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> std::io::Result<Reply> {
        let mut stream = tokio::net::TcpStream::connect(self.addr).await?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\ncontent-length: {}\r\n",
            self.addr,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        let mut raw = Vec::new();
        tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
            .await
            .map_err(|_| std::io::Error::other("no answer within 30 s"))??;
        Ok(Reply::parse(&raw))
    }

    async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        match self.request(method, path, headers, body).await {
            Ok(reply) => reply,
            Err(err) => panic!("{method} {path} to {}: {err}", self.addr),
        }
    }

    /// `GET path` with the session cookie.
    async fn get(&self, path: &str, cookie: &str) -> Reply {
        self.send("GET", path, &[("cookie", cookie)], "").await
    }
}

/// An HTTP answer.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn parse(raw: &[u8]) -> Reply {
        let text = String::from_utf8_lossy(raw);
        let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let chunked = headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
        let body = if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The value of cookie `name` set by this answer.
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .find_map(|(_, v)| v.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.split(';').next())
            .map(str::to_owned)
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// A Role in `ns` with `rules`, bound to `subject`.
async fn grant(client: &kube::Client, ns: &str, name: &str, rules: Value, subject: Value) {
    let ssa = PatchParams::apply("e2e-replicas").force();
    let role: Role =
        serde_json::from_value(json!({"metadata": {"name": name}, "rules": rules})).unwrap();
    Api::<Role>::namespaced(client.clone(), ns)
        .patch(name, &ssa, &Patch::Apply(&role))
        .await
        .expect("role");
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [subject],
    }))
    .unwrap();
    Api::<RoleBinding>::namespaced(client.clone(), ns)
        .patch(name, &ssa, &Patch::Apply(&binding))
        .await
        .expect("rolebinding");
}

/// A service account in `ns` that may read and pause rollouts there, and a token for it.
async fn deployer_token(client: &kube::Client, ns: &str) -> String {
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    let sa: ServiceAccount =
        serde_json::from_value(json!({"metadata": {"name": "deployer"}})).unwrap();
    match sas.create(&PostParams::default(), &sa).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => panic!("{e}"),
    }
    grant(
        client,
        ns,
        "deployer",
        json!([
            {"apiGroups": ["argoproj.io"], "resources": ["rollouts"], "verbs": ["get", "list", "watch", "patch"]},
            {"apiGroups": ["argoproj.io"], "resources": ["rollouts/status"], "verbs": ["patch"]},
            {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["list"]},
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "list"]}
        ]),
        json!({"kind": "ServiceAccount", "name": "deployer", "namespace": ns}),
    )
    .await;
    common::service_account_token(&sas, "deployer", 3600).await
}

/// Signs in on `replica` with the sign-in form; returns the `rd_session` cookie value.
async fn sign_in(replica: &Replica, token: &str) -> String {
    let page = replica.send("GET", "/auth/sign-in", &[], "").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.cookie("rd_csrf").expect("a CSRF cookie");
    let cookie = format!("rd_csrf={csrf}");
    let origin = replica.origin();
    let signed = replica
        .send(
            "POST",
            "/auth/sign-in",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("origin", &origin),
                ("cookie", &cookie),
            ],
            // Hex CSRF values and JWTs need no URL encoding.
            &format!("csrf={csrf}&token={token}"),
        )
        .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    let session = signed.cookie("rd_session").expect("a session cookie");
    assert!(
        !session.contains(token) && session.starts_with("v1."),
        "{session}"
    );
    session
}

/// Polls `GET /api/v1/whoami` on `replica` until it answers `status`, failing at [`WAIT`].
async fn until_whoami(replica: &Replica, cookie: &str, status: u16, what: &str) -> Reply {
    let start = Instant::now();
    loop {
        let reply = replica.get("/api/v1/whoami", cookie).await;
        if reply.status == status {
            return reply;
        }
        assert!(
            start.elapsed() < WAIT,
            "{what}: whoami still answers {} {}\n{}",
            reply.status,
            reply.body,
            replica.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_session_works_on_every_replica_and_sign_out_ends_it_on_all() {
    let client = common::e2e_client().await;
    let pid = std::process::id();
    let ns = format!("e2e-replicas-{pid}");
    common::e2e_create_namespace(&client, &ns).await;
    common::e2e_create_example(&client, &ns, "rollout-canary.yaml").await;
    let token = deployer_token(&client, &ns).await;
    // The revocations ConfigMap, empty, as deploy/ creates it.
    let revocations = "rd-session-revocations";
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": revocations}})).unwrap();
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("revocations ConfigMap");

    let dir = std::env::temp_dir().join(format!("rd-e2e-replicas-{pid}"));
    std::fs::create_dir_all(&dir).unwrap();
    let random_key = |name: &str| {
        let mut bytes = [0u8; 48];
        getrandom::fill(&mut bytes).unwrap();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let path = dir.join(name);
        std::fs::write(&path, format!("{hex}\n")).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let (shared_key, other_key) = (random_key("shared.key"), random_key("other.key"));
    let store = format!("{ns}/{revocations}");
    let flags = |key: &str| -> Vec<String> {
        vec![
            "--session-key-file".into(),
            key.into(),
            "--session-revocations".into(),
            store.clone(),
        ]
    };
    let shared_flags = flags(&shared_key);
    let shared_flags: Vec<&str> = shared_flags.iter().map(String::as_str).collect();
    let other_flags = flags(&other_key);
    let other_flags: Vec<&str> = other_flags.iter().map(String::as_str).collect();
    let (a, b, c) = tokio::join!(
        Replica::start("a", &dir, &ns, &shared_flags),
        Replica::start("b", &dir, &ns, &shared_flags),
        Replica::start("c", &dir, &ns, &other_flags),
    );

    // Signed in on A; the cookie is all B needs.
    let session = sign_in(&a, &token).await;
    let cookie = format!("rd_session={session}");
    let me = b.get("/api/v1/whoami", &cookie).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(
        me.json()["user"],
        format!("system:serviceaccount:{ns}:deployer")
    );
    // Reads on B, filtered with the token's RBAC (wait for B's cache).
    let start = Instant::now();
    loop {
        let list = b.get("/api/v1/rollouts", &cookie).await.json();
        let names: Vec<&str> = list["rollouts"]
            .as_array()
            .map(|a| a.iter().filter_map(|r| r["name"].as_str()).collect())
            .unwrap_or_default();
        if names == ["rollout-canary"] {
            break;
        }
        assert!(start.elapsed() < WAIT, "never listed on B: {list}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // A write on B, with the token from the cookie.
    let origin_b = b.origin();
    let write_headers = [
        ("cookie", cookie.as_str()),
        ("content-type", "application/json"),
        ("x-rollouts-dashboard", "1"),
        ("origin", origin_b.as_str()),
    ];
    let paused = b
        .send(
            "POST",
            &format!("/api/v1/namespaces/{ns}/rollouts/rollout-canary/pause"),
            &write_headers,
            "{}",
        )
        .await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    let rollouts: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &ns,
        &kube::api::ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout"),
            "rollouts",
        ),
    );
    let rollout = rollouts.get("rollout-canary").await.unwrap();
    assert_eq!(rollout.data["spec"]["paused"], true);
    // A stream on B with the session.
    let mut ws_req = format!("ws://{}/api/v1/stream", b.addr)
        .into_client_request()
        .unwrap();
    ws_req
        .headers_mut()
        .insert("cookie", cookie.parse().unwrap());
    ws_req
        .headers_mut()
        .insert("origin", origin_b.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_req)
        .await
        .expect("B opens the stream for the session");
    assert_eq!(common::next_json(&mut ws).await["type"], "hello");

    // Another key: not signed in, whatever the cookie says.
    let refused = c.get("/api/v1/whoami", &cookie).await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(c.get("/", &cookie).await.status, 303);

    // Sign out on A: A refuses at once, B as soon as its watch sees the ConfigMap change.
    let out = a
        .send(
            "POST",
            "/auth/sign-out",
            &[
                ("cookie", &cookie),
                ("x-rollouts-dashboard", "1"),
                ("origin", &a.origin()),
            ],
            "",
        )
        .await;
    assert_eq!(out.status, 204, "{}", out.body);
    assert_eq!(a.get("/api/v1/whoami", &cookie).await.status, 401);
    let recorded = cms.get(revocations).await.unwrap().data.unwrap_or_default();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    until_whoami(&b, &cookie, 401, "B after the sign-out on A").await;
    let write = b
        .send(
            "POST",
            &format!("/api/v1/namespaces/{ns}/rollouts/rollout-canary/resume"),
            &write_headers,
            "{}",
        )
        .await;
    assert_eq!(write.status, 401, "{}", write.body);
    // B's open stream closes (policy violation) at its next heartbeat.
    let closed = tokio::time::timeout(WAIT, async {
        while let Some(msg) = ws.next().await {
            if let Ok(Message::Close(frame)) = msg {
                return frame;
            }
        }
        None
    })
    .await
    .expect("B closes the signed-out stream")
    .expect("a close frame");
    assert_eq!(u16::from(closed.code), 1008, "{closed:?}");

    // A new sign-in still works on both, and is a different session.
    let again = sign_in(&b, &token).await;
    assert_ne!(again, session);
    let cookie = format!("rd_session={again}");
    until_whoami(&a, &cookie, 200, "A with a new session from B").await;
    drop((a, b, c));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_sign_out_that_cannot_be_recorded_is_an_error_and_keeps_the_session() {
    let client = common::e2e_client().await;
    let pid = std::process::id();
    let ns = format!("e2e-replicas-ro-{pid}");
    common::e2e_create_namespace(&client, &ns).await;
    let token = deployer_token(&client, &ns).await;
    let dir = std::env::temp_dir().join(format!("rd-e2e-replicas-ro-{pid}"));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("key");
    std::fs::write(&key, "k".repeat(40)).unwrap();
    // The ConfigMap is missing: the watch lists nothing (ready), the patch fails.
    let store = format!("{ns}/absent");
    let a = Replica::start(
        "a",
        &dir,
        &ns,
        &[
            "--session-key-file",
            key.to_str().unwrap(),
            "--session-revocations",
            &store,
        ],
    )
    .await;
    let session = sign_in(&a, &token).await;
    let cookie = format!("rd_session={session}");
    let out = a
        .send(
            "POST",
            "/auth/sign-out",
            &[
                ("cookie", &cookie),
                ("x-rollouts-dashboard", "1"),
                ("origin", &a.origin()),
            ],
            "",
        )
        .await;
    assert_eq!(out.status, 503, "{}", out.body);
    let message = out.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("still signed in") && message.contains(&store),
        "{message}"
    );
    assert!(
        out.cookie("rd_session").is_none(),
        "the cookie is kept when the sign-out failed"
    );
    assert_eq!(a.get("/api/v1/whoami", &cookie).await.status, 200);
    drop(a);
    std::fs::remove_dir_all(&dir).unwrap();
}
