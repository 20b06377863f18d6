//! In-process security suite: every request here tries something an attacker (or a
//! confused proxy) would, and must be refused. Cluster-backed checks (RBAC, impersonation,
//! read filtering with real SubjectAccessReviews) are in tests/e2e_security.rs.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use common::*;
use futures::StreamExt;
use rollouts_dashboard::auth::Auth;
use rollouts_dashboard::config::{Config, ConfigError};
use rollouts_dashboard::health::{Health, SourceKind};
use rollouts_dashboard::model::Object;
use rollouts_dashboard::state::{ActionBackends, AppState, Settings};
use rollouts_dashboard::store::Store;
use serde_json::json;
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

/// Fixture state whose auth comes from `args` (no cluster: reads are not filtered).
fn state_with(args: &[&str], read_only: bool) -> AppState {
    let store = store_from(&fixtures().join("argo-rollouts-info/canary"));
    let cfg = config(args);
    let mut settings = Settings::new(SourceKind::Files, read_only, "");
    settings.loopback_only = cfg.address.is_loopback();
    settings.allowed_hosts = cfg.allowed_hosts.clone();
    AppState::new(store, settings).with_auth(Auth::from_config(&cfg, None))
}

/// The demo (writable, no cluster) with auth from `args`.
fn demo_state(args: &[&str]) -> AppState {
    let store = Store::new(Health::loaded(SourceKind::Demo));
    let demo =
        rollouts_dashboard::source::demo_cluster::DemoCluster::new(store.cluster("prod-eu"), 0);
    tokio::spawn(demo.clone().run());
    tokio::spawn(store.clone().run_recompute());
    let cfg = config(args);
    AppState::new(store, Settings::new(SourceKind::Demo, false, ""))
        .with_auth(Auth::from_config(&cfg, None))
        .with_actions(ActionBackends::Demo(vec![(demo.name().clone(), demo)]))
}

/// A served state: requests go to it in process ([`raw`]), WebSockets over its socket
/// (it prints as its address), both with the peer address known as `run()` knows it.
#[derive(Clone)]
struct Served {
    state: AppState,
    addr: SocketAddr,
}

impl std::fmt::Display for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.addr)
    }
}

/// Serves `state` with the production accept loop on 127.0.0.1.
async fn serve_peer(state: AppState) -> Served {
    let addr = serve(state.clone()).await;
    Served { state, addr }
}

/// One exchange with exactly the method, path, headers and body we choose, in process (a
/// socket client would normalize paths and set Host itself). Host defaults to the served
/// address, as a browser on it would send.
async fn raw(
    served: &Served,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut req = match method {
        "POST" => post(path),
        "GET" => get_req(path),
        other => panic!("no {other} here"),
    }
    .header("host", &served.addr.to_string());
    for (k, v) in headers {
        req = req.header(k, v);
    }
    // What a client on a socket sends: the size up front (the body limit answers from it).
    if !body.is_empty() || method == "POST" {
        req = req.header("content-length", &body.len().to_string());
    }
    req.body(body.to_vec()).send(&served.state).await
}

fn get_req(path: &str) -> Req {
    common::get(path)
}

async fn get(addr: &Served, path: &str, headers: &[(&str, &str)]) -> Reply {
    raw(addr, "GET", path, headers, b"").await
}

const WRITE: [(&str, &str); 2] = [
    ("content-type", "application/json"),
    ("x-rollouts-dashboard", "1"),
];

async fn post_action(addr: &Served, extra: &[(&str, &str)], body: &str) -> Reply {
    let mut headers = WRITE.to_vec();
    headers.extend_from_slice(extra);
    raw(
        addr,
        "POST",
        "/api/v1/namespaces/jesse-test/rollouts/canary-demo/promote",
        &headers,
        body.as_bytes(),
    )
    .await
}

fn assert_unauthenticated(reply: &Reply) {
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert_eq!(
        reply.json()["error"]["code"],
        "unauthenticated",
        "{}",
        reply.body
    );
}

// ---------------------------------------------------------------------------------------
// Identity (proxy mode)
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn proxy_mode_write_without_identity_is_401() {
    let addr = serve_peer(state_with(&["--auth", "proxy"], false)).await;
    assert_unauthenticated(&post_action(&addr, &[], "{}").await);
    assert_unauthenticated(&get(&addr, "/api/v1/rollouts", &[]).await);
    assert_unauthenticated(&get(&addr, "/api/v1/whoami", &[]).await);
    // The shell is not served either.
    assert_eq!(get(&addr, "/", &[]).await.status, 401);
    // Probes stay open for the kubelet.
    assert_eq!(get(&addr, "/healthz", &[]).await.status, 200);
}

#[tokio::test]
async fn proxy_mode_trusts_the_configured_proxy_only() {
    let addr = serve_peer(state_with(&["--auth", "proxy"], false)).await;
    let me = get(
        &addr,
        "/api/v1/whoami",
        &[
            ("x-forwarded-user", "alice"),
            ("x-forwarded-groups", "team-a, team-b"),
        ],
    )
    .await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(
        me.json(),
        json!({"user": "alice", "groups": ["team-a", "team-b"], "authMode": "proxy",
               "readOnly": false, "sessionExpiresInSeconds": null,
               "clusters": [{"name": "files", "signedIn": true}]})
    );
    // A second user header (appended by the client behind a proxy that adds its own).
    let twice = get(
        &addr,
        "/api/v1/whoami",
        &[("x-forwarded-user", "alice"), ("x-forwarded-user", "admin")],
    )
    .await;
    assert_unauthenticated(&twice);
    // Kubernetes' own names are never taken from a proxy header.
    assert_unauthenticated(
        &get(
            &addr,
            "/api/v1/whoami",
            &[("x-forwarded-user", "system:admin")],
        )
        .await,
    );
    let masters = get(
        &addr,
        "/api/v1/whoami",
        &[
            ("x-forwarded-user", "alice"),
            ("x-forwarded-groups", "system:masters,devs"),
        ],
    )
    .await;
    assert_eq!(
        masters.json()["groups"],
        json!(["devs"]),
        "{}",
        masters.body
    );
}

#[tokio::test]
async fn spoofed_identity_headers_from_an_untrusted_peer_are_refused() {
    // We connect from 127.0.0.1, which is outside the trusted network.
    let addr = serve_peer(state_with(
        &["--auth", "proxy", "--auth-proxy-trusted", "10.0.0.0/8"],
        false,
    ))
    .await;
    let forged = [
        ("x-forwarded-user", "admin"),
        ("x-forwarded-groups", "system:masters"),
    ];
    assert_unauthenticated(&get(&addr, "/api/v1/whoami", &forged).await);
    assert_unauthenticated(&get(&addr, "/api/v1/rollouts", &forged).await);
    assert_unauthenticated(&post_action(&addr, &forged, "{}").await);
    // The WebSocket is refused at the upgrade.
    let err = tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/stream"))
        .await
        .expect_err("no identity, no socket");
    assert!(err.to_string().contains("401"), "{err}");
}

#[tokio::test]
async fn the_shared_secret_is_compared_exactly() {
    let secret = "s3cret-s3cret-s3cret";
    let addr = serve_peer(state_with(
        &[
            "--auth",
            "proxy",
            "--auth-proxy-trusted",
            "10.0.0.0/8",
            "--auth-proxy-secret",
            secret,
        ],
        false,
    ))
    .await;
    let ok = get(
        &addr,
        "/api/v1/whoami",
        &[
            ("x-forwarded-user", "bob"),
            ("x-rollouts-dashboard-proxy-secret", secret),
        ],
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["user"], "bob");
    for wrong in [
        "s3cret-s3cret-s3creT",
        "s3cret-s3cret-s3cret-",
        "",
        "s3cret",
    ] {
        let reply = get(
            &addr,
            "/api/v1/whoami",
            &[
                ("x-forwarded-user", "bob"),
                ("x-rollouts-dashboard-proxy-secret", wrong),
            ],
        )
        .await;
        assert_unauthenticated(&reply);
    }
}

#[tokio::test]
async fn injected_impersonate_headers_have_no_effect() {
    let addr = serve_peer(state_with(&["--auth", "proxy"], false)).await;
    let me = get(
        &addr,
        "/api/v1/whoami",
        &[
            ("x-forwarded-user", "alice"),
            ("impersonate-user", "system:admin"),
            ("impersonate-group", "system:masters"),
            ("impersonate-uid", "0"),
        ],
    )
    .await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["user"], "alice");
    assert_eq!(me.json()["groups"], json!([]));
    // Without a proxy identity, impersonation headers give none either.
    assert_unauthenticated(
        &get(
            &addr,
            "/api/v1/whoami",
            &[("impersonate-user", "system:admin")],
        )
        .await,
    );
}

#[tokio::test]
async fn none_mode_is_the_local_user() {
    let addr = serve_peer(state_with(&[], true)).await;
    let me = get(&addr, "/api/v1/whoami", &[]).await;
    assert_eq!(me.json()["user"], "local user (--auth none)");
    assert_eq!(me.json()["authMode"], "none");
    assert_eq!(me.json()["readOnly"], true);
    let perms = get(
        &addr,
        "/api/v1/namespaces/jesse-test/rollouts/canary-demo/permissions",
        &[],
    )
    .await;
    assert_eq!(perms.status, 200, "{}", perms.body);
    assert_eq!(perms.json()["actions"]["promote"], false);
    assert!(
        perms.json()["reasons"]["promote"]
            .as_str()
            .unwrap()
            .contains("read-only")
    );
}

#[tokio::test]
async fn demo_writes_carry_the_proxy_user_and_are_rate_limited() {
    let addr = serve_peer(demo_state(&["--auth", "proxy", "--writes-per-minute", "2"])).await;
    let alice = [("x-forwarded-user", "alice")];
    let perms = get(
        &addr,
        "/api/v1/namespaces/demo-shop/rollouts/checkout-api/permissions",
        &alice,
    )
    .await;
    // No cluster to ask: every action is offered.
    if perms.status == 200 {
        assert_eq!(perms.json()["actions"]["abort"], true, "{}", perms.body);
    }
    for _ in 0..2 {
        let r = post_action(&addr, &alice, "{}").await;
        assert_ne!(r.status, 429, "{}", r.body);
    }
    let limited = post_action(&addr, &alice, "{}").await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert_eq!(limited.json()["error"]["code"], "rateLimited");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Another person has their own bucket.
    let bob = post_action(&addr, &[("x-forwarded-user", "bob")], "{}").await;
    assert_ne!(bob.status, 429);
}

// ---------------------------------------------------------------------------------------
// Cross-site requests, Host checks, limits
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn cross_origin_websocket_is_refused() {
    let addr = serve_peer(state_with(&[], true)).await;
    let mut req = format!("ws://{addr}/api/v1/stream")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    let err = tokio_tungstenite::connect_async(req)
        .await
        .expect_err("cross-origin upgrade refused");
    assert!(err.to_string().contains("403"), "{err}");
    // Same origin works.
    let mut req = format!("ws://{addr}/api/v1/stream")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("origin", format!("http://{addr}").parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_ok());
}

#[tokio::test]
async fn cross_origin_and_form_posts_are_refused() {
    let addr = serve_peer(demo_state(&[])).await;
    let evil = post_action(&addr, &[("origin", "http://evil.example")], "{}").await;
    assert_eq!(evil.status, 403, "{}", evil.body);
    // A cross-site HTML form can only send form encodings and no custom header.
    let form = raw(
        &addr,
        "POST",
        "/api/v1/namespaces/demo-shop/rollouts/checkout-api/abort",
        &[("content-type", "application/x-www-form-urlencoded")],
        b"a=b",
    )
    .await;
    assert!(matches!(form.status, 400 | 403), "{}", form.body);
    let no_header = raw(
        &addr,
        "POST",
        "/api/v1/namespaces/demo-shop/rollouts/checkout-api/abort",
        &[("content-type", "application/json")],
        b"{}",
    )
    .await;
    assert_eq!(no_header.status, 403, "{}", no_header.body);
}

#[tokio::test]
async fn dns_rebinding_host_is_refused() {
    let addr = serve_peer(state_with(&[], true)).await;
    for host in [
        "evil.example",
        "evil.example:3100",
        "localhost.evil.example",
    ] {
        let r = get(&addr, "/api/v1/rollouts", &[("host", host)]).await;
        assert_eq!(r.status, 421, "{host}: {}", r.body);
        assert_eq!(r.json()["error"]["code"], "hostNotAllowed");
    }
    assert_eq!(
        get(&addr, "/api/v1/rollouts", &[("host", "localhost:3100")])
            .await
            .status,
        200
    );

    // Off loopback, --allowed-host decides (probes stay reachable by pod IP).
    let addr = serve_peer(state_with(
        &[
            "--address",
            "0.0.0.0",
            "--read-only",
            "--allowed-host",
            "dash.example",
        ],
        true,
    ))
    .await;
    assert_eq!(
        get(&addr, "/api/v1/rollouts", &[("host", "dash.example")])
            .await
            .status,
        200
    );
    assert_eq!(
        get(&addr, "/api/v1/rollouts", &[("host", "evil.example")])
            .await
            .status,
        421
    );
    assert_eq!(
        get(&addr, "/readyz", &[("host", "10.1.2.3:3100")])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let addr = serve_peer(demo_state(&[])).await;
    let big = format!("{{\"x\": \"{}\"}}", "a".repeat(20 * 1024));
    let r = post_action(&addr, &[], &big).await;
    assert_eq!(r.status, 413, "{}", r.body);
    // Every route, even one that never reads its body.
    let huge = vec![b'a'; 100 * 1024];
    let r = raw(
        &addr,
        "POST",
        "/api/v1/rollouts",
        &[("content-type", "application/json")],
        &huge,
    )
    .await;
    assert_eq!(r.status, 413, "{}", r.body);
    let r = raw(&addr, "GET", "/", &[], &huge).await;
    assert_eq!(r.status, 413, "{}", r.body);
}

#[tokio::test]
async fn static_files_cannot_escape_the_bundle() {
    let addr = serve_peer(state_with(&[], true)).await;
    for path in [
        "/assets/..%2f..%2fCargo.toml",
        "/assets/%2e%2e/%2e%2e/Cargo.toml",
        "/assets/%2e%2e%2f%2e%2e%2fCargo.toml",
        "/assets/../Cargo.toml",
        "/assets/..%5c..%5cCargo.toml",
        "/assets/....//....//Cargo.toml",
        "/assets/%252e%252e/Cargo.toml",
        "/..%2fCargo.toml",
        "/static/../Cargo.toml",
        "/assets//etc/passwd",
    ] {
        let r = get(&addr, path, &[]).await;
        assert_ne!(r.status, 200, "{path} answered 200");
        assert!(!r.body.contains("[package]"), "{path} leaked Cargo.toml");
        assert!(!r.body.contains("root:"), "{path} leaked /etc/passwd");
    }
}

#[test]
fn auth_none_on_all_interfaces_needs_read_only() {
    let parse = |args: &[&str]| {
        let mut argv = vec!["rollouts-dashboard"];
        argv.extend_from_slice(args);
        Config::try_parse_from(argv).unwrap().validate()
    };
    let err = parse(&["--address", "0.0.0.0"]).unwrap_err();
    assert!(matches!(err, ConfigError::OpenWithoutAuth(_)));
    assert!(err.to_string().contains("--read-only"), "{err}");
    assert!(parse(&["--address", "0.0.0.0", "--demo"]).is_err());
    assert!(parse(&["--address", "0.0.0.0", "--read-only"]).is_ok());
    assert!(parse(&["--address", "0.0.0.0", "--auth", "proxy"]).is_ok());
    assert!(parse(&["--address", "127.0.0.1"]).is_ok());
}

// ---------------------------------------------------------------------------------------
// Markup in cluster data
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn markup_in_cluster_data_never_reaches_the_shell() {
    const XSS: &str = "<script>alert(1)</script>";
    const IMG: &str = "<img src=x onerror=alert(2)>";
    let path = fixtures().join("argo-rollouts-info/canary/canary-rollout.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut ro = rollouts_dashboard::source::files::parse_documents(&path, &text)
        .unwrap()
        .into_iter()
        .next()
        .unwrap();
    ro["metadata"]["name"] = json!(format!("x{XSS}"));
    ro["metadata"]["labels"] = json!({"team": XSS});
    ro["metadata"]["annotations"] = json!({"note": IMG});
    ro["status"]["message"] = json!(IMG);
    let store = Store::new(Health::loaded(SourceKind::Files));
    store
        .cluster("files")
        .apply(Object::from_json(ro).unwrap().unwrap());
    store.flush();
    let addr = serve_peer(state(store, true, "")).await;

    let list = get(&addr, "/api/v1/rollouts", &[]).await;
    assert_eq!(list.status, 200);
    assert!(
        list.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(list.header("x-content-type-options"), Some("nosniff"));
    let name = list.json()["rollouts"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(name, format!("x{XSS}"), "kept as a JSON string");

    for path in [
        "/".to_owned(),
        "/rollouts/jesse-test/x%3Cscript%3Ealert(1)%3C%2Fscript%3E".to_owned(),
        "/namespaces/%3Cimg%20src%3Dx%20onerror%3Dalert(2)%3E".to_owned(),
    ] {
        let shell = get(&addr, &path, &[]).await;
        assert_eq!(shell.status, 200, "{path}");
        assert!(
            shell
                .header("content-type")
                .unwrap()
                .starts_with("text/html")
        );
        for needle in ["alert(1)", "alert(2)", "<img", "onerror"] {
            assert!(
                !shell.body.contains(needle),
                "{path}: shell contains {needle}"
            );
        }
        let csp = shell.header("content-security-policy").unwrap();
        assert!(
            csp.contains("script-src 'self' 'nonce-") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Token mode (without a cluster: the refusals; sign-in itself is in e2e_security)
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn token_mode_refuses_without_a_session() {
    let addr = serve_peer(state_with(&["--auth", "token"], false)).await;
    assert_unauthenticated(&get(&addr, "/api/v1/rollouts", &[]).await);
    assert_unauthenticated(&get(&addr, "/api/v1/whoami", &[("cookie", "rd_session=forged")]).await);
    let page = get(&addr, "/", &[]).await;
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), Some("/auth/sign-in"));

    let form = get(&addr, "/auth/sign-in", &[]).await;
    assert_eq!(form.status, 200);
    assert!(
        !form.body.contains("<script"),
        "no script on the sign-in page"
    );
    let csp = form.header("content-security-policy").unwrap();
    assert!(
        csp.starts_with("default-src 'none'") && csp.contains("form-action 'self'"),
        "{csp}"
    );
    let set_cookie = form.headers_named("set-cookie").join("\n");
    assert!(
        set_cookie.contains("rd_csrf=")
            && set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let csrf = set_cookie
        .split("rd_csrf=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(form.body.contains(&csrf));

    // Cross-site: right CSRF value, foreign Origin.
    let cookie = format!("rd_csrf={csrf}");
    let body = format!("csrf={csrf}&token=abc");
    let cross = raw(
        &addr,
        "POST",
        "/auth/sign-in",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("origin", "http://evil.example"),
            ("cookie", &cookie),
        ],
        body.as_bytes(),
    )
    .await;
    assert_eq!(cross.status, 403, "{}", cross.body);
    // No CSRF cookie (a cross-site form: SameSite=Strict keeps it home).
    let no_cookie = raw(
        &addr,
        "POST",
        "/auth/sign-in",
        &[("content-type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .await;
    assert_eq!(no_cookie.status, 403, "{}", no_cookie.body);
    // Same site with the cookie: reaches the token check (no cluster here → 503).
    let same = raw(
        &addr,
        "POST",
        "/auth/sign-in",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("origin", &format!("http://{addr}")),
            ("cookie", &cookie),
        ],
        body.as_bytes(),
    )
    .await;
    assert_eq!(same.status, 503, "{}", same.body);
    assert!(!same.body.contains("token=abc"));
}

#[tokio::test]
async fn sessions_work_and_expired_sessions_close_their_sockets() {
    let mut st = state_with(&["--auth", "token"], true);
    let mut auth = Auth::from_config(&config(&["--auth", "token"]), None);
    auth.session_ttl = Duration::from_secs(2);
    let auth = Arc::new(auth);
    st.auth = auth.clone();
    let id = auth.create_session(
        "carol".into(),
        vec!["devs".into()],
        "token-never-returned".into(),
    );
    let addr = serve_peer(st).await;
    let cookie = format!("rd_session={id}");

    let me = get(&addr, "/api/v1/whoami", &[("cookie", &cookie)]).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["user"], "carol");
    assert!(!me.body.contains("token-never-returned"));

    let mut req = format!("ws://{addr}/api/v1/stream")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let close = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(msg) = ws.next().await {
            if let Ok(Message::Close(frame)) = msg {
                return frame;
            }
        }
        None
    })
    .await
    .expect("closed when the session expires")
    .expect("a close frame");
    assert_eq!(u16::from(close.code), 1008, "{close:?}");
    assert_unauthenticated(&get(&addr, "/api/v1/whoami", &[("cookie", &cookie)]).await);
}

// ---------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn responses_carry_a_request_id() {
    let addr = serve_peer(state_with(&[], true)).await;
    let r = get(&addr, "/api/v1/status", &[]).await;
    assert!(r.header("x-request-id").is_some_and(|v| v.len() >= 32));
    let r = get(&addr, "/api/v1/status", &[("x-request-id", "abc-123")]).await;
    assert_eq!(r.header("x-request-id"), Some("abc-123"));
}

#[tokio::test]
async fn shutdown_closes_sockets_with_1001() {
    let st = state_with(&[], true);
    let shutdown = st.shutdown.clone();
    let addr = serve_peer(st).await;
    let mut ws = connect(addr.addr, "").await;
    shutdown.trigger();
    let close = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(msg) = ws.next().await {
            if let Ok(Message::Close(frame)) = msg {
                return frame;
            }
        }
        None
    })
    .await
    .expect("closed on shutdown")
    .expect("a close frame");
    assert_eq!(u16::from(close.code), 1001);
}

// ---------------------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn tls_serves_https_with_hsts_and_knows_the_peer() {
    let dir = std::env::temp_dir().join(format!("rd-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success());
    assert!(
        rollouts_dashboard::http::tls::acceptor(&key, &key).is_err(),
        "a key is no certificate"
    );
    let acceptor = rollouts_dashboard::http::tls::acceptor(&cert, &key).unwrap();

    let st = state_with(&["--auth", "proxy"], true);
    let mut settings = (*st.settings).clone();
    settings.tls = true;
    let shutdown = st.shutdown.clone();
    let st = AppState {
        settings: Arc::new(settings),
        ..st
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(rollouts_dashboard::http::tls::serve(
        listener,
        acceptor,
        rollouts_dashboard::app(st),
        shutdown.clone(),
    ));
    let out = tokio::process::Command::new("curl")
        .args(["-s", "-i", "--cacert"])
        .arg(&cert)
        .args(["-H", "x-forwarded-user: tls-user"])
        .arg(format!("https://{addr}/api/v1/whoami"))
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 200"), "{text}");
    assert!(
        text.contains("strict-transport-security: max-age=31536000"),
        "{text}"
    );
    // The peer (127.0.0.1, trusted) reached the auth layer.
    assert!(text.contains("\"user\":\"tls-user\""), "{text}");
    // Plain HTTP on the TLS port gets no answer.
    let plain = tokio::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "5",
        ])
        .arg(format!("http://{addr}/healthz"))
        .output()
        .await
        .unwrap();
    assert_ne!(String::from_utf8_lossy(&plain.stdout), "200");
    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the TLS server stops on shutdown")
        .unwrap()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------
// Token mode: what strangers see of cluster errors, and groups that change (issue #11, 4c/4d)
// ---------------------------------------------------------------------------------------

/// Token-mode state over the fixtures with `auth`.
fn token_state(auth: Auth) -> AppState {
    state_with(&["--auth", "token"], true).with_auth(auth)
}

/// Fetches the sign-in form and posts `token` with its CSRF value, from the same origin.
async fn post_sign_in(addr: &Served, token: &str) -> Reply {
    let form = get(addr, "/auth/sign-in", &[]).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let set_cookie = form.headers_named("set-cookie").join("\n");
    let csrf = set_cookie
        .split("rd_csrf=")
        .nth(1)
        .and_then(|v| v.split(';').next())
        .expect("a CSRF cookie")
        .to_owned();
    raw(
        addr,
        "POST",
        "/auth/sign-in",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("origin", &format!("http://{addr}")),
            ("cookie", &format!("rd_csrf={csrf}")),
        ],
        format!("csrf={csrf}&token={token}").as_bytes(),
    )
    .await
}

#[tokio::test]
async fn sign_in_does_not_show_cluster_errors_to_strangers() {
    // An API server address where nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kube_config = kube::Config::new(format!("https://127.0.0.1:{port}").parse().unwrap());
    let client = kube::Client::try_from(kube_config.clone()).unwrap();
    let auth = Auth::from_config(
        &config(&["--auth", "token"]),
        Some(rollouts_dashboard::auth::KubeAccess {
            config: kube_config,
            client,
        }),
    );
    // The detail the operator's log gets.
    let detail = auth.token_review("abc").await.unwrap_err().to_string();
    let addr = serve_peer(token_state(auth)).await;

    let page = post_sign_in(&addr, "abc").await;
    assert_eq!(page.status, 502, "{}", page.body);
    assert!(
        page.body
            .contains("could not check the token with the cluster; try again or ask the"),
        "{}",
        page.body
    );
    // The page quotes the request id that the log line carries.
    let request_id = page.header("x-request-id").expect("a request id");
    assert!(
        page.body.contains(&format!("(reference {request_id})")),
        "{}",
        page.body
    );
    let reason = detail
        .strip_prefix("cannot check the token with Kubernetes: ")
        .unwrap_or(&detail);
    for secret in [
        reason,
        "127.0.0.1",
        &port.to_string(),
        "Kubernetes:",
        "ServiceError",
        "client error",
        "Connect",
    ] {
        assert!(
            !page.body.contains(secret),
            "the sign-in page shows {secret:?} (from {detail:?}):\n{}",
            page.body
        );
    }
}

/// Answers TokenReviews with the owner the test last set.
struct FakeReviewer(std::sync::Mutex<(String, Vec<String>)>);

impl rollouts_dashboard::auth::TokenReviewer for FakeReviewer {
    fn review<'a>(
        &'a self,
        token: &'a str,
    ) -> futures::future::BoxFuture<
        'a,
        Result<
            Option<rollouts_dashboard::auth::TokenOwner>,
            rollouts_dashboard::auth::TokenReviewError,
        >,
    > {
        let answer = (token == "carols-token").then(|| self.0.lock().unwrap().clone());
        Box::pin(async move { Ok(answer) })
    }
}

#[tokio::test]
async fn token_sessions_follow_group_changes_at_the_recheck() {
    let reviewer = Arc::new(FakeReviewer(std::sync::Mutex::new((
        "carol".into(),
        vec!["devs".into()],
    ))));
    let mut auth = Auth::from_config(&config(&["--auth", "token"]), None)
        .with_token_reviewer(reviewer.clone());
    // Every request re-checks the token (the default is every 5 minutes).
    auth.token_recheck = Duration::ZERO;
    let addr = serve_peer(token_state(auth)).await;

    assert_eq!(post_sign_in(&addr, "someone-elses").await.status, 401);
    let signed_in = post_sign_in(&addr, "carols-token").await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let session = signed_in
        .headers_named("set-cookie")
        .into_iter()
        .find_map(|c| c.strip_prefix("rd_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let cookie = format!("rd_session={session}");
    let me = get(&addr, "/api/v1/whoami", &[("cookie", &cookie)]).await;
    assert_eq!(me.json()["groups"], json!(["devs"]), "{}", me.body);

    // Kubernetes now puts the token in another group: the very next request knows it.
    *reviewer.0.lock().unwrap() = ("carol".into(), vec!["auditors".into()]);
    let me = get(&addr, "/api/v1/whoami", &[("cookie", &cookie)]).await;
    assert_eq!(me.json()["groups"], json!(["auditors"]), "{}", me.body);

    // The token now names someone else: the session ends.
    *reviewer.0.lock().unwrap() = ("mallory".into(), vec![]);
    assert_unauthenticated(&get(&addr, "/api/v1/whoami", &[("cookie", &cookie)]).await);
}

/// Refuses every token (a cluster the token is not valid on).
struct Refuser;

impl rollouts_dashboard::auth::TokenReviewer for Refuser {
    fn review<'a>(
        &'a self,
        _token: &'a str,
    ) -> futures::future::BoxFuture<
        'a,
        Result<
            Option<rollouts_dashboard::auth::TokenOwner>,
            rollouts_dashboard::auth::TokenReviewError,
        >,
    > {
        Box::pin(async { Ok(None) })
    }
}

/// With several clusters, a token signs in to the clusters that accept it; the others show
/// "not signed in": their rows are not listed, and requests naming them get 401
/// `notSignedIn` naming the cluster.
#[tokio::test]
async fn a_token_signs_in_to_the_clusters_that_accept_it() {
    let state = state_with(&["--auth", "token"], false);
    let staging = state.store.cluster("staging");
    for object in
        rollouts_dashboard::source::files::load(&fixtures().join("argo-rollouts-info/canary"))
            .unwrap()
    {
        staging.apply(object);
    }
    state.store.flush();
    let carol = Arc::new(FakeReviewer(std::sync::Mutex::new((
        "carol".into(),
        vec!["devs".into()],
    ))));
    let auth = Auth::from_config(&config(&["--auth", "token"]), None).with_cluster_reviewers(vec![
        (
            "files".into(),
            carol as Arc<dyn rollouts_dashboard::auth::TokenReviewer>,
        ),
        ("staging".into(), Arc::new(Refuser)),
    ]);
    let addr = serve_peer(state.with_auth(auth)).await;
    assert_eq!(post_sign_in(&addr, "someone-elses").await.status, 401);
    let signed_in = post_sign_in(&addr, "carols-token").await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let session = signed_in
        .headers_named("set-cookie")
        .into_iter()
        .find_map(|c| c.strip_prefix("rd_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let cookie = format!("rd_session={session}");
    let headers = [("cookie", cookie.as_str())];
    let me = get(&addr, "/api/v1/whoami", &headers).await;
    assert_eq!(
        me.json()["clusters"],
        json!([{"name": "files", "signedIn": true}, {"name": "staging", "signedIn": false}]),
        "{}",
        me.body
    );
    let list = get(&addr, "/api/v1/rollouts", &headers).await;
    let clusters: Vec<serde_json::Value> = list.json()["rollouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["cluster"].clone())
        .collect();
    assert_eq!(clusters.len(), 6, "{}", list.body);
    assert!(clusters.iter().all(|c| c == "files"), "{clusters:?}");
    let path = |cluster: &str| {
        format!("/api/v1/clusters/{cluster}/namespaces/jesse-test/rollouts/canary-demo")
    };
    assert_eq!(get(&addr, &path("files"), &headers).await.status, 200);
    for url in [path("staging"), format!("{}/permissions", path("staging"))] {
        let refused = get(&addr, &url, &headers).await;
        assert_eq!(refused.status, 401, "{url}: {}", refused.body);
        assert_eq!(refused.json()["error"]["code"], "notSignedIn");
        assert_eq!(refused.json()["error"]["details"]["cluster"], "staging");
    }
    // An action there: refused the same way, before anything is sent.
    let action = raw(
        &addr,
        "POST",
        &format!("{}/promote", path("staging")),
        &[
            ("cookie", cookie.as_str()),
            ("content-type", "application/json"),
            ("x-rollouts-dashboard", "1"),
        ],
        b"{}",
    )
    .await;
    assert_eq!(action.status, 401, "{}", action.body);
    assert_eq!(action.json()["error"]["code"], "notSignedIn");
}
