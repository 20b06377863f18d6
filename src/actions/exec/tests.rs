//! `execute` against an in-memory backend that behaves like the API server.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde_json::json;

use super::*;
use crate::actions::plan::{Target, plural_of};

type Hook = Box<dyn FnOnce(&mut Value) + Send>;

/// Objects keyed by (kind, name), served like the API server would.
#[derive(Default)]
struct MemoryBackend {
    objects: Mutex<BTreeMap<(String, String), Value>>,
    /// False emulates a v0.9 Rollout CRD without a status subresource.
    no_status_subresource: bool,
    /// Run on the rollout right before each patch is handled: a concurrent writer.
    interference: Mutex<VecDeque<Hook>>,
    /// Errors returned instead of handling the next patches (`None` = handle normally).
    patch_errors: Mutex<VecDeque<Option<BackendError>>>,
    sent: Mutex<Vec<PlannedPatch>>,
    events: Mutex<Vec<(String, String)>>,
    fail_events: bool,
}

impl MemoryBackend {
    fn with(objects: Vec<Value>) -> MemoryBackend {
        let backend = MemoryBackend::default();
        for o in objects {
            backend.put(o);
        }
        backend
    }

    fn put(&self, object: Value) {
        let key = (
            object["kind"].as_str().unwrap().to_string(),
            object["metadata"]["name"].as_str().unwrap().to_string(),
        );
        self.objects.lock().unwrap().insert(key, object);
    }

    fn object(&self, kind: &str, name: &str) -> Value {
        self.objects.lock().unwrap()[&(kind.to_string(), name.to_string())].clone()
    }

    /// The next patch fails with `error` instead of being applied.
    fn fail_next_patch(&self, error: BackendError) {
        self.patch_errors.lock().unwrap().push_back(Some(error));
    }

    fn interfere(&self, hook: impl FnOnce(&mut Value) + Send + 'static) {
        self.interference.lock().unwrap().push_back(Box::new(hook));
    }

    fn sent_bodies(&self) -> Vec<Value> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .map(|p| p.body.clone())
            .collect()
    }
}

impl ActionBackend for MemoryBackend {
    async fn get(
        &self,
        _api_version: &str,
        kind: &str,
        _namespace: &str,
        name: &str,
    ) -> Result<Value, BackendError> {
        self.objects
            .lock()
            .unwrap()
            .get(&(kind.to_string(), name.to_string()))
            .cloned()
            .ok_or_else(|| BackendError::NotFound {
                message: format!("{} \"{name}\" not found", plural_of(kind)),
            })
    }

    async fn list_replica_sets(
        &self,
        _namespace: &str,
        rollout_uid: &str,
    ) -> Result<Vec<Value>, BackendError> {
        let objects = self.objects.lock().unwrap();
        Ok(objects
            .iter()
            .filter(|((kind, _), rs)| {
                kind == "ReplicaSet" && crate::actions::is_controlled_by(rs, rollout_uid)
            })
            .map(|(_, rs)| rs.clone())
            .collect())
    }

    async fn patch(&self, patch: &PlannedPatch) -> Result<Value, BackendError> {
        self.sent.lock().unwrap().push(patch.clone());
        let mut objects = self.objects.lock().unwrap();
        if let Some(hook) = self.interference.lock().unwrap().pop_front()
            && let Some(rollout) = objects.values_mut().find(|o| o["kind"] == "Rollout")
        {
            hook(rollout);
        }
        if let Some(Some(error)) = self.patch_errors.lock().unwrap().pop_front() {
            return Err(error);
        }
        let key = (patch.target.kind.clone(), patch.target.name.clone());
        let object = objects
            .get_mut(&key)
            .ok_or_else(|| BackendError::NotFound {
                message: "gone".into(),
            })?;
        let status_subresource = !(self.no_status_subresource && patch.target.kind == "Rollout");
        apply_in_memory(object, patch, status_subresource)?;
        Ok(object.clone())
    }

    async fn record_event(
        &self,
        rollout: &Value,
        reason: &str,
        message: &str,
    ) -> Result<(), BackendError> {
        if self.fail_events {
            return Err(BackendError::Forbidden {
                verb: "create".into(),
                resource: "events".into(),
                message: "events is forbidden".into(),
            });
        }
        assert!(
            rollout["metadata"]["uid"].is_string(),
            "the event names the rollout"
        );
        self.events
            .lock()
            .unwrap()
            .push((reason.to_string(), message.to_string()));
        Ok(())
    }
}

fn canary() -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "demo", "namespace": "ns", "uid": "uid-1", "resourceVersion": "100"},
        "spec": {
            "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}]}},
            "template": {"metadata": {"labels": {"app": "demo"}}, "spec": {"containers": [{"name": "app", "image": "app:1"}]}},
        },
        "status": {"currentPodHash": "new", "stableRS": "old", "currentStepIndex": 1},
    })
}

fn paused_at_step_1() -> Value {
    let mut ro = canary();
    ro["spec"]["paused"] = json!(true);
    ro["status"]["pauseConditions"] =
        json!([{"reason": "CanaryPauseStep", "startTime": "2024-05-01T10:00:00Z"}]);
    ro["status"]["controllerPause"] = json!(true);
    ro
}

fn seen_step(step: i32) -> SeenState {
    SeenState {
        resource_version: Some("100".into()),
        step_index: Some(step),
        pod_hash: Some("new".into()),
    }
}

async fn exec(
    backend: &MemoryBackend,
    action: Action,
    seen: &SeenState,
) -> Result<ActionOutcome, ActionError> {
    execute(backend, "ns", "demo", &action, seen, "alice").await
}

#[tokio::test]
async fn promote_on_a_status_subresource_cluster_and_event() {
    let backend = MemoryBackend::with(vec![paused_at_step_1()]);
    let outcome = exec(&backend, Action::Promote, &seen_step(1))
        .await
        .unwrap();
    assert_eq!(outcome.message, "rollout 'demo' promoted");
    assert!(outcome.changed);
    assert_eq!(outcome.attempts, 1);
    assert_eq!(
        outcome
            .patches
            .iter()
            .map(|p| (p.subresource, p.body.clone()))
            .collect::<Vec<_>>(),
        vec![
            (
                Some(Subresource::Status),
                json!({"status": {"pauseConditions": null}})
            ),
            (None, json!({"spec": {"paused": false}})),
        ]
    );
    let after = backend.object("Rollout", "demo");
    assert_eq!(outcome.rollout, after);
    assert_eq!(after["spec"]["paused"], json!(false));
    assert_eq!(after["status"]["pauseConditions"], Value::Null);
    assert_eq!(after["metadata"]["resourceVersion"], json!("102"));
    assert_eq!(
        *backend.events.lock().unwrap(),
        vec![(
            "PromotedFromDashboard".to_string(),
            "alice via rollouts-dashboard: rollout 'demo' promoted".to_string()
        )]
    );
}

/// With several clusters the Event names the cluster (after the message, so the history
/// still reads the person from `<person> via rollouts-dashboard: …`).
#[tokio::test]
async fn the_event_of_an_action_in_a_cluster_names_it() {
    let backend = MemoryBackend::with(vec![paused_at_step_1()]);
    super::execute_in(
        "prod-eu",
        &backend,
        "ns",
        "demo",
        &Action::Promote,
        &seen_step(1),
        "alice",
    )
    .await
    .unwrap();
    assert_eq!(
        *backend.events.lock().unwrap(),
        vec![(
            "PromotedFromDashboard".to_string(),
            "alice via rollouts-dashboard: rollout 'demo' promoted (cluster prod-eu)".to_string()
        )]
    );
}

#[tokio::test]
async fn status_subresource_404_falls_back_to_the_unified_patch_and_skips_the_spec_patch() {
    let mut backend = MemoryBackend::with(vec![paused_at_step_1()]);
    backend.no_status_subresource = true;
    let outcome = exec(&backend, Action::Promote, &seen_step(1))
        .await
        .unwrap();
    // Sent: the status patch (404), then the fallback; the spec patch is part of the fallback.
    assert_eq!(
        backend.sent_bodies(),
        vec![
            json!({"status": {"pauseConditions": null}}),
            json!({"spec": {"paused": false}, "status": {"pauseConditions": null}}),
        ]
    );
    assert_eq!(outcome.patches.len(), 1);
    assert_eq!(outcome.patches[0].subresource, None);
    assert_eq!(outcome.patches[0].fallback, None);
    let after = backend.object("Rollout", "demo");
    assert_eq!(after["spec"]["paused"], json!(false));
    assert_eq!(after["status"]["pauseConditions"], Value::Null);
}

#[tokio::test]
async fn abort_and_retry_fall_back_to_the_main_resource() {
    let mut backend = MemoryBackend::with(vec![canary()]);
    backend.no_status_subresource = true;
    exec(&backend, Action::Abort, &SeenState::default())
        .await
        .unwrap();
    assert_eq!(
        backend.object("Rollout", "demo")["status"]["abort"],
        json!(true)
    );
    let outcome = exec(&backend, Action::Retry, &SeenState::default())
        .await
        .unwrap();
    assert_eq!(outcome.message, "rollout 'demo' retried");
    assert_eq!(
        backend.object("Rollout", "demo")["status"]["abort"],
        json!(false)
    );
    let reasons: Vec<String> = backend
        .events
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.0.clone())
        .collect();
    assert_eq!(
        reasons,
        vec!["AbortedFromDashboard", "RetriedFromDashboard"]
    );
}

#[tokio::test]
async fn conflict_is_retried_when_the_intent_still_holds() {
    let backend = MemoryBackend::with(vec![canary()]);
    // The controller writes status (same step) between our GET and our PATCH.
    backend.interfere(|ro| {
        ro["metadata"]["resourceVersion"] = json!("150");
        ro["status"]["readyReplicas"] = json!(3);
    });
    let outcome = exec(&backend, Action::Promote, &seen_step(1))
        .await
        .unwrap();
    assert_eq!(outcome.attempts, 2);
    let sent = backend.sent_bodies();
    assert_eq!(sent[0]["metadata"]["resourceVersion"], json!("100"));
    assert_eq!(
        sent[1],
        json!({"metadata": {"resourceVersion": "150"}, "status": {"pauseConditions": null, "currentStepIndex": 2}})
    );
    let after = backend.object("Rollout", "demo");
    assert_eq!(
        after["status"]["currentStepIndex"],
        json!(2),
        "exactly one step"
    );
    assert_eq!(after["status"]["readyReplicas"], json!(3));
}

#[tokio::test]
async fn conflict_then_stale_when_someone_else_moved_the_step() {
    let backend = MemoryBackend::with(vec![canary()]);
    // Someone else's promote lands between our GET and our PATCH.
    backend.interfere(|ro| {
        ro["metadata"]["resourceVersion"] = json!("150");
        ro["status"]["currentStepIndex"] = json!(2);
    });
    let err = exec(&backend, Action::Promote, &seen_step(1))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 409);
    assert_eq!(err.code(), "stale");
    assert_eq!(
        err.to_string(),
        "the rollout changed since it was displayed: step moved from 1 to 2; reload and try again"
    );
    assert_eq!(
        backend.object("Rollout", "demo")["status"]["currentStepIndex"],
        json!(2)
    );
    assert!(backend.events.lock().unwrap().is_empty());
}

#[tokio::test]
async fn conflict_retry_without_a_seen_state_still_never_advances_twice() {
    let backend = MemoryBackend::with(vec![canary()]);
    backend.interfere(|ro| {
        ro["metadata"]["resourceVersion"] = json!("150");
        ro["status"]["currentStepIndex"] = json!(2);
    });
    let err = exec(&backend, Action::Promote, &SeenState::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "stale");
    assert_eq!(
        backend.object("Rollout", "demo")["status"]["currentStepIndex"],
        json!(2)
    );
}

#[tokio::test]
async fn double_click_promote_advances_one_step() {
    let backend = MemoryBackend::with(vec![canary()]);
    let clicked = seen_step(1);
    exec(&backend, Action::Promote, &clicked).await.unwrap();
    let err = exec(&backend, Action::Promote, &clicked).await.unwrap_err();
    assert_eq!(err.code(), "stale");
    assert_eq!(
        backend.object("Rollout", "demo")["status"]["currentStepIndex"],
        json!(2)
    );
    assert_eq!(
        backend.sent.lock().unwrap().len(),
        1,
        "the second click wrote nothing"
    );
}

#[tokio::test]
async fn double_click_on_a_pause_before_the_controller_reacts_advances_one_step() {
    let mut ro = paused_at_step_1();
    ro["spec"]["paused"] = json!(false);
    let backend = MemoryBackend::with(vec![ro]);
    let clicked = seen_step(1);
    exec(&backend, Action::Promote, &clicked).await.unwrap();
    // The controller has not reconciled yet: step 1, controllerPause, no pause conditions.
    let second = exec(&backend, Action::Promote, &clicked).await.unwrap();
    assert!(!second.changed);
    assert_eq!(
        backend.object("Rollout", "demo")["status"]["currentStepIndex"],
        json!(1)
    );
}

#[tokio::test]
async fn endless_conflicts_give_up_with_409() {
    let backend = MemoryBackend::with(vec![canary()]);
    for i in 0..=MAX_CONFLICT_RETRIES {
        backend
            .interfere(move |ro| ro["metadata"]["resourceVersion"] = json!(format!("{}", 200 + i)));
    }
    let err = exec(&backend, Action::Promote, &seen_step(1))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 409);
    assert_eq!(err.code(), "conflict");
    assert_eq!(
        backend.sent.lock().unwrap().len() as u32,
        MAX_CONFLICT_RETRIES + 1
    );
    assert_eq!(
        backend.object("Rollout", "demo")["status"]["currentStepIndex"],
        json!(1)
    );
}

#[tokio::test]
async fn failed_json_patch_test_is_retried_as_a_conflict() {
    let backend = MemoryBackend::with(vec![canary()]);
    // The controller writes between our read and our patch: the resourceVersion `test` fails
    // with kube-apiserver's bare 422, which only a fresh read can tell from a real rejection.
    backend.interfere(|ro| ro["metadata"]["resourceVersion"] = json!("777"));
    let action = Action::SetImage {
        container: "app".into(),
        image: "registry.local:5000/team/app".into(),
    };
    let outcome = exec(&backend, action, &seen_step(1)).await.unwrap();
    assert_eq!(outcome.attempts, 2);
    let sent = backend.sent.lock().unwrap().clone();
    assert_eq!(sent[0].patch_type, crate::actions::plan::PatchType::Json);
    assert_eq!(outcome.message, "rollout \"demo\" image updated");
    assert_eq!(
        backend.object("Rollout", "demo")["spec"]["template"]["spec"]["containers"][0]["image"],
        json!("registry.local:5000/team/app")
    );
    assert_eq!(backend.events.lock().unwrap()[0].0, "ImageSetFromDashboard");
}

#[tokio::test]
async fn undo_through_a_workload_ref_deployment() {
    let mut ro = canary();
    ro["spec"].as_object_mut().unwrap().remove("template");
    ro["spec"]["workloadRef"] =
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"});
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns", "resourceVersion": "7"},
        "spec": {"template": {"metadata": {"labels": {"app": "demo"}}, "spec": {"containers": [{"name": "app", "image": "app:2"}]}}},
    });
    let rs = |name: &str, rev: &str, image: &str| {
        json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": "ns", "annotations": {"rollout.argoproj.io/revision": rev},
                "ownerReferences": [{"kind": "Rollout", "name": "demo", "uid": "uid-1", "controller": true}]},
            "spec": {"template": {"metadata": {"labels": {"app": "demo", "rollouts-pod-template-hash": name}},
                "spec": {"containers": [{"name": "app", "image": image}]}}},
        })
    };
    let backend = MemoryBackend::with(vec![
        ro,
        deployment,
        rs("a", "1", "app:1"),
        rs("b", "2", "app:2"),
    ]);
    let outcome = exec(
        &backend,
        Action::Undo { to_revision: None },
        &SeenState::default(),
    )
    .await
    .unwrap();
    assert_eq!(outcome.message, "rollout 'demo' undo");
    assert_eq!(
        backend.object("Deployment", "web")["spec"]["template"],
        json!({"metadata": {"labels": {"app": "demo"}}, "spec": {"containers": [{"name": "app", "image": "app:1"}]}})
    );
    assert_eq!(
        outcome.workload.as_ref().unwrap()["metadata"]["resourceVersion"],
        json!("8")
    );
    assert_eq!(outcome.rollout["kind"], json!("Rollout"));
    assert_eq!(
        backend.events.lock().unwrap()[0].0,
        "RolledBackFromDashboard"
    );
    // Undo again to revision 1: the Deployment already matches, nothing is written.
    let again = exec(
        &backend,
        Action::Undo {
            to_revision: Some(1),
        },
        &SeenState::default(),
    )
    .await
    .unwrap();
    assert!(!again.changed);
    assert_eq!(
        again.message,
        "skipped rollback (current template already matches revision 1)"
    );
}

#[tokio::test]
async fn noop_writes_nothing_and_records_no_event() {
    let mut ro = canary();
    ro["status"]["stableRS"] = json!("new");
    let backend = MemoryBackend::with(vec![ro.clone()]);
    let outcome = exec(&backend, Action::PromoteFull, &SeenState::default())
        .await
        .unwrap();
    assert!(!outcome.changed);
    assert!(outcome.patches.is_empty());
    assert_eq!(outcome.rollout, ro);
    assert!(backend.sent.lock().unwrap().is_empty());
    assert!(backend.events.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_failed_event_does_not_fail_the_action() {
    let mut backend = MemoryBackend::with(vec![canary()]);
    backend.fail_events = true;
    let outcome = exec(&backend, Action::Pause, &SeenState::default())
        .await
        .unwrap();
    assert_eq!(outcome.message, "rollout 'demo' paused");
    assert_eq!(
        backend.object("Rollout", "demo")["spec"]["paused"],
        json!(true)
    );
}

#[tokio::test]
async fn restart_event_and_body() {
    let backend = MemoryBackend::with(vec![canary()]);
    let action = Action::Restart {
        at: "2024-05-01T10:00:00Z".into(),
    };
    exec(&backend, action, &SeenState::default()).await.unwrap();
    assert_eq!(
        backend.sent_bodies(),
        vec![json!({"spec": {"restartAt": "2024-05-01T10:00:00Z"}})]
    );
    assert_eq!(
        backend.events.lock().unwrap()[0].0,
        "RestartedFromDashboard"
    );
}

#[tokio::test]
async fn errors_map_to_http_statuses() {
    // 404: the rollout does not exist.
    let backend = MemoryBackend::default();
    let err = exec(&backend, Action::Pause, &SeenState::default())
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (404, "not_found"));
    assert_eq!(err.to_string(), "rollout 'ns/demo' not found");

    // 403 names the verb and the resource.
    let backend = MemoryBackend::with(vec![canary()]);
    backend.fail_next_patch(BackendError::Forbidden {
        verb: "patch".into(),
        resource: "rollouts/status".into(),
        message: "rollouts.argoproj.io \"demo\" is forbidden".into(),
    });
    let err = exec(&backend, Action::Abort, &SeenState::default())
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (403, "forbidden"));
    assert_eq!(
        err.to_string(),
        "permission denied: not allowed to patch rollouts/status (rollouts.argoproj.io \"demo\" is forbidden)"
    );

    // 422 from the API server.
    let backend = MemoryBackend::with(vec![canary()]);
    backend.fail_next_patch(BackendError::Invalid {
        message: "spec.restartAt: Invalid value".into(),
    });
    let err = exec(
        &backend,
        Action::Restart {
            at: "2024-05-01T10:00:00Z".into(),
        },
        &SeenState::default(),
    )
    .await
    .unwrap_err();
    assert_eq!((err.status(), err.code()), (422, "invalid"));

    // 422 from planning.
    let backend = MemoryBackend::with(vec![canary()]);
    let action = Action::SetImage {
        container: "nope".into(),
        image: "x:1".into(),
    };
    let err = exec(&backend, action, &SeenState::default())
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (422, "container_not_found"));
    assert_eq!(err.to_string(), "unable to find container named \"nope\"");

    // 502 for anything else.
    let backend = MemoryBackend::with(vec![canary()]);
    backend.fail_next_patch(BackendError::Other {
        status: 500,
        message: "etcd timeout".into(),
    });
    let err = exec(&backend, Action::Pause, &SeenState::default())
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (502, "upstream_error"));
    assert_eq!(
        err.to_string(),
        "the Kubernetes API failed (status 500): etcd timeout"
    );

    // 409 stale before anything is written.
    let backend = MemoryBackend::with(vec![canary()]);
    let err = exec(&backend, Action::Promote, &seen_step(0))
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (409, "stale"));
    assert!(backend.sent.lock().unwrap().is_empty());

    // A missing workloadRef object is a 404 naming it.
    let mut ro = canary();
    ro["spec"]["workloadRef"] =
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"});
    let backend = MemoryBackend::with(vec![ro]);
    let err = exec(
        &backend,
        Action::Undo { to_revision: None },
        &SeenState::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "workloadRef Deployment 'ns/web' not found");
}

#[test]
fn backend_errors_classify_api_status_codes() {
    let e = |code| BackendError::from_status(code, "m", "patch", "rollouts");
    assert!(matches!(e(404), BackendError::NotFound { .. }));
    assert_eq!(
        e(403),
        BackendError::Forbidden {
            verb: "patch".into(),
            resource: "rollouts".into(),
            message: "m".into()
        }
    );
    assert!(matches!(e(409), BackendError::Conflict { .. }));
    assert!(matches!(e(422), BackendError::Invalid { .. }));
    assert_eq!(
        e(500),
        BackendError::Other {
            status: 500,
            message: "m".into()
        }
    );
    for code in [403, 404, 409, 422, 500] {
        assert_eq!(e(code).status(), code);
    }
}

#[test]
fn apply_in_memory_respects_the_status_subresource() {
    let mut ro = canary();
    let status_patch = PlannedPatch {
        target: Target::of(&ro).unwrap(),
        subresource: Some(Subresource::Status),
        patch_type: PatchType::Merge,
        body: json!({"spec": {"paused": true}, "status": {"abort": true}}),
        precondition_resource_version: None,
        fallback: None,
    };
    apply_in_memory(&mut ro, &status_patch, true).unwrap();
    assert_eq!(ro["status"]["abort"], json!(true));
    assert_eq!(
        ro["spec"].get("paused"),
        None,
        "spec changes are ignored on /status"
    );
    let main = PlannedPatch {
        subresource: None,
        body: json!({"spec": {"paused": true}, "status": {"abort": false}}),
        ..status_patch.clone()
    };
    apply_in_memory(&mut ro, &main, true).unwrap();
    assert_eq!(ro["spec"]["paused"], json!(true));
    assert_eq!(
        ro["status"]["abort"],
        json!(true),
        "status changes are ignored on the main resource"
    );
    assert_eq!(ro["metadata"]["resourceVersion"], json!("102"));
    assert!(matches!(
        apply_in_memory(&mut ro, &status_patch, false),
        Err(BackendError::NotFound { .. })
    ));
    let stale = PlannedPatch {
        precondition_resource_version: Some("100".into()),
        ..main
    };
    assert!(matches!(
        apply_in_memory(&mut ro, &stale, true),
        Err(BackendError::Conflict { .. })
    ));
}

#[tokio::test]
async fn a_json_patch_rejected_on_an_unchanged_object_is_a_422_not_a_retry() {
    let backend = MemoryBackend::with(vec![canary()]);
    backend.fail_next_patch(BackendError::Invalid {
        message: "the server rejected our request due to an error in our request".into(),
    });
    let action = Action::SetImage {
        container: "app".into(),
        image: "registry.local:5000/team/app".into(),
    };
    let err = exec(&backend, action, &seen_step(1)).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (422, "invalid"));
    assert_eq!(backend.sent.lock().unwrap().len(), 1);
    assert!(backend.events.lock().unwrap().is_empty());
}

/// The canary of `canary()` with the `InvalidSpec` condition the controller writes.
fn invalid_spec() -> Value {
    let mut ro = canary();
    ro["status"]["phase"] = json!("Degraded");
    ro["status"]["message"] = json!("InvalidSpec: steps[1].setWeight must be between 0 and 100");
    ro["status"]["conditions"] = json!([{
        "type": "InvalidSpec", "status": "True", "reason": "InvalidSpec",
        "message": "The Rollout \"demo\" is invalid: spec.strategy.canary.steps[1].setWeight: must be between 0 and 100",
    }]);
    ro
}

#[tokio::test]
async fn promote_on_an_invalid_spec_is_refused_with_422_and_the_reason() {
    for action in [Action::Promote, Action::PromoteFull] {
        let backend = MemoryBackend::with(vec![invalid_spec()]);
        let err = exec(&backend, action, &SeenState::default())
            .await
            .unwrap_err();
        assert_eq!((err.status(), err.code()), (422, "invalid_spec"));
        let message = err.to_string();
        assert!(message.contains("spec is invalid"), "{message}");
        assert!(message.contains("steps[1].setWeight"), "{message}");
        assert!(
            backend.sent.lock().unwrap().is_empty(),
            "nothing is written"
        );
        assert!(backend.events.lock().unwrap().is_empty());
    }
}

#[tokio::test]
async fn retry_on_a_rollout_that_is_not_aborted_is_refused() {
    for ro in [invalid_spec(), canary()] {
        let backend = MemoryBackend::with(vec![ro]);
        let err = exec(&backend, Action::Retry, &SeenState::default())
            .await
            .unwrap_err();
        assert_eq!((err.status(), err.code()), (409, "not_applicable"));
        assert!(err.to_string().contains("not aborted"), "{err}");
        assert!(backend.sent.lock().unwrap().is_empty());
    }
}

#[tokio::test]
async fn promote_full_on_a_rollout_not_fully_promoted_is_allowed() {
    let backend = MemoryBackend::with(vec![paused_at_step_1()]);
    let outcome = exec(&backend, Action::PromoteFull, &seen_step(1))
        .await
        .unwrap();
    assert!(outcome.changed);
    // And on a fully promoted one it is refused, with the reason the UI shows.
    let mut done = canary();
    done["status"]["phase"] = json!("Healthy");
    done["status"]["stableRS"] = json!("new");
    let backend = MemoryBackend::with(vec![done]);
    let err = exec(&backend, Action::PromoteFull, &SeenState::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), 409);
    assert!(err.to_string().contains("fully promoted"), "{err}");
}
