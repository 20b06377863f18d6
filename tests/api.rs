//! The HTTP API over the upstream fixtures, as a new user would query it.

mod common;

use common::*;
use serde_json::Value;

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, Value, String) {
    let url = format!("http://{addr}{path}");
    let out = tokio::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "-",
            "-w",
            "\n%{http_code}\n%{content_type}",
            &url,
        ])
        .output()
        .await
        .expect("curl runs");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines: Vec<&str> = text.rsplitn(3, '\n').collect();
    lines.reverse();
    let (body, status, content_type) = (lines[0], lines[1], lines[2]);
    let json = serde_json::from_str(body).unwrap_or(Value::Null);
    (status.parse().unwrap(), json, content_type.to_owned())
}

#[tokio::test]
async fn lists_the_six_canary_rollouts_with_upstream_values() {
    let store = store_from(&fixtures().join("argo-rollouts-info/canary"));
    let addr = serve(state(store, true, "")).await;
    let (status, body, _) = get(addr, "/api/v1/rollouts").await;
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

    let (_, filtered, _) = get(addr, "/api/v1/rollouts?namespace=other").await;
    assert_eq!(filtered["rollouts"].as_array().unwrap().len(), 0);
    let (status, err, _) = get(addr, "/api/v1/rollouts?namespace=Bad_NS").await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["code"], "badRequest");
}

#[tokio::test]
async fn detail_unknown_rollout_and_unknown_paths() {
    let store = store_from(&fixtures().join("argo-rollouts-info/blue-green"));
    let addr = serve(state(store, true, "")).await;
    let (status, detail, _) = get(
        addr,
        "/api/v1/namespaces/jesse-test/rollouts/bluegreen-demo",
    )
    .await;
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
        get(addr, "/api/v1/namespaces/jesse-test/rollouts/nope").await;
    assert_eq!(status, 404);
    assert_eq!(err["error"]["code"], "rolloutNotFound");
    assert!(content_type.starts_with("application/json"));

    let (status, err, content_type) = get(addr, "/api/v2/typo").await;
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
    let addr = serve(state(store, true, "")).await;
    assert_eq!(get(addr, "/healthz").await.0, 200);
    assert_eq!(get(addr, "/readyz").await.0, 200);
    let (_, status, _) = get(addr, "/api/v1/status").await;
    assert_eq!(status["ready"], true);
    assert_eq!(status["readOnly"], true);
    assert_eq!(status["source"], "files");
    assert_eq!(status["objects"]["Rollout"], 6);
    let (_, ns, _) = get(addr, "/api/v1/namespaces").await;
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
    let addr = serve(state(Store::new(health), false, "")).await;
    let out = tokio::process::Command::new("curl")
        .args([
            "-s",
            "-w",
            " %{http_code}",
            &format!("http://{addr}/readyz"),
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "crdMissing: the Argo Rollouts CRDs are not installed 503"
    );
}

#[tokio::test]
async fn everything_moves_under_a_base_path() {
    let store = store_from(&fixtures().join("argo-rollouts-info/canary"));
    let addr = serve(state(store, true, "/rollouts")).await;
    assert_eq!(get(addr, "/rollouts/api/v1/rollouts").await.0, 200);
    assert_eq!(get(addr, "/api/v1/rollouts").await.0, 404);
    let out = tokio::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
            &format!("http://{addr}/"),
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("303 http://{addr}/rollouts/")
    );
    // The base itself, with and without the slash and a query, is the list page.
    for path in ["/rollouts", "/rollouts/", "/rollouts/?q=checkout"] {
        let out = tokio::process::Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                &format!("http://{addr}{path}"),
            ])
            .output()
            .await
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "200", "{path}");
    }
    // Deep links get the shell, with the base href set.
    let out = tokio::process::Command::new("curl")
        .args([
            "-s",
            "-i",
            &format!("http://{addr}/rollouts/rollout/jesse-test/canary-demo"),
        ])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("<base href=\"/rollouts/\">"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("cache-control: no-store")
    );
    assert!(text.contains("script-src 'self' 'nonce-"));
    // Files that do not exist are 404s, and traversal never escapes the bundle.
    assert_eq!(get(addr, "/rollouts/missing.js").await.0, 404);
    assert_eq!(
        get(addr, "/rollouts/assets/..%2f..%2fCargo.toml").await.0,
        404
    );
}

#[tokio::test]
async fn dns_rebinding_hosts_and_cross_origin_writes_are_refused() {
    let store = store_from(&fixtures().join("argo-rollouts-info/canary"));
    let addr = serve(state(store, false, "")).await;
    let out = tokio::process::Command::new("curl")
        .args(["-s", "-H", "Host: evil.example:3100", "-w", " %{http_code}"])
        .arg(format!("http://{addr}/api/v1/rollouts"))
        .output()
        .await
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.ends_with(" 421"), "{text}");
    assert!(text.contains("hostNotAllowed"), "{text}");
    // A write from another origin, and a write without the anti-CSRF header.
    let url = format!("http://{addr}/api/v1/namespaces/jesse-test/rollouts/canary-demo/promote");
    for extra in [
        vec![
            "-H",
            "x-rollouts-dashboard: 1",
            "-H",
            "Origin: http://evil.example",
        ],
        vec![],
    ] {
        let out = tokio::process::Command::new("curl")
            .args([
                "-s",
                "-X",
                "POST",
                "-H",
                "content-type: application/json",
                "-d",
                "{}",
            ])
            .args(&extra)
            .args(["-w", " %{http_code}", &url])
            .output()
            .await
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.ends_with(" 403"), "{extra:?}: {text}");
    }
}

#[tokio::test]
async fn read_only_refuses_every_action() {
    let store = store_from(&fixtures().join("argo-rollouts-info/canary"));
    let addr = serve(state(store, true, "")).await;
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
        let out = tokio::process::Command::new("curl")
            .args([
                "-s",
                "-X",
                "POST",
                "-H",
                "content-type: application/json",
                "-H",
                "x-rollouts-dashboard: 1",
                "-d",
                "{}",
                "-w",
                " %{http_code}",
            ])
            .arg(format!(
                "http://{addr}/api/v1/namespaces/jesse-test/rollouts/canary-demo/{action}"
            ))
            .output()
            .await
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.ends_with(" 403") && text.contains("readOnly"),
            "{action}: {text}"
        );
    }
}

#[tokio::test]
async fn metrics_are_exposed() {
    let store = store_from(&fixtures().join("argo-rollouts-info/canary"));
    let addr = serve(state(store, true, "")).await;
    let _ws = connect(addr, "").await;
    let out = tokio::process::Command::new("curl")
        .args(["-s", &format!("http://{addr}/metrics")])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("rollouts_dashboard_clients 1"), "{text}");
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
