//! Security end to end against the real test cluster (tests/cluster): per-user RBAC in
//! `--auth proxy` (impersonation) and `--auth token` (TokenReview, the user's own token),
//! read filtering of the shared cache by SubjectAccessReview on the API and the stream.
//! Needs ROLLOUTS_DASHBOARD_E2E_KUBECONFIG (an admin kubeconfig); FAILS without it.

mod common;

use std::time::{Duration, Instant};

use common::{Reply, Req, Served, Socket, get, next_json, next_snapshot, post, send};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const WAIT: Duration = Duration::from_secs(120);

async fn admin() -> kube::Client {
    common::e2e_client().await
}

async fn create_namespace(client: &kube::Client, name: &str) {
    common::e2e_create_namespace(client, name).await;
}

/// Creates the example canary rollout (and its services) in `ns`.
async fn create_canary(client: &kube::Client, ns: &str) {
    common::e2e_create_example(client, ns, "rollout-canary.yaml").await;
}

/// A Role in `ns` with `rules`, bound to `subject` (a JSON RBAC subject).
async fn grant(client: &kube::Client, ns: &str, name: &str, rules: Value, subject: Value) {
    let roles: Api<Role> = Api::namespaced(client.clone(), ns);
    let role: Role =
        serde_json::from_value(json!({"metadata": {"name": name}, "rules": rules})).unwrap();
    let ssa = PatchParams::apply("e2e-security").force();
    roles
        .patch(name, &ssa, &Patch::Apply(&role))
        .await
        .expect("role");
    let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), ns);
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [subject],
    }))
    .unwrap();
    bindings
        .patch(name, &ssa, &Patch::Apply(&binding))
        .await
        .expect("rolebinding");
}

fn read_rules() -> Value {
    json!([{"apiGroups": ["argoproj.io"], "resources": ["rollouts"], "verbs": ["get", "list", "watch"]}])
}

fn write_rules() -> Value {
    json!([
        {"apiGroups": ["argoproj.io"], "resources": ["rollouts"], "verbs": ["get", "list", "watch", "patch"]},
        {"apiGroups": ["argoproj.io"], "resources": ["rollouts/status"], "verbs": ["patch"]},
        {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["list"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]}
    ])
}

fn user(name: &str) -> Value {
    json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": name})
}

/// A dashboard on the cluster with extra flags, served with peer addresses (as `run()`).
async fn dashboard(namespaces: &[&str], extra: &[&str]) -> Served {
    common::e2e_dashboard(namespaces, extra).await
}

/// `req` to the dashboard in process, as a browser on its address would send it (`Host`),
/// with `headers` given as `name: value` lines.
async fn send_to(addr: &Served, mut req: Req, headers: &[String]) -> Reply {
    req = req.header("host", &addr.to_string());
    for line in headers {
        let (name, value) = line.split_once(':').expect("a `name: value` header");
        req = req.header(name.trim(), value.trim());
    }
    addr.send(req).await
}

async fn get_as(addr: &Served, who: &str, path: &str) -> (u16, Value) {
    let reply = send_to(addr, get(path), &[format!("x-forwarded-user: {who}")]).await;
    (reply.status, reply.json())
}

async fn post_as(addr: &Served, headers: &[String], path: &str, body: Value) -> (u16, Value) {
    let reply = send_to(addr, post(path).json(&body).write_headers(), headers).await;
    (reply.status, reply.json())
}

fn names(list: &Value) -> Vec<String> {
    let mut v: Vec<String> = list["rollouts"]
        .as_array()
        .unwrap_or(&vec![])
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["namespace"].as_str().unwrap(),
                r["name"].as_str().unwrap()
            )
        })
        .collect();
    v.sort();
    v
}

async fn ws_as(addr: &Served, headers: &[(&'static str, String)]) -> Socket {
    let mut req = format!("ws://{addr}/api/v1/stream")
        .into_client_request()
        .unwrap();
    for (k, v) in headers {
        req.headers_mut().insert(*k, v.parse().unwrap());
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("ws");
    assert_eq!(next_json(&mut ws).await["type"], "hello");
    assert_eq!(next_json(&mut ws).await["type"], "status");
    ws
}

#[tokio::test]
async fn proxy_mode_reads_are_filtered_and_writes_use_the_users_rbac() {
    let client = admin().await;
    let pid = std::process::id();
    let (ns_a, ns_b) = (format!("e2e-seca-{pid}"), format!("e2e-secb-{pid}"));
    let (viewer, both, writer) = (
        format!("e2e-viewer-{pid}"),
        format!("e2e-both-{pid}"),
        format!("e2e-writer-{pid}"),
    );
    for ns in [&ns_a, &ns_b] {
        create_namespace(&client, ns).await;
        create_canary(&client, ns).await;
    }
    grant(&client, &ns_a, "viewer", read_rules(), user(&viewer)).await;
    grant(&client, &ns_a, "both", read_rules(), user(&both)).await;
    grant(&client, &ns_b, "both", read_rules(), user(&both)).await;
    grant(&client, &ns_a, "writer", write_rules(), user(&writer)).await;

    let addr = dashboard(&[&ns_a, &ns_b], &["--auth", "proxy"]).await;
    // Wait for both rollouts in the cache (seen by the user who may read both).
    let want_both = vec![
        format!("{ns_a}/rollout-canary"),
        format!("{ns_b}/rollout-canary"),
    ];
    let start = Instant::now();
    loop {
        let (code, list) = get_as(&addr, &both, "/api/v1/rollouts").await;
        if code == 200 && names(&list) == want_both {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "both rollouts never listed: {code} {list}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // The API: list, detail, namespaces.
    let (code, list) = get_as(&addr, &viewer, "/api/v1/rollouts").await;
    assert_eq!(code, 200);
    assert_eq!(names(&list), vec![format!("{ns_a}/rollout-canary")]);
    let (code, list) = get_as(
        &addr,
        &viewer,
        &format!("/api/v1/rollouts?namespace={ns_b}"),
    )
    .await;
    assert_eq!((code, names(&list)), (200, vec![]));
    let (code, body) = get_as(
        &addr,
        &viewer,
        &format!("/api/v1/namespaces/{ns_b}/rollouts/rollout-canary"),
    )
    .await;
    assert_eq!(code, 403, "{body}");
    let (code, _) = get_as(
        &addr,
        &viewer,
        &format!("/api/v1/namespaces/{ns_a}/rollouts/rollout-canary"),
    )
    .await;
    assert_eq!(code, 200);
    let (_, nss) = get_as(&addr, &viewer, "/api/v1/namespaces").await;
    assert_eq!(nss["namespaces"], json!([ns_a]), "{nss}");
    assert_eq!(nss["watched"], json!([ns_a]), "{nss}");
    let (_, nobody) = get_as(&addr, "e2e-nobody", "/api/v1/rollouts").await;
    assert_eq!(names(&nobody), Vec::<String>::new());

    // The stream: snapshot filtered, detail elsewhere refused, changes elsewhere not sent.
    let mut ws = ws_as(&addr, &[("x-forwarded-user", viewer.clone())]).await;
    send(&mut ws, json!({"type": "subscribeList"})).await;
    let snapshot = next_snapshot(&mut ws).await;
    assert_eq!(names(&snapshot), vec![format!("{ns_a}/rollout-canary")]);
    let rollouts = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        &ns_b,
        &rollouts_dashboard::source::cluster::api_resource(
            rollouts_dashboard::model::Kind::Rollout,
        ),
    );
    rollouts
        .patch(
            "rollout-canary",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"touched": "yes"}}})),
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(500), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let f: Value = serde_json::from_str(&t).unwrap();
                // `upsert`/`detail` carry the rollout, `patch`/`delete` name it at the top.
                assert_ne!(f["rollout"]["namespace"], json!(ns_b), "leaked: {f}");
                assert_ne!(
                    f["rollout"]["summary"]["namespace"],
                    json!(ns_b),
                    "leaked: {f}"
                );
                assert_ne!(f["namespace"], json!(ns_b), "leaked: {f}");
            }
            Ok(other) => panic!("stream ended: {other:?}"),
            Err(_) => {}
        }
    }
    send(
        &mut ws,
        json!({"type": "subscribeRollout", "cluster": common::e2e_cluster_name(),
               "namespace": ns_b, "name": "rollout-canary"}),
    )
    .await;
    let refused = next_json(&mut ws).await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["code"], "forbidden");

    // Permissions: the viewer may do nothing, the writer may promote.
    let perms_path = format!("/api/v1/namespaces/{ns_a}/rollouts/rollout-canary/permissions");
    let (code, perms) = get_as(&addr, &viewer, &perms_path).await;
    assert_eq!(code, 200, "{perms}");
    assert_eq!(perms["actions"]["promote"], false, "{perms}");
    assert!(
        perms["reasons"]["promote"]
            .as_str()
            .unwrap()
            .contains("may not patch"),
        "{perms}"
    );
    let (_, perms) = get_as(&addr, &writer, &perms_path).await;
    assert_eq!(perms["actions"]["pause"], true, "{perms}");
    assert_eq!(perms["actions"]["abort"], true, "{perms}");

    // Writes: Kubernetes' own 403 for the viewer, even with injected impersonation headers,
    // although the dashboard's identity is cluster-admin.
    let pause = format!("/api/v1/namespaces/{ns_a}/rollouts/rollout-canary/pause");
    for extra in [
        vec![],
        vec![
            "impersonate-user: system:admin".to_owned(),
            "impersonate-group: system:masters".to_owned(),
        ],
        vec!["x-forwarded-groups: system:masters".to_owned()],
    ] {
        let mut headers = vec![format!("x-forwarded-user: {viewer}")];
        headers.extend(extra);
        let (code, body) = post_as(&addr, &headers, &pause, json!({})).await;
        assert_eq!(code, 403, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("forbidden") && message.contains(&viewer),
            "{message}"
        );
    }
    // The writer may.
    let (code, body) = post_as(
        &addr,
        &[format!("x-forwarded-user: {writer}")],
        &pause,
        json!({}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let ro = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        &ns_a,
        &rollouts_dashboard::source::cluster::api_resource(
            rollouts_dashboard::model::Kind::Rollout,
        ),
    )
    .get("rollout-canary")
    .await
    .unwrap();
    assert_eq!(ro.data["spec"]["paused"], true);
    // The Event names the person, not the dashboard.
    let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client.clone(), &ns_a);
    let events = events.list(&Default::default()).await.unwrap();
    assert!(
        events.items.iter().any(|e| e
            .message
            .as_deref()
            .is_some_and(|m| m.starts_with(&format!("{writer} (via --auth proxy)")))),
        "no Event naming {writer}: {:?}",
        events.items.iter().map(|e| &e.message).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn token_mode_signs_in_with_a_kubernetes_token_and_writes_with_it() {
    let client = admin().await;
    let pid = std::process::id();
    let ns = format!("e2e-sectok-{pid}");
    create_namespace(&client, &ns).await;
    create_canary(&client, &ns).await;
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), &ns);
    let sa: ServiceAccount =
        serde_json::from_value(json!({"metadata": {"name": "reader"}})).unwrap();
    match sas.create(&PostParams::default(), &sa).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => panic!("{e}"),
    }
    grant(
        &client,
        &ns,
        "reader",
        read_rules(),
        json!({"kind": "ServiceAccount", "name": "reader", "namespace": ns}),
    )
    .await;
    let token = common::service_account_token(&sas, "reader", 600).await;

    let addr = dashboard(&[&ns], &["--auth", "token"]).await;
    let base = format!("http://{addr}");
    // The form and its CSRF cookie.
    let page = send_to(&addr, get("/auth/sign-in"), &[]).await;
    assert_eq!(page.status, 200);
    let csrf = page
        .headers_named("set-cookie")
        .into_iter()
        .find_map(|c| c.strip_prefix("rd_csrf="))
        .and_then(|s| s.split(';').next())
        .expect("a CSRF cookie")
        .to_owned();
    let origin = format!("origin: {base}");
    let cookie = format!("cookie: rd_csrf={csrf}");
    let sign_in = |token: &str| {
        // Hex CSRF values and JWTs need no URL encoding.
        post("/auth/sign-in")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={csrf}&token={token}"))
    };
    // A token Kubernetes does not accept.
    let refused = send_to(
        &addr,
        sign_in("not-a-real-token"),
        &[origin.clone(), cookie.clone()],
    )
    .await;
    assert_eq!(refused.status, 401);
    // The real one.
    let signed = send_to(&addr, sign_in(&token), &[origin.clone(), cookie.clone()]).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert!(
        !signed.body.contains(&token)
            && !signed
                .headers
                .values()
                .any(|v| v.to_str().unwrap_or_default().contains(&token)),
        "the token is never sent back"
    );
    let session_line = signed
        .headers_named("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("rd_session="))
        .expect("session cookie")
        .to_owned();
    assert!(
        session_line.contains("HttpOnly") && session_line.contains("SameSite=Strict"),
        "{session_line}"
    );
    let session = session_line
        .split("rd_session=")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .unwrap()
        .to_owned();
    // Sealed (tests/e2e_replicas.rs and src/auth/session.rs test what is inside).
    assert!(session.starts_with("v1."), "{session}");
    let session_cookie = format!("cookie: rd_session={session}");

    let me = send_to(
        &addr,
        get("/api/v1/whoami"),
        std::slice::from_ref(&session_cookie),
    )
    .await;
    assert_eq!(me.status, 200);
    let me = me.json();
    assert_eq!(me["user"], format!("system:serviceaccount:{ns}:reader"));
    assert_eq!(me["authMode"], "token");
    // Reads filtered by its RBAC (it may list in its namespace); wait for the cache.
    let start = Instant::now();
    loop {
        let list = send_to(
            &addr,
            get("/api/v1/rollouts"),
            std::slice::from_ref(&session_cookie),
        )
        .await
        .json();
        if names(&list) == vec![format!("{ns}/rollout-canary")] {
            break;
        }
        assert!(start.elapsed() < WAIT, "rollout never listed: {list}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Writes go with its token: Kubernetes refuses.
    let (code, body) = post_as(
        &addr,
        std::slice::from_ref(&session_cookie),
        &format!("/api/v1/namespaces/{ns}/rollouts/rollout-canary/pause"),
        json!({}),
    )
    .await;
    assert_eq!(code, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("system:serviceaccount"),
        "{body}"
    );
    // Sign out ends the session.
    let out = send_to(
        &addr,
        post("/auth/sign-out").write_headers(),
        std::slice::from_ref(&session_cookie),
    )
    .await;
    assert_eq!(out.status, 204);
    let after = send_to(
        &addr,
        get("/api/v1/whoami"),
        std::slice::from_ref(&session_cookie),
    )
    .await;
    assert_eq!(after.status, 401);
}

/// Namespaces and names crafted to walk the API server's URL (issue #11): the dashboard
/// answers 400 naming the rule, and the real rollouts they aim at are not touched.
#[tokio::test]
async fn crafted_namespaces_and_names_never_reach_the_api_server() {
    let client = admin().await;
    let ns = format!("e2e-names-{}", std::process::id());
    create_namespace(&client, &ns).await;
    create_canary(&client, &ns).await;
    let rollouts = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        &ns,
        &kube::discovery::ApiResource {
            group: "argoproj.io".into(),
            version: "v1alpha1".into(),
            api_version: "argoproj.io/v1alpha1".into(),
            kind: "Rollout".into(),
            plural: "rollouts".into(),
        },
    );
    let before = rollouts.get("rollout-canary").await.unwrap();
    // --auth none on loopback: writes go out with the dashboard's own (admin) identity, so
    // only the name check stands between these paths and the API server.
    let addr = dashboard(&[], &[]).await;
    let crafted = [
        // The namespace `<ns>/rollouts/rollout-canary?x=` once became PATCH <ns>/rollout-canary.
        format!("/api/v1/namespaces/{ns}%2Frollouts%2Frollout-canary%3Fx%3D/rollouts/web/restart"),
        format!("/api/v1/namespaces/{ns}/rollouts/..%2F..%2F..%2Fapi%2Fv1%2Fsecrets/restart"),
        format!("/api/v1/namespaces/{ns}/rollouts/rollout-canary%3FdryRun%3DAll/restart"),
        format!(
            "/api/v1/namespaces/{ns}/rollouts/{}/restart",
            "a".repeat(300)
        ),
    ];
    for path in &crafted {
        let (code, body) = post_as(&addr, &[], path, json!({})).await;
        assert_eq!(code, 400, "{path}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("DNS-1123")),
            "{path}: the answer names the rule: {body}"
        );
    }
    // The controller writes the status meanwhile; a restart would have set spec.restartAt.
    let after = rollouts.get("rollout-canary").await.unwrap();
    assert!(
        before.data["spec"]["restartAt"].is_null(),
        "{:?}",
        before.data
    );
    assert!(
        after.data["spec"]["restartAt"].is_null(),
        "the rollout was restarted: {:?}",
        after.data["spec"]
    );
    // A well-formed request still works.
    let (code, body) = post_as(
        &addr,
        &[],
        &format!("/api/v1/namespaces/{ns}/rollouts/rollout-canary/restart"),
        json!({}),
    )
    .await;
    assert_ne!(code, 400, "{body}");
}

/// An identity that may read rollouts and their objects but not Events still gets the
/// dashboard: the rollouts show, `/readyz` is ready, and only the history says it is
/// unavailable, and why (issue #15.7).
#[tokio::test]
async fn without_the_right_to_list_events_only_the_history_is_missing() {
    let admin = admin().await;
    let ns = format!("e2e-noevents-{}", std::process::id());
    create_namespace(&admin, &ns).await;
    create_canary(&admin, &ns).await;
    let who = format!("e2e-no-events-{}", std::process::id());
    let read = json!([
        {"apiGroups": ["argoproj.io"], "resources": ["rollouts", "analysisruns", "experiments"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}
    ]);
    grant(&admin, &ns, "read-but-not-events", read, user(&who)).await;
    // The admin kubeconfig of tests/cluster, acting as that user (kubeconfig `as:`).
    let text = std::fs::read_to_string(common::e2e_kubeconfig()).unwrap();
    let restricted = text.replacen("  user:\n", &format!("  user:\n    as: {who}\n"), 1);
    assert_ne!(
        restricted, text,
        "the kubeconfig has a user entry to act as {who}"
    );
    let path = std::env::temp_dir().join(format!("{who}.kubeconfig"));
    std::fs::write(&path, restricted).unwrap();
    let addr = common::e2e_dashboard_with(&path, &[&ns], &[]).await;
    let start = Instant::now();
    let detail = loop {
        let reply = addr
            .send(get(&format!(
                "/api/v1/namespaces/{ns}/rollouts/rollout-canary"
            )))
            .await;
        let d: Value = if reply.status == 200 {
            reply.json()
        } else {
            Value::Null
        };
        if d["history"]["unavailable"].is_string() {
            break d;
        }
        assert!(
            start.elapsed() < WAIT,
            "no 'history unavailable' on the detail: {}",
            d["history"]
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let why = detail["history"]["unavailable"].as_str().unwrap();
    assert!(
        why.starts_with("this identity may not list/watch events") && why.contains("forbidden"),
        "{why}"
    );
    assert_eq!(detail["history"]["events"], json!([]));
    // The rest is there and healthy: the rollout, its ReplicaSet, ready, no problem.
    assert_eq!(detail["summary"]["name"], "rollout-canary");
    let ready = addr.send(get("/readyz")).await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    let status = addr.send(get("/api/v1/status")).await.json();
    assert_eq!(status["ready"], true, "{status}");
    assert_eq!(status["health"]["source"], "cluster", "{status}");
    assert!(status["health"]["problem"].is_null(), "{status}");
    let _ = std::fs::remove_file(&path);
}
