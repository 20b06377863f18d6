//! Scenario tests of the view model against upstream's `kubectl argo rollouts` fixtures.
//!
//! The fixtures are read in place from `../shared/fixtures/argo-rollouts-info/<scenario>/`; a
//! missing directory fails the test. Expected values come from the upstream semantics (upstream's
//! `pkg/kubectl-argo-rollouts/info` package and its `testdata`), not from this crate's output.
//! Scenarios whose files are not shipped (experiment-analysis, rollout-aborted) are rebuilt
//! here from upstream's description of them.

mod common;

use std::path::PathBuf;

use rollouts_dashboard::model::{Object, Rollout};
use rollouts_dashboard::view::{
    ImageInfo, Related, ReplicaSetView, RolloutDetail, RolloutSummary, rollout_detail,
};
use serde_json::{Value, json};

/// Scenarios shipped in the fixtures directory; each one has a test below.
const SCENARIOS: [&str; 4] = ["blue-green", "canary", "experiment-step", "rollout-invalid"];

fn fixtures_dir() -> PathBuf {
    common::fixture("argo-rollouts-info")
}

/// Loads a scenario like upstream's loader: files in name order, non-watched kinds dropped.
/// With `normalize_created`, every creationTimestamp is set to one value, as upstream does
/// (it sets them all to "now - 7 days"), so ties fall back to names as in the goldens.
fn load(scenario: &str, normalize_created: bool) -> Vec<Object> {
    let dir = fixtures_dir().join(scenario);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("fixture directory {} is missing: {e}", dir.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
        .iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(path).expect("readable fixture");
            let mut value: Value =
                serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if normalize_created {
                value["metadata"]["creationTimestamp"] = json!("2019-01-01T00:00:00Z");
            }
            Object::from_json(value).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect()
}

/// Objects built from JSON literals (for scenarios without fixture files).
fn objects(values: Vec<Value>) -> Vec<Object> {
    values
        .into_iter()
        .map(|v| {
            Object::from_json(v)
                .expect("valid object")
                .expect("watched kind")
        })
        .collect()
}

fn rollouts(objects: &[Object]) -> Vec<&Rollout> {
    objects
        .iter()
        .filter_map(|o| match o {
            Object::Rollout(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn related(objects: &[Object]) -> Related<'_> {
    let mut related = Related::default();
    for o in objects {
        match o {
            Object::ReplicaSet(rs) => related.replica_sets.push(rs),
            Object::Pod(p) => related.pods.push(p),
            Object::AnalysisRun(ar) => related.analysis_runs.push(ar),
            Object::Experiment(e) => related.experiments.push(e),
            Object::Rollout(_) => {}
        }
    }
    related
}

fn detail(objects: &[Object], name: &str) -> RolloutDetail {
    let ro = rollouts(objects)
        .into_iter()
        .find(|r| r.metadata.name == name)
        .unwrap_or_else(|| panic!("no rollout {name}"));
    rollout_detail(ro, &related(objects))
}

fn images(list: &[(&str, &[&str])]) -> Vec<ImageInfo> {
    list.iter()
        .map(|(image, tags)| ImageInfo {
            image: image.to_string(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
        })
        .collect()
}

fn all_rs(d: &RolloutDetail) -> Vec<&ReplicaSetView> {
    d.revisions.iter().flat_map(|r| &r.replica_sets).collect()
}

/// (name, revision, status, roles) of the rollout's ReplicaSets in view order, as text (as
/// upstream's figures write them).
fn rs_rows(s: &RolloutSummary) -> Vec<(String, i64, String, Vec<String>)> {
    s.replica_sets
        .iter()
        .map(|r| {
            (
                r.name.clone(),
                r.revision,
                r.status.to_string(),
                r.roles.iter().map(ToString::to_string).collect(),
            )
        })
        .collect()
}

fn row(name: &str, rev: i64, status: &str, roles: &[&str]) -> (String, i64, String, Vec<String>) {
    (
        name.to_string(),
        rev,
        status.to_string(),
        roles.iter().map(|r| r.to_string()).collect(),
    )
}

fn revisions(d: &RolloutDetail) -> Vec<i64> {
    d.revisions.iter().map(|r| r.revision).collect()
}

const CANARY_TIMEOUT: &str =
    "ProgressDeadlineExceeded: ReplicaSet \"canary-demo-65fb5ffc84\" has timed out progressing.";

#[test]
fn every_fixture_scenario_is_covered() {
    let dir = fixtures_dir();
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("fixture directory {} is missing: {e}", dir.display()))
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(found, SCENARIOS, "a new scenario needs its own test here");
    for scenario in SCENARIOS {
        assert!(!rollouts(&load(scenario, false)).is_empty(), "{scenario}");
    }
}

#[test]
fn canary_degraded_by_progress_deadline() {
    let objects = load("canary", false);
    let d = detail(&objects, "canary-demo");
    let s = d.summary();
    assert_eq!(s.namespace, "jesse-test");
    assert_eq!(s.uid, "b350ba76-f6ed-11e9-a15b-42010aa80033");
    assert_eq!(s.resource_version, "28253567");
    assert_eq!(s.strategy, "Canary");
    assert_eq!(s.status, "Degraded");
    assert_eq!(s.message, CANARY_TIMEOUT);
    assert_eq!(s.step.as_deref(), Some("0/8"));
    assert_eq!((s.step_index, s.step_count), (Some(0), 8));
    assert_eq!(s.set_weight, Some(20));
    // 0 canary pods available out of 5.
    assert_eq!(s.actual_weight, Some(0));
    assert_eq!(
        s.images,
        images(&[
            ("argoproj/rollouts-demo:does-not-exist", &["canary"]),
            ("argoproj/rollouts-demo:green", &["stable"]),
        ])
    );
    assert_eq!(
        (s.replicas.desired, s.replicas.current, s.replicas.updated),
        (5, 6, 1)
    );
    assert_eq!((s.replicas.ready, s.replicas.available), (5, 5));
    assert_eq!(
        rs_rows(&s),
        [
            row("canary-demo-65fb5ffc84", 31, "Progressing", &["canary"]),
            row("canary-demo-877894d5b", 30, "Healthy", &["stable"]),
            row("canary-demo-859c99b45c", 29, "ScaledDown", &[]),
        ]
    );
    assert_eq!(revisions(&d), [31, 30, 29]);
    assert!(d.revisions[0].current && !d.revisions[1].current);
    assert_eq!(s.current_pod_hash.as_deref(), Some("65fb5ffc84"));
    assert_eq!(s.stable_rs.as_deref(), Some("877894d5b"));

    let canary_rs = &all_rs(&d)[0];
    assert_eq!(canary_rs.pods.len(), 1);
    let pod = &canary_rs.pods[0];
    assert_eq!(pod.name, "canary-demo-65fb5ffc84-9wf5r");
    assert_eq!(
        (pod.status.as_str(), pod.ready.as_str()),
        ("ImagePullBackOff", "0/1")
    );
    assert_eq!(
        (pod.icon.as_str(), pod.icon_class.as_str()),
        ("⚠", "warning")
    );
    assert_eq!(pod.restarts, 0);
    let stable = &all_rs(&d)[1];
    assert_eq!(stable.pods.len(), 5);
    assert!(
        stable
            .pods
            .iter()
            .all(|p| p.status == "Running" && p.ready == "1/1")
    );
    // Pods are ordered by creation time (the fixture times increase with the file number).
    let names: Vec<_> = stable.pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "canary-demo-877894d5b-6jfpt",
            "canary-demo-877894d5b-kh7x4",
            "canary-demo-877894d5b-7jmqw",
            "canary-demo-877894d5b-j8g2b",
            "canary-demo-877894d5b-jw5qm"
        ]
    );
    // Revision images include scaled-down ReplicaSets (for rollback).
    assert_eq!(
        d.revisions[2].images,
        images(&[("argoproj/rollouts-demo:asdf", &[])])
    );

    // All 8 steps, the first current (upstream shows all done at index 0).
    let steps: Vec<_> = d
        .steps
        .iter()
        .map(|s| (s.label.as_str(), s.state.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            ("Set weight 20%", "current"),
            ("Pause until promoted", "pending"),
            ("Set weight 40%", "pending"),
            ("Pause 10s", "pending"),
            ("Set weight 60%", "pending"),
            ("Pause 10s", "pending"),
            ("Set weight 80%", "pending"),
            ("Pause 10s", "pending"),
        ]
    );
    assert_eq!(d.steps[1].raw, json!({"pause": {}}));
    assert_eq!(d.containers.len(), 1);
    assert_eq!(
        d.containers[0].image,
        "argoproj/rollouts-demo:does-not-exist"
    );
    assert_eq!(d.containers_source, "rollout");
    assert!(s.needs_attention);
    assert!(
        s.reason.contains("has timed out progressing"),
        "{}",
        s.reason
    );
    assert_eq!(s.pause_until, None);
    assert_eq!(s.analysis_status, None);
}

#[test]
fn canary_pods_tie_break_on_name_like_upstream_goldens() {
    let objects = load("canary", true);
    let d = detail(&objects, "canary-demo");
    let names: Vec<_> = all_rs(&d)[1].pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "canary-demo-877894d5b-6jfpt",
            "canary-demo-877894d5b-7jmqw",
            "canary-demo-877894d5b-j8g2b",
            "canary-demo-877894d5b-jw5qm",
            "canary-demo-877894d5b-kh7x4"
        ]
    );
}

#[test]
fn canary_workload_ref_variants() {
    let objects = load("canary", false);
    for name in ["canary-demo-workloadRef", "canary-demo-workloadRef-deploy"] {
        let d = detail(&objects, name);
        let s = &d.summary;
        assert_eq!(
            (s.status.as_str(), s.message.as_str()),
            ("Degraded", CANARY_TIMEOUT)
        );
        assert_eq!(s.step.as_deref(), Some("0/8"));
        assert_eq!((s.set_weight, s.actual_weight), (Some(20), Some(0)));
        assert_eq!(revisions(&d), [31, 30, 29]);
        assert!(d.workload_ref.is_some(), "{name}");
        // No own template: the current ReplicaSet's containers stand in for the referenced
        // workload (upstream needs the Deployment, which the dashboard does not watch).
        assert_eq!(d.containers_source, "replicaSet", "{name}");
        assert_eq!(
            d.containers[0].image,
            "argoproj/rollouts-demo:does-not-exist"
        );
    }
    let d = detail(&objects, "canary-demo-workloadRef");
    let w = d.workload_ref.as_ref().expect("workloadRef");
    assert_eq!(
        (w.kind.as_str(), w.name.as_str()),
        ("ReplicaSet", "canary-demo-65fb5ffc84")
    );
}

#[test]
fn canary_ping_pong_roles() {
    let objects = load("canary", false);
    let d = detail(&objects, "canary-demo-pingpong");
    let s = d.summary();
    assert_eq!(
        rs_rows(&s),
        [
            row(
                "canary-demo-65fb5ffc84",
                31,
                "Progressing",
                &["canary", "ping"]
            ),
            row("canary-demo-877894d5b", 30, "Healthy", &["stable", "pong"]),
            row("canary-demo-859c99b45c", 29, "ScaledDown", &[]),
        ]
    );
    assert_eq!(
        s.images,
        images(&[
            ("argoproj/rollouts-demo:does-not-exist", &["canary", "ping"]),
            ("argoproj/rollouts-demo:green", &["stable", "pong"]),
        ])
    );
    assert!(d.canary.as_ref().is_some_and(|c| c.ping_pong));
}

#[test]
fn canary_traffic_routed_weights() {
    let objects = load("canary", false);
    let s = detail(&objects, "canary-demo-weights").summary();
    assert_eq!((s.set_weight, s.actual_weight), (Some(20), Some(20)));
    let s = detail(&objects, "canary-demo-weights-na").summary();
    assert_eq!(s.actual_weight, s.set_weight);
    assert_eq!(s.actual_weight, Some(20));
    let d = detail(&objects, "canary-demo-weights");
    let c = d.canary.as_ref().expect("canary");
    assert_eq!(c.traffic_routing, ["smi"]);
    assert_eq!(c.weights.as_ref().map(|w| w.canary.weight), Some(20));
}

#[test]
fn blue_green_paused_for_promotion() {
    let objects = load("blue-green", false);
    let d = detail(&objects, "bluegreen-demo");
    let s = d.summary();
    assert_eq!(s.strategy, "BlueGreen");
    assert_eq!(
        (s.status.as_str(), s.message.as_str()),
        ("Paused", "BlueGreenPause")
    );
    assert_eq!(s.step, None);
    assert_eq!((s.step_index, s.step_count), (None, 0));
    assert_eq!((s.set_weight, s.actual_weight), (None, None));
    assert_eq!(s.observed_generation.as_deref(), Some("410"));
    assert_eq!(s.generation, Some(410));
    assert_eq!(
        (
            s.replicas.desired,
            s.replicas.current,
            s.replicas.updated,
            s.replicas.ready,
            s.replicas.available
        ),
        (3, 6, 3, 6, 3)
    );
    assert_eq!(revisions(&d), [11, 10, 8]);
    assert_eq!(
        rs_rows(&s),
        [
            row("bluegreen-demo-74b948fccb", 11, "Healthy", &["preview"]),
            row(
                "bluegreen-demo-6cbccd9f99",
                10,
                "Healthy",
                &["stable", "active"]
            ),
            row("bluegreen-demo-746d5fddf6", 8, "ScaledDown", &[]),
        ]
    );
    assert_eq!(
        s.images,
        images(&[
            ("argoproj/rollouts-demo:blue", &["stable", "active"]),
            ("argoproj/rollouts-demo:green", &["preview"]),
        ])
    );
    let rss = all_rs(&d);
    let pods: Vec<_> = rss[0].pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        pods,
        [
            "bluegreen-demo-74b948fccb-5jz59",
            "bluegreen-demo-74b948fccb-mkhrl",
            "bluegreen-demo-74b948fccb-vvj2t"
        ]
    );
    let active: Vec<_> = rss[1].pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        active,
        [
            "bluegreen-demo-6cbccd9f99-gk78v",
            "bluegreen-demo-6cbccd9f99-kxj8g",
            "bluegreen-demo-6cbccd9f99-t2d4f"
        ]
    );
    for rs in &rss[..2] {
        assert!(
            rs.pods
                .iter()
                .all(|p| p.status == "Running" && p.ready == "1/1")
        );
    }
    assert!(rss[2].pods.is_empty());
    let bg = d.blue_green.as_ref().expect("blueGreen");
    assert!(!bg.auto_promotion_enabled);
    assert_eq!(bg.active_selector.as_deref(), Some("6cbccd9f99"));
    assert_eq!(bg.preview_selector.as_deref(), Some("74b948fccb"));
    assert_eq!(bg.auto_promotion_deadline, None);
    assert!(d.steps.is_empty());
    // Indefinite pause: a human must promote.
    assert_eq!(s.pause_until, None);
    assert!(s.needs_attention);
    assert_eq!(s.attention_reason.as_deref(), Some("Waiting for promotion"));
    assert_eq!(s.reason, "Waiting for promotion of the preview ReplicaSet");
    assert_eq!(s.pause_reasons, ["BlueGreenPause"]);
}

#[test]
fn blue_green_scale_down_deadline_is_passed_through() {
    // Upstream TestBlueGreenRolloutInfo: the deadline set on the first RS file (active-rs,
    // revision 10) shows on the second ReplicaSet in view order.
    let mut objects = load("blue-green", false);
    for o in &mut objects {
        if let Object::ReplicaSet(rs) = o
            && rs.metadata.name == "bluegreen-demo-6cbccd9f99"
        {
            rs.metadata
                .annotations
                .insert("scale-down-deadline".into(), "2019-10-28T08:50:20Z".into());
        }
    }
    let s = detail(&objects, "bluegreen-demo").summary();
    assert_eq!(
        s.replica_sets[1].scale_down_deadline.as_deref(),
        Some("2019-10-28T08:50:20Z")
    );
    assert_eq!(s.replica_sets[0].scale_down_deadline, None);
}

#[test]
fn experiment_step_progressing() {
    let objects = load("experiment-step", false);
    let d = detail(&objects, "canary-demo");
    let s = d.summary();
    assert_eq!(
        (s.status.as_str(), s.message.as_str()),
        ("Progressing", "more replicas need to be updated")
    );
    assert_eq!(s.step.as_deref(), Some("0/1"));
    assert_eq!((s.set_weight, s.actual_weight), (Some(0), Some(0)));
    // The scaled-down canary RS is left out; the experiment RS adds its Σ tag.
    assert_eq!(
        s.images,
        images(&[
            ("argoproj/rollouts-demo:blue", &["Σ:canary-preview"]),
            ("argoproj/rollouts-demo:green", &["stable"]),
        ])
    );
    assert_eq!(
        rs_rows(&s),
        [
            row("canary-demo-645d5dbc4c", 2, "ScaledDown", &["canary"]),
            row("canary-demo-877894d5b", 1, "Healthy", &["stable"]),
        ]
    );
    assert_eq!(revisions(&d), [2, 1]);
    assert_eq!(d.revisions[0].experiments, ["canary-demo-645d5dbc4c-2-0"]);
    assert_eq!(all_rs(&d)[1].pods.len(), 5);

    assert_eq!(d.experiments.len(), 1);
    let exp = &d.experiments[0];
    assert_eq!(
        (exp.name.as_str(), exp.revision, exp.phase.as_str()),
        ("canary-demo-645d5dbc4c-2-0", 2, "Running")
    );
    assert_eq!(exp.replica_sets.len(), 1);
    let ers = &exp.replica_sets[0];
    assert_eq!(ers.name, "canary-demo-645d5dbc4c-2-0-canary-preview");
    assert_eq!(ers.template.as_deref(), Some("canary-preview"));
    assert!(ers.roles.is_empty());
    assert_eq!(ers.pods.len(), 1);
    assert_eq!(
        ers.pods[0].name,
        "canary-demo-645d5dbc4c-2-0-canary-preview-zmmvz"
    );
    // The run belongs to the experiment, not directly to the rollout.
    assert!(d.analysis_runs.is_empty());
    assert_eq!(exp.analysis_runs.len(), 1);
    let ar = &exp.analysis_runs[0];
    assert_eq!(
        (ar.name.as_str(), ar.phase.as_str()),
        ("canary-demo-645d5dbc4c-2-0-stress-test", "Running")
    );
    assert_eq!(ar.jobs.len(), 1);
    assert_eq!(
        ar.jobs[0].name,
        "4e2d824d-01af-11ea-b38c-42010aa80083.stress.1"
    );
    assert_eq!(ar.jobs[0].status, "Running");
    assert_eq!(ar.jobs[0].namespace, "jesse-test");
    assert_eq!(ar.metrics[0].provider.as_deref(), Some("job"));
    assert_eq!(ar.metrics[0].measurements.len(), 1);
    // The Job's pod is owned by a Job, so it is attached nowhere.
    let job_pod = "4e2d824d-01af-11ea-b38c-42010aa80083.stress.1-lsrws";
    let json = serde_json::to_string(&d).expect("serializes");
    assert!(!json.contains(job_pod));
    assert_eq!(d.steps.len(), 1);
    assert_eq!(d.steps[0].kind, "experiment");
    assert_eq!(
        d.steps[0].label,
        "Experiment: canary-preview (analysis: stress-test)"
    );
    assert_eq!(d.steps[0].state, "current");
    assert_eq!(
        d.canary
            .as_ref()
            .and_then(|c| c.current_experiment.as_deref()),
        Some("canary-demo-645d5dbc4c-2-0")
    );
    assert!(!s.needs_attention);
    assert_eq!(s.reason, "More replicas need to be updated");
}

#[test]
fn rollout_invalid_spec() {
    let objects = load("rollout-invalid", false);
    let d = detail(&objects, "rollout-invalid");
    let s = d.summary();
    assert_eq!(s.status, "Degraded");
    assert_eq!(
        s.message,
        "InvalidSpec: The Rollout \"rollout-invalid\" is invalid: spec.template.metadata.labels: \
         Invalid value: map[string]string{\"app\":\"doesnt-match\"}: `selector` does not match \
         template `labels`"
    );
    assert_eq!(s.step, None);
    assert_eq!((s.set_weight, s.actual_weight), (Some(100), Some(100)));
    assert!(s.replica_sets.is_empty());
    assert!(d.revisions.is_empty());
    assert!(d.steps.is_empty());
    assert!(s.needs_attention);
    assert!(
        s.reason.starts_with("Invalid spec: The Rollout"),
        "{}",
        s.reason
    );
    assert!(
        d.explanation
            .iter()
            .any(|e| e.contains("`selector` does not match"))
    );
}

// ---- Scenarios rebuilt from upstream's descriptions --------------------------------------------

fn meta(name: &str, namespace: &str, uid: &str, rev: Option<&str>, owner: Option<&str>) -> Value {
    let mut m = json!({"name": name, "namespace": namespace, "uid": uid,
        "creationTimestamp": "2019-10-28T04:00:00Z", "resourceVersion": "1"});
    if let Some(rev) = rev {
        m["annotations"] = json!({"rollout.argoproj.io/revision": rev});
    }
    if let Some(owner) = owner {
        m["ownerReferences"] = json!([{"uid": owner, "kind": "Owner", "name": "owner"}]);
    }
    m
}

fn rs_json(
    name: &str,
    uid: &str,
    owner: &str,
    rev: Option<&str>,
    hash: &str,
    image: &str,
    replicas: i32,
) -> Value {
    let mut m = meta(name, "jesse-test", uid, rev, Some(owner));
    m["labels"] = json!({"rollouts-pod-template-hash": hash});
    m["generation"] = json!(1);
    json!({"kind": "ReplicaSet", "metadata": m,
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "c", "image": image}]}}},
        "status": {"observedGeneration": 1, "replicas": replicas, "readyReplicas": replicas,
            "availableReplicas": replicas}})
}

fn running_pod(name: &str, owner: &str) -> Value {
    json!({"kind": "Pod", "metadata": meta(name, "jesse-test", &format!("{name}-uid"), None, Some(owner)),
        "spec": {"containers": [{"name": "c"}]},
        "status": {"phase": "Running", "containerStatuses": [{"name": "c", "ready": true,
            "state": {"running": {"startedAt": "2019-10-28T04:00:00Z"}}}]}})
}

fn experiment_analysis() -> Vec<Object> {
    let ro_uid = "a17d1089-exp-analysis";
    let exp_uid = "exp-vcv27";
    let rollout = json!({"kind": "Rollout",
        "metadata": meta("rollout-experiment-analysis", "jesse-test", ro_uid, Some("2"), None),
        "spec": {"replicas": 3, "strategy": {"canary": {
            "analysis": {"templates": [{"templateName": "random-fail"}]},
            "steps": [{"setWeight": 25}, {"experiment": {"templates": [
                {"name": "baseline", "specRef": "stable"}, {"name": "canary", "specRef": "canary"}]}}]}},
            "template": {"spec": {"containers": [{"name": "c", "image": "argoproj/rollouts-demo:yellow"}]}}},
        "status": {"currentStepIndex": 1, "stableRS": "f6db98dff", "currentPodHash": "6f646bf7b7",
            "controllerPause": true,
            "pauseConditions": [{"reason": "InconclusiveAnalysisRun", "startTime": "2019-10-28T04:10:00Z"}],
            "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                "message": "ReplicaSet \"rollout-experiment-analysis-6f646bf7b7\" has timed out progressing."}],
            "replicas": 4, "updatedReplicas": 1, "readyReplicas": 4, "availableReplicas": 4,
            "canary": {"currentBackgroundAnalysisRunStatus": {
                "name": "rollout-experiment-analysis-random-fail-6f646bf7b7-skqcr", "status": "Inconclusive"}}}});
    // Eight job measurements, listed out of time order to check the measurement ordering.
    let phases = [
        "Failed",
        "Successful",
        "Failed",
        "Successful",
        "Failed",
        "Successful",
        "Failed",
        "Successful",
    ];
    let minutes = [3, 0, 1, 2, 7, 5, 6, 4];
    let measurements: Vec<Value> = phases
        .iter()
        .zip(minutes)
        .map(|(phase, minute)| {
            json!({"phase": phase,
            "startedAt": format!("2019-10-28T04:0{minute}:00Z"),
            "finishedAt": format!("2019-10-28T04:0{minute}:30Z"),
            "metadata": {"job-name": format!("job-{minute}")}})
        })
        .collect();
    let ar = json!({"kind": "AnalysisRun",
        "metadata": meta("rollout-experiment-analysis-random-fail-6f646bf7b7-skqcr", "jesse-test", "ar-skqcr", Some("2"), Some(ro_uid)),
        "spec": {"metrics": [{"name": "random-fail", "provider": {"job": {}}, "failureLimit": 4, "inconclusiveLimit": 1}]},
        "status": {"phase": "Inconclusive", "message": "metric \"random-fail\" assessed Inconclusive",
            "metricResults": [{"name": "random-fail", "phase": "Inconclusive", "count": 10,
                "successful": 4, "failed": 4, "inconclusive": 1, "error": 1, "measurements": measurements}]}});
    let mut exp_rs1 = rs_json(
        "rollout-experiment-analysis-6f646bf7b7-1-vcv27-baseline-7d768b8b5f",
        "ers1",
        exp_uid,
        None,
        "7d768b8b5f",
        "argoproj/rollouts-demo:blue",
        1,
    );
    exp_rs1["metadata"]["annotations"] =
        json!({"experiment.argoproj.io/template-name": "baseline"});
    let mut exp_rs2 = rs_json(
        "rollout-experiment-analysis-6f646bf7b7-1-vcv27-canary-7699dcf5d",
        "ers2",
        exp_uid,
        None,
        "7699dcf5d",
        "argoproj/rollouts-demo:yellow",
        1,
    );
    exp_rs2["metadata"]["annotations"] = json!({"experiment.argoproj.io/template-name": "canary"});
    objects(vec![
        rollout,
        rs_json(
            "rollout-experiment-analysis-6f646bf7b7",
            "rs-canary",
            ro_uid,
            Some("2"),
            "6f646bf7b7",
            "argoproj/rollouts-demo:yellow",
            1,
        ),
        running_pod("rollout-experiment-analysis-6f646bf7b7-wn5w8", "rs-canary"),
        rs_json(
            "rollout-experiment-analysis-f6db98dff",
            "rs-stable",
            ro_uid,
            Some("1"),
            "f6db98dff",
            "argoproj/rollouts-demo:blue",
            3,
        ),
        running_pod("rollout-experiment-analysis-f6db98dff-8dmnz", "rs-stable"),
        running_pod("rollout-experiment-analysis-f6db98dff-bb6v6", "rs-stable"),
        running_pod("rollout-experiment-analysis-f6db98dff-bq55x", "rs-stable"),
        json!({"kind": "Experiment",
            "metadata": meta("rollout-experiment-analysis-6f646bf7b7-1-vcv27", "jesse-test", exp_uid, Some("2"), Some(ro_uid)),
            "status": {"phase": "Running"}}),
        exp_rs1,
        running_pod(
            "rollout-experiment-analysis-6f646bf7b7-1-vcv27-baseline-7d768b8b5f-x1",
            "ers1",
        ),
        exp_rs2,
        running_pod(
            "rollout-experiment-analysis-6f646bf7b7-1-vcv27-canary-7699dcf5d-x2",
            "ers2",
        ),
        ar,
    ])
}

#[test]
fn experiment_analysis_degraded_over_pause() {
    let objects = experiment_analysis();
    let d = detail(&objects, "rollout-experiment-analysis");
    let s = d.summary();
    // Conditions take precedence over the InconclusiveAnalysisRun pause.
    assert_eq!(s.status, "Degraded");
    assert!(
        s.message.starts_with("ProgressDeadlineExceeded: "),
        "{}",
        s.message
    );
    assert_eq!(s.step.as_deref(), Some("1/2"));
    assert_eq!(s.set_weight, Some(25));
    // 1 available canary pod × 100 / 4 available.
    assert_eq!(s.actual_weight, Some(25));
    assert_eq!(
        s.images,
        images(&[
            ("argoproj/rollouts-demo:blue", &["stable", "Σ:baseline"]),
            ("argoproj/rollouts-demo:yellow", &["canary", "Σ:canary"]),
        ])
    );
    assert_eq!(revisions(&d), [2, 1]);
    assert_eq!(d.analysis_runs.len(), 1);
    let ar = &d.analysis_runs[0];
    assert_eq!((ar.revision, ar.phase.as_str()), (2, "Inconclusive"));
    assert_eq!(
        (ar.successful, ar.failed, ar.inconclusive, ar.error),
        (4, 4, 1, 1)
    );
    assert_eq!(ar.jobs.len(), 8);
    // jobs keep status order; metric measurements are oldest first.
    assert_eq!(ar.jobs[0].name, "job-3");
    let order: Vec<_> = ar.metrics[0]
        .measurements
        .iter()
        .map(|m| m.job_name.as_deref().unwrap_or_default())
        .collect();
    assert_eq!(
        order,
        [
            "job-0", "job-1", "job-2", "job-3", "job-4", "job-5", "job-6", "job-7"
        ]
    );
    assert_eq!(ar.metrics[0].failure_limit, Some(4));
    assert_eq!(d.revisions[0].analysis_runs, std::slice::from_ref(&ar.name));
    assert_eq!(d.experiments.len(), 1);
    let exp = &d.experiments[0];
    assert_eq!((exp.revision, exp.phase.as_str()), (2, "Running"));
    assert_eq!(exp.replica_sets.len(), 2);
    assert!(
        exp.replica_sets
            .iter()
            .all(|r| r.revision == 0 && r.pods.len() == 1)
    );
    assert_eq!(s.pause_reasons, ["InconclusiveAnalysisRun"]);
    assert_eq!(s.analysis_status.as_deref(), Some("Inconclusive"));
    assert!(s.needs_attention);
    assert_eq!(d.steps[1].state, "current");
    assert_eq!(d.steps[0].state, "done");
}

fn rollout_aborted() -> Vec<Object> {
    let ro_uid = "aborted-uid";
    let message = "metric \"web\" assessed Failed due to failed (1) > failureLimit (0)";
    let rollout = json!({"kind": "Rollout",
        "metadata": meta("rollout-background-analysis", "default", ro_uid, Some("2"), None),
        "spec": {"replicas": 1, "strategy": {"canary": {
            "analysis": {"templates": [{"templateName": "web-background"}]},
            "steps": [{"setWeight": 10}, {"pause": {}}]}},
            "template": {"spec": {"containers": [{"name": "c", "image": "argoproj/rollouts-demo:yellow"}]}}},
        "status": {"abort": true, "abortedAt": "2019-10-28T04:20:00Z", "currentStepIndex": 0,
            "stableRS": "7d84d44bb8", "currentPodHash": "db976bc44",
            "replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "updatedReplicas": 0,
            "conditions": [{"type": "Progressing", "status": "False", "reason": "RolloutAborted", "message": message}],
            "canary": {"currentBackgroundAnalysisRunStatus": {
                "name": "rollout-background-analysis-db976bc44-2", "status": "Failed", "message": message}}}});
    let mut rs1 = rs_json(
        "rollout-background-analysis-db976bc44",
        "rs1",
        ro_uid,
        Some("2"),
        "db976bc44",
        "argoproj/rollouts-demo:yellow",
        0,
    );
    rs1["metadata"]["namespace"] = json!("default");
    let mut rs2 = rs_json(
        "rollout-background-analysis-7d84d44bb8",
        "rs2",
        ro_uid,
        Some("1"),
        "7d84d44bb8",
        "argoproj/rollouts-demo:blue",
        1,
    );
    rs2["metadata"]["namespace"] = json!("default");
    objects(vec![
        rollout,
        rs1,
        rs2,
        running_pod("rollout-background-analysis-7d84d44bb8-z5wps", "rs2"),
        json!({"kind": "AnalysisRun",
            "metadata": meta("rollout-background-analysis-db976bc44-2", "default", "ar1", Some("2"), Some(ro_uid)),
            "spec": {"metrics": [{"name": "web", "successCondition": "result.completed == true",
                "failureLimit": 0, "provider": {"web": {"url": "https://example.com/health"}}}]},
            "status": {"phase": "Failed", "message": message, "metricResults": [{"name": "web",
                "phase": "Failed", "count": 1, "failed": 1, "measurements": [{"phase": "Failed",
                    "value": "{\"completed\":false}", "startedAt": "2019-10-28T04:19:00Z",
                    "finishedAt": "2019-10-28T04:19:01Z"}]}]}}),
    ])
}

#[test]
fn rollout_aborted_by_failed_background_analysis() {
    let objects = rollout_aborted();
    let d = detail(&objects, "rollout-background-analysis");
    let s = d.summary();
    assert_eq!(s.status, "Degraded");
    assert_eq!(
        s.message,
        "RolloutAborted: metric \"web\" assessed Failed due to failed (1) > failureLimit (0)"
    );
    assert_eq!(s.step.as_deref(), Some("0/2"));
    // Aborted: the desired weight drops to 0; no canary pod is available.
    assert_eq!((s.set_weight, s.actual_weight), (Some(0), Some(0)));
    assert_eq!(
        rs_rows(&s),
        [
            row(
                "rollout-background-analysis-db976bc44",
                2,
                "ScaledDown",
                &["canary"]
            ),
            row(
                "rollout-background-analysis-7d84d44bb8",
                1,
                "Healthy",
                &["stable"]
            ),
        ]
    );
    assert_eq!(
        s.images,
        images(&[("argoproj/rollouts-demo:blue", &["stable"])])
    );
    assert_eq!(revisions(&d), [2, 1]);
    let ar = &d.analysis_runs[0];
    assert_eq!(
        (ar.phase.as_str(), ar.failed, ar.successful),
        ("Failed", 1, 0)
    );
    // A measurement without metadata is a NonJobInfo.
    assert_eq!((ar.jobs.len(), ar.non_jobs.len()), (0, 1));
    assert_eq!(ar.non_jobs[0].status, "Failed");
    assert!(s.aborted);
    assert!(s.needs_attention);
    assert_eq!(
        s.attention_reason.as_deref(),
        Some("Aborted: metric \"web\" assessed Failed due to failed (1) > failureLimit (0)")
    );
    assert_eq!(s.analysis_status.as_deref(), Some("Failed"));
    assert!(
        s.reason.starts_with("Rollout aborted: metric \"web\""),
        "{}",
        s.reason
    );
    assert!(
        d.explanation
            .iter()
            .any(|e| e.contains("Aborted at 2019-10-28T04:20:00Z"))
    );
    assert_eq!(
        d.canary.as_ref().map(|c| c.background_analysis.clone()),
        Some(vec!["web-background".to_string()])
    );
}

// ---- Edge cases -------------------------------------------------------------------------------

fn canary_rollout(steps: Value, status: Value) -> Vec<Object> {
    objects(vec![json!({"kind": "Rollout",
        "metadata": meta("timed", "ns", "timed-uid", Some("3"), None),
        "spec": {"replicas": 2, "strategy": {"canary": {"steps": steps}},
            "template": {"spec": {"containers": [{"name": "app", "image": "app:2"}],
                "initContainers": [{"name": "init", "image": "init:1"}]}}},
        "status": status})])
}

#[test]
fn timed_pause_in_progress() {
    let objects = canary_rollout(
        json!([{"setWeight": 20}, {"pause": {"duration": "1m"}}, {"setWeight": 50}, {"pause": {}}]),
        json!({"currentStepIndex": 1, "controllerPause": true, "stableRS": "a", "currentPodHash": "b",
            "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2024-05-01T10:00:00Z"}],
            "replicas": 3, "updatedReplicas": 1, "availableReplicas": 3}),
    );
    let d = detail(&objects, "timed");
    let s = d.summary();
    assert_eq!(
        (s.status.as_str(), s.message.as_str()),
        ("Paused", "CanaryPauseStep")
    );
    assert_eq!(s.pause_until.as_deref(), Some("2024-05-01T10:01:00Z"));
    assert_eq!(s.reason, "Paused until 2024-05-01T10:01:00Z");
    assert!(!s.needs_attention, "a timed pause resumes by itself");
    let step = &d.steps[1];
    assert_eq!(
        (step.label.as_str(), step.state.as_str()),
        ("Pause 1m", "current")
    );
    assert_eq!(step.duration_seconds, Some(60));
    assert_eq!(step.started_at.as_deref(), Some("2024-05-01T10:00:00Z"));
    assert_eq!(step.ends_at.as_deref(), Some("2024-05-01T10:01:00Z"));
    assert_eq!(d.steps[3].ends_at, None);
    assert_eq!(d.init_containers.len(), 1);
    assert_eq!(d.init_containers[0].image, "init:1");

    // The same rollout at the indefinite pause: waiting for promotion, no end time.
    let objects = canary_rollout(
        json!([{"setWeight": 20}, {"pause": {"duration": "1m"}}, {"setWeight": 50}, {"pause": {}}]),
        json!({"currentStepIndex": 3, "controllerPause": true, "stableRS": "a", "currentPodHash": "b",
            "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2024-05-01T10:05:00Z"}]}),
    );
    let s = detail(&objects, "timed").summary();
    assert_eq!(s.pause_until, None);
    assert_eq!(
        s.reason,
        "Waiting for promotion at step 3/4 (pause with no duration)"
    );
    assert!(s.needs_attention);

    // A manual pause overrides the timer.
    let mut objects = objects;
    if let Some(Object::Rollout(ro)) = objects.first_mut() {
        ro.spec.paused = true;
    }
    let s = detail(&objects, "timed").summary();
    assert_eq!(
        (s.status.as_str(), s.reason.as_str()),
        ("Paused", "Manually paused")
    );
    assert!(s.paused);
}

fn blue_green_with_pre_promotion(ar_phase: &str) -> Vec<Object> {
    let ro_uid = "bg-uid";
    objects(vec![
        json!({"kind": "Rollout", "metadata": meta("bg", "ns", ro_uid, Some("2"), None),
            "spec": {"replicas": 1, "strategy": {"blueGreen": {"activeService": "a", "previewService": "p",
                "autoPromotionSeconds": 30,
                "prePromotionAnalysis": {"templates": [{"templateName": "smoke"}]}}},
                "template": {"spec": {"containers": [{"name": "c", "image": "app:2"}]}}},
            "status": {"stableRS": "h1", "currentPodHash": "h2", "controllerPause": true,
                "pauseConditions": [{"reason": "BlueGreenPause", "startTime": "2024-05-01T10:00:00Z"}],
                "blueGreen": {"activeSelector": "h1", "previewSelector": "h2",
                    "prePromotionAnalysisRunStatus": {"name": "bg-h2-2-pre", "status": ar_phase}},
                "replicas": 2, "updatedReplicas": 1, "readyReplicas": 2, "availableReplicas": 2}}),
        rs_json("bg-h1", "rs-h1", ro_uid, Some("1"), "h1", "app:1", 1),
        rs_json("bg-h2", "rs-h2", ro_uid, Some("2"), "h2", "app:2", 1),
        json!({"kind": "AnalysisRun", "metadata": meta("bg-h2-2-pre", "ns", "ar-pre", Some("2"), Some(ro_uid)),
            "spec": {"args": [{"name": "token", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}],
                "metrics": [{"name": "latency", "successCondition": "result[0] < 250",
                "provider": {"prometheus": {"query": "histogram_quantile(0.99, x)"}}}]},
            "status": {"phase": ar_phase}}),
    ])
}

#[test]
fn blue_green_pre_promotion_analysis() {
    let objects = blue_green_with_pre_promotion("Running");
    let d = detail(&objects, "bg");
    let s = d.summary();
    assert_eq!(
        (s.status.as_str(), s.message.as_str()),
        ("Paused", "BlueGreenPause")
    );
    assert_eq!(s.analysis_status.as_deref(), Some("Running"));
    let bg = d.blue_green.as_ref().expect("blueGreen");
    assert!(bg.auto_promotion_enabled);
    assert_eq!(bg.pre_promotion_analysis, ["smoke"]);
    assert_eq!(
        bg.auto_promotion_deadline.as_deref(),
        Some("2024-05-01T10:00:30Z")
    );
    assert_eq!(s.pause_until.as_deref(), Some("2024-05-01T10:00:30Z"));
    assert!(!s.needs_attention);
    assert_eq!(d.analysis_refs.len(), 1);
    assert_eq!(d.analysis_refs[0].kind, "prePromotion");
    assert_eq!(
        rs_rows(&s),
        [
            row("bg-h2", 2, "Healthy", &["preview"]),
            row("bg-h1", 1, "Healthy", &["stable", "active"])
        ]
    );
    let metric = &d.analysis_runs[0].metrics[0];
    assert_eq!(metric.success_thresholds[0].op, "<");
    assert_eq!(metric.success_thresholds[0].value, 250.0);
    assert_eq!(metric.query.as_deref(), Some("histogram_quantile(0.99, x)"));
    let arg = &d.analysis_runs[0].args[0];
    assert_eq!(
        (arg.value.as_deref(), arg.value_from.as_deref()),
        (None, Some("secretKeyRef: creds/token"))
    );

    let s = detail(&blue_green_with_pre_promotion("Failed"), "bg").summary();
    assert!(s.needs_attention);
    assert_eq!(s.attention_reason.as_deref(), Some("Analysis failed"));
}

#[test]
fn zero_replicas() {
    let objects = canary_rollout(
        json!([{"setWeight": 50}]),
        json!({"currentStepIndex": 1, "stableRS": "h", "currentPodHash": "h", "observedGeneration": "1"}),
    );
    let mut objects = objects;
    if let Some(Object::Rollout(ro)) = objects.first_mut() {
        ro.spec.replicas = Some(0);
    }
    let d = detail(&objects, "timed");
    let s = d.summary();
    assert_eq!((s.status.as_str(), s.message.as_str()), ("Healthy", ""));
    assert_eq!(s.replicas.desired, 0);
    assert_eq!(s.step.as_deref(), Some("1/1"));
    assert_eq!((s.set_weight, s.actual_weight), (Some(100), Some(100)));
    assert_eq!(d.steps[0].state, "done");
    assert!(!s.needs_attention);
}

#[test]
fn missing_status_entirely() {
    let objects = objects(vec![json!({"kind": "Rollout",
        "metadata": {"name": "new", "namespace": "ns", "uid": "u"},
        "spec": {"strategy": {"canary": {"steps": [{"setWeight": 10}, {"pause": {}}, {"setWeight": 60}]}}}})]);
    let d = detail(&objects, "new");
    let s = d.summary();
    assert_eq!(
        (s.status.as_str(), s.message.as_str()),
        ("Progressing", "more replicas need to be updated")
    );
    // Upstream leaves step empty and sends no steps; the steps are still shown, all pending.
    assert_eq!(s.step, None);
    assert_eq!(s.step_count, 3);
    let states: Vec<_> = d.steps.iter().map(|s| s.state.as_str()).collect();
    assert_eq!(states, ["pending", "pending", "pending"]);
    assert_eq!((s.set_weight, s.actual_weight), (Some(10), Some(0)));
    assert_eq!(s.replicas.desired, 1);
    assert!(s.images.is_empty() && s.replica_sets.is_empty() && d.revisions.is_empty());
    assert_eq!(s.created_at, None);

    let objects = objects_bg_without_status();
    let s = detail(&objects, "bg-new").summary();
    assert_eq!(
        (s.status.as_str(), s.strategy.as_str()),
        ("Progressing", "BlueGreen")
    );
    assert_eq!((s.set_weight, s.actual_weight, s.step), (None, None, None));
}

fn objects_bg_without_status() -> Vec<Object> {
    objects(vec![
        json!({"kind": "Rollout", "metadata": {"name": "bg-new"},
        "spec": {"strategy": {"blueGreen": {"activeService": "a"}}}}),
    ])
}

#[test]
fn output_is_deterministic_and_round_trips() {
    for scenario in SCENARIOS {
        let objects = load(scenario, false);
        let mut reversed = load(scenario, false);
        reversed.reverse();
        for ro in rollouts(&objects) {
            let a = rollout_detail(ro, &related(&objects));
            let b = rollout_detail(ro, &related(&reversed));
            let ja = serde_json::to_string(&a).expect("serializes");
            assert_eq!(
                ja,
                serde_json::to_string(&b).expect("serializes"),
                "{scenario}"
            );
            let back: RolloutDetail = serde_json::from_str(&ja).expect("deserializes");
            assert_eq!(back, a);
            // Unrelated objects do not change the view.
            assert_eq!(
                rollout_detail(ro, &Related::default()).summary.uid,
                ro.metadata.uid
            );
        }
    }
}

#[test]
fn summary_json_uses_camel_case_keys() {
    let objects = load("canary", false);
    let d = detail(&objects, "canary-demo");
    let v = serde_json::to_value(d.summary()).expect("serializes");
    for key in [
        "namespace",
        "name",
        "uid",
        "resourceVersion",
        "labels",
        "createdAt",
        "strategy",
        "status",
        "message",
        "step",
        "stepIndex",
        "stepCount",
        "setWeight",
        "actualWeight",
        "images",
        "replicas",
        "replicaSets",
        "currentPodHash",
        "stableRs",
        "reason",
        "needsAttention",
        "attentionReason",
        "analysisStatus",
        "restartedAt",
        "pauseUntil",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["setWeight"], json!(20));
    assert_eq!(
        v["replicaSets"][0]["pods"][0]["iconClass"],
        json!("warning")
    );
    let dv = serde_json::to_value(&d).expect("serializes");
    assert!(dv["revisions"][0]["replicaSets"][0]["pods"][0]["createdAt"].is_string());
    assert!(dv["steps"][0]["raw"].is_object());
}
