//! The HTTP API over the upstream fixtures, as a new user would query it.

mod common;

use common::*;
use rollouts_dashboard::state::AppState;
use serde_json::Value;

/// GET `path` in process: status, JSON body (or Null) and content type.
async fn call(st: &AppState, path: &str) -> (u16, Value, String) {
    let reply = get(path).send(st).await;
    let content_type = reply.header("content-type").unwrap_or_default().to_owned();
    (reply.status, reply.json(), content_type)
}

#[tokio::test]
async fn lists_the_six_canary_rollouts_with_upstream_values() {
    let store = store_from(&fixtures().join("argo-rollouts-info/canary"));
    let st = state(store, true, "");
    let (status, body, _) = call(&st, "/api/v1/rollouts").await;
    assert_eq!(status, 200);
    let rollouts = body["rollouts"].as_array().unwrap();
    let names: Vec<&str> = rollouts
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "canary-demo",
            "canary-demo-pingpong",
            "canary-demo-weights",
            "canary-demo-weights-na",
            "canary-demo-workloadRef",
            "canary-demo-workloadRef-deploy"
        ]
    );
    for r in rollouts {
        assert_eq!(r["namespace"], "jesse-test");
        assert_eq!(r["strategy"], "Canary");
        assert_eq!(r["status"], "Degraded");
        assert_eq!(
            r["message"],
            "ProgressDeadlineExceeded: ReplicaSet \"canary-demo-65fb5ffc84\" has timed out progressing."
        );
        assert_eq!(r["step"], "0/8");
        assert_eq!(r["setWeight"], 20);
        assert_eq!(r["replicas"]["desired"], 5);
        assert_eq!(r["replicas"]["current"], 6);
        assert_eq!(r["replicas"]["updated"], 1);
        assert_eq!(r["replicas"]["ready"], 5);
        assert_eq!(r["replicas"]["available"], 5);
    }
    let weight = |name: &str| {
        rollouts.iter().find(|r| r["name"] == name).unwrap()["actualWeight"]
            .as_i64()
            .unwrap()
    };
    // No traffic routing: 0 canary pods available of 5 → 0. SMI weights: the status weight.
    // Traffic routing without weights: the setWeight.
    assert_eq!(weight("canary-demo"), 0);
    assert_eq!(weight("canary-demo-weights"), 20);
    assert_eq!(weight("canary-demo-weights-na"), 20);

    let (_, filtered, _) = call(&st, "/api/v1/rollouts?namespace=other").await;
    assert_eq!(filtered["rollouts"].as_array().unwrap().len(), 0);
    let (status, err, _) = call(&st, "/api/v1/rollouts?namespace=Bad_NS").await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["code"], "badRequest");
}

#[tokio::test]
async fn detail_unknown_rollout_and_unknown_paths() {
    let store = store_from(&fixtures().join("argo-rollouts-info/blue-green"));
    let st = state(store, true, "");
    let (status, detail, _) =
        call(&st, "/api/v1/namespaces/jesse-test/rollouts/bluegreen-demo").await;
    assert_eq!(status, 200);
    assert_eq!(detail["summary"]["status"], "Paused", "{detail}");
    assert_eq!(detail["summary"]["message"], "BlueGreenPause");
    let revisions: Vec<i64> = detail["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["revision"].as_i64().unwrap())
        .collect();
    assert_eq!(revisions, [11, 10, 8]);

    let (status, err, content_type) =
        call(&st, "/api/v1/namespaces/jesse-test/rollouts/nope").await;
    assert_eq!(status, 404);
    assert_eq!(err["error"]["code"], "rolloutNotFound");
    assert!(content_type.starts_with("application/json"));

    let (status, err, content_type) = call(&st, "/api/v2/typo").await;
    assert_eq!(status, 404);
    assert_eq!(err["error"]["code"], "notFound");
    assert_eq!(
        err["error"]["message"],
        "no such API endpoint: /api/v2/typo"
    );
    assert!(content_type.starts_with("application/json"));
}

#[tokio::test]
async fn health_probes_and_status() {
    let store = store_from(&fixtures().join("argo-rollouts-info/canary"));
    let st = state(store, true, "");
    assert_eq!(call(&st, "/healthz").await.0, 200);
    assert_eq!(call(&st, "/readyz").await.0, 200);
    let (_, status, _) = call(&st, "/api/v1/status").await;
    assert_eq!(status["ready"], true);
    assert_eq!(status["readOnly"], true);
    assert_eq!(status["source"], "files");
    assert_eq!(status["objects"]["Rollout"], 6);
    let (_, ns, _) = call(&st, "/api/v1/namespaces").await;
    assert_eq!(ns["namespaces"], serde_json::json!(["jesse-test"]));
}

#[tokio::test]
async fn readyz_reports_why_it_is_not_ready() {
    use rollouts_dashboard::health::{Health, Problem, SourceKind};
    use rollouts_dashboard::store::Store;
    let mut health = Health::starting(SourceKind::Cluster, vec![]);
    health.problem = Some(Problem {
        code: "crdMissing".into(),
        message: "the Argo Rollouts CRDs are not installed".into(),
    });
    let st = state(Store::new(health), false, "");
    let reply = get("/readyz").send(&st).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (503, "crdMissing: the Argo Rollouts CRDs are not installed")
    );
}

#[tokio::test]
async fn everything_moves_under_a_base_path() {
    let store = store_from(&fixtures().join("argo-rollouts-info/canary"));
    let st = state(store, true, "/rollouts");
    assert_eq!(call(&st, "/rollouts/api/v1/rollouts").await.0, 200);
    assert_eq!(call(&st, "/api/v1/rollouts").await.0, 404);
    let root = get("/").send(&st).await;
    assert_eq!(
        (root.status, root.header("location")),
        (303, Some("/rollouts/"))
    );
    // The base itself, with and without the slash and a query, is the list page.
    for path in ["/rollouts", "/rollouts/", "/rollouts/?q=checkout"] {
        assert_eq!(get(path).send(&st).await.status, 200, "{path}");
    }
    // Deep links get the shell, with the base href set.
    let shell = get("/rollouts/rollout/jesse-test/canary-demo")
        .send(&st)
        .await;
    assert_eq!(shell.status, 200, "{}", shell.body);
    assert!(
        shell.body.contains("<base href=\"/rollouts/\">"),
        "{}",
        shell.body
    );
    assert_eq!(shell.header("cache-control"), Some("no-store"));
    assert!(
        shell
            .header("content-security-policy")
            .is_some_and(|csp| csp.contains("script-src 'self' 'nonce-")),
        "{:?}",
        shell.headers
    );
    // The detail's URL names the cluster (protocol 5); the old one is still a client route.
    for deep in [
        "/rollouts/rollout/files/jesse-test/canary-demo",
        "/rollouts/rollout/arn%3Aaws%3Aeks%3Aeu-west-1%3A1%3Acluster%2Fb/jesse-test/canary-demo",
    ] {
        let shell = get(deep).send(&st).await;
        assert_eq!(shell.status, 200, "{deep}");
        assert!(shell.body.contains("<base href=\"/rollouts/\">"), "{deep}");
    }
    // Files that do not exist are 404s, and traversal never escapes the bundle.
    assert_eq!(call(&st, "/rollouts/missing.js").await.0, 404);
    assert_eq!(
        call(&st, "/rollouts/assets/..%2f..%2fCargo.toml").await.0,
        404
    );
}

#[tokio::test]
async fn dns_rebinding_hosts_and_cross_origin_writes_are_refused() {
    let store = store_from(&fixtures().join("argo-rollouts-info/canary"));
    let st = state(store, false, "");
    let rebound = get("/api/v1/rollouts")
        .header("host", "evil.example:3100")
        .send(&st)
        .await;
    assert_eq!(rebound.status, 421, "{}", rebound.body);
    assert!(rebound.body.contains("hostNotAllowed"), "{}", rebound.body);
    // A write from another origin, and a write without the anti-CSRF header.
    let path = "/api/v1/namespaces/jesse-test/rollouts/canary-demo/promote";
    let cross_site = post(path)
        .json(&serde_json::json!({}))
        .write_headers()
        .header("origin", "http://evil.example");
    let no_csrf_header = post(path).json(&serde_json::json!({}));
    for (what, req) in [
        ("cross-site", cross_site),
        ("no CSRF header", no_csrf_header),
    ] {
        let reply = req.send(&st).await;
        assert_eq!(reply.status, 403, "{what}: {}", reply.body);
    }
}

#[tokio::test]
async fn read_only_refuses_every_action() {
    let store = store_from(&fixtures().join("argo-rollouts-info/canary"));
    let st = state(store, true, "");
    for action in [
        "promote",
        "promote-full",
        "abort",
        "retry",
        "restart",
        "pause",
        "resume",
        "set-image",
        "undo",
    ] {
        let reply = post(&format!(
            "/api/v1/namespaces/jesse-test/rollouts/canary-demo/{action}"
        ))
        .json(&serde_json::json!({}))
        .write_headers()
        .send(&st)
        .await;
        assert_eq!(reply.status, 403, "{action}: {}", reply.body);
        assert_eq!(reply.json()["error"]["code"], "readOnly", "{action}");
    }
}

#[tokio::test]
async fn metrics_are_exposed() {
    let store = store_from(&fixtures().join("argo-rollouts-info/canary"));
    let st = state(store, true, "");
    // One real WebSocket client, counted by the gauge.
    let addr = serve(st.clone()).await;
    let _ws = connect(addr, "").await;
    let text = get("/metrics").send(&st).await.body;
    assert!(text.contains("rollouts_dashboard_clients 1"), "{text}");
    assert!(
        text.contains("rollouts_dashboard_cluster_state{cluster=\"files\",state=\"synced\"} 1"),
        "{text}"
    );
    assert!(
        text.contains(
            "rollouts_dashboard_cluster_state{cluster=\"files\",state=\"unreachable\"} 0"
        ),
        "{text}"
    );
    assert!(
        text.contains("rollouts_dashboard_cluster_rollouts{cluster=\"files\",state=\"synced\"} 6"),
        "{text}"
    );
    assert!(
        text.contains("rollouts_dashboard_objects{kind=\"Rollout\"} 6"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE rollouts_dashboard_bytes_sent counter"),
        "{text}"
    );
    assert!(
        text.contains("rollouts_dashboard_bytes_sent_total "),
        "{text}"
    );
    assert!(
        text.ends_with("# EOF\n"),
        "OpenMetrics ends with # EOF: {text}"
    );
}

/// Two clusters holding the same fixtures: every namespace/name twice.
fn two_clusters() -> rollouts_dashboard::store::Store {
    use rollouts_dashboard::health::{Health, SourceKind};
    let store = rollouts_dashboard::store::Store::new(Health::loaded(SourceKind::Cluster));
    for cluster in ["prod-eu", "staging"] {
        let part = store.cluster(cluster);
        let dir = fixtures().join("argo-rollouts-info/canary");
        for object in rollouts_dashboard::source::files::load(&dir).expect("fixtures load") {
            part.apply(object);
        }
    }
    store.flush();
    store
}

/// Marks `cluster` unreachable, as its watches would.
fn unreachable(store: &rollouts_dashboard::store::Store, cluster: &str) {
    use rollouts_dashboard::health::{Problem, ProblemCode};
    use rollouts_dashboard::model::Kind;
    store.cluster(cluster).update_health(|h| {
        h.kinds
            .get_mut(&Kind::Rollout)
            .unwrap()
            .fail(Problem::new(ProblemCode::Unreachable, "connection refused"));
        h.refresh_problem();
    });
}

fn clusters_of(body: &Value) -> Vec<&str> {
    body["rollouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["cluster"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_list_holds_every_cluster_and_filters_by_cluster() {
    let st = state(two_clusters(), true, "");
    let (status, all, _) = call(&st, "/api/v1/rollouts").await;
    assert_eq!(status, 200);
    let rows = all["rollouts"].as_array().unwrap();
    assert_eq!(rows.len(), 12, "the same six rollouts in two clusters");
    let twice = rows.iter().filter(|r| r["name"] == "canary-demo").count();
    assert_eq!(twice, 2);
    let mut clusters = clusters_of(&all);
    clusters.dedup();
    assert_eq!(
        clusters,
        ["prod-eu", "staging"],
        "by cluster, then namespace and name"
    );
    let (_, staging, _) = call(&st, "/api/v1/rollouts?cluster=staging").await;
    assert_eq!(clusters_of(&staging), ["staging"; 6]);
    let (_, both, _) = call(&st, "/api/v1/rollouts?cluster=staging&cluster=prod-eu").await;
    assert_eq!(clusters_of(&both).len(), 12);
    let (_, both, _) = call(&st, "/api/v1/rollouts?cluster=staging,prod-eu").await;
    assert_eq!(clusters_of(&both).len(), 12);
    let (_, mixed, _) = call(
        &st,
        "/api/v1/rollouts?cluster=staging&namespace=jesse-test&namespace=x",
    )
    .await;
    assert_eq!(clusters_of(&mixed), ["staging"; 6]);
    let (_, none, _) = call(&st, "/api/v1/rollouts?cluster=nowhere").await;
    assert!(clusters_of(&none).is_empty());
    let (status, err, _) = call(&st, "/api/v1/rollouts?clusters=staging").await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["code"], "badRequest");
}

#[tokio::test]
async fn paths_name_the_cluster_and_the_old_ones_need_a_single_cluster() {
    let st = state(two_clusters(), false, "");
    let path = "/api/v1/clusters/staging/namespaces/jesse-test/rollouts/canary-demo";
    let (status, detail, _) = call(&st, path).await;
    assert_eq!(status, 200);
    assert_eq!(detail["summary"]["cluster"], "staging");
    assert_eq!(detail["summary"]["name"], "canary-demo");
    let (status, _, _) = call(&st, &format!("{path}/permissions")).await;
    assert_eq!(status, 200);
    let (status, err, _) = call(
        &st,
        "/api/v1/clusters/staging/namespaces/jesse-test/rollouts/nope",
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(err["error"]["code"], "rolloutNotFound");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("staging")
    );
    let (status, err, _) = call(
        &st,
        "/api/v1/clusters/nowhere/namespaces/jesse-test/rollouts/canary-demo",
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(err["error"]["code"], "clusterNotFound");
    // Without a cluster, with two configured: 400 naming them.
    for old in [
        "/api/v1/namespaces/jesse-test/rollouts/canary-demo",
        "/api/v1/namespaces/jesse-test/rollouts/canary-demo/permissions",
    ] {
        let (status, err, _) = call(&st, old).await;
        assert_eq!(status, 400, "{old}");
        assert_eq!(err["error"]["code"], "clusterRequired");
        assert_eq!(
            err["error"]["details"]["clusters"],
            serde_json::json!(["prod-eu", "staging"])
        );
    }
    let reply = post("/api/v1/namespaces/jesse-test/rollouts/canary-demo/promote")
        .json(&serde_json::json!({}))
        .write_headers()
        .send(&st)
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.json()["error"]["code"], "clusterRequired");
}

#[tokio::test]
async fn one_cluster_down_keeps_the_others_and_refuses_its_actions() {
    let store = two_clusters();
    let st = state(store.clone(), false, "");
    unreachable(&store, "staging");
    // Its rollouts stay, as last known.
    let (_, all, _) = call(&st, "/api/v1/rollouts").await;
    assert_eq!(clusters_of(&all).len(), 12);
    let (_, status, _) = call(&st, "/api/v1/status").await;
    assert_eq!(status["health"]["problem"], Value::Null, "{status}");
    assert_eq!(status["ready"], true);
    let clusters = status["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 2);
    assert_eq!(clusters[0]["name"], "prod-eu");
    assert_eq!(clusters[0]["state"], "synced");
    assert_eq!(clusters[0]["problem"], Value::Null);
    assert_eq!(clusters[1]["name"], "staging");
    assert_eq!(clusters[1]["state"], "unreachable");
    assert_eq!(clusters[1]["problem"]["code"], "unreachable");
    assert_eq!(clusters[1]["rollouts"], 6);
    assert!(clusters[1]["since"].is_string());
    assert!(
        clusters[1]["lastSyncedAt"].is_string(),
        "it had synced: stale"
    );
    let ready = get("/readyz").send(&st).await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(
        ready.body,
        "ready\ncluster prod-eu: synced\ncluster staging: unreachable: connection refused"
    );
    let action = |cluster: &str| {
        post(&format!(
            "/api/v1/clusters/{cluster}/namespaces/jesse-test/rollouts/canary-demo/promote"
        ))
        .json(&serde_json::json!({}))
        .write_headers()
    };
    let reply = action("staging").send(&st).await;
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.json()["error"]["code"], "clusterUnavailable");
    assert_eq!(reply.json()["error"]["details"]["state"], "unreachable");
    // The other cluster's actions are not refused for it (this state has no backend: the
    // answer is "cannot be changed", not "unavailable").
    let reply = action("prod-eu").send(&st).await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    // Every cluster down: then the page says so, and the replica is not ready.
    unreachable(&store, "prod-eu");
    let (_, status, _) = call(&st, "/api/v1/status").await;
    assert_eq!(
        status["health"]["problem"]["code"], "unreachable",
        "{status}"
    );
    assert_eq!(status["ready"], false);
    assert_eq!(get("/readyz").send(&st).await.status, 503);
}

/// The start with several contexts, none of which answers: both are configured and named
/// (one renamed), neither stops the start, and both show unreachable; a bad entry does stop
/// it, naming the cluster.
#[tokio::test]
async fn unreachable_clusters_start_and_show_unreachable_but_bad_entries_stop_the_start() {
    use clap::Parser;
    let dir = std::env::temp_dir().join(format!("rd-api-fleet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config");
    // Port 9 (discard) on loopback: nothing listens, connections are refused at once.
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\ncurrent-context: a\n\
         clusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:9'}\n\
         users:\n- name: u\n  user: {token: t}\n\
         contexts:\n- name: a\n  context: {cluster: c, user: u}\n\
         - name: arn:aws:eks:eu-west-1:1:cluster/b\n  context: {cluster: c, user: u}\n\
         - name: broken\n  context: {cluster: missing, user: u}\n",
    )
    .unwrap();
    let config = |contexts: &[&str]| {
        let mut args = vec!["rollouts-dashboard", "--kubeconfig", path.to_str().unwrap()];
        for c in contexts {
            args.extend(["--context", c]);
        }
        rollouts_dashboard::config::Config::try_parse_from(args)
            .unwrap()
            .validate()
            .unwrap()
    };
    let st =
        rollouts_dashboard::start(&config(&["a", "prod-eu=arn:aws:eks:eu-west-1:1:cluster/b"]))
            .await
            .expect("unreachable clusters do not stop the start");
    assert_eq!(
        st.store.cluster_names(),
        ["a".into(), "prod-eu".into()] as [rollouts_dashboard::store::ClusterName; 2]
    );
    // Each watch reports its cluster unreachable (refused at once; no timed wait on a value).
    let mut feed = st.store.subscribe();
    while !st
        .store
        .cluster_statuses()
        .iter()
        .all(|c| c.state == rollouts_dashboard::health::ClusterState::Unreachable)
    {
        let _ = feed.recv().await;
    }
    let (_, status, _) = call(&st, "/api/v1/status").await;
    assert_eq!(
        status["health"]["problem"]["code"], "unreachable",
        "{status}"
    );
    let reply = get("/readyz").send(&st).await;
    assert_eq!(reply.status, 503);
    assert!(
        reply.body.contains("cluster prod-eu: unreachable"),
        "{}",
        reply.body
    );
    let err = rollouts_dashboard::start(&config(&["a", "broken"]))
        .await
        .err()
        .expect("a context naming a missing cluster stops the start")
        .to_string();
    assert!(err.starts_with("cluster broken:"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A cluster named after an EKS context (`arn:…:cluster/name`) is one percent-encoded path
/// segment.
#[tokio::test]
async fn a_cluster_name_with_a_slash_is_one_path_segment() {
    use rollouts_dashboard::health::{Health, SourceKind};
    let store = rollouts_dashboard::store::Store::new(Health::loaded(SourceKind::Cluster));
    let arn = "arn:aws:eks:eu-west-1:1:cluster/b";
    let part = store.cluster(arn);
    let dir = fixtures().join("argo-rollouts-info/canary");
    for object in rollouts_dashboard::source::files::load(&dir).unwrap() {
        part.apply(object);
    }
    store.cluster("other");
    store.flush();
    let st = state(store, true, "");
    let encoded = "arn%3Aaws%3Aeks%3Aeu-west-1%3A1%3Acluster%2Fb";
    let (status, detail, _) = call(
        &st,
        &format!("/api/v1/clusters/{encoded}/namespaces/jesse-test/rollouts/canary-demo"),
    )
    .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["summary"]["cluster"], arn);
    let (_, list, _) = call(&st, &format!("/api/v1/rollouts?cluster={encoded}")).await;
    assert_eq!(clusters_of(&list), [arn; 6]);
}
