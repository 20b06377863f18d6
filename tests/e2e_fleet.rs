//! End-to-end tests of the fleet (issue #14) on TWO real clusters of tests/cluster at once: the
//! first runs Argo Rollouts v1.9.2 (ROLLOUTS_DASHBOARD_E2E_KUBECONFIG), the second the current
//! release v1.10.2 (ROLLOUTS_DASHBOARD_E2E_KUBECONFIG_2, and its tests/cluster name in
//! ROLLOUTS_DASHBOARD_E2E_CLUSTER_NAME_2 for the outage test). `tests/run-all.sh` brings both up
//! and sets all three; without them these tests FAIL, they never skip.
//!
//! One dashboard, started in process as `run()` starts it, watches both clusters through one
//! merged kubeconfig whose contexts are renamed (the two files may use the same context, cluster
//! and user names), with `--context one=… --context two=…`. The tests follow the dashboard's
//! REST API and WebSocket stream (protocol 5: a cluster in every key; frames possibly batched)
//! and check each cluster with its own admin client. Run them with `--test-threads=1`: one
//! test stops the second cluster's API server.

mod common;

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{FollowedCopy, Reply, Req, Served, Socket, get, post};
use futures::{SinkExt, StreamExt};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// The dashboard's names of the two clusters (`--context NAME=CONTEXT`).
const ONE: &str = "one";
const TWO: &str = "two";
/// Bound for anything the controller has to do (create, pause, promote).
const WAIT: Duration = Duration::from_secs(150);
/// Bound for the dashboard to show a change made in a cluster that is up.
const SHOW: Duration = Duration::from_secs(15);
/// The heartbeat: within it a stopped cluster must be reported unreachable.
const HEARTBEAT: Duration = Duration::from_secs(20);
/// The goal of #14.3: current within 10 s of the API server answering again.
const RECOVERY_GOAL: Duration = Duration::from_secs(10);
/// How long the second cluster's API server stays down (as in the measurement).
const OUTAGE: Duration = Duration::from_secs(40);

// ---------------------------------------------------------------------------------------------
// The two clusters

/// The second cluster's kubeconfig. Missing means the test FAILS.
fn kubeconfig_2() -> PathBuf {
    let path = std::env::var("ROLLOUTS_DASHBOARD_E2E_KUBECONFIG_2").expect(
        "ROLLOUTS_DASHBOARD_E2E_KUBECONFIG_2 is not set: bring a second test cluster up with \
         tests/cluster/cluster.sh up NAME --argo v1.10 and set it to that cluster's kubeconfig \
         (tests/run-all.sh does it)",
    );
    let path = PathBuf::from(path);
    assert!(path.is_file(), "kubeconfig {} is missing", path.display());
    path
}

/// The kubeconfig of cluster `which` (ONE or TWO).
fn kubeconfig_of(which: &str) -> PathBuf {
    match which {
        ONE => common::e2e_kubeconfig(),
        TWO => kubeconfig_2(),
        other => panic!("no cluster {other}"),
    }
}

/// An admin client of cluster `which`, built with kube alone (not with the code under test).
async fn admin(which: &str) -> kube::Client {
    let path = kubeconfig_of(which);
    let kubeconfig = kube::config::Kubeconfig::read_from(&path)
        .unwrap_or_else(|e| panic!("kubeconfig {}: {e}", path.display()));
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap_or_else(|e| panic!("kubeconfig {}: {e}", path.display()));
    kube::Client::try_from(config).expect("a client")
}

/// Both admin clients, as (cluster name, client).
async fn admins() -> [(&'static str, kube::Client); 2] {
    [(ONE, admin(ONE).await), (TWO, admin(TWO).await)]
}

/// One kubeconfig holding the current context of each test cluster, renamed (context, cluster
/// and user) to `e2e-fleet-one` and `e2e-fleet-two`, so that files using the same names merge.
/// Written as YAML into `dir`; returns its path.
fn merged_kubeconfig(dir: &Path) -> PathBuf {
    let mut merged = json!({
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [], "contexts": [], "users": [],
        "current-context": "e2e-fleet-one",
    });
    for which in [ONE, TWO] {
        let path = kubeconfig_of(which);
        let text = std::fs::read_to_string(&path).unwrap();
        let config: Value = serde_norway::from_str(&text)
            .unwrap_or_else(|e| panic!("kubeconfig {}: {e}", path.display()));
        let current = config["current-context"]
            .as_str()
            .expect("a current-context");
        let named = |list: &str, name: &str| -> Value {
            config[list]
                .as_array()
                .and_then(|l| l.iter().find(|e| e["name"] == name))
                .unwrap_or_else(|| panic!("{}: no {list} entry {name}", path.display()))
                .clone()
        };
        let context = named("contexts", current);
        let cluster = named("clusters", context["context"]["cluster"].as_str().unwrap());
        let user = named("users", context["context"]["user"].as_str().unwrap());
        let new_name = format!("e2e-fleet-{which}");
        let rename = |mut entry: Value| {
            entry["name"] = json!(new_name);
            entry
        };
        let mut context = rename(context);
        context["context"]["cluster"] = json!(new_name);
        context["context"]["user"] = json!(new_name);
        merged["contexts"].as_array_mut().unwrap().push(context);
        merged["clusters"]
            .as_array_mut()
            .unwrap()
            .push(rename(cluster));
        merged["users"].as_array_mut().unwrap().push(rename(user));
    }
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("kubeconfig");
    std::fs::write(&path, serde_norway::to_string(&merged).unwrap()).unwrap();
    path
}

/// A temporary directory for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("e2e-fleet-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A dashboard on both clusters (the merged kubeconfig of `dir`), watching `namespaces`, with
/// `extra` flags, started as `run()` starts it and served on a free port.
async fn fleet_dashboard(dir: &Path, namespaces: &[&str], extra: &[&str]) -> Served {
    use clap::Parser;
    let kubeconfig = merged_kubeconfig(dir);
    let mut args = vec![
        "rollouts-dashboard".to_owned(),
        "--kubeconfig".to_owned(),
        kubeconfig.to_str().unwrap().to_owned(),
        "--context".to_owned(),
        format!("{ONE}=e2e-fleet-{ONE}"),
        "--context".to_owned(),
        format!("{TWO}=e2e-fleet-{TWO}"),
    ];
    for ns in namespaces {
        args.extend(["-n".to_owned(), (*ns).to_owned()]);
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let config = rollouts_dashboard::config::Config::try_parse_from(&args)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
        .validate()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let state = rollouts_dashboard::start(&config)
        .await
        .expect("the dashboard starts on both clusters");
    common::served(state).await
}

/// The Rollout resource (built here, not taken from the code under test).
fn rollout_resource() -> ApiResource {
    ApiResource {
        group: "argoproj.io".into(),
        version: "v1alpha1".into(),
        api_version: "argoproj.io/v1alpha1".into(),
        kind: "Rollout".into(),
        plural: "rollouts".into(),
    }
}

fn rollouts(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &rollout_resource())
}

/// Creates namespace `ns` in both clusters.
async fn namespace_in_both(prefix: &str) -> String {
    let ns = format!("e2e-fleet-{prefix}-{}", std::process::id());
    for (_, client) in admins().await {
        common::e2e_create_namespace(&client, &ns).await;
    }
    ns
}

/// Deletes namespace `ns` in both clusters (not waiting): kwok nodes hold at most 110 pods
/// each, so tests run again and again must not leave their rollouts behind. Called when a test
/// passed; a failed one leaves its namespace for a look.
async fn delete_namespace_in_both(ns: &str) {
    use k8s_openapi::api::core::v1::Namespace;
    for (which, client) in admins().await {
        match Api::<Namespace>::all(client)
            .delete(ns, &Default::default())
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => panic!("{which}: delete namespace {ns}: {e}"),
        }
    }
}

/// A canary Rollout `name` with image `image`, 2 pods, and steps
/// `setWeight first`, `pause {}`, `setWeight second`, `pause {}`: two indefinite pauses, so it
/// sits still at step 1 and at step 3 until promoted.
fn canary(name: &str, image: &str, (first, second): (i32, i32)) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name},
        "spec": {
            "replicas": 2,
            "revisionHistoryLimit": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
            "strategy": {"canary": {"steps": [
                {"setWeight": first}, {"pause": {}}, {"setWeight": second}, {"pause": {}},
            ]}},
        },
    }))
    .unwrap()
}

/// Creates `rollout` in `ns` (fine if it exists).
async fn create(client: &kube::Client, ns: &str, rollout: &DynamicObject) {
    match rollouts(client, ns)
        .create(&Default::default(), rollout)
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => panic!("create rollout in {ns}: {e}"),
    }
}

/// Sets the first container's image with the Kubernetes API (as a CI pipeline would).
async fn set_image_directly(client: &kube::Client, ns: &str, name: &str, image: &str) {
    let patch = json!([{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": image}]);
    let patch: json_patch::Patch = serde_json::from_value(patch).unwrap();
    rollouts(client, ns)
        .patch(name, &PatchParams::default(), &Patch::Json::<()>(patch))
        .await
        .expect("patch image");
}

/// Polls `ns/name` in cluster `which` until `pred` holds on the object (as JSON); returns it.
///
/// On the v1.9.2 cluster (ONE) the controller sometimes sits on a stale copy after a write of
/// ours (argoproj/argo-rollouts#4784, see `ControllerWaker` in tests/e2e_cluster.rs): after
/// 15 s with `generation` ahead of `observedGeneration` and nothing changing, an annotation is
/// touched to wake it (printed). The v1.10.2 cluster (TWO) is never woken.
async fn wait_object(
    which: &str,
    client: &kube::Client,
    ns: &str,
    name: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let api = rollouts(client, ns);
    let start = Instant::now();
    let (mut last_rv, mut still_since, mut wakes) = (String::new(), Instant::now(), 0);
    loop {
        let object = match api.get(name).await {
            Ok(o) => serde_json::to_value(&o).unwrap(),
            Err(_) => Value::Null,
        };
        if !object.is_null() && pred(&object) {
            return object;
        }
        assert!(
            start.elapsed() < WAIT,
            "{which}: {ns}/{name} not {what} within {WAIT:?}; last status: {}",
            object["status"]
        );
        let rv = object["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if rv != last_rv {
            (last_rv, still_since) = (rv, Instant::now());
        } else if which == ONE
            && still_since.elapsed() > Duration::from_secs(15)
            && object["metadata"]["generation"].as_i64()
                != object["status"]["observedGeneration"]
                    .as_str()
                    .and_then(|g| g.parse().ok())
        {
            wakes += 1;
            eprintln!(
                "{which}: {ns}/{name} unchanged for 15 s waiting for {what} (generation {}, \
                 observed {}): touching it to wake the v1.9 controller (#4784), wake-up {wakes}",
                object["metadata"]["generation"], object["status"]["observedGeneration"]
            );
            let touch =
                json!({"metadata": {"annotations": {"e2e.example/wake": wakes.to_string()}}});
            api.patch(name, &PatchParams::default(), &Patch::Merge(&touch))
                .await
                .expect("touch the rollout");
            still_since = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Paused by its canary step `step` with every pod of it available.
fn paused_at(step: i64) -> impl Fn(&Value) -> bool {
    move |o: &Value| {
        let s = &o["status"];
        s["phase"] == "Paused"
            && s["currentStepIndex"] == step
            && s["pauseConditions"][0]["reason"] == "CanaryPauseStep"
            && s["observedGeneration"].as_str()
                == o["metadata"]["generation"]
                    .as_i64()
                    .map(|g| g.to_string())
                    .as_deref()
            && s["availableReplicas"].as_i64().is_some()
            && s["availableReplicas"] == s["replicas"]
    }
}

/// Creates rollout `name` in `ns` in both clusters, the two differing (image and step
/// weights: ONE 20/60, TWO 25/75), and brings each to its first pause (step 1) after an
/// image change, every pod available.
async fn paused_in_both(ns: &str, name: &str) {
    for (which, client) in admins().await {
        let weights = if which == ONE { (20, 60) } else { (25, 75) };
        create(
            &client,
            ns,
            &canary(name, &format!("registry.test/{which}:v1"), weights),
        )
        .await;
    }
    for (which, client) in admins().await {
        wait_object(which, &client, ns, name, "Healthy", |o| {
            o["status"]["phase"] == "Healthy"
        })
        .await;
        set_image_directly(&client, ns, name, &format!("registry.test/{which}:v2")).await;
    }
    for (which, client) in admins().await {
        wait_object(which, &client, ns, name, "paused at step 1", paused_at(1)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The dashboard: REST and the stream

/// `GET path` as the loopback user; the reply.
async fn rest(addr: &Served, req: Req) -> Reply {
    tokio::time::timeout(Duration::from_secs(10), addr.send(req))
        .await
        .expect("the dashboard answers within 10 s")
}
/// Promotes rollout `name` (paused at step 1) in both clusters with `headers`: two refuses
/// with `refusal` and its rollout is not written; one promotes it to step 3. Returns two's
/// answer.
async fn promote_refused_in_two_done_in_one(
    addr: &Served,
    ns: &str,
    name: &str,
    headers: &[String],
    refusal: u16,
) -> Reply {
    let two_before = rollouts(&admin(TWO).await, ns).get(name).await.unwrap();
    let seen = json!({"seen": {"stepIndex": 1}});
    let refused = act(addr, (TWO, ns, name), "promote", seen.clone(), headers).await;
    assert_eq!(refused.status, refusal, "{}", refused.body);
    let done = act(addr, (ONE, ns, name), "promote", seen, headers).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let one = admin(ONE).await;
    wait_object(ONE, &one, ns, name, "promoted to step 3", paused_at(3)).await;
    let two_after = rollouts(&admin(TWO).await, ns).get(name).await.unwrap();
    assert_eq!(
        two_after.metadata.resource_version, two_before.metadata.resource_version,
        "two's rollout was written: {}",
        two_after.data["status"]
    );
    assert_eq!(two_after.data["status"]["currentStepIndex"], 1);
    refused
}

/// `POST .../clusters/{cluster}/namespaces/{ns}/rollouts/{name}/{action}` with `body`, with
/// extra `headers` (`name: value`).
async fn act(
    addr: &Served,
    (cluster, ns, name): (&str, &str, &str),
    action: &str,
    body: Value,
    headers: &[String],
) -> Reply {
    let mut req = post(&format!(
        "/api/v1/clusters/{cluster}/namespaces/{ns}/rollouts/{name}/{action}"
    ))
    .json(&body)
    .write_headers()
    .header("host", &addr.to_string());
    for line in headers {
        let (k, v) = line.split_once(':').expect("a `name: value` header");
        req = req.header(k.trim(), v.trim());
    }
    rest(addr, req).await
}

/// `(cluster, namespace, name)` of each row of a REST list, sorted.
fn keys(list: &Value) -> Vec<(String, String, String)> {
    let mut keys: Vec<_> = list["rollouts"]
        .as_array()
        .map(|rows| rows.iter().map(key_of).collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

/// A summary's key.
fn key_of(summary: &Value) -> (String, String, String) {
    let s = |f: &str| summary[f].as_str().unwrap_or_default().to_owned();
    (s("cluster"), s("namespace"), s("name"))
}

fn key(cluster: &str, ns: &str, name: &str) -> (String, String, String) {
    (cluster.to_owned(), ns.to_owned(), name.to_owned())
}

/// The `clusters` entry named `name` of a status (frame or REST body); Null if absent.
fn cluster_status<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["clusters"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .unwrap_or(&Value::Null)
}

/// Polls `check` every 200 ms until it holds; fails after `bound` naming `what`. Returns the
/// time it took.
async fn within<F, Fut>(bound: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < bound, "not {what} within {bound:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One item read from the stream: a text frame (batches already taken apart) or a binary one.
enum Item {
    Json(Value),
    Binary(Vec<u8>),
}

/// A list subscriber as the web app is one: it keeps every row (by cluster, namespace, name)
/// from the snapshot and the frames after it, and the last `status` frame. Frames of a
/// `batch` are applied one by one, in order.
struct ListClient {
    ws: Socket,
    queue: VecDeque<Value>,
    hello: Value,
    status: Value,
    rows: BTreeMap<(String, String, String), FollowedCopy>,
    /// Every list frame applied (upsert, patch, delete) since the last [`ListClient::mark`].
    frames: Vec<Value>,
    /// When a status frame first gave each cluster its current state.
    state_since: BTreeMap<String, (String, Instant)>,
}

impl ListClient {
    /// Connects with `headers`, checks `hello` (protocol 5, both clusters), subscribes to the
    /// list of `namespaces` and reads the snapshot.
    async fn subscribe(addr: &Served, namespaces: &[&str]) -> ListClient {
        Self::subscribe_to(addr, namespaces, &[]).await
    }

    /// [`ListClient::subscribe`] to the rows of `clusters` only (all when empty).
    async fn subscribe_to(addr: &Served, namespaces: &[&str], clusters: &[&str]) -> ListClient {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/stream"))
            .await
            .expect("the stream opens");
        let mut client = ListClient {
            ws,
            queue: VecDeque::new(),
            hello: Value::Null,
            status: Value::Null,
            rows: BTreeMap::new(),
            frames: vec![],
            state_since: BTreeMap::new(),
        };
        let hello = client.next_json().await;
        assert_eq!(hello["type"], "hello", "{hello}");
        assert_eq!(hello["protocol"], 5, "{hello}");
        assert_eq!(hello["clusters"], json!([ONE, TWO]), "{hello}");
        client.hello = hello;
        let status = client.next_json().await;
        assert_eq!(status["type"], "status", "{status}");
        client.set_status(status);
        client
            .ws
            .send(Message::Text(
                json!({"type": "subscribeList", "namespaces": namespaces, "clusters": clusters})
                    .to_string()
                    .into(),
            ))
            .await
            .unwrap();
        // Up to the snapshot, only status frames may come.
        loop {
            let frame = client.next_json().await;
            match frame["type"].as_str() {
                Some("status") => client.set_status(frame),
                Some("snapshotBegin") => {
                    client.read_snapshot(&frame).await;
                    break;
                }
                _ => panic!("before the snapshot: {frame}"),
            }
        }
        client
    }

    /// The next item within `wait`, if any.
    async fn next_item(&mut self, wait: Duration) -> Option<Item> {
        if let Some(frame) = self.queue.pop_front() {
            return Some(Item::Json(frame));
        }
        let msg = match tokio::time::timeout(wait, self.ws.next()).await {
            Err(_) => return None,
            Ok(msg) => msg.expect("the stream stays open").expect("a frame"),
        };
        match msg {
            Message::Text(text) => {
                let frame: Value = serde_json::from_str(&text).expect("frames are JSON");
                if frame["type"] == "batch" {
                    let frames = frame["frames"].as_array().expect("a batch has frames");
                    assert!(!frames.is_empty(), "an empty batch");
                    for inner in frames {
                        assert_ne!(inner["type"], "batch", "a batch in a batch: {frame}");
                        self.queue.push_back(inner.clone());
                    }
                    Some(Item::Json(self.queue.pop_front().unwrap()))
                } else {
                    Some(Item::Json(frame))
                }
            }
            Message::Binary(body) => Some(Item::Binary(body.to_vec())),
            _ => Some(Item::Json(json!({"type": "(control frame)"}))),
        }
    }

    /// The next text frame (fails after 10 s or on a binary one).
    async fn next_json(&mut self) -> Value {
        match self.next_item(Duration::from_secs(10)).await {
            Some(Item::Json(frame)) => frame,
            Some(Item::Binary(_)) => panic!("a binary message outside a snapshot"),
            None => panic!("no frame within 10 s"),
        }
    }

    /// Reads the pages and the end of the snapshot `begin` opened; it replaces every row.
    async fn read_snapshot(&mut self, begin: &Value) {
        let seq = begin["seq"].as_u64().expect("seq");
        let pages = begin["pages"].as_u64().expect("pages");
        let mut rows = BTreeMap::new();
        for index in 0..pages {
            let Some(Item::Binary(body)) = self.next_item(Duration::from_secs(10)).await else {
                panic!("page {index} of {pages}: no binary message");
            };
            let page = common::decode_page(&body);
            assert_eq!(page["seq"], seq, "{begin}");
            for row in page["rollouts"].as_array().expect("rollouts") {
                rows.insert(key_of(row), FollowedCopy::from_snapshot(row.clone(), seq));
            }
        }
        assert_eq!(
            rows.len() as u64,
            begin["total"].as_u64().unwrap(),
            "{begin}"
        );
        let end = self.next_json().await;
        assert_eq!(end, json!({"type": "snapshotEnd", "seq": seq}));
        self.rows = rows;
    }

    /// Reads and applies frames for up to `wait`; returns whether one came.
    async fn pump(&mut self, wait: Duration) -> bool {
        let Some(item) = self.next_item(wait).await else {
            return false;
        };
        let Item::Json(frame) = item else {
            panic!("a binary message outside a snapshot");
        };
        match frame["type"].as_str() {
            Some("status") => self.set_status(frame),
            Some("snapshotBegin") => self.read_snapshot(&frame).await,
            Some("upsert") => {
                self.rows
                    .insert(key_of(&frame["rollout"]), FollowedCopy::from_upsert(&frame));
                self.frames.push(frame);
            }
            Some("patch") => {
                let k = key_of(&frame);
                self.rows
                    .get_mut(&k)
                    .unwrap_or_else(|| panic!("a patch of a row not held: {frame}"))
                    .apply_patch(&frame);
                self.frames.push(frame);
            }
            Some("delete") => {
                self.rows.remove(&key_of(&frame));
                self.frames.push(frame);
            }
            Some("error") => panic!("the stream reported an error: {frame}"),
            _ => {}
        }
        true
    }

    /// Applies frames until `pred` holds; fails after `bound` naming `what`. Returns the time.
    async fn until(
        &mut self,
        bound: Duration,
        what: &str,
        pred: impl Fn(&ListClient) -> bool,
    ) -> Duration {
        let start = Instant::now();
        while !pred(self) {
            let left = bound.saturating_sub(start.elapsed());
            assert!(
                !left.is_zero(),
                "the stream did not show {what} within {bound:?}; rows: {:?}; status: {}",
                self.rows
                    .iter()
                    .map(|(k, v)| (k, &v.summary["status"], &v.summary["stepIndex"]))
                    .collect::<Vec<_>>(),
                self.status
            );
            self.pump(left.min(Duration::from_millis(500))).await;
        }
        start.elapsed()
    }

    /// The row of `(cluster, ns, name)`.
    fn row(&self, cluster: &str, ns: &str, name: &str) -> Option<&Value> {
        self.rows.get(&key(cluster, ns, name)).map(|c| &c.summary)
    }

    /// Keeps a status frame, noting when each cluster's state changed.
    fn set_status(&mut self, status: Value) {
        for c in status["clusters"].as_array().into_iter().flatten() {
            let (name, state) = (c["name"].as_str().unwrap(), c["state"].as_str().unwrap());
            if self.state_since.get(name).is_none_or(|(s, _)| s != state) {
                self.state_since
                    .insert(name.to_owned(), (state.to_owned(), Instant::now()));
            }
        }
        self.status = status;
    }

    /// When the status frames began to give cluster `name` its current state.
    fn state_since(&self, name: &str) -> Option<Instant> {
        self.state_since.get(name).map(|(_, at)| *at)
    }

    /// The state the last status frame gives cluster `name`.
    fn state(&self, name: &str) -> Option<&str> {
        cluster_status(&self.status, name)["state"].as_str()
    }

    /// Starts a new record of frames.
    fn mark(&mut self) {
        self.frames.clear();
    }

    /// The frames since [`ListClient::mark`] about `cluster`'s rows.
    fn frames_of(&self, cluster: &str) -> Vec<&Value> {
        self.frames
            .iter()
            .filter(|f| f["cluster"] == cluster || f["rollout"]["cluster"] == cluster)
            .collect()
    }
}

/// Rows of the REST list `GET path`.
async fn list(addr: &Served, path: &str) -> Value {
    let reply = rest(addr, get(path)).await;
    assert_eq!(reply.status, 200, "GET {path}: {}", reply.body);
    reply.json()
}

/// Applies frames until the stream's rows of `ns` are exactly the REST list's (every field of
/// every summary): what the browser shows is what the API says. A snapshot taken while a
/// cluster's ReplicaSets were still being listed is completed by the frames after it.
async fn converge(addr: &Served, stream: &mut ListClient, ns: &str) {
    let start = Instant::now();
    loop {
        let listed = list(addr, &format!("/api/v1/rollouts?namespace={ns}")).await;
        let rest_rows: BTreeMap<_, _> = listed["rollouts"]
            .as_array()
            .expect("rollouts")
            .iter()
            .map(|r| (key_of(r), r.clone()))
            .collect();
        let stream_rows: BTreeMap<_, _> = stream
            .rows
            .iter()
            .filter(|(k, _)| k.1 == ns)
            .map(|(k, c)| (k.clone(), c.summary.clone()))
            .collect();
        if rest_rows == stream_rows {
            return;
        }
        assert!(
            start.elapsed() < SHOW,
            "the stream's rows never matched the REST list within {SHOW:?}: stream {stream_rows:?}, \
             REST {rest_rows:?}"
        );
        stream.pump(Duration::from_millis(300)).await;
    }
}

/// Waits until `/api/v1/status` (asked with `headers`, `name: value`) says both clusters are
/// synced: before that, actions answer 503 `clusterUnavailable` (the person's buttons are
/// disabled while a cluster is still syncing).
async fn wait_synced(addr: &Served, headers: &[String]) {
    let start = Instant::now();
    loop {
        let mut req = get("/api/v1/status").header("host", &addr.to_string());
        for line in headers {
            let (k, v) = line.split_once(':').expect("a `name: value` header");
            req = req.header(k.trim(), v.trim());
        }
        let status = rest(addr, req).await.json();
        if [ONE, TWO]
            .iter()
            .all(|c| cluster_status(&status, c)["state"] == "synced")
        {
            return;
        }
        assert!(
            start.elapsed() < WAIT,
            "both clusters never synced: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// 0. The harness: the merged kubeconfig reaches each cluster under its new name

#[tokio::test]
async fn the_merged_kubeconfig_reaches_each_cluster_by_its_renamed_context() {
    let dir = TempDir::new("merged");
    let merged = merged_kubeconfig(&dir.0);
    let kubeconfig = kube::config::Kubeconfig::read_from(&merged).unwrap();
    assert_eq!(kubeconfig.contexts.len(), 2, "{}", merged.display());
    for which in [ONE, TWO] {
        let original = kube::config::Kubeconfig::read_from(kubeconfig_of(which)).unwrap();
        let options = kube::config::KubeConfigOptions {
            context: Some(format!("e2e-fleet-{which}")),
            ..Default::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig.clone(), &options)
            .await
            .unwrap();
        assert_eq!(
            Some(config.cluster_url.to_string().trim_end_matches('/')),
            original.clusters[0]
                .cluster
                .as_ref()
                .and_then(|c| c.server.as_deref())
                .map(|s| s.trim_end_matches('/')),
            "context e2e-fleet-{which}"
        );
        let client = kube::Client::try_from(config).unwrap();
        client
            .apiserver_version()
            .await
            .unwrap_or_else(|e| panic!("{which} through the merged kubeconfig: {e}"));
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Both lists arrive

#[tokio::test]
async fn both_clusters_lists_arrive_each_row_naming_its_cluster() {
    let ns = namespace_in_both("lists").await;
    for (which, client) in admins().await {
        create(
            &client,
            &ns,
            &canary(
                &format!("only-in-{which}"),
                "registry.test/app:1",
                (50, 100),
            ),
        )
        .await;
    }
    let dir = TempDir::new("lists");
    let addr = fleet_dashboard(&dir.0, &[&ns], &[]).await;
    let want = vec![key(ONE, &ns, "only-in-one"), key(TWO, &ns, "only-in-two")];

    // REST: both rows, each with its cluster; the filter by cluster.
    within(WAIT, "both rows listed", || async {
        keys(&list(&addr, "/api/v1/rollouts").await) == want
    })
    .await;
    for (which, name) in [(ONE, "only-in-one"), (TWO, "only-in-two")] {
        let only = list(&addr, &format!("/api/v1/rollouts?cluster={which}")).await;
        assert_eq!(keys(&only), vec![key(which, &ns, name)], "{only}");
        let detail = rest(
            &addr,
            get(&format!(
                "/api/v1/clusters/{which}/namespaces/{ns}/rollouts/{name}"
            )),
        )
        .await;
        assert_eq!(detail.status, 200, "{}", detail.body);
        assert_eq!(
            detail.json()["summary"]["cluster"],
            which,
            "{}",
            detail.body
        );
        // The other cluster has no rollout of that name.
        let other = if which == ONE { TWO } else { ONE };
        let missing = rest(
            &addr,
            get(&format!(
                "/api/v1/clusters/{other}/namespaces/{ns}/rollouts/{name}"
            )),
        )
        .await;
        assert_eq!(missing.status, 404, "{}", missing.body);
    }
    let both = list(
        &addr,
        &format!("/api/v1/rollouts?cluster={ONE}&cluster={TWO}"),
    )
    .await;
    assert_eq!(keys(&both), want, "{both}");
    let unknown = rest(&addr, get("/api/v1/rollouts?cluster=nowhere")).await;
    assert!(
        unknown.status == 400 || keys(&unknown.json()).is_empty(),
        "an unknown cluster lists nothing: {} {}",
        unknown.status,
        unknown.body
    );

    // Status: both clusters synced, each with its one rollout; the aggregate has no problem.
    within(SHOW, "both clusters synced in /api/v1/status", || async {
        let status = rest(&addr, get("/api/v1/status")).await.json();
        [ONE, TWO].iter().all(|c| {
            let c = cluster_status(&status, c);
            c["state"] == "synced" && c["rollouts"] == 1
        })
    })
    .await;
    let status = rest(&addr, get("/api/v1/status")).await.json();
    let names: Vec<&Value> = status["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .map(|c| &c["name"])
        .collect();
    assert_eq!(names, [ONE, TWO], "in display order: {status}");
    for c in [ONE, TWO] {
        let c = cluster_status(&status, c);
        assert!(c["problem"].is_null(), "{status}");
        assert!(c["lastSyncedAt"].is_string(), "{status}");
        assert!(c["since"].is_string(), "{status}");
    }
    assert!(status["health"]["problem"].is_null(), "{status}");
    let ready = rest(&addr, get("/readyz")).await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    for c in [ONE, TWO] {
        assert!(
            ready
                .body
                .lines()
                .any(|l| l == format!("cluster {c}: synced")),
            "/readyz names cluster {c}: {}",
            ready.body
        );
    }

    // The stream: hello names both clusters, the snapshot holds both rows, the status frame
    // both clusters.
    let mut stream = ListClient::subscribe(&addr, &[&ns]).await;
    stream
        .until(SHOW, "both clusters synced in a status frame", |s| {
            s.state(ONE) == Some("synced") && s.state(TWO) == Some("synced")
        })
        .await;
    assert_eq!(
        stream.rows.keys().cloned().collect::<Vec<_>>(),
        want,
        "the snapshot"
    );
    for (which, row) in [(ONE, "only-in-one"), (TWO, "only-in-two")] {
        assert_eq!(stream.row(which, &ns, row).unwrap()["cluster"], which);
    }
    // Both rows at rest (Healthy, every pod shown), so that any frame is about our change.
    stream
        .until(WAIT, "both rows Healthy with their pods", |s| {
            [(ONE, "only-in-one"), (TWO, "only-in-two")]
                .iter()
                .all(|(c, n)| {
                    s.row(c, &ns, n)
                        .is_some_and(|r| r["status"] == "Healthy" && row_complete(r))
                })
        })
        .await;
    converge(&addr, &mut stream, &ns).await;
    // A subscription to two's rows only.
    let mut only_two = ListClient::subscribe_to(&addr, &[&ns], &[TWO]).await;
    only_two
        .until(SHOW, "two's row in the subscription to two", |s| {
            s.row(TWO, &ns, "only-in-two").is_some()
        })
        .await;
    assert_eq!(
        only_two.rows.keys().cloned().collect::<Vec<_>>(),
        vec![key(TWO, &ns, "only-in-two")],
        "the snapshot of a subscription to two"
    );
    only_two.mark();
    // A change in one cluster reaches its row only.
    let [(_, one), (_, two)] = &admins().await;
    let label = json!({"metadata": {"labels": {"e2e.example/touched": "yes"}}});
    rollouts(one, &ns)
        .patch(
            "only-in-one",
            &PatchParams::default(),
            &Patch::Merge(&label),
        )
        .await
        .unwrap();
    stream.mark();
    stream
        .until(SHOW, "the label on one's row", |s| {
            s.row(ONE, &ns, "only-in-one").unwrap()["labels"]["e2e.example/touched"] == "yes"
        })
        .await;
    assert!(
        stream.frames_of(TWO).is_empty(),
        "frames for two's row after a change in one: {:?}",
        stream.frames_of(TWO)
    );
    // Then a change in two: it reaches the subscription to two, which got nothing of one's.
    rollouts(two, &ns)
        .patch(
            "only-in-two",
            &PatchParams::default(),
            &Patch::Merge(&label),
        )
        .await
        .unwrap();
    only_two
        .until(SHOW, "the label on two's row (subscription to two)", |s| {
            s.row(TWO, &ns, "only-in-two").unwrap()["labels"]["e2e.example/touched"] == "yes"
        })
        .await;
    assert!(
        only_two.frames_of(ONE).is_empty() && only_two.row(ONE, &ns, "only-in-one").is_none(),
        "one's row reached the subscription to two: {:?}",
        only_two.frames_of(ONE)
    );
    stream
        .until(SHOW, "the label on two's row", |s| {
            s.row(TWO, &ns, "only-in-two").unwrap()["labels"]["e2e.example/touched"] == "yes"
        })
        .await;
    delete_namespace_in_both(&ns).await;
}

// ---------------------------------------------------------------------------------------------
// 2. The same namespace/name in both clusters: two rows, and each action hits the right one

/// The row shows every pod of the rollout: its ReplicaSets add up to the rollout's pod count,
/// each with all its pods listed and Running, every one available. (`synced` in a status
/// frame may come a flush before the last listed ReplicaSets and pods are in the rows.)
fn row_complete(r: &Value) -> bool {
    let Some(sets) = r["replicaSets"].as_array() else {
        return false;
    };
    let replicas: i64 = sets.iter().filter_map(|s| s["replicas"].as_i64()).sum();
    !sets.is_empty()
        && Some(replicas) == r["replicas"]["current"].as_i64()
        && r["replicas"]["available"] == r["replicas"]["current"]
        && r["replicas"]["ready"] == r["replicas"]["current"]
        && sets.iter().all(|s| {
            s["pods"].as_array().is_some_and(|pods| {
                Some(pods.len() as i64) == s["replicas"].as_i64()
                    && pods.iter().all(|p| p["status"] == "Running")
            })
        })
}

/// The row is at rest at `step`: paused there, every pod shown and available.
fn row_paused_at(row: Option<&Value>, step: i64) -> bool {
    row.is_some_and(|r| r["status"] == "Paused" && r["stepIndex"] == step && row_complete(r))
}

/// The top-level fields in which two summaries differ, as `field: before → after` lines.
fn differences(before: &Value, after: &Value) -> String {
    let empty = serde_json::Map::new();
    let (b, a) = (
        before.as_object().unwrap_or(&empty),
        after.as_object().unwrap_or(&empty),
    );
    let mut fields: Vec<&String> = b.keys().chain(a.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter(|f| b.get(*f) != a.get(*f))
        .map(|f| format!("\n  {f}: {:?} → {:?}", b.get(f), a.get(f)))
        .collect()
}

/// What an action on the wrong cluster would change, in the object.
fn action_fields(object: &Value) -> Value {
    json!({
        "generation": object["metadata"]["generation"],
        "spec": object["spec"],
        "currentStepIndex": object["status"]["currentStepIndex"],
        "pauseConditions": object["status"]["pauseConditions"],
        "abort": object["status"]["abort"],
        "phase": object["status"]["phase"],
    })
}

/// Runs `action` on `target`'s copy of `ns/name` through the dashboard, waits until the stream
/// shows `target`'s row satisfying `moved` (and the cluster's object `moved_object`), and checks
/// that the other cluster's rollout and row did not change meanwhile.
#[allow(clippy::too_many_arguments)]
async fn act_on_one_only(
    addr: &Served,
    stream: &mut ListClient,
    (target, ns, name): (&str, &str, &str),
    action: &str,
    body: Value,
    what: &str,
    moved: impl Fn(&Value) -> bool,
    moved_object: impl Fn(&Value) -> bool,
) {
    let other = if target == ONE { TWO } else { ONE };
    let other_client = admin(other).await;
    // Before: the other row shows the other cluster's current object (frames still in flight
    // from an earlier step are applied first).
    let start = Instant::now();
    let (other_before, other_row) = loop {
        let object = rollouts(&other_client, ns).get(name).await.unwrap();
        let object = serde_json::to_value(object).unwrap();
        let row = stream.row(other, ns, name).expect("the other row").clone();
        if row["resourceVersion"] == object["metadata"]["resourceVersion"] {
            break (object, row);
        }
        assert!(
            start.elapsed() < SHOW,
            "{other}'s row does not show the cluster's object (resourceVersion {} vs {})",
            row["resourceVersion"],
            object["metadata"]["resourceVersion"]
        );
        stream.pump(Duration::from_millis(500)).await;
    };
    stream.mark();
    let reply = act(addr, (target, ns, name), action, body, &[]).await;
    assert_eq!(reply.status, 200, "{action} on {target}: {}", reply.body);
    stream
        .until(WAIT, &format!("{target}'s row {what}"), |s| {
            s.row(target, ns, name).is_some_and(&moved)
        })
        .await;
    let target_client = admin(target).await;
    wait_object(target, &target_client, ns, name, what, moved_object).await;
    // The other cluster: its object untouched, its row unchanged, no frame for it at all.
    let other_after =
        serde_json::to_value(rollouts(&other_client, ns).get(name).await.unwrap()).unwrap();
    assert_eq!(
        action_fields(&other_after),
        action_fields(&other_before),
        "the {action} on {target} changed {other}'s rollout"
    );
    assert_eq!(
        other_after["metadata"]["resourceVersion"], other_before["metadata"]["resourceVersion"],
        "{other}'s rollout was written during the {action} on {target}: {}",
        other_after["status"]
    );
    let now = stream.row(other, ns, name).expect("the other row");
    assert!(
        *now == other_row,
        "{other}'s row changed during the {action} on {target}: {}",
        differences(&other_row, now)
    );
    assert!(
        stream.frames_of(other).is_empty(),
        "frames for {other}'s row during the {action} on {target}: {:?}",
        stream.frames_of(other)
    );
}

#[tokio::test]
async fn the_same_rollout_in_both_clusters_is_two_rows_and_each_action_hits_its_own() {
    let ns = namespace_in_both("same").await;
    let name = "checkout";
    paused_in_both(&ns, name).await;
    let dir = TempDir::new("same");
    let addr = fleet_dashboard(&dir.0, &[&ns], &[]).await;
    let mut stream = ListClient::subscribe(&addr, &[&ns]).await;
    stream
        .until(
            WAIT,
            "both clusters synced, both rows at rest at step 1",
            |s| {
                s.state(ONE) == Some("synced")
                    && s.state(TWO) == Some("synced")
                    && row_paused_at(s.row(ONE, &ns, name), 1)
                    && row_paused_at(s.row(TWO, &ns, name), 1)
            },
        )
        .await;
    converge(&addr, &mut stream, &ns).await;
    // Two rows, each with its cluster's own data.
    assert_eq!(
        stream.rows.keys().cloned().collect::<Vec<_>>(),
        vec![key(ONE, &ns, name), key(TWO, &ns, name)]
    );
    for (which, weight) in [(ONE, 20), (TWO, 25)] {
        let row = stream.row(which, &ns, name).unwrap();
        assert_eq!(row["setWeight"], weight, "{which}: {row}");
        let images: Vec<&str> = row["images"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["image"].as_str())
            .collect();
        assert!(
            images.contains(&format!("registry.test/{which}:v2").as_str()),
            "{which}: images {images:?} in the row {row}"
        );
    }
    let listed = list(&addr, &format!("/api/v1/rollouts?namespace={ns}")).await;
    assert_eq!(
        keys(&listed),
        vec![key(ONE, &ns, name), key(TWO, &ns, name)],
        "{listed}"
    );

    // Promote on one: one moves to its second pause, two stays at its first.
    act_on_one_only(
        &addr,
        &mut stream,
        (ONE, &ns, name),
        "promote",
        json!({"seen": {"stepIndex": 1}}),
        "at rest at step 3",
        |r| row_paused_at(Some(r), 3),
        paused_at(3),
    )
    .await;
    // The other way round: promote on two; one stays at step 3.
    act_on_one_only(
        &addr,
        &mut stream,
        (TWO, &ns, name),
        "promote",
        json!({"seen": {"stepIndex": 1}}),
        "at rest at step 3",
        |r| row_paused_at(Some(r), 3),
        paused_at(3),
    )
    .await;
    // Abort on two: two is Degraded with its canary scaled down; one stays paused.
    act_on_one_only(
        &addr,
        &mut stream,
        (TWO, &ns, name),
        "abort",
        json!({}),
        "aborted, its canary scaled down",
        // At rest only once the canary is scaled down: Degraded comes a write before that, and
        // the controller's later write would land during the next step (seen once in nine runs).
        |r| {
            r["status"] == "Degraded"
                && r["aborted"] == true
                && r["replicas"]["current"] == r["replicas"]["desired"]
                && row_complete(r)
        },
        |o| {
            o["status"]["abort"] == true
                && o["status"]["phase"] == "Degraded"
                && o["status"]["replicas"] == o["spec"]["replicas"]
                && o["status"]["availableReplicas"] == o["spec"]["replicas"]
        },
    )
    .await;
    // set-image on one: a new canary paused at step 1 with the new image; two stays aborted.
    act_on_one_only(
        &addr,
        &mut stream,
        (ONE, &ns, name),
        "set-image",
        json!({"container": "app", "image": "registry.test/one:v3"}),
        "a new canary at step 1",
        |r| {
            row_paused_at(Some(r), 1)
                && r["images"]
                    .as_array()
                    .is_some_and(|is| is.iter().any(|i| i["image"] == "registry.test/one:v3"))
        },
        |o| {
            paused_at(1)(o)
                && o["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.test/one:v3"
        },
    )
    .await;
    // The object of two still has its own image (set-image went to one only).
    let two = admin(TWO).await;
    let object = rollouts(&two, &ns).get(name).await.unwrap();
    assert_eq!(
        object.data["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.test/two:v2"
    );
    delete_namespace_in_both(&ns).await;
}

// ---------------------------------------------------------------------------------------------
// 3. Fault: one cluster's API server stops mid-stream

/// The tests/cluster name of the second cluster, checked to be the one whose kubeconfig the
/// tests use (so that only that cluster's API server is ever stopped).
fn cluster_2_name() -> String {
    let name = std::env::var("ROLLOUTS_DASHBOARD_E2E_CLUSTER_NAME_2").expect(
        "ROLLOUTS_DASHBOARD_E2E_CLUSTER_NAME_2 is not set: the tests/cluster name of the second \
         cluster (its kubeconfig in ROLLOUTS_DASHBOARD_E2E_KUBECONFIG_2); tests/run-all.sh sets it",
    );
    let out = std::process::Command::new(cluster_sh())
        .args(["env", &name])
        .output()
        .expect("cluster.sh runs");
    let env = String::from_utf8_lossy(&out.stdout);
    let want = format!("export KUBECONFIG='{}'", kubeconfig_2().display());
    assert!(
        env.lines().any(|l| l == want),
        "cluster {name} is not the second test cluster (its env: {env}; want {want})"
    );
    name
}

fn cluster_sh() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cluster/cluster.sh")
}

async fn cluster_command(command: &str, name: &str) {
    let status = tokio::process::Command::new(cluster_sh())
        .args([command, name])
        .status()
        .await
        .expect("cluster.sh runs");
    assert!(status.success(), "cluster.sh {command} {name} failed");
}

/// Starts the second cluster's API server again if the test stops half-way.
struct ApiServerGuard {
    name: String,
    stopped: bool,
}

impl Drop for ApiServerGuard {
    fn drop(&mut self) {
        if self.stopped {
            let _ = std::process::Command::new(cluster_sh())
                .args(["start-apiserver", &self.name])
                .status();
            // Until it answers (and the controller with it), so that the next test finds the
            // cluster whole.
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(60)
                && !std::process::Command::new(cluster_sh())
                    .args(["status", &self.name])
                    .status()
                    .is_ok_and(|s| s.success())
            {
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
}

/// The second cluster's API server answers `/readyz` (a fresh client, 2 s at most).
async fn apiserver_2_answers() -> bool {
    let client = admin(TWO).await;
    let request = axum::http::Request::get("/readyz")
        .body(Vec::new())
        .unwrap();
    matches!(
        tokio::time::timeout(Duration::from_secs(2), client.request_text(request)).await,
        Ok(Ok(_))
    )
}

/// Cluster two's API server stops for [`OUTAGE`] while cluster one's rollout keeps changing,
/// then starts again. Run with `--test-threads=1` (the outage would hit other tests' requests
/// to two); its name sorts it last, so the others do not wait for two's controllers to recover.
#[tokio::test]
async fn when_one_api_server_stops_the_other_cluster_flows_and_it_recovers_within_10_s() {
    let name_2 = cluster_2_name();
    let test_start = Instant::now();
    let phase = |what: &str| {
        eprintln!(
            "[outage test] +{:.1} s: {what}",
            test_start.elapsed().as_secs_f64()
        )
    };
    let ns = namespace_in_both("outage").await;
    for (which, client) in admins().await {
        create(
            &client,
            &ns,
            &canary(&format!("web-{which}"), "registry.test/app:1", (50, 100)),
        )
        .await;
    }
    let dir = TempDir::new("outage");
    let addr = fleet_dashboard(&dir.0, &[&ns], &[]).await;
    let mut stream = ListClient::subscribe(&addr, &[&ns]).await;
    stream
        .until(WAIT, "both clusters synced, both rows Healthy", |s| {
            let healthy =
                |r: Option<&Value>| r.is_some_and(|r| r["status"] == "Healthy" && row_complete(r));
            s.state(ONE) == Some("synced")
                && s.state(TWO) == Some("synced")
                && healthy(s.row(ONE, &ns, "web-one"))
                && healthy(s.row(TWO, &ns, "web-two"))
        })
        .await;
    converge(&addr, &mut stream, &ns).await;
    phase("both rows Healthy in the stream; stopping two's API server");
    let two_row = stream.row(TWO, &ns, "web-two").unwrap().clone();
    let one = admin(ONE).await;
    let tick = |n: u32| {
        let one = one.clone();
        let ns = ns.clone();
        async move {
            let label = json!({"metadata": {"labels": {"e2e.example/tick": n.to_string()}}});
            rollouts(&one, &ns)
                .patch("web-one", &PatchParams::default(), &Patch::Merge(&label))
                .await
                .expect("cluster one takes writes during two's outage");
        }
    };

    // The outage, while one's rollout changes.
    let mut guard = ApiServerGuard {
        name: name_2.clone(),
        stopped: true,
    };
    cluster_command("stop-apiserver", &name_2).await;
    let stopped = Instant::now();
    let mut n = 0;
    let mut notice = None;
    let mut slowest_tick = Duration::ZERO;
    while stopped.elapsed() < OUTAGE {
        n += 1;
        tick(n).await;
        let want = n.to_string();
        let took = stream
            .until(SHOW, &format!("one's tick {n} during two's outage"), |s| {
                s.row(ONE, &ns, "web-one").unwrap()["labels"]["e2e.example/tick"] == want.as_str()
            })
            .await;
        slowest_tick = slowest_tick.max(took);
        if notice.is_none() && stream.state(TWO) == Some("unreachable") {
            let since = stream.state_since(TWO).expect("a state");
            notice = Some(since.saturating_duration_since(stopped));
        }
        assert!(
            notice.is_some() || stopped.elapsed() < HEARTBEAT,
            "two not reported unreachable in a status frame within {HEARTBEAT:?}: {}",
            stream.status
        );
        // Two's rows stay, as last known.
        let now = stream
            .row(TWO, &ns, "web-two")
            .expect("two's row while two is down");
        assert!(
            *now == two_row,
            "two's row changed while two is down: {}",
            differences(&two_row, now)
        );
        // Let the stream run a little between ticks (frames are applied meanwhile).
        let pause = Instant::now();
        while pause.elapsed() < Duration::from_secs(2) {
            stream.pump(Duration::from_millis(200)).await;
        }
    }
    phase("outage over");
    let notice = notice.expect("two reported unreachable during the outage");
    assert!(
        notice < HEARTBEAT,
        "two reported unreachable {notice:?} after its API server stopped (bound {HEARTBEAT:?})"
    );
    // What the REST API says meanwhile.
    let status = rest(&addr, get("/api/v1/status")).await.json();
    let two = cluster_status(&status, TWO);
    assert_eq!(two["state"], "unreachable", "{status}");
    assert!(
        two["since"].is_string() && two["problem"].is_object(),
        "{status}"
    );
    // Stale since: the last time it was synced, which the UI shows beside its rows.
    assert!(two["lastSyncedAt"].is_string(), "{status}");
    assert_eq!(two["rollouts"], 1, "{status}");
    assert_eq!(cluster_status(&status, ONE)["state"], "synced", "{status}");
    assert!(
        status["health"]["problem"].is_null(),
        "one cluster down never blanks the page: {status}"
    );
    let listed = list(&addr, &format!("/api/v1/rollouts?cluster={TWO}")).await;
    assert_eq!(
        keys(&listed),
        vec![key(TWO, &ns, "web-two")],
        "two's rows stay listed: {listed}"
    );
    let refused = act(&addr, (TWO, &ns, "web-two"), "restart", json!({}), &[]).await;
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(
        refused.json()["error"]["code"],
        "clusterUnavailable",
        "{}",
        refused.body
    );

    // The restart; the clock starts when the API server answers.
    cluster_command("start-apiserver", &name_2).await;
    guard.stopped = false;
    let restarted = Instant::now();
    within(
        Duration::from_secs(120),
        "answered by two's API server",
        apiserver_2_answers,
    )
    .await;
    let answered = Instant::now();
    let two_client = admin(TWO).await;
    // A change made right after: a new rollout (retried while the API server finishes starting:
    // it may answer /readyz before it serves the CRDs).
    within(
        Duration::from_secs(30),
        "created a rollout in two",
        || async {
            rollouts(&two_client, &ns)
                .create(
                    &Default::default(),
                    &canary("after-restart", "registry.test/app:1", (50, 100)),
                )
                .await
                .is_ok()
        },
    )
    .await;
    let created = answered.elapsed();
    stream
        .until(
            Duration::from_secs(120),
            "two synced with the new rollout",
            |s| s.state(TWO) == Some("synced") && s.row(TWO, &ns, "after-restart").is_some(),
        )
        .await;
    let recovery = answered.elapsed();
    phase("two current again");
    println!(
        "fleet outage of two for {:.0} s: one's changes kept arriving (slowest {:.2} s); two \
         reported unreachable after {:.1} s; two's API server answered {:.1} s after its start; \
         rollout created at +{:.1} s; two synced with it in the stream {:.1} s after the API \
         server answered",
        OUTAGE.as_secs_f64(),
        slowest_tick.as_secs_f64(),
        notice.as_secs_f64(),
        answered.duration_since(restarted).as_secs_f64(),
        created.as_secs_f64(),
        recovery.as_secs_f64(),
    );
    assert!(
        recovery < RECOVERY_GOAL,
        "two current {recovery:?} after its API server answered (goal {RECOVERY_GOAL:?})"
    );
    let status = rest(&addr, get("/api/v1/status")).await.json();
    assert_eq!(cluster_status(&status, TWO)["state"], "synced", "{status}");
    // One kept flowing the whole time; a last change after the restart still arrives.
    n += 1;
    tick(n).await;
    let want = n.to_string();
    stream
        .until(SHOW, "one's tick after the restart", |s| {
            s.row(ONE, &ns, "web-one").unwrap()["labels"]["e2e.example/tick"] == want.as_str()
        })
        .await;
    phase("one's change after the restart shown");
    // Leave the cluster whole for the tests that follow: the controller manager (restarted by
    // start-apiserver if it lost its lease) makes the new rollout's pods.
    // Two's later changes flow too (not only its relist): the controller's work on the new
    // rollout shows in its row. This also leaves the cluster whole for what follows: the
    // controllers (restarted by start-apiserver if they lost their lease) are back at work.
    let took = stream
        .until(
            Duration::from_secs(180),
            "two's new rollout Healthy with its pods",
            |s| {
                s.row(TWO, &ns, "after-restart")
                    .is_some_and(|r| r["status"] == "Healthy" && row_complete(r))
            },
        )
        .await;
    phase(&format!(
        "two's new rollout Healthy in the stream ({:.1} s: the controllers' recovery)",
        took.as_secs_f64()
    ));
    delete_namespace_in_both(&ns).await;
}

// ---------------------------------------------------------------------------------------------
// 4. The single-cluster paths need a cluster once there are two

#[tokio::test]
async fn single_cluster_paths_answer_cluster_required_with_two_clusters() {
    let ns = namespace_in_both("paths").await;
    for (_, client) in admins().await {
        create(
            &client,
            &ns,
            &canary("web", "registry.test/app:1", (50, 100)),
        )
        .await;
    }
    let dir = TempDir::new("paths");
    let addr = fleet_dashboard(&dir.0, &[&ns], &[]).await;
    within(WAIT, "both rows listed", || async {
        keys(&list(&addr, "/api/v1/rollouts").await).len() == 2
    })
    .await;
    let old = format!("/api/v1/namespaces/{ns}/rollouts/web");
    for req in [
        get(&old),
        get(&format!("{old}/permissions")),
        post(&format!("{old}/restart"))
            .json(&json!({}))
            .write_headers(),
        post(&format!("{old}/promote"))
            .json(&json!({}))
            .write_headers(),
    ] {
        let reply = rest(&addr, req).await;
        assert_eq!(reply.status, 400, "{}", reply.body);
        let body = reply.json();
        assert_eq!(body["error"]["code"], "clusterRequired", "{}", reply.body);
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(ONE) && message.contains(TWO),
            "the answer names the clusters: {message}"
        );
    }
    // Nothing was restarted in either cluster.
    for (which, client) in admins().await {
        let object = rollouts(&client, &ns).get("web").await.unwrap();
        assert!(
            object.data["spec"]["restartAt"].is_null(),
            "{which}: {:?}",
            object.data["spec"]
        );
    }
    // The cluster paths work.
    for which in [ONE, TWO] {
        let reply = rest(
            &addr,
            get(&format!(
                "/api/v1/clusters/{which}/namespaces/{ns}/rollouts/web"
            )),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    // The stream too: a rollout subscription names its cluster.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/stream"))
        .await
        .unwrap();
    for frame in
        [json!({"type": "subscribeRollout", "cluster": TWO, "namespace": ns, "name": "web"})]
    {
        ws.send(Message::Text(frame.to_string().into()))
            .await
            .unwrap();
    }
    let deadline = Instant::now() + SHOW;
    let detail = loop {
        assert!(
            Instant::now() < deadline,
            "no detail frame for two's rollout"
        );
        let frame = common::next_json(&mut ws).await;
        let frames = if frame["type"] == "batch" {
            frame["frames"].as_array().unwrap().clone()
        } else {
            vec![frame]
        };
        if let Some(d) = frames.into_iter().find(|f| f["type"] == "detail") {
            break d;
        }
    };
    assert_eq!(detail["rollout"]["summary"]["cluster"], TWO, "{detail}");
    delete_namespace_in_both(&ns).await;
}

// ---------------------------------------------------------------------------------------------
// 5. --auth proxy: permissions are per cluster

/// A Role in `ns` with `rules` bound to user `who`, in one cluster.
async fn grant(client: &kube::Client, ns: &str, name: &str, rules: Value, who: &str) {
    let ssa = PatchParams::apply("e2e-fleet").force();
    let role: Role =
        serde_json::from_value(json!({"metadata": {"name": name}, "rules": rules})).unwrap();
    Api::<Role>::namespaced(client.clone(), ns)
        .patch(name, &ssa, &Patch::Apply(&role))
        .await
        .expect("role");
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": who}],
    }))
    .unwrap();
    Api::<RoleBinding>::namespaced(client.clone(), ns)
        .patch(name, &ssa, &Patch::Apply(&binding))
        .await
        .expect("rolebinding");
}

#[tokio::test]
async fn proxy_mode_permissions_are_checked_in_each_cluster() {
    let ns = namespace_in_both("auth").await;
    let name = "checkout";
    paused_in_both(&ns, name).await;
    let who = format!("e2e-fleet-writer-{}", std::process::id());
    // Allowed in one only: read and act on rollouts there, nothing in two.
    let rules = json!([
        {"apiGroups": ["argoproj.io"], "resources": ["rollouts"], "verbs": ["get", "list", "watch", "patch"]},
        {"apiGroups": ["argoproj.io"], "resources": ["rollouts/status"], "verbs": ["patch"]},
        {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["list"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]}
    ]);
    grant(&admin(ONE).await, &ns, "fleet-writer", rules, &who).await;

    let dir = TempDir::new("auth");
    let addr = fleet_dashboard(&dir.0, &[&ns], &["--auth", "proxy"]).await;
    let as_user = [format!("x-forwarded-user: {who}")];
    let get_as = |path: String| {
        let addr = addr.clone();
        let who = who.clone();
        async move {
            rest(
                &addr,
                get(&path)
                    .header("host", &addr.to_string())
                    .header("x-forwarded-user", &who),
            )
            .await
        }
    };
    // The admin-side cache has both rows; the user sees one's only.
    let start = Instant::now();
    loop {
        let reply = get_as("/api/v1/rollouts".into()).await;
        if keys(&reply.json()) == vec![key(ONE, &ns, name)] {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "the user's list never held just one's row: {} {}",
            reply.status,
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let me = get_as("/api/v1/whoami".into()).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["user"], who.as_str(), "{}", me.body);
    assert_eq!(
        me.json()["clusters"],
        json!([{"name": ONE, "signedIn": true}, {"name": TWO, "signedIn": true}]),
        "{}",
        me.body
    );

    wait_synced(&addr, &as_user).await;
    // Permissions per cluster.
    let perms =
        |c: &str| format!("/api/v1/clusters/{c}/namespaces/{ns}/rollouts/{name}/permissions");
    let one_perms = get_as(perms(ONE)).await;
    assert_eq!(one_perms.status, 200, "{}", one_perms.body);
    assert_eq!(
        one_perms.json()["actions"]["promote"],
        true,
        "{}",
        one_perms.body
    );
    let two_perms = get_as(perms(TWO)).await;
    assert!(
        two_perms.status == 403
            || (two_perms.status == 200 && two_perms.json()["actions"]["promote"] == false),
        "the user may not promote in two: {} {}",
        two_perms.status,
        two_perms.body
    );

    // Promote: refused in two by two's RBAC, done in one.
    promote_refused_in_two_done_in_one(&addr, &ns, name, &as_user, 403).await;
    // The Event in one names the person and the cluster.
    let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(admin(ONE).await, &ns);
    let events = events.list(&Default::default()).await.unwrap();
    assert!(
        events
            .items
            .iter()
            .any(|e| e.reason.as_deref() == Some("PromotedFromDashboard")
                && e.message.as_deref().is_some_and(|m| m.contains(&who))),
        "no PromotedFromDashboard Event naming {who} in one: {:?}",
        events.items.iter().map(|e| &e.message).collect::<Vec<_>>()
    );
    delete_namespace_in_both(&ns).await;
}

// ---------------------------------------------------------------------------------------------
// 6. --auth token: a token signs in to the clusters that accept it

#[tokio::test]
async fn token_mode_signs_in_to_the_cluster_that_accepts_the_token_only() {
    use k8s_openapi::api::core::v1::ServiceAccount;
    let ns = namespace_in_both("token").await;
    let name = "checkout";
    paused_in_both(&ns, name).await;
    // A ServiceAccount of cluster one, allowed to read and act there; its token means nothing
    // to cluster two (another issuer and signing key).
    let one = admin(ONE).await;
    let sas: Api<ServiceAccount> = Api::namespaced(one.clone(), &ns);
    let sa: ServiceAccount =
        serde_json::from_value(json!({"metadata": {"name": "deployer"}})).unwrap();
    match sas.create(&Default::default(), &sa).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => panic!("{e}"),
    }
    let ssa = PatchParams::apply("e2e-fleet").force();
    let rules = json!([
        {"apiGroups": ["argoproj.io"], "resources": ["rollouts"], "verbs": ["get", "list", "watch", "patch"]},
        {"apiGroups": ["argoproj.io"], "resources": ["rollouts/status"], "verbs": ["patch"]},
        {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["list"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]}
    ]);
    let role: Role =
        serde_json::from_value(json!({"metadata": {"name": "deployer"}, "rules": rules})).unwrap();
    Api::<Role>::namespaced(one.clone(), &ns)
        .patch("deployer", &ssa, &Patch::Apply(&role))
        .await
        .expect("role");
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "deployer"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
        "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": ns}],
    }))
    .unwrap();
    Api::<RoleBinding>::namespaced(one.clone(), &ns)
        .patch("deployer", &ssa, &Patch::Apply(&binding))
        .await
        .expect("rolebinding");
    let token = common::service_account_token(&sas, "deployer", 600).await;

    let dir = TempDir::new("token");
    let addr = fleet_dashboard(&dir.0, &[&ns], &["--auth", "token"]).await;
    // Sign in (the form's CSRF cookie, then the token).
    let page = rest(
        &addr,
        get("/auth/sign-in").header("host", &addr.to_string()),
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page
        .headers_named("set-cookie")
        .into_iter()
        .find_map(|c| c.strip_prefix("rd_csrf="))
        .and_then(|s| s.split(';').next())
        .expect("a CSRF cookie")
        .to_owned();
    let signed = rest(
        &addr,
        post("/auth/sign-in")
            .header("host", &addr.to_string())
            .header("origin", &format!("http://{addr}"))
            .header("cookie", &format!("rd_csrf={csrf}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={csrf}&token={token}")),
    )
    .await;
    assert_eq!(
        signed.status, 303,
        "a token one cluster accepts signs in: {}",
        signed.body
    );
    let session = signed
        .headers_named("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("rd_session="))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let as_user = [format!("cookie: {session}")];
    let get_as = |path: String| {
        let addr = addr.clone();
        let session = session.clone();
        async move {
            rest(
                &addr,
                get(&path)
                    .header("host", &addr.to_string())
                    .header("cookie", &session),
            )
            .await
        }
    };
    let me = get_as("/api/v1/whoami".into()).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(
        me.json()["user"],
        format!("system:serviceaccount:{ns}:deployer"),
        "{}",
        me.body
    );
    assert_eq!(
        me.json()["clusters"],
        json!([{"name": ONE, "signedIn": true}, {"name": TWO, "signedIn": false}]),
        "{}",
        me.body
    );
    // Only one's rows are listed; two's detail says "not signed in".
    let start = Instant::now();
    loop {
        let reply = get_as("/api/v1/rollouts".into()).await;
        if keys(&reply.json()) == vec![key(ONE, &ns, name)] {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "the list never held just one's row: {} {}",
            reply.status,
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let detail = get_as(format!(
        "/api/v1/clusters/{TWO}/namespaces/{ns}/rollouts/{name}"
    ))
    .await;
    assert_eq!(detail.status, 401, "{}", detail.body);
    assert_eq!(
        detail.json()["error"]["code"],
        "notSignedIn",
        "{}",
        detail.body
    );

    wait_synced(&addr, &as_user).await;
    // Actions: to two, 401 notSignedIn and nothing written; to one, done with the token.
    let refused = promote_refused_in_two_done_in_one(&addr, &ns, name, &as_user, 401).await;
    assert_eq!(
        refused.json()["error"]["code"],
        "notSignedIn",
        "{}",
        refused.body
    );

    // Signing out ends the session on every cluster.
    let out = rest(
        &addr,
        post("/auth/sign-out")
            .write_headers()
            .header("host", &addr.to_string())
            .header("cookie", &session),
    )
    .await;
    assert_eq!(out.status, 204, "{}", out.body);
    assert_eq!(get_as("/api/v1/whoami".into()).await.status, 401);
    delete_namespace_in_both(&ns).await;
}
