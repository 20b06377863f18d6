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
    let snapshot = next_snapshot(&mut ws).await;
    let count = snapshot["rollouts"].as_array().unwrap().len();
    assert!(count >= 8, "all scenarios: {count}");
    let seq = snapshot["seq"].as_u64().unwrap();

    // Nothing changed: nothing is sent.
    assert_eq!(maybe_json(&mut ws, Duration::from_millis(300)).await, None);

    let mut ro = fixture_object("blue-green/bluegreen-rollout.yaml");
    ro["spec"]["paused"] = json!(true);
    store
        .cluster("files")
        .apply(Object::from_json(ro).unwrap().unwrap());
    let delta = next_json(&mut ws).await;
    // A small change travels as a patch of the summary the client already has.
    assert_eq!(delta["type"], "patch", "{delta}");
    assert_eq!(delta["name"], "bluegreen-demo");
    assert!(delta["seq"].as_u64().unwrap() > seq);
    assert!(
        delta["base"].as_u64().unwrap() <= seq,
        "the snapshot's version"
    );
    let mut summary = snapshot["rollouts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "bluegreen-demo")
        .unwrap()
        .clone();
    let full_size = summary.to_string().len();
    let patch: json_patch::Patch = serde_json::from_value(delta["patch"].clone()).unwrap();
    json_patch::patch(&mut summary, &patch).unwrap();
    assert_eq!(summary["status"], "Paused");
    let current = store
        .summaries(&rollouts_dashboard::store::ListFilter::ALL)
        .1;
    let current = current.iter().find(|r| r.name == "bluegreen-demo").unwrap();
    assert_eq!(summary, serde_json::to_value(current).unwrap());
    assert!(
        delta.to_string().len() * 2 < full_size,
        "{} bytes vs a {full_size}-byte summary",
        delta.to_string().len()
    );
    // Exactly one frame for that change.
    assert_eq!(maybe_json(&mut ws, Duration::from_millis(300)).await, None);

    // A namespace filter excludes other namespaces' changes.
    send(
        &mut ws,
        json!({"type": "subscribeList", "namespaces": ["default"]}),
    )
    .await;
    let snapshot = next_snapshot(&mut ws).await;
    assert!(
        snapshot["rollouts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["namespace"] == "default")
    );
    let mut ro = fixture_object("blue-green/bluegreen-rollout.yaml");
    ro["spec"]["paused"] = json!(false);
    store
        .cluster("files")
        .apply(Object::from_json(ro).unwrap().unwrap());
    assert_eq!(maybe_json(&mut ws, Duration::from_millis(300)).await, None);
}

#[tokio::test]
async fn detail_subscribers_get_pod_only_changes_as_patches_and_deletes() {
    let store = store_from(&fixtures().join("argo-rollouts-info/blue-green"));
    tokio::spawn(store.clone().run_recompute());
    let addr = serve(state(store.clone(), true, "")).await;
    let mut ws = connect(addr, "").await;
    send(
        &mut ws,
        json!({"type": "subscribeRollout", "cluster": "files", "namespace": "jesse-test", "name": "bluegreen-demo"}),
    )
    .await;
    let detail = next_json(&mut ws).await;
    assert_eq!(detail["type"], "detail");
    assert_eq!(detail["rollout"]["summary"]["name"], "bluegreen-demo");

    // A pod turns unready: upstream's detail page would hide this (same rollout RV).
    let mut pod = fixture_object("blue-green/active-pod1.yaml");
    pod["status"]["containerStatuses"][0]["ready"] = json!(false);
    store
        .cluster("files")
        .apply(Object::from_json(pod).unwrap().unwrap());
    let update = next_json(&mut ws).await;
    // The change travels as a patch of the detail this connection sent (protocol 3).
    assert_eq!(update["type"], "detailPatch", "{update}");
    assert_eq!(update["base"], detail["seq"]);
    assert!(update["seq"].as_u64() > detail["seq"].as_u64());
    assert_eq!(
        (&update["namespace"], &update["name"]),
        (&json!("jesse-test"), &json!("bluegreen-demo"))
    );
    let mut copy = detail["rollout"].clone();
    let patch: json_patch::Patch = serde_json::from_value(update["patch"].clone()).unwrap();
    json_patch::patch(&mut copy, &patch).unwrap();
    let key = rollouts_dashboard::store::RolloutKey::new("files", "jesse-test", "bluegreen-demo");
    let current = serde_json::to_value(store.detail(&key).1.unwrap()).unwrap();
    assert_eq!(copy, current, "the patched copy is the server's detail");
    assert!(
        update.to_string().len() * 4 < detail.to_string().len(),
        "{} bytes vs a {}-byte detail",
        update.to_string().len(),
        detail.to_string().len()
    );

    // Subscribing again always starts from a whole detail (a client whose copy did not fit
    // asks again), and the next change patches that one.
    send(
        &mut ws,
        json!({"type": "subscribeRollout", "cluster": "files", "namespace": "jesse-test", "name": "bluegreen-demo"}),
    )
    .await;
    let fresh = next_json(&mut ws).await;
    assert_eq!(fresh["type"], "detail");
    assert_eq!(fresh["rollout"], current);
    let mut pod = fixture_object("blue-green/active-pod1.yaml");
    pod["status"]["containerStatuses"][0]["ready"] = json!(true);
    store
        .cluster("files")
        .apply(Object::from_json(pod).unwrap().unwrap());
    let update = next_json(&mut ws).await;
    assert_eq!(update["type"], "detailPatch", "{update}");
    assert_eq!(update["base"], fresh["seq"]);

    store.cluster("files").delete(
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
        json!({"type": "subscribeRollout", "cluster": "files", "namespace": "x", "name": "y"}),
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
    let snapshot = next_snapshot(&mut ws).await;
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
        store.cluster("files").apply(object);
    }
    store.flush();
    let addr = serve(state(store.clone(), true, "")).await;
    let mut ws = connect(addr, "").await;
    send(&mut ws, json!({"type": "subscribeList"})).await;
    next_snapshot(&mut ws).await;
    let base = fixture_object("blue-green/bluegreen-rollout.yaml");
    for i in 0..capacity + 10 {
        let mut ro = base.clone();
        ro["metadata"]["labels"]["burst"] = json!(i.to_string());
        store
            .cluster("files")
            .apply(Object::from_json(ro).unwrap().unwrap());
        store.flush();
    }
    // The resync is a whole paged snapshot (next_snapshot checks its frames).
    let resync = next_snapshot(&mut ws).await;
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

/// A list client that applies every frame as the browser does (web/src/lib/listState.ts),
/// checking each patch's `base` against the version it holds.
#[derive(Default)]
struct ListFollower {
    snapshot_seq: u64,
    rollouts: std::collections::BTreeMap<(String, String), FollowedCopy>,
    patches: usize,
    upserts: usize,
    bytes: usize,
}

impl ListFollower {
    /// Takes the snapshot as [`next_snapshot`] assembles it from its pages.
    fn snapshot(&mut self, frame: &Value) {
        self.snapshot_seq = frame["seq"].as_u64().unwrap();
        self.rollouts = frame["rollouts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    key_of(r),
                    FollowedCopy::from_snapshot(r.clone(), self.snapshot_seq),
                )
            })
            .collect();
    }

    fn apply(&mut self, text: &str) {
        self.bytes += text.len();
        if std::env::var_os("SHOW_FRAMES").is_some() {
            eprintln!("{text}");
        }
        let frame: Value = serde_json::from_str(text).unwrap();
        assert!(frame["seq"].as_u64().unwrap() > self.snapshot_seq);
        match frame["type"].as_str().unwrap() {
            "upsert" => {
                self.upserts += 1;
                let copy = FollowedCopy::from_upsert(&frame);
                self.rollouts.insert(key_of(&copy.summary), copy);
            }
            "patch" => {
                self.patches += 1;
                self.rollouts
                    .get_mut(&key_of(&frame))
                    .expect("a patch of a known rollout")
                    .apply_patch(&frame);
            }
            "delete" => {
                self.rollouts.remove(&key_of(&frame));
            }
            other => panic!("unexpected list frame {other}"),
        }
    }
}

/// A list by (namespace, name).
type List = std::collections::BTreeMap<(String, String), Value>;

impl ListFollower {
    /// The summaries this client ended with.
    fn list(&self) -> List {
        self.rollouts
            .iter()
            .map(|(k, copy)| (k.clone(), copy.summary.clone()))
            .collect()
    }
}

/// The summaries the store holds now.
fn server_list(store: &rollouts_dashboard::store::Store) -> List {
    store
        .summaries(&rollouts_dashboard::store::ListFilter::ALL)
        .1
        .iter()
        .map(|s| {
            let v = serde_json::to_value(s).unwrap();
            (key_of(&v), v)
        })
        .collect()
}

fn key_of(v: &Value) -> (String, String) {
    (
        v["namespace"].as_str().unwrap().to_owned(),
        v["name"].as_str().unwrap().to_owned(),
    )
}

/// Four simulated minutes of the demo (canaries stepping, analyses measuring, pods churning,
/// new images shipped): a client that follows the patches ends with exactly the server's list.
#[test]
fn a_client_following_patches_ends_with_the_servers_list() {
    use rollouts_dashboard::health::{Health, SourceKind};
    use rollouts_dashboard::source::demo_cluster::DemoCluster;
    use rollouts_dashboard::store::{Change, Store};

    let store = Store::new(Health::loaded(SourceKind::Demo));
    let demo = DemoCluster::new(store.cluster("prod-eu"), 5);
    let mut feed = store.subscribe();
    let mut client = ListFollower::default();
    client.snapshot(&assembled(
        &store
            .list_pages(&rollouts_dashboard::store::ListFilter::ALL)
            .unwrap(),
    ));
    let start = demo.with_world(|w| w.now);
    for second in 1..=240 {
        demo.with_world(|w| {
            if second % 60 == 0 {
                w.set_image(
                    "demo-shop",
                    "checkout-api",
                    &format!("ghcr.io/demo/checkout-api:3.{second}"),
                );
            }
            w.advance_to(start + jiff::SignedDuration::from_secs(second), 1)
        });
        store.flush();
        while let Ok(change) = feed.try_recv() {
            if let Change::Rollout {
                list_frame: Some(frame),
                ..
            } = &*change
            {
                client.apply(frame);
            }
        }
    }
    let server = server_list(&store);
    let followed = client.list();
    assert_eq!(followed, server);
    assert!(client.patches > 100, "patches: {}", client.patches);
    let full: usize = server.values().map(|v| v.to_string().len()).sum::<usize>() / server.len();
    let changes = client.patches + client.upserts;
    eprintln!(
        "{changes} changes: {} patches, {} upserts, {} B per change on average (a summary is {full} B)",
        client.patches,
        client.upserts,
        client.bytes / changes
    );
    assert!(client.bytes / changes < full / 2);
}

/// The pages as one `snapshot` value, as [`next_snapshot`] assembles those read from a socket.
fn assembled(pages: &rollouts_dashboard::pages::SnapshotPages) -> Value {
    let rollouts: Vec<Value> = pages
        .pages
        .iter()
        .flat_map(|p| decode_page(p)["rollouts"].as_array().unwrap().clone())
        .collect();
    json!({"type": "snapshot", "seq": pages.seq, "rollouts": rollouts})
}

/// Every object of the upstream fixture scenarios, as JSON, in file order.
fn scenario_documents() -> Vec<Value> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "json") {
                out.push(path);
            }
        }
    }
    let mut files = vec![];
    walk(&fixtures().join("argo-rollouts-info"), &mut files);
    files
        .iter()
        .flat_map(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            rollouts_dashboard::source::files::parse_documents(path, &text).unwrap()
        })
        .collect()
}

/// The scenarios' objects copied into namespace `ns-{copy}` (ownership is by uid within a
/// namespace, so each copy links as the fixtures do, with the same statuses), with `labels`
/// added to the first rollout.
fn fleet_copy(docs: &[Value], copy: usize, labels: &[(&str, &str)]) -> Vec<Object> {
    let mut labelled = false;
    docs.iter()
        .filter_map(|doc| {
            let mut doc = doc.clone();
            doc["metadata"]["namespace"] = json!(format!("ns-{copy}"));
            if doc["kind"] == "Rollout" && !labelled {
                labelled = true;
                for (k, v) in labels {
                    doc["metadata"]["labels"][k] = json!(v);
                }
            }
            Object::from_json(doc).unwrap()
        })
        .collect()
}

/// The first rollout of copy `copy`, with `labels`.
fn fleet_rollout(docs: &[Value], copy: usize, labels: &[(&str, &str)]) -> Object {
    fleet_copy(docs, copy, labels)
        .into_iter()
        .find(|o| o.kind() == rollouts_dashboard::model::Kind::Rollout)
        .unwrap()
}

/// A store of `copies` copies of the fixture scenarios, flushed, and the scenarios' documents.
fn fleet_store(copies: usize) -> (rollouts_dashboard::store::Store, Vec<Value>) {
    use rollouts_dashboard::health::{Health, SourceKind};
    let docs = scenario_documents();
    let store = rollouts_dashboard::store::Store::new(Health::loaded(SourceKind::Files));
    for copy in 0..copies {
        for object in fleet_copy(&docs, copy, &[]) {
            store.cluster("files").apply(object);
        }
    }
    store.flush();
    (store, docs)
}

/// [`fleet_store`] served with its recompute task, and a stream connected to it.
async fn served_fleet(copies: usize) -> (rollouts_dashboard::store::Store, Vec<Value>, Socket) {
    let (store, docs) = fleet_store(copies);
    tokio::spawn(store.clone().run_recompute());
    let addr = serve(state(store.clone(), true, "")).await;
    let ws = connect(addr, "").await;
    (store, docs, ws)
}

/// The list's default order (web/src/lib/listView.ts, sort "attention"): needs attention
/// first, then Degraded, Paused, Progressing, Healthy, then by name and namespace.
fn list_order(r: &Value) -> (bool, u8, String, String) {
    let status = match r["status"].as_str().unwrap() {
        "Degraded" => 0,
        "Paused" => 1,
        "Progressing" => 2,
        "Healthy" => 3,
        _ => 4,
    };
    (
        r["needsAttention"] != true,
        status,
        r["name"].as_str().unwrap().to_owned(),
        r["namespace"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_list_snapshot_comes_in_pages_in_the_lists_order_with_every_rollout_once() {
    let (store, docs, mut ws) = served_fleet(30).await;
    send(&mut ws, json!({"type": "subscribeList"})).await;
    let snapshot = next_snapshot(&mut ws).await;
    assert!(
        snapshot["pages"].as_u64().unwrap() > 1,
        "pages: {}",
        snapshot["pages"]
    );
    let rows = snapshot["rollouts"].as_array().unwrap();

    // Every rollout of the store, each exactly once, as the store has it.
    let server = store
        .summaries(&rollouts_dashboard::store::ListFilter::ALL)
        .1;
    assert_eq!(rows.len(), server.len());
    let keys: std::collections::BTreeSet<_> = rows.iter().map(key_of).collect();
    assert_eq!(keys.len(), rows.len(), "no rollout twice");
    for summary in &server {
        let row = rows
            .iter()
            .find(|r| r["namespace"] == summary.namespace && r["name"] == summary.name)
            .unwrap_or_else(|| panic!("{} missing", summary.name));
        assert_eq!(row, &serde_json::to_value(summary).unwrap());
    }

    // In the list's order: what needs attention comes in the first pages.
    let order: Vec<_> = rows.iter().map(list_order).collect();
    assert!(order.is_sorted(), "pages follow the list's default order");
    let ranks: std::collections::BTreeSet<_> = order.iter().map(|o| (o.0, o.1)).collect();
    assert!(ranks.len() >= 2, "the fleet has several ranks: {ranks:?}");

    // The seq rule: the snapshot is current at the store's seq; changes come after it.
    let seq = snapshot["seq"].as_u64().unwrap();
    assert!(seq >= rows.len() as u64, "seq {seq}");
    store
        .cluster("files")
        .apply(fleet_rollout(&docs, 1, &[("moved", "yes")]));
    let delta = next_json(&mut ws).await;
    assert_eq!(delta["namespace"], "ns-1", "{delta}");
    assert!(delta["seq"].as_u64().unwrap() > seq);

    // A filtered subscription pages only its namespace, in the same order.
    send(
        &mut ws,
        json!({"type": "subscribeList", "namespaces": ["ns-1"]}),
    )
    .await;
    let filtered = next_snapshot(&mut ws).await;
    let rows = filtered["rollouts"].as_array().unwrap();
    assert_eq!(rows.len(), server.len() / 30);
    assert!(rows.iter().all(|r| r["namespace"] == "ns-1"));
    assert!(rows.iter().map(list_order).is_sorted());
}

#[tokio::test]
async fn list_pages_are_built_once_per_filter_and_version_and_shared() {
    let (store, docs) = fleet_store(3);
    let (a, b) = {
        let all = rollouts_dashboard::store::ListFilter::ALL;
        tokio::join!(store.shared_list_pages(&all), store.shared_list_pages(&all))
    };
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(std::sync::Arc::ptr_eq(&a, &b), "one copy for both askers");
    assert!(std::sync::Arc::ptr_eq(
        &a,
        &store
            .shared_list_pages(&rollouts_dashboard::store::ListFilter::ALL)
            .await
            .unwrap()
    ));
    // A new version builds new pages, which carry it.
    for object in fleet_copy(&docs, 3, &[]) {
        store.cluster("files").apply(object);
    }
    store.flush();
    let c = store
        .shared_list_pages(&rollouts_dashboard::store::ListFilter::ALL)
        .await
        .unwrap();
    assert!(!std::sync::Arc::ptr_eq(&a, &c));
    assert!(c.seq > a.seq);
    assert_eq!(c.total, a.total / 3 * 4, "a fourth copy");
    // Pages of one namespace filter are shared too, and are not those of another filter.
    let ns0 = rollouts_dashboard::store::ListFilter::namespaces(vec!["ns-0".to_owned()]);
    let (f, g) = tokio::join!(store.shared_list_pages(&ns0), store.shared_list_pages(&ns0));
    let (f, g) = (f.unwrap(), g.unwrap());
    assert!(std::sync::Arc::ptr_eq(&f, &g));
    assert_eq!(f.total, c.total / 4);
    let ns1 = store
        .shared_list_pages(&rollouts_dashboard::store::ListFilter::namespaces(vec![
            "ns-1".to_owned(),
        ]))
        .await
        .unwrap();
    assert!(!std::sync::Arc::ptr_eq(&f, &ns1));
    assert_eq!(ns1.total, f.total);
}

/// Changes keep coming while the client is sent its snapshot pages: each one is either in the
/// snapshot or follows it (seq newer than the snapshot's), so the client ends with exactly
/// the server's list.
#[tokio::test]
async fn a_change_made_while_the_snapshot_is_paged_is_not_lost() {
    let (store, docs, mut ws) = served_fleet(30).await;
    let first = |copy: usize| {
        let o = fleet_rollout(&docs, copy, &[]);
        (o.meta().namespace.clone(), o.meta().name.clone())
    };
    let watched = [first(0), first(15), first(29)];
    let writer = {
        let docs = docs.clone();
        let store = store.clone();
        tokio::spawn(async move {
            for round in 0..40 {
                for copy in [0, 15, 29] {
                    store.cluster("files").apply(fleet_rollout(
                        &docs,
                        copy,
                        &[("round", &round.to_string())],
                    ));
                }
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        })
    };
    send(&mut ws, json!({"type": "subscribeList"})).await;
    let mut client = ListFollower::default();
    client.snapshot(&next_snapshot(&mut ws).await);
    writer.await.unwrap();
    let last = |client: &ListFollower| {
        watched
            .iter()
            .all(|key| client.rollouts[key].summary["labels"]["round"] == "39")
    };
    while !last(&client) {
        let frame = next_json(&mut ws).await;
        client.apply(&frame.to_string());
    }
    let server = server_list(&store);
    let followed = client.list();
    assert_eq!(followed, server);
}

/// Two clusters on one stream: `hello` and `status` name them, a list subscription can take
/// some clusters only, and every change names the cluster it happened in; the same
/// namespace/name in both clusters are two rollouts.
#[tokio::test]
async fn clusters_are_in_hello_status_filters_and_every_frame() {
    use rollouts_dashboard::health::{Health, SourceKind};
    let store = rollouts_dashboard::store::Store::new(Health::loaded(SourceKind::Cluster));
    for cluster in ["prod-eu", "staging"] {
        let part = store.cluster(cluster);
        let dir = fixtures().join("argo-rollouts-info/blue-green");
        for object in rollouts_dashboard::source::files::load(&dir).unwrap() {
            part.apply(object);
        }
    }
    store.flush();
    tokio::spawn(store.clone().run_recompute());
    let addr = serve(state(store.clone(), true, "")).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/stream"))
        .await
        .unwrap();
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["protocol"], 5);
    assert_eq!(hello["clusters"], json!(["prod-eu", "staging"]));
    let status = next_json(&mut ws).await;
    let states: Vec<(&str, &str)> = status["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [("prod-eu", "synced"), ("staging", "synced")]);

    send(&mut ws, json!({"type": "subscribeList"})).await;
    let all = next_snapshot(&mut ws).await;
    let rows = all["rollouts"].as_array().unwrap();
    let twins: Vec<&str> = rows
        .iter()
        .filter(|r| r["name"] == "bluegreen-demo")
        .map(|r| r["cluster"].as_str().unwrap())
        .collect();
    assert_eq!(twins.len(), 2, "one per cluster: {twins:?}");
    assert!(twins.contains(&"prod-eu") && twins.contains(&"staging"));

    send(
        &mut ws,
        json!({"type": "subscribeList", "clusters": ["staging"]}),
    )
    .await;
    let staging = next_snapshot(&mut ws).await;
    let rows = staging["rollouts"].as_array().unwrap();
    assert_eq!(rows.len() * 2, all["rollouts"].as_array().unwrap().len());
    assert!(rows.iter().all(|r| r["cluster"] == "staging"));
    // A change in prod-eu does not reach it; one in staging does, naming its cluster.
    let mut ro = fixture_object("blue-green/bluegreen-rollout.yaml");
    ro["spec"]["paused"] = json!(true);
    store
        .cluster("prod-eu")
        .apply(Object::from_json(ro.clone()).unwrap().unwrap());
    assert_eq!(maybe_json(&mut ws, Duration::from_millis(300)).await, None);
    store
        .cluster("staging")
        .apply(Object::from_json(ro).unwrap().unwrap());
    let delta = next_json(&mut ws).await;
    assert_eq!(delta["type"], "patch", "{delta}");
    assert_eq!(delta["cluster"], "staging");
    assert_eq!(delta["name"], "bluegreen-demo");

    // One rollout's detail: the cluster is part of its name.
    send(
        &mut ws,
        json!({"type": "subscribeRollout", "cluster": "prod-eu", "namespace": "jesse-test",
               "name": "bluegreen-demo"}),
    )
    .await;
    let detail = next_json(&mut ws).await;
    assert_eq!(detail["type"], "detail", "{detail}");
    assert_eq!(detail["rollout"]["summary"]["cluster"], "prod-eu");
    store.cluster("prod-eu").delete(
        rollouts_dashboard::model::Kind::Rollout,
        "jesse-test",
        "bluegreen-demo",
    );
    let gone = next_json(&mut ws).await;
    assert_eq!(
        (&gone["type"], &gone["cluster"], &gone["name"]),
        (
            &json!("delete"),
            &json!("prod-eu"),
            &json!("bluegreen-demo")
        )
    );
    // A cluster that is not configured: nothing there.
    send(
        &mut ws,
        json!({"type": "subscribeRollout", "cluster": "nowhere", "namespace": "jesse-test",
               "name": "bluegreen-demo"}),
    )
    .await;
    assert_eq!(next_json(&mut ws).await["type"], "notFound");
}
