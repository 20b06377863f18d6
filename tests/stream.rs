//! The WebSocket stream: snapshot, then deltas only for what changed; resync on lag; errors
//! for bad subscriptions without closing the connection.

mod common;

use std::time::Duration;

use common::*;
use rollouts_dashboard::model::Object;
use serde_json::{Value, json};

fn fixture_object(path: &str) -> Value {
    let path = fixtures().join("argo-rollouts-info").join(path);
    let docs = rollouts_dashboard::source::files::parse_documents(
        &path,
        &std::fs::read_to_string(&path).unwrap(),
    )
    .unwrap();
    docs.into_iter().next().unwrap()
}

#[tokio::test]
async fn a_change_reaches_list_subscribers_as_one_delta_for_that_rollout() {
    let store = store_from(&fixtures().join("argo-rollouts-info"));
    tokio::spawn(store.clone().run_recompute());
    let addr = serve(state(store.clone(), true, "")).await;
    let mut ws = connect(addr, "").await;
    send(&mut ws, json!({"type": "subscribeList"})).await;
    let snapshot = next_json(&mut ws).await;
    assert_eq!(snapshot["type"], "snapshot");
    let count = snapshot["rollouts"].as_array().unwrap().len();
    assert!(count >= 8, "all scenarios: {count}");
    let seq = snapshot["seq"].as_u64().unwrap();

    // Nothing changed: nothing is sent.
    assert_eq!(maybe_json(&mut ws, Duration::from_millis(300)).await, None);

    let mut ro = fixture_object("blue-green/bluegreen-rollout.yaml");
    ro["spec"]["paused"] = json!(true);
    store.apply(Object::from_json(ro).unwrap().unwrap());
    let delta = next_json(&mut ws).await;
    assert_eq!(delta["type"], "upsert", "{delta}");
    assert_eq!(delta["rollout"]["name"], "bluegreen-demo");
    assert_eq!(delta["rollout"]["status"], "Paused");
    assert!(delta["seq"].as_u64().unwrap() > seq);
    // Exactly one frame for that change.
    assert_eq!(maybe_json(&mut ws, Duration::from_millis(300)).await, None);

    // A namespace filter excludes other namespaces' changes.
    send(
        &mut ws,
        json!({"type": "subscribeList", "namespaces": ["default"]}),
    )
    .await;
    let snapshot = next_json(&mut ws).await;
    assert!(
        snapshot["rollouts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["namespace"] == "default")
    );
    let mut ro = fixture_object("blue-green/bluegreen-rollout.yaml");
    ro["spec"]["paused"] = json!(false);
    store.apply(Object::from_json(ro).unwrap().unwrap());
    assert_eq!(maybe_json(&mut ws, Duration::from_millis(300)).await, None);
}

#[tokio::test]
async fn detail_subscribers_see_pod_only_changes_and_deletes() {
    let store = store_from(&fixtures().join("argo-rollouts-info/blue-green"));
    tokio::spawn(store.clone().run_recompute());
    let addr = serve(state(store.clone(), true, "")).await;
    let mut ws = connect(addr, "").await;
    send(
        &mut ws,
        json!({"type": "subscribeRollout", "namespace": "jesse-test", "name": "bluegreen-demo"}),
    )
    .await;
    let detail = next_json(&mut ws).await;
    assert_eq!(detail["type"], "detail");
    assert_eq!(detail["rollout"]["summary"]["name"], "bluegreen-demo");

    // A pod turns unready: upstream's detail page would hide this (same rollout RV).
    let mut pod = fixture_object("blue-green/active-pod1.yaml");
    pod["status"]["containerStatuses"][0]["ready"] = json!(false);
    store.apply(Object::from_json(pod).unwrap().unwrap());
    let update = next_json(&mut ws).await;
    assert_eq!(update["type"], "detail", "{update}");

    store.delete(
        rollouts_dashboard::model::Kind::Rollout,
        "jesse-test",
        "bluegreen-demo",
    );
    let gone = next_json(&mut ws).await;
    assert_eq!(gone["type"], "delete");
    assert_eq!(gone["name"], "bluegreen-demo");

    // Unknown rollouts answer notFound and the connection stays usable.
    send(
        &mut ws,
        json!({"type": "subscribeRollout", "namespace": "x", "name": "y"}),
    )
    .await;
    assert_eq!(next_json(&mut ws).await["type"], "notFound");
}

#[tokio::test]
async fn bad_messages_get_error_frames_and_the_connection_stays_usable() {
    let store = store_from(&fixtures().join("argo-rollouts-info/canary"));
    let addr = serve(state(store, true, "")).await;
    let mut ws = connect(addr, "").await;
    for bad in [
        "not json".to_owned(),
        json!({"type": "promote"}).to_string(),
        json!({"type": "subscribeList", "namespaces": ["<script>"]}).to_string(),
    ] {
        ws_send_text(&mut ws, bad).await;
        let err = next_json(&mut ws).await;
        assert_eq!(err["type"], "error", "{err}");
        assert!(!err["message"].as_str().unwrap().is_empty());
    }
    send(&mut ws, json!({"type": "subscribeList"})).await;
    let snapshot = next_json(&mut ws).await;
    assert_eq!(snapshot["rollouts"].as_array().unwrap().len(), 6);
}

async fn ws_send_text(ws: &mut Socket, text: String) {
    use futures::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::Text(text.into()))
        .await
        .unwrap();
}

/// Single-threaded runtime: the test produces a burst larger than the change feed while the
/// connection task cannot run, so the connection lags and must resync with a snapshot.
#[tokio::test(flavor = "current_thread")]
async fn a_lagging_client_gets_a_fresh_snapshot() {
    use rollouts_dashboard::health::{Health, SourceKind};
    let capacity = 16;
    let store = rollouts_dashboard::store::Store::with_feed_capacity(
        Health::loaded(SourceKind::Files),
        capacity,
    );
    for object in
        rollouts_dashboard::source::files::load(&fixtures().join("argo-rollouts-info/blue-green"))
            .unwrap()
    {
        store.apply(object);
    }
    store.flush();
    let addr = serve(state(store.clone(), true, "")).await;
    let mut ws = connect(addr, "").await;
    send(&mut ws, json!({"type": "subscribeList"})).await;
    assert_eq!(next_json(&mut ws).await["type"], "snapshot");
    let base = fixture_object("blue-green/bluegreen-rollout.yaml");
    for i in 0..capacity + 10 {
        let mut ro = base.clone();
        ro["metadata"]["labels"]["burst"] = json!(i.to_string());
        store.apply(Object::from_json(ro).unwrap().unwrap());
        store.flush();
    }
    let resync = next_json(&mut ws).await;
    assert_eq!(resync["type"], "snapshot", "{}", resync["type"]);
    let label = &resync["rollouts"][0]["labels"]["burst"];
    assert_eq!(label, &json!((capacity + 9).to_string()));
}

#[tokio::test]
async fn cross_origin_websockets_are_refused() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let store = store_from(&fixtures().join("argo-rollouts-info/canary"));
    let addr = serve(state(store, true, "")).await;
    let mut request = format!("ws://{addr}/api/v1/stream")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    let err = tokio_tungstenite::connect_async(request).await.unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    // The same origin is fine.
    let mut request = format!("ws://{addr}/api/v1/stream")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("origin", format!("http://{addr}").parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_ok());
}
