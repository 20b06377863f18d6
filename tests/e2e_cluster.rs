//! End-to-end tests against the real cluster of tests/cluster (kube-apiserver on etcd, the
//! real Argo Rollouts controller, kwok nodes). `tests/run-all.sh` brings the cluster up and
//! sets ROLLOUTS_DASHBOARD_E2E_KUBECONFIG; without it these tests FAIL, they never skip.
//!
//! Each test creates its own namespace and its own dashboard (in-process, on a free port)
//! and follows rollouts through the dashboard's HTTP API and WebSocket stream while the
//! controller moves them.

mod common;

use std::time::{Duration, Instant};

use common::{FollowedCopy, Served, Socket, get, maybe_json, next_snapshot, post, send};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(150);

async fn client() -> kube::Client {
    common::e2e_client().await
}

/// A fresh namespace for one test.
async fn namespace(client: &kube::Client, prefix: &str) -> String {
    let name = format!("e2e-{prefix}-{}", std::process::id());
    common::e2e_create_namespace(client, &name).await;
    name
}

/// Creates every object of an example YAML file in `ns`.
async fn create_from(client: &kube::Client, ns: &str, file: &str) {
    common::e2e_create_example(client, ns, file).await;
}

fn rollouts_api(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        ns,
        &rollouts_dashboard::source::cluster::api_resource(
            rollouts_dashboard::model::Kind::Rollout,
        ),
    )
}

/// Changes the first container's image with the Kubernetes API (as a CI pipeline would).
async fn set_image_directly(client: &kube::Client, ns: &str, name: &str, image: &str) {
    let patch = json!([{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": image}]);
    let patch: json_patch::Patch = serde_json::from_value(patch).unwrap();
    rollouts_api(client, ns)
        .patch(name, &PatchParams::default(), &Patch::Json::<()>(patch))
        .await
        .expect("patch image");
}

/// A dashboard on the cluster, watching `ns`, served on a free port.
async fn dashboard(ns: &str) -> Served {
    common::e2e_dashboard(&[ns], &[]).await
}

async fn detail(addr: &Served, ns: &str, name: &str) -> Value {
    let reply = addr
        .send(get(&format!(
            "/api/v1/clusters/{}/namespaces/{ns}/rollouts/{name}",
            common::e2e_cluster_name()
        )))
        .await;
    if reply.status == 200 {
        reply.json()
    } else {
        Value::Null
    }
}

/// How long the rollout may sit unchanged in the cluster, while a test waits for it to
/// move, before [`ControllerWaker`] touches it.
const IDLE_BEFORE_WAKE: Duration = Duration::from_secs(15);

/// Wakes the Argo Rollouts controller when it sits on a stale copy of a rollout.
///
/// After each reconcile, the v1.9 controller writes the object its own last write returned
/// back into its informer cache. When another write (one of ours) landed in between, the
/// write-back replaces the newer object in the cache with the older one, and the controller
/// does nothing more until the rollout changes again: here `generation` 9 with
/// `observedGeneration` 8 for minutes, in about 1 run of 6 of the actions test. Upstream
/// fixed it in v1.10 (argoproj/argo-rollouts#4786 removed the write-back, #4784 ends a
/// reconcile after its own write). The API server holds our write, so what the dashboard is
/// tested for is done; a metadata-only change makes the controller read the rollout again, as
/// any later change would for a person. Every wake-up is printed.
///
/// Only a v1.9 controller is woken: on the v1.10 cluster (`ROLLOUTS_DASHBOARD_ARGO_VERSION`,
/// set by `tests/cluster/cluster.sh env`) the suite runs without the workaround, so a rollout
/// that the controller leaves behind fails the wait instead of being nudged on.
///
/// A wake-up must never hide a fault of ours: a dashboard that missed a watch event would
/// also recover from the touch. So before touching, the resourceVersion the dashboard shows
/// is compared with the cluster's; if the dashboard is behind a rollout that has sat still
/// for [`IDLE_BEFORE_WAKE`], the test fails instead.
struct ControllerWaker {
    client: kube::Client,
    last_resource_version: String,
    unchanged_since: Instant,
    wakes: u32,
    /// Whether the cluster's controller has the stale write-back (v1.9), so may be woken.
    may_wake: bool,
}

/// Whether the Argo Rollouts release of the test cluster writes its own last write back to
/// its informer (before v1.10). Without `ROLLOUTS_DASHBOARD_ARGO_VERSION` the cluster is the
/// default one, v1.9.
fn controller_writes_back_to_informer() -> bool {
    let version = std::env::var("ROLLOUTS_DASHBOARD_ARGO_VERSION").unwrap_or_default();
    let mut parts = version.trim_start_matches('v').split('.');
    let (major, minor) = (parts.next(), parts.next());
    match (major, minor) {
        (Some(major), Some(minor)) => {
            let major: u32 = major
                .parse()
                .expect("ROLLOUTS_DASHBOARD_ARGO_VERSION: vMAJOR.MINOR.PATCH");
            let minor: u32 = minor
                .parse()
                .expect("ROLLOUTS_DASHBOARD_ARGO_VERSION: vMAJOR.MINOR.PATCH");
            (major, minor) < (1, 10)
        }
        _ => true,
    }
}

impl ControllerWaker {
    async fn new() -> ControllerWaker {
        ControllerWaker {
            client: client().await,
            last_resource_version: String::new(),
            unchanged_since: Instant::now(),
            wakes: 0,
            may_wake: controller_writes_back_to_informer(),
        }
    }

    /// The next frame within a second, if any; the rollout is checked (and woken) either way.
    /// `shown` is the resourceVersion of the copy the test holds before this frame.
    async fn next_frame(
        &mut self,
        ws: &mut Socket,
        (ns, name): (&str, &str),
        what: &str,
        shown: Option<&str>,
    ) -> Option<Value> {
        let frame = maybe_json(ws, Duration::from_secs(1)).await;
        self.check(ns, name, what, shown).await;
        frame
    }

    /// Touches the rollout when it has not changed for [`IDLE_BEFORE_WAKE`], after checking
    /// that the dashboard (which shows resourceVersion `shown`, if anything) is not behind.
    async fn check(&mut self, ns: &str, name: &str, what: &str, shown: Option<&str>) {
        let Ok(rollout) = rollouts_api(&self.client, ns).get(name).await else {
            return;
        };
        let rv = rollout
            .metadata
            .resource_version
            .clone()
            .unwrap_or_default();
        if rv != self.last_resource_version {
            self.last_resource_version = rv;
            self.unchanged_since = Instant::now();
            return;
        }
        if self.unchanged_since.elapsed() < IDLE_BEFORE_WAKE {
            return;
        }
        if let Some(shown) = shown {
            assert_eq!(
                shown,
                self.last_resource_version,
                "{ns}/{name}: the cluster's rollout has not changed for {}s, and the dashboard \
                 still shows an older resourceVersion: a missed watch event",
                IDLE_BEFORE_WAKE.as_secs()
            );
        }
        if !self.may_wake {
            // v1.10 and later: no nudge; the caller's wait fails if the controller never moves.
            eprintln!(
                "{ns}/{name}: unchanged for {}s while waiting for \"{what}\" (generation {:?}, \
                 observed {}); not woken: this controller has no stale write-back",
                IDLE_BEFORE_WAKE.as_secs(),
                rollout.metadata.generation,
                rollout.data["status"]["observedGeneration"],
            );
            self.unchanged_since = Instant::now();
            return;
        }
        self.wakes += 1;
        eprintln!(
            "{ns}/{name}: unchanged for {}s while waiting for \"{what}\" (generation {:?}, observed {}); \
             touching an annotation to wake the controller (argoproj/argo-rollouts#4784), wake-up {}",
            IDLE_BEFORE_WAKE.as_secs(),
            rollout.metadata.generation,
            rollout.data["status"]["observedGeneration"],
            self.wakes
        );
        let touch =
            json!({"metadata": {"annotations": {"e2e.example/wake": self.wakes.to_string()}}});
        rollouts_api(&self.client, ns)
            .patch(name, &PatchParams::default(), &Patch::Merge(&touch))
            .await
            .expect("touch the rollout");
        self.unchanged_since = Instant::now();
    }
}

/// Polls the dashboard's detail endpoint until `pred` holds.
async fn wait_detail(
    addr: &Served,
    ns: &str,
    name: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    let mut waker = ControllerWaker::new().await;
    loop {
        let d = detail(addr, ns, name).await;
        if !d.is_null() && pred(&d) {
            return d;
        }
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting for {ns}/{name}: {what}; last summary: {}",
            d["summary"]
        );
        waker
            .check(ns, name, what, summary(&d)["resourceVersion"].as_str())
            .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn action(addr: &Served, ns: &str, name: &str, action: &str, body: Value) -> (u16, Value) {
    let reply = addr
        .send(
            post(&format!(
                "/api/v1/clusters/{}/namespaces/{ns}/rollouts/{name}/{action}",
                common::e2e_cluster_name()
            ))
            .json(&body)
            .write_headers(),
        )
        .await;
    (reply.status, reply.json())
}

/// Reads detail frames, following `detailPatch`es from the copy they name as the browser
/// does, until the detail satisfies `pred`; returns it. `copy` starts as `Value::Null` (the
/// first frame of a subscription is a whole `detail`) and holds `(seq, detail)`.
async fn wait_detail_frame(
    ws: &mut Socket,
    copy: &mut (u64, Value),
    (ns, name): (&str, &str),
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    let mut waker = ControllerWaker::new().await;
    loop {
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting on the stream for {what}; last detail summary: {}",
            copy.1["summary"]
        );
        let shown = copy.1["summary"]["resourceVersion"]
            .as_str()
            .map(str::to_owned);
        let Some(frame) = waker
            .next_frame(ws, (ns, name), what, shown.as_deref())
            .await
        else {
            continue;
        };
        let seq = frame["seq"].as_u64().unwrap_or(0);
        match frame["type"].as_str() {
            Some("detail") => *copy = (seq, frame["rollout"].clone()),
            Some("detailPatch") => {
                assert_eq!(
                    frame["base"].as_u64(),
                    Some(copy.0),
                    "patch of another copy: {frame}"
                );
                let patch: json_patch::Patch =
                    serde_json::from_value(frame["patch"].clone()).expect("an RFC 6902 patch");
                json_patch::patch(&mut copy.1, &patch).expect("the patch fits the copy");
                copy.0 = seq;
            }
            _ => {}
        }
        if !copy.1.is_null() && pred(&copy.1) {
            return copy.1.clone();
        }
    }
}

/// Reads list frames, applying those of `copy`'s rollout as the browser does, until the
/// summary satisfies `pred`; returns it.
async fn wait_summary(
    ws: &mut Socket,
    copy: &mut FollowedCopy,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let name = copy.summary["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let ns = copy.summary["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let start = Instant::now();
    let mut waker = ControllerWaker::new().await;
    loop {
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting on the stream for {what}; last summary: {}",
            copy.summary
        );
        let shown = copy.summary["resourceVersion"].as_str().map(str::to_owned);
        let Some(frame) = waker
            .next_frame(ws, (&ns, &name), what, shown.as_deref())
            .await
        else {
            continue;
        };
        match frame["type"].as_str() {
            Some("upsert") if frame["rollout"]["name"] == name => {
                *copy = FollowedCopy::from_upsert(&frame);
            }
            Some("patch") if frame["name"] == name => copy.apply_patch(&frame),
            _ => continue,
        }
        if pred(&copy.summary) {
            return copy.summary.clone();
        }
    }
}

fn summary(d: &Value) -> &Value {
    &d["summary"]
}

fn canary_rs(d: &Value) -> Option<&Value> {
    d["revisions"]
        .as_array()?
        .iter()
        .flat_map(|r| r["replicaSets"].as_array().into_iter().flatten())
        .find(|rs| {
            rs["roles"]
                .as_array()
                .is_some_and(|roles| roles.iter().any(|r| r == "canary"))
        })
}

/// Brings rollout-canary to its first pause step, watching the stream while it happens.
async fn canary_paused_at_first_step(client: &kube::Client, addr: &Served, ns: &str) -> Value {
    create_from(client, ns, "rollout-canary.yaml").await;
    wait_detail(addr, ns, "rollout-canary", "Healthy after creation", |d| {
        summary(d)["status"] == "Healthy"
    })
    .await;
    let ws_addr = addr.addr;
    let mut ws = common::connect(ws_addr, "").await;
    send(
        &mut ws,
        json!({"type": "subscribeList", "namespaces": [ns]}),
    )
    .await;
    let snapshot = next_snapshot(&mut ws).await;
    assert_eq!(snapshot["rollouts"][0]["name"], "rollout-canary");

    set_image_directly(
        client,
        ns,
        "rollout-canary",
        "argoproj/rollouts-demo:yellow",
    )
    .await;
    let mut copy = FollowedCopy::from_snapshot(
        snapshot["rollouts"][0].clone(),
        snapshot["seq"].as_u64().expect("snapshot seq"),
    );
    let paused = wait_summary(&mut ws, &mut copy, "the canary paused at step 1", |r| {
        r["status"] == "Paused" && r["stepIndex"] == 1
    })
    .await;
    assert_eq!(paused["step"], "1/8");
    assert_eq!(paused["setWeight"], 20);
    assert_eq!(paused["message"], "CanaryPauseStep");
    // The new ReplicaSet's pod is Ready on a kwok node.
    wait_detail(addr, ns, "rollout-canary", "the canary pod Ready", |d| {
        canary_rs(d).is_some_and(|rs| {
            rs["available"] == 1
                && rs["pods"].as_array().is_some_and(|pods| {
                    pods.len() == 1 && pods[0]["ready"] == "1/1" && pods[0]["status"] == "Running"
                })
        })
    })
    .await
}

#[tokio::test]
async fn a_canary_moves_through_the_api_and_the_stream() {
    let client = client().await;
    let ns = namespace(&client, "stream").await;
    let addr = dashboard(&ns).await;
    let d = canary_paused_at_first_step(&client, &addr, &ns).await;
    assert_eq!(
        summary(&d)["actualWeight"],
        20,
        "1 of 5 available pods is canary"
    );
    let images: Vec<&str> = summary(&d)["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["image"].as_str().unwrap())
        .collect();
    assert_eq!(
        images,
        [
            "argoproj/rollouts-demo:blue",
            "argoproj/rollouts-demo:yellow"
        ]
    );
    let ready = addr.send(get("/readyz")).await;
    assert_eq!(ready.status, 200, "{}", ready.body);
}

/// The reasons of the Events in a detail's history, newest first.
fn history_reasons(d: &Value) -> Vec<&str> {
    d["history"]["events"]
        .as_array()
        .map(|es| es.iter().filter_map(|e| e["reason"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_history_holds_the_controllers_events_and_ours_naming_the_person() {
    let client = client().await;
    let ns = namespace(&client, "history").await;
    let addr = dashboard(&ns).await;
    let name = "rollout-canary";
    canary_paused_at_first_step(&client, &addr, &ns).await;
    // At the pause: the controller's Events of the update and its first step are in the
    // history, the step's times come from them, and the wait is dated by the pause condition.
    let d = wait_detail(&addr, &ns, name, "the controller's Events", |d| {
        let reasons = history_reasons(d);
        reasons.contains(&"RolloutUpdated") && reasons.contains(&"RolloutStepCompleted")
    })
    .await;
    assert!(d["history"]["unavailable"].is_null(), "{}", d["history"]);
    let controller = &d["history"]["events"][0]["source"];
    assert_eq!(controller, "rollouts-controller", "{}", d["history"]);
    let step = &d["steps"][0];
    assert!(
        step["beganAt"].is_string() && step["endedAt"].is_string(),
        "step 1's times from RolloutUpdated and RolloutStepCompleted: {step}"
    );
    let pause_start = d["pauseConditions"][0]["startTime"].clone();
    assert_eq!(d["steps"][1]["beganAt"], pause_start);
    assert_eq!(
        summary(&d)["waiting"],
        json!({"kind": "promotion", "since": pause_start})
    );

    let (code, body) = action(&addr, &ns, name, "promote", json!({})).await;
    assert_eq!(code, 200, "{body}");
    let d = wait_detail(&addr, &ns, name, "our Event in the history", |d| {
        history_reasons(d).contains(&"PromotedFromDashboard")
    })
    .await;
    let events = d["history"]["events"].as_array().unwrap();
    let ours = events
        .iter()
        .find(|e| e["reason"] == "PromotedFromDashboard")
        .unwrap();
    assert_eq!(ours["by"], "local user (--auth none)", "{ours}");
    assert_eq!(ours["action"], "promoted");
    assert_eq!(ours["source"], "rollouts-dashboard");
    // Both kinds side by side, newest first.
    assert!(
        events
            .iter()
            .any(|e| e["source"] == "rollouts-controller" && e["reason"] == "RolloutStepCompleted"),
        "{}",
        d["history"]
    );
    let times: Vec<jiff::Timestamp> = events
        .iter()
        .filter_map(|e| e["time"].as_str()?.parse().ok())
        .collect();
    assert_eq!(times.len(), events.len(), "every Event has a time");
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
}

#[tokio::test]
async fn canary_actions_do_what_the_plugin_does() {
    let client = client().await;
    let ns = namespace(&client, "actions").await;
    let addr = dashboard(&ns).await;
    let name = "rollout-canary";
    canary_paused_at_first_step(&client, &addr, &ns).await;

    // A promote from a stale view (the person saw step 0) is refused and nothing moves.
    let (code, body) = action(
        &addr,
        &ns,
        name,
        "promote",
        json!({"seen": {"stepIndex": 0}}),
    )
    .await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(body["error"]["code"], "stale");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(summary(&detail(&addr, &ns, name).await)["stepIndex"], 1);

    // Promote from the step the person saw moves it on, and the stream shows it.
    let mut ws = common::connect(addr.addr, "").await;
    send(
        &mut ws,
        json!({"type": "subscribeRollout", "cluster": common::e2e_cluster_name(),
               "namespace": ns, "name": name}),
    )
    .await;
    let (code, body) = action(
        &addr,
        &ns,
        name,
        "promote",
        json!({"seen": {"stepIndex": 1}}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["message"], "rollout 'rollout-canary' promoted");
    let mut copy = (0, Value::Null);
    wait_detail_frame(
        &mut ws,
        &mut copy,
        (&ns, name),
        "step past the pause",
        |d| d["summary"]["stepIndex"].as_i64().unwrap_or(0) >= 2,
    )
    .await;
    // The promotion is on record in the cluster's history, next to the controller's events.
    let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client.clone(), &ns);
    let recorded = events
        .list(&Default::default())
        .await
        .expect("list events")
        .items
        .into_iter()
        .any(|e| {
            e.reason.as_deref() == Some("PromotedFromDashboard")
                && e.involved_object.name.as_deref() == Some(name)
        });
    assert!(recorded, "no PromotedFromDashboard event on {ns}/{name}");
    // A second click carrying the same (now stale) view does not advance another step.
    let (code, _) = action(
        &addr,
        &ns,
        name,
        "promote",
        json!({"seen": {"stepIndex": 1}}),
    )
    .await;
    assert_eq!(code, 409);

    // Pause and resume.
    let (code, body) = action(&addr, &ns, name, "pause", json!({})).await;
    assert_eq!(code, 200, "{body}");
    wait_detail(&addr, &ns, name, "manually paused", |d| {
        summary(d)["status"] == "Paused" && summary(d)["paused"] == true
    })
    .await;
    let (code, body) = action(&addr, &ns, name, "resume", json!({})).await;
    assert_eq!(code, 200, "{body}");
    wait_detail(&addr, &ns, name, "resumed", |d| {
        summary(d)["paused"] == false
    })
    .await;

    // Abort: Degraded, canary scaled down. Retry resumes the update.
    let (code, body) = action(&addr, &ns, name, "abort", json!({})).await;
    assert_eq!(code, 200, "{body}");
    wait_detail(&addr, &ns, name, "aborted and scaled down", |d| {
        summary(d)["status"] == "Degraded" && canary_rs(d).is_some_and(|rs| rs["replicas"] == 0)
    })
    .await;
    let (code, body) = action(&addr, &ns, name, "retry", json!({})).await;
    assert_eq!(code, 200, "{body}");
    // Wait for what a person would see before the next click: the retried canary paused at
    // step 1 again. A promote-full written while the controller was still reconciling the
    // retry was lost once here (the controller's status write dropped `promoteFull`), with the
    // same patch the plugin sends.
    wait_detail(
        &addr,
        &ns,
        name,
        "retried and paused at step 1 again",
        |d| {
            summary(d)["status"] == "Paused"
                && summary(d)["stepIndex"] == 1
                && canary_rs(d).is_some_and(|rs| rs["available"] == 1)
        },
    )
    .await;

    // Promote-full finishes it; a second one is refused as the UI refuses it (the server's
    // applicability rules, #15.13), and writes nothing.
    let (code, body) = action(&addr, &ns, name, "promote-full", json!({})).await;
    assert_eq!(code, 200, "{body}");
    let healthy = wait_detail(&addr, &ns, name, "fully promoted", |d| {
        summary(d)["status"] == "Healthy"
    })
    .await;
    assert_eq!(
        summary(&healthy)["stableRs"],
        summary(&healthy)["currentPodHash"]
    );
    let (code, body) = action(&addr, &ns, name, "promote-full", json!({})).await;
    assert_eq!(code, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("fully promoted")),
        "{body}"
    );

    // Restart restarts the pods.
    let (code, body) = action(&addr, &ns, name, "restart", json!({})).await;
    assert_eq!(code, 200, "{body}");
    wait_detail(&addr, &ns, name, "restarted", |d| {
        !summary(d)["restartedAt"].is_null()
    })
    .await;

    // set-image starts a new canary; undo restores the previous template.
    let (code, body) = action(
        &addr,
        &ns,
        name,
        "set-image",
        json!({"container": "rollouts-demo", "image": "argoproj/rollouts-demo:green"}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    wait_detail(&addr, &ns, name, "new canary paused", |d| {
        summary(d)["status"] == "Paused"
            && d["containers"][0]["image"] == "argoproj/rollouts-demo:green"
    })
    .await;
    let (code, body) = action(&addr, &ns, name, "undo", json!({})).await;
    assert_eq!(code, 200, "{body}");
    wait_detail(&addr, &ns, name, "template restored", |d| {
        d["containers"][0]["image"] == "argoproj/rollouts-demo:yellow"
            && summary(d)["status"] == "Healthy"
    })
    .await;

    // An unknown rollout is a 404 in words.
    let (code, body) = action(&addr, &ns, "nope", "promote", json!({})).await;
    assert_eq!(code, 404, "{body}");
}

#[tokio::test]
async fn blue_green_promote_switches_the_active_replica_set() {
    let client = client().await;
    let ns = namespace(&client, "bluegreen").await;
    let addr = dashboard(&ns).await;
    let name = "rollout-bluegreen";
    create_from(&client, &ns, "rollout-bluegreen.yaml").await;
    wait_detail(&addr, &ns, name, "Healthy", |d| {
        summary(d)["status"] == "Healthy"
    })
    .await;
    set_image_directly(&client, &ns, name, "argoproj/rollouts-demo:green").await;
    let paused = wait_detail(&addr, &ns, name, "BlueGreenPause", |d| {
        summary(d)["message"] == "BlueGreenPause"
    })
    .await;
    let new_hash = summary(&paused)["currentPodHash"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(paused["blueGreen"]["activeSelector"], json!(new_hash));
    assert_eq!(paused["blueGreen"]["previewSelector"], json!(new_hash));
    assert!(summary(&paused)["needsAttention"].as_bool().unwrap());
    let (code, body) = action(
        &addr,
        &ns,
        name,
        "promote",
        json!({"seen": {"podHash": new_hash}}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    wait_detail(&addr, &ns, name, "active switched", |d| {
        d["blueGreen"]["activeSelector"] == json!(new_hash) && summary(d)["status"] == "Healthy"
    })
    .await;
}

/// The dashboard's own backend, except that another writer (standing in for the controller)
/// changes the rollout just before the first patch lands.
struct RacedBackend {
    inner: rollouts_dashboard::actions::KubeBackend,
    client: kube::Client,
    raced: std::sync::atomic::AtomicBool,
}

impl rollouts_dashboard::actions::ActionBackend for RacedBackend {
    async fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Value, rollouts_dashboard::actions::BackendError> {
        self.inner.get(api_version, kind, namespace, name).await
    }

    async fn list_replica_sets(
        &self,
        namespace: &str,
        rollout_uid: &str,
    ) -> Result<Vec<Value>, rollouts_dashboard::actions::BackendError> {
        self.inner.list_replica_sets(namespace, rollout_uid).await
    }

    async fn patch(
        &self,
        patch: &rollouts_dashboard::actions::PlannedPatch,
    ) -> Result<Value, rollouts_dashboard::actions::BackendError> {
        if !self.raced.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let t = &patch.target;
            let touch = json!({"metadata": {"annotations": {"e2e.example/raced": "yes"}}});
            rollouts_api(&self.client, &t.namespace)
                .patch(&t.name, &PatchParams::default(), &Patch::Merge(&touch))
                .await
                .expect("the other writer's patch");
        }
        self.inner.patch(patch).await
    }

    async fn record_event(
        &self,
        rollout: &Value,
        reason: &str,
        message: &str,
    ) -> Result<(), rollouts_dashboard::actions::BackendError> {
        self.inner.record_event(rollout, reason, message).await
    }
}

/// A resourceVersion `test` that fails on the real API server (a bare 422 there) is a lost
/// race: the action reads again and succeeds, instead of failing with 422.
#[tokio::test]
async fn a_write_race_on_the_real_api_server_is_retried_not_reported_as_invalid() {
    use rollouts_dashboard::actions::{
        Action, BackendError, KubeBackend, PatchType, SeenState, execute,
    };
    let client = client().await;
    let ns = namespace(&client, "race").await;
    let name = "rollout-canary";
    create_from(&client, &ns, "rollout-canary.yaml").await;
    // Let the controller finish creating the rollout, so that the race is ours.
    let start = Instant::now();
    while rollouts_api(&client, &ns).get(name).await.unwrap().data["status"]["phase"] != "Healthy" {
        assert!(start.elapsed() < WAIT, "{ns}/{name} never became Healthy");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // What the server answers to a stale `test`, as the retry logic has to read it.
    let stale = json!([
        {"op": "test", "path": "/metadata/resourceVersion", "value": "1"},
        {"op": "replace", "path": "/spec/paused", "value": false},
    ]);
    let stale: json_patch::Patch = serde_json::from_value(stale).unwrap();
    let err = rollouts_api(&client, &ns)
        .patch(name, &PatchParams::default(), &Patch::Json::<()>(stale))
        .await
        .expect_err("a stale test fails");
    let err = rollouts_dashboard::actions::backend_error(err, "patch", "rollouts");
    assert!(matches!(err, BackendError::Invalid { .. }), "{err:?}");

    let backend = RacedBackend {
        inner: KubeBackend::new(client.clone()),
        client: client.clone(),
        raced: Default::default(),
    };
    let image = "argoproj/rollouts-demo:orange";
    let outcome = execute(
        &backend,
        &ns,
        name,
        &Action::SetImage {
            container: "rollouts-demo".into(),
            image: image.into(),
        },
        &SeenState::default(),
        "e2e",
    )
    .await
    .expect("set-image succeeds after losing the race");
    // At least our race; the controller may still add one of its own.
    assert!(outcome.attempts >= 2, "attempts: {}", outcome.attempts);
    assert_eq!(outcome.patches[0].patch_type, PatchType::Json);
    let stored = rollouts_api(&client, &ns).get(name).await.unwrap();
    assert_eq!(
        stored.data["spec"]["template"]["spec"]["containers"][0]["image"],
        image
    );
    assert_eq!(
        stored.metadata.annotations.unwrap_or_default()["e2e.example/raced"],
        "yes"
    );
}
