//! Pins every patch body the planner produces, rule by rule.

use super::*;

const RV: &str = "100";

fn template(containers: Value) -> Value {
    json!({"metadata": {"labels": {"app": "demo"}}, "spec": {"containers": containers}})
}

/// A canary rollout with `steps` steps (setWeight / pause alternating), mid-update.
fn canary(steps: usize) -> Value {
    let steps: Vec<Value> = (0..steps)
        .map(|i| {
            if i % 2 == 0 {
                json!({"setWeight": 20 * (i + 1)})
            } else {
                json!({"pause": {}})
            }
        })
        .collect();
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "demo", "namespace": "ns", "uid": "uid-1", "resourceVersion": RV},
        "spec": {
            "strategy": {"canary": {"steps": steps}},
            "template": template(json!([{"name": "app", "image": "app:1"}])),
        },
        "status": {"currentPodHash": "new", "stableRS": "old", "currentStepIndex": 1},
    })
}

fn blue_green() -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "bg", "namespace": "ns", "uid": "uid-2", "resourceVersion": RV},
        "spec": {
            "strategy": {"blueGreen": {"activeService": "active", "previewService": "preview"}},
            "template": template(json!([{"name": "app", "image": "app:1"}])),
        },
        "status": {"currentPodHash": "new", "stableRS": "old"},
    })
}

fn set(object: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let mut node = object;
    for part in parent.split('/').skip(1) {
        node = node
            .as_object_mut()
            .unwrap()
            .entry(part)
            .or_insert_with(|| json!({}));
    }
    node.as_object_mut().unwrap().insert(key.to_string(), value);
}

fn with(mut object: Value, pointer: &str, value: Value) -> Value {
    set(&mut object, pointer, value);
    object
}

fn target(name: &str) -> Target {
    Target {
        api_version: "argoproj.io/v1alpha1".into(),
        kind: "Rollout".into(),
        plural: "rollouts".into(),
        name: name.into(),
        namespace: "ns".into(),
    }
}

fn main_patch(name: &str, body: Value, precondition: Option<&str>) -> PlannedPatch {
    PlannedPatch {
        target: target(name),
        subresource: None,
        patch_type: PatchType::Merge,
        body,
        precondition_resource_version: precondition.map(str::to_string),
        fallback: None,
    }
}

fn status_patch(
    name: &str,
    body: Value,
    precondition: Option<&str>,
    fallback: PlannedPatch,
) -> PlannedPatch {
    PlannedPatch {
        target: target(name),
        subresource: Some(Subresource::Status),
        patch_type: PatchType::Merge,
        body,
        precondition_resource_version: precondition.map(str::to_string),
        fallback: Some(Box::new(fallback)),
    }
}

fn run(action: Action, rollout: &Value) -> Plan {
    plan(&action, rollout, &[], None).unwrap()
}

fn unified_clear(name: &str) -> PlannedPatch {
    main_patch(
        name,
        json!({"spec": {"paused": false}, "status": {"pauseConditions": null}}),
        None,
    )
}

fn pause_condition(reason: &str) -> Value {
    json!([{"reason": reason, "startTime": "2024-05-01T10:00:00Z"}])
}

// ----- promote --------------------------------------------------------------------------------

#[test]
fn promote_rule1_inconclusive_step_analysis_clears_controller_pause_and_skips_step() {
    let mut ro = canary(4);
    set(
        &mut ro,
        "/status/pauseConditions",
        pause_condition("InconclusiveAnalysisRun"),
    );
    set(&mut ro, "/status/controllerPause", json!(true));
    set(
        &mut ro,
        "/status/canary/currentStepAnalysisRunStatus",
        json!({"name": "ar", "status": "Inconclusive"}),
    );
    let plan = run(Action::Promote, &ro);
    assert_eq!(plan.message, "rollout 'demo' promoted");
    assert_eq!(
        plan.patches,
        vec![status_patch(
            "demo",
            json!({"metadata": {"resourceVersion": RV}, "status": {"pauseConditions": null, "controllerPause": false, "currentStepIndex": 2}}),
            Some(RV),
            unified_clear("demo"),
        )]
    );
}

#[test]
fn promote_rule1_without_controller_pause_falls_to_rule2() {
    let mut ro = canary(4);
    set(
        &mut ro,
        "/status/pauseConditions",
        pause_condition("InconclusiveAnalysisRun"),
    );
    set(
        &mut ro,
        "/status/canary/currentStepAnalysisRunStatus",
        json!({"name": "ar", "status": "Inconclusive"}),
    );
    let plan = run(Action::Promote, &ro);
    assert_eq!(
        plan.patches,
        vec![status_patch(
            "demo",
            json!({"status": {"pauseConditions": null}}),
            None,
            unified_clear("demo")
        )]
    );
}

#[test]
fn promote_rule2_pause_conditions_only_clears_them() {
    let mut ro = canary(4);
    set(
        &mut ro,
        "/status/pauseConditions",
        pause_condition("CanaryPauseStep"),
    );
    set(&mut ro, "/status/controllerPause", json!(true));
    let plan = run(Action::Promote, &ro);
    assert_eq!(
        plan.patches,
        vec![status_patch(
            "demo",
            json!({"status": {"pauseConditions": null}}),
            None,
            unified_clear("demo")
        )]
    );
}

#[test]
fn promote_rule2_blue_green_pause() {
    let mut ro = blue_green();
    set(
        &mut ro,
        "/status/pauseConditions",
        pause_condition("BlueGreenPause"),
    );
    set(&mut ro, "/status/controllerPause", json!(true));
    let plan = run(Action::Promote, &ro);
    assert_eq!(plan.message, "rollout 'bg' promoted");
    assert_eq!(
        plan.patches,
        vec![status_patch(
            "bg",
            json!({"status": {"pauseConditions": null}}),
            None,
            unified_clear("bg")
        )]
    );
}

#[test]
fn promote_rule3_canary_without_pause_skips_step_with_precondition() {
    let ro = with(canary(4), "/status/currentStepIndex", json!(2));
    let plan = run(Action::Promote, &ro);
    assert_eq!(
        plan.patches,
        vec![status_patch(
            "demo",
            json!({"metadata": {"resourceVersion": RV}, "status": {"pauseConditions": null, "currentStepIndex": 3}}),
            Some(RV),
            main_patch(
                "demo",
                json!({"metadata": {"resourceVersion": RV}, "spec": {"paused": false}, "status": {"pauseConditions": null, "currentStepIndex": 3}}),
                Some(RV),
            ),
        )]
    );
}

#[test]
fn promote_rule3_step_index_is_capped_at_the_number_of_steps() {
    let ro = with(canary(4), "/status/currentStepIndex", json!(4));
    let plan = run(Action::Promote, &ro);
    assert_eq!(
        plan.patches[0].body,
        json!({"metadata": {"resourceVersion": RV}, "status": {"pauseConditions": null, "currentStepIndex": 4}})
    );
    assert_eq!(
        plan.patches[0].fallback.as_ref().unwrap().body,
        json!({"metadata": {"resourceVersion": RV}, "spec": {"paused": false}, "status": {"pauseConditions": null, "currentStepIndex": 4}})
    );
}

#[test]
fn promote_rule3_missing_step_index_counts_as_zero() {
    let mut ro = canary(4);
    ro["status"]
        .as_object_mut()
        .unwrap()
        .remove("currentStepIndex");
    let plan = run(Action::Promote, &ro);
    assert_eq!(
        plan.patches[0].body,
        json!({"metadata": {"resourceVersion": RV}, "status": {"pauseConditions": null, "currentStepIndex": 1}})
    );
}

#[test]
fn promote_rule3_guard_no_step_skip_while_controller_is_unpausing() {
    let ro = with(canary(4), "/status/controllerPause", json!(true));
    let plan = run(Action::Promote, &ro);
    assert!(plan.is_noop());
    assert_eq!(
        plan.message,
        "rollout 'demo' is already resuming (waiting for the controller to unpause); no step skipped"
    );
}

#[test]
fn promote_rule4_blue_green_without_pause_writes_nothing() {
    let plan = run(Action::Promote, &blue_green());
    assert!(plan.is_noop());
    assert_eq!(
        plan.message,
        "rollout 'bg' is not paused; nothing to promote"
    );
}

#[test]
fn promote_canary_without_steps_and_without_pause_writes_nothing() {
    let ro = with(canary(0), "/spec/strategy/canary", json!({}));
    assert!(run(Action::Promote, &ro).is_noop());
}

#[test]
fn promote_spec_paused_blue_green_sends_only_the_spec_patch() {
    let ro = with(blue_green(), "/spec/paused", json!(true));
    let plan = run(Action::Promote, &ro);
    assert_eq!(
        plan.patches,
        vec![main_patch("bg", json!({"spec": {"paused": false}}), None)]
    );
}

#[test]
fn promote_spec_paused_with_pause_conditions_sends_status_then_spec() {
    let mut ro = with(canary(4), "/spec/paused", json!(true));
    set(
        &mut ro,
        "/status/pauseConditions",
        pause_condition("CanaryPauseStep"),
    );
    set(&mut ro, "/status/controllerPause", json!(true));
    let plan = run(Action::Promote, &ro);
    assert_eq!(
        plan.patches,
        vec![
            status_patch(
                "demo",
                json!({"status": {"pauseConditions": null}}),
                None,
                unified_clear("demo")
            ),
            main_patch("demo", json!({"spec": {"paused": false}}), None),
        ]
    );
}

#[test]
fn promote_without_resource_version_has_no_precondition() {
    let mut ro = with(canary(4), "/status/currentStepIndex", json!(0));
    ro["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    let plan = run(Action::Promote, &ro);
    assert_eq!(
        plan.patches[0].body,
        json!({"status": {"pauseConditions": null, "currentStepIndex": 1}})
    );
    assert_eq!(plan.patches[0].precondition_resource_version, None);
}

// ----- promote-full ---------------------------------------------------------------------------

#[test]
fn promote_full_when_not_promoted() {
    let plan = run(Action::PromoteFull, &canary(4));
    assert_eq!(plan.message, "rollout 'demo' fully promoted");
    assert_eq!(
        plan.patches,
        vec![status_patch(
            "demo",
            json!({"status": {"promoteFull": true}}),
            None,
            main_patch(
                "demo",
                json!({"spec": {"paused": false}, "status": {"promoteFull": true}}),
                None
            ),
        )]
    );
}

#[test]
fn promote_full_when_paused_adds_the_spec_patch() {
    let ro = with(blue_green(), "/spec/paused", json!(true));
    let plan = run(Action::PromoteFull, &ro);
    assert_eq!(plan.patches.len(), 2);
    assert_eq!(
        plan.patches[0].body,
        json!({"status": {"promoteFull": true}})
    );
    assert_eq!(
        plan.patches[1],
        main_patch("bg", json!({"spec": {"paused": false}}), None)
    );
}

#[test]
fn promote_full_when_fully_promoted_writes_nothing() {
    let ro = with(canary(4), "/status/stableRS", json!("new"));
    let plan = run(Action::PromoteFull, &ro);
    assert!(plan.is_noop());
    assert_eq!(
        plan.message,
        "rollout 'demo' is already fully promoted; nothing to do"
    );
}

#[test]
fn promote_full_when_fully_promoted_but_paused_only_unpauses() {
    let ro = with(
        with(canary(4), "/status/stableRS", json!("new")),
        "/spec/paused",
        json!(true),
    );
    let plan = run(Action::PromoteFull, &ro);
    assert_eq!(
        plan.patches,
        vec![main_patch("demo", json!({"spec": {"paused": false}}), None)]
    );
}

// ----- abort, retry, restart, pause, resume ---------------------------------------------------

#[test]
fn abort_patches_status_with_main_resource_fallback() {
    let plan = run(Action::Abort, &canary(4));
    assert_eq!(plan.message, "rollout 'demo' aborted");
    let body = json!({"status": {"abort": true}});
    assert_eq!(
        plan.patches,
        vec![status_patch(
            "demo",
            body.clone(),
            None,
            main_patch("demo", body, None)
        )]
    );
}

#[test]
fn retry_patches_status_with_main_resource_fallback() {
    let plan = run(Action::Retry, &blue_green());
    assert_eq!(plan.message, "rollout 'bg' retried");
    let body = json!({"status": {"abort": false}});
    assert_eq!(
        plan.patches,
        vec![status_patch(
            "bg",
            body.clone(),
            None,
            main_patch("bg", body, None)
        )]
    );
}

#[test]
fn restart_sets_restart_at_with_second_precision() {
    let plan = run(
        Action::Restart {
            at: "2024-05-01T10:00:00Z".into(),
        },
        &canary(4),
    );
    assert_eq!(
        plan.patches,
        vec![main_patch(
            "demo",
            json!({"spec": {"restartAt": "2024-05-01T10:00:00Z"}}),
            None
        )]
    );
    assert_eq!(
        plan.message,
        "rollout 'demo' restarts at 2024-05-01T10:00:00Z"
    );
    let plan = run(
        Action::Restart {
            at: "2024-05-01T12:00:00.987+02:00".into(),
        },
        &canary(4),
    );
    assert_eq!(
        plan.patches[0].body,
        json!({"spec": {"restartAt": "2024-05-01T10:00:00Z"}})
    );
}

#[test]
fn restart_rejects_a_bad_timestamp() {
    let err = plan(
        &Action::Restart {
            at: "tomorrow".into(),
        },
        &canary(4),
        &[],
        None,
    )
    .unwrap_err();
    assert_eq!(err.code(), "invalid_action");
}

#[test]
fn pause_sets_spec_paused() {
    let plan = run(Action::Pause, &canary(4));
    assert_eq!(
        plan.patches,
        vec![main_patch("demo", json!({"spec": {"paused": true}}), None)]
    );
    assert_eq!(plan.message, "rollout 'demo' paused");
}

#[test]
fn resume_clears_spec_paused() {
    let ro = with(canary(4), "/spec/paused", json!(true));
    let plan = run(Action::Resume, &ro);
    assert_eq!(
        plan.patches,
        vec![main_patch("demo", json!({"spec": {"paused": false}}), None)]
    );
    assert_eq!(plan.message, "rollout 'demo' resumed");
}

#[test]
fn resume_clears_pause_conditions_like_promote_rule2_and_never_skips_a_step() {
    let mut ro = with(canary(4), "/spec/paused", json!(true));
    set(
        &mut ro,
        "/status/pauseConditions",
        pause_condition("CanaryPauseStep"),
    );
    let plan = run(Action::Resume, &ro);
    assert_eq!(
        plan.patches,
        vec![
            status_patch(
                "demo",
                json!({"status": {"pauseConditions": null}}),
                None,
                unified_clear("demo")
            ),
            main_patch("demo", json!({"spec": {"paused": false}}), None),
        ]
    );
}

#[test]
fn resume_of_a_running_rollout_writes_nothing() {
    let plan = run(Action::Resume, &canary(4));
    assert!(plan.is_noop());
    assert_eq!(
        plan.message,
        "rollout 'demo' is not paused; nothing to resume"
    );
}

// ----- set-image ------------------------------------------------------------------------------

fn multi_container() -> Value {
    let mut ro = canary(4);
    set(
        &mut ro,
        "/spec/template/spec",
        json!({
            "initContainers": [{"name": "init", "image": "busybox:1"}],
            "containers": [{"name": "app", "image": "app:1"}, {"name": "sidecar", "image": "envoy:1"}],
        }),
    );
    ro
}

fn json_patch_to(target: Target, ops: Value, precondition: Option<&str>) -> PlannedPatch {
    PlannedPatch {
        target,
        subresource: None,
        patch_type: PatchType::Json,
        body: ops,
        precondition_resource_version: precondition.map(str::to_string),
        fallback: None,
    }
}

fn set_image(container: &str, image: &str) -> Action {
    Action::SetImage {
        container: container.into(),
        image: image.into(),
    }
}

#[test]
fn set_image_of_one_container() {
    let plan = run(set_image("sidecar", "envoy:2"), &multi_container());
    assert_eq!(plan.message, "rollout \"demo\" image updated");
    assert_eq!(
        plan.patches,
        vec![json_patch_to(
            target("demo"),
            json!([
                {"op": "test", "path": "/metadata/resourceVersion", "value": RV},
                {"op": "test", "path": "/spec/template/spec/containers/1/name", "value": "sidecar"},
                {"op": "replace", "path": "/spec/template/spec/containers/1/image", "value": "envoy:2"},
            ]),
            Some(RV),
        )]
    );
}

#[test]
fn set_image_of_an_init_container() {
    let plan = run(set_image("init", "busybox:2"), &multi_container());
    assert_eq!(
        plan.patches[0].body,
        json!([
            {"op": "test", "path": "/metadata/resourceVersion", "value": RV},
            {"op": "test", "path": "/spec/template/spec/initContainers/0/name", "value": "init"},
            {"op": "replace", "path": "/spec/template/spec/initContainers/0/image", "value": "busybox:2"},
        ])
    );
}

#[test]
fn set_image_star_sets_every_container_in_upstream_order() {
    let mut ro = multi_container();
    set(
        &mut ro,
        "/spec/template/spec/ephemeralContainers",
        json!([{"name": "debug", "image": "debug:1"}]),
    );
    let plan = run(set_image("*", "all:9"), &ro);
    assert_eq!(
        plan.patches[0].body,
        json!([
            {"op": "test", "path": "/metadata/resourceVersion", "value": RV},
            {"op": "test", "path": "/spec/template/spec/initContainers/0/name", "value": "init"},
            {"op": "replace", "path": "/spec/template/spec/initContainers/0/image", "value": "all:9"},
            {"op": "test", "path": "/spec/template/spec/containers/0/name", "value": "app"},
            {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "all:9"},
            {"op": "test", "path": "/spec/template/spec/containers/1/name", "value": "sidecar"},
            {"op": "replace", "path": "/spec/template/spec/containers/1/image", "value": "all:9"},
            {"op": "test", "path": "/spec/template/spec/ephemeralContainers/0/name", "value": "debug"},
            {"op": "replace", "path": "/spec/template/spec/ephemeralContainers/0/image", "value": "all:9"},
        ])
    );
}

#[test]
fn set_image_unknown_container_is_an_error_with_upstream_wording() {
    let err = plan(&set_image("nope", "x:1"), &multi_container(), &[], None).unwrap_err();
    assert_eq!(err, PlanError::ContainerNotFound("nope".into()));
    assert_eq!(err.to_string(), "unable to find container named \"nope\"");
    assert_eq!(err.code(), "container_not_found");
}

#[test]
fn set_image_star_without_containers_is_not_found() {
    let ro = with(canary(4), "/spec/template/spec", json!({}));
    let err = plan(&set_image("*", "x:1"), &ro, &[], None).unwrap_err();
    assert_eq!(err.to_string(), "unable to find container named \"*\"");
}

#[test]
fn set_image_keeps_a_registry_port_without_a_tag_whole() {
    let plan = run(
        set_image("app", "registry.local:5000/team/app"),
        &multi_container(),
    );
    assert_eq!(
        plan.patches[0].body[2],
        json!({"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "registry.local:5000/team/app"})
    );
}

#[test]
fn set_image_keeps_a_digest_whole() {
    let image = "registry.local:5000/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let plan = run(set_image("app", image), &multi_container());
    assert_eq!(plan.patches[0].body[2]["value"], json!(image));
}

#[test]
fn set_image_to_the_current_image_writes_nothing() {
    let plan = run(set_image("app", "app:1"), &multi_container());
    assert!(plan.is_noop());
    assert_eq!(
        plan.message,
        "rollout \"demo\" already uses image app:1; nothing to do"
    );
}

#[test]
fn set_image_rejects_bad_images() {
    for image in ["", "app :1", "app:1\n", "\tapp", "app:", "/app", "app@"] {
        let err = plan(&set_image("app", image), &multi_container(), &[], None).unwrap_err();
        assert_eq!(err.code(), "invalid_image", "{image:?}");
    }
    let err = plan(&set_image(" ", "app:2"), &multi_container(), &[], None).unwrap_err();
    assert_eq!(err.code(), "invalid_action");
}

fn workload_ref_rollout(kind: &str, name: &str) -> Value {
    let mut ro = canary(4);
    ro["spec"].as_object_mut().unwrap().remove("template");
    set(
        &mut ro,
        "/spec/workloadRef",
        json!({"apiVersion": if kind == "PodTemplate" { "v1" } else { "apps/v1" }, "kind": kind, "name": name}),
    );
    ro
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns", "resourceVersion": "7"},
        "spec": {"replicas": 0, "template": template(json!([{"name": "app", "image": "app:1"}]))},
    })
}

fn pod_template() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "PodTemplate",
        "metadata": {"name": "web-pt", "namespace": "ns", "resourceVersion": "8"},
        "template": template(json!([{"name": "app", "image": "app:1"}])),
    })
}

fn workload_target(api_version: &str, kind: &str, plural: &str, name: &str) -> Target {
    Target {
        api_version: api_version.into(),
        kind: kind.into(),
        plural: plural.into(),
        name: name.into(),
        namespace: "ns".into(),
    }
}

#[test]
fn set_image_on_a_workload_ref_deployment_patches_the_deployment() {
    let ro = workload_ref_rollout("Deployment", "web");
    let plan = plan(&set_image("app", "app:2"), &ro, &[], Some(&deployment())).unwrap();
    assert_eq!(plan.message, "deployment \"web\" image updated");
    assert_eq!(
        plan.patches,
        vec![json_patch_to(
            workload_target("apps/v1", "Deployment", "deployments", "web"),
            json!([
                {"op": "test", "path": "/metadata/resourceVersion", "value": "7"},
                {"op": "test", "path": "/spec/template/spec/containers/0/name", "value": "app"},
                {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "app:2"},
            ]),
            Some("7"),
        )]
    );
}

#[test]
fn set_image_on_a_workload_ref_pod_template_uses_the_template_path() {
    let ro = workload_ref_rollout("PodTemplate", "web-pt");
    let plan = plan(&set_image("app", "app:2"), &ro, &[], Some(&pod_template())).unwrap();
    assert_eq!(
        plan.patches,
        vec![json_patch_to(
            workload_target("v1", "PodTemplate", "podtemplates", "web-pt"),
            json!([
                {"op": "test", "path": "/metadata/resourceVersion", "value": "8"},
                {"op": "test", "path": "/template/spec/containers/0/name", "value": "app"},
                {"op": "replace", "path": "/template/spec/containers/0/image", "value": "app:2"},
            ]),
            Some("8"),
        )]
    );
}

#[test]
fn set_image_on_a_workload_ref_needs_the_workload() {
    let ro = workload_ref_rollout("Deployment", "web");
    let err = plan(&set_image("app", "app:2"), &ro, &[], None).unwrap_err();
    assert_eq!(
        err,
        PlanError::MissingWorkload {
            kind: "Deployment".into(),
            name: "web".into()
        }
    );
    let ro = workload_ref_rollout("StatefulSet", "web");
    let err = plan(&set_image("app", "app:2"), &ro, &[], Some(&deployment())).unwrap_err();
    assert_eq!(
        err.to_string(),
        "workload of type StatefulSet is not supported"
    );
    let ro = workload_ref_rollout("Deployment", "other");
    let err = plan(&set_image("app", "app:2"), &ro, &[], Some(&deployment())).unwrap_err();
    assert_eq!(err.code(), "invalid_object");
}

// ----- undo (synthetic; the upstream fixtures are in tests/actions_plan.rs) -------------------

fn rs(name: &str, revision: &str, image: &str, owner_uid: &str, controller: bool) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": "ns",
            "annotations": {"rollout.argoproj.io/revision": revision},
            "ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "demo", "uid": owner_uid, "controller": controller}],
        },
        "spec": {"template": {
            "metadata": {"labels": {"app": "demo", "rollouts-pod-template-hash": name}},
            "spec": {"containers": [{"name": "app", "image": image, "terminationMessagePath": "/dev/termination-log"}]},
        }},
    })
}

fn history() -> Vec<Value> {
    vec![
        rs("h3", "3", "app:3", "uid-1", true),
        rs("h1", "1", "app:1", "uid-1", true),
        rs("h2", "2", "app:2", "uid-1", true),
        rs("h9", "9", "app:9", "uid-1", false),
        rs("x5", "5", "app:5", "someone-else", true),
    ]
}

fn undo(to_revision: Option<i64>) -> Action {
    Action::Undo { to_revision }
}

#[test]
fn undo_default_is_the_second_highest_controlled_revision() {
    let mut ro = canary(4);
    *ro.pointer_mut("/spec/template/spec/containers/0/image")
        .unwrap() = json!("app:3");
    let plan = plan(&undo(None), &ro, &history(), None).unwrap();
    assert_eq!(plan.message, "rollout 'demo' undo");
    assert_eq!(
        plan.patches,
        vec![json_patch_to(
            target("demo"),
            json!([
                {"op": "test", "path": "/metadata/resourceVersion", "value": RV},
                {"op": "replace", "path": "/spec/template", "value": {
                    "metadata": {"labels": {"app": "demo"}},
                    "spec": {"containers": [{"name": "app", "image": "app:2", "terminationMessagePath": "/dev/termination-log"}]},
                }},
            ]),
            Some(RV),
        )]
    );
}

#[test]
fn undo_to_a_revision_and_skip_when_matching() {
    let mut ro = canary(4);
    *ro.pointer_mut("/spec/template/spec/containers/0/image")
        .unwrap() = json!("app:3");
    let plan1 = plan(&undo(Some(1)), &ro, &history(), None).unwrap();
    assert_eq!(
        plan1.patches[0].body[1]["value"]["spec"]["containers"][0]["image"],
        json!("app:1")
    );
    let skipped = plan(&undo(Some(3)), &ro, &history(), None).unwrap();
    assert!(skipped.is_noop());
    assert_eq!(
        skipped.message,
        "skipped rollback (current template already matches revision 3)"
    );
}

#[test]
fn undo_ignores_replica_sets_not_controlled_by_the_rollout() {
    let ro = canary(4);
    assert_eq!(
        plan(&undo(Some(9)), &ro, &history(), None).unwrap_err(),
        PlanError::RevisionNotFound(9)
    );
    assert_eq!(
        plan(&undo(Some(5)), &ro, &history(), None).unwrap_err(),
        PlanError::RevisionNotFound(5)
    );
    let err = plan(&undo(None), &ro, &[], None).unwrap_err();
    assert_eq!(err.to_string(), "no revision found for rollout \"demo\"");
    let err = plan(&undo(None), &ro, &history()[..1], None).unwrap_err();
    assert_eq!(err.code(), "no_revision");
}

#[test]
fn semantic_derivative_ignores_unset_fields_only() {
    let a = json!({"metadata": {"creationTimestamp": null, "labels": {"app": "x"}}, "spec": {"containers": [{"name": "a", "image": "i", "args": []}]}});
    let b = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "a", "image": "i", "imagePullPolicy": "Always"}], "dnsPolicy": "ClusterFirst"}});
    assert!(semantic_derivative(&a, &b));
    let c = json!({"spec": {"containers": [{"name": "a", "image": "j"}]}});
    assert!(!semantic_derivative(&c, &b));
    let two = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
    assert!(!semantic_derivative(
        &json!({"spec": {"containers": [{"name": "a"}]}}),
        &two
    ));
    assert!(semantic_derivative(
        &json!({"spec": {"replicas": 1}}),
        &json!({"spec": {"replicas": 1.0}})
    ));
}

// ----- stale guard ----------------------------------------------------------------------------

fn seen(rv: Option<&str>, step: Option<i32>, hash: Option<&str>) -> SeenState {
    SeenState {
        resource_version: rv.map(str::to_string),
        step_index: step,
        pod_hash: hash.map(str::to_string),
    }
}

#[test]
fn stale_when_the_step_moved() {
    let ro = with(canary(4), "/status/currentStepIndex", json!(2));
    let err = check_stale(&ro, &seen(Some(RV), Some(1), Some("new"))).unwrap_err();
    assert_eq!(err.changes, vec!["step moved from 1 to 2".to_string()]);
    assert_eq!(
        err.to_string(),
        "the rollout changed since it was displayed: step moved from 1 to 2"
    );
}

#[test]
fn stale_when_the_pod_hash_moved() {
    let ro = with(canary(4), "/status/currentPodHash", json!("newer"));
    let err = check_stale(&ro, &seen(None, Some(1), Some("new"))).unwrap_err();
    assert_eq!(
        err.changes,
        vec!["pod hash changed from new to newer".to_string()]
    );
}

#[test]
fn resource_version_alone_matters_only_without_step_or_hash() {
    let ro = canary(4);
    assert!(check_stale(&ro, &seen(Some("99"), Some(1), None)).is_ok());
    assert!(check_stale(&ro, &seen(Some("99"), None, Some("new"))).is_ok());
    let err = check_stale(&ro, &seen(Some("99"), None, None)).unwrap_err();
    assert_eq!(
        err.changes,
        vec!["resourceVersion changed from 99 to 100".to_string()]
    );
    assert!(check_stale(&ro, &seen(Some(RV), None, None)).is_ok());
    assert!(check_stale(&ro, &SeenState::default()).is_ok());
    assert!(check_stale(&ro, &seen(Some(""), None, Some(""))).is_ok());
}

#[test]
fn missing_step_index_counts_as_zero() {
    let mut ro = canary(4);
    ro["status"]
        .as_object_mut()
        .unwrap()
        .remove("currentStepIndex");
    assert!(check_stale(&ro, &seen(None, Some(0), None)).is_ok());
    assert!(check_stale(&ro, &seen(None, Some(1), None)).is_err());
}

#[test]
fn double_click_second_promote_is_rejected() {
    let ro = with(canary(4), "/status/currentStepIndex", json!(2));
    let clicked = seen(Some(RV), Some(2), Some("new"));
    check_stale(&ro, &clicked).unwrap();
    let first = run(Action::Promote, &ro);
    // What the API server does with the first request's patch.
    let mut after = ro.clone();
    json_patch::merge(&mut after, &first.patches[0].body);
    set(&mut after, "/metadata/resourceVersion", json!("101"));
    assert_eq!(after["status"]["currentStepIndex"], json!(3));
    let err = check_stale(&after, &clicked).unwrap_err();
    assert_eq!(err.changes, vec!["step moved from 2 to 3".to_string()]);
}

// ----- parsing --------------------------------------------------------------------------------

fn now() -> jiff::Timestamp {
    "2024-05-01T10:00:00.5Z".parse().unwrap()
}

#[test]
fn from_request_parses_every_action() {
    let parse = |name: &str, body: Value| Action::from_request(name, &body, now());
    assert_eq!(parse("promote", Value::Null).unwrap(), Action::Promote);
    assert_eq!(
        parse("promote", json!({"full": false})).unwrap(),
        Action::Promote
    );
    assert_eq!(
        parse("promote", json!({"full": true})).unwrap(),
        Action::PromoteFull
    );
    assert_eq!(
        parse("promote-full", json!({})).unwrap(),
        Action::PromoteFull
    );
    assert_eq!(parse("abort", json!({})).unwrap(), Action::Abort);
    assert_eq!(parse("retry", json!({})).unwrap(), Action::Retry);
    assert_eq!(parse("pause", json!({})).unwrap(), Action::Pause);
    assert_eq!(parse("resume", json!({})).unwrap(), Action::Resume);
    assert_eq!(
        parse("restart", json!({})).unwrap(),
        Action::Restart {
            at: "2024-05-01T10:00:00Z".into()
        }
    );
    assert_eq!(
        parse("restart", json!({"at": "2024-06-01T00:00:00.250Z"})).unwrap(),
        Action::Restart {
            at: "2024-06-01T00:00:00Z".into()
        }
    );
    assert_eq!(
        parse(
            "set-image",
            json!({"container": "app", "image": "registry.local:5000/team/app"})
        )
        .unwrap(),
        set_image("app", "registry.local:5000/team/app")
    );
    assert_eq!(parse("undo", json!({})).unwrap(), undo(None));
    assert_eq!(parse("undo", json!({"revision": 0})).unwrap(), undo(None));
    assert_eq!(
        parse("undo", json!({"revision": 29})).unwrap(),
        undo(Some(29))
    );
    assert_eq!(
        parse("undo", json!({"revision": "29"})).unwrap(),
        undo(Some(29))
    );
}

#[test]
fn from_request_rejects_bad_requests() {
    let parse = |name: &str, body: Value| {
        Action::from_request(name, &body, now())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        parse("skip", json!({})),
        "unknown action \"skip\" (expected one of: promote, promote-full, abort, retry, restart, pause, resume, set-image, undo)"
    );
    assert_eq!(
        parse("undo", json!({"revison": 3})),
        "unknown field \"revison\" for action \"undo\""
    );
    assert_eq!(
        parse("undo", json!({"revision": -1})),
        "revision must be a positive integer, got -1"
    );
    assert_eq!(
        parse("undo", json!({"revision": "x"})),
        "\"revision\" must be an integer, got \"x\""
    );
    assert_eq!(
        parse("set-image", json!({"container": "app"})),
        "set-image needs an \"image\""
    );
    assert_eq!(
        parse("set-image", json!({"image": "a"})),
        "set-image needs a \"container\""
    );
    assert_eq!(
        parse("set-image", json!({"container": "app", "image": "a b"})),
        "invalid image \"a b\": the image must not contain whitespace"
    );
    assert_eq!(
        parse("promote", json!({"full": "yes"})),
        "\"full\" must be a boolean"
    );
    assert_eq!(
        parse("pause", json!([])),
        "the request body must be a JSON object"
    );
}

#[test]
fn actions_serialize_with_a_kebab_case_tag() {
    let cases = [
        (Action::PromoteFull, json!({"action": "promote-full"})),
        (
            set_image("app", "a:1"),
            json!({"action": "set-image", "container": "app", "image": "a:1"}),
        ),
        (undo(Some(3)), json!({"action": "undo", "revision": 3})),
        (undo(None), json!({"action": "undo"})),
        (
            Action::Restart {
                at: "2024-05-01T10:00:00Z".into(),
            },
            json!({"action": "restart", "at": "2024-05-01T10:00:00Z"}),
        ),
    ];
    for (action, wire) in cases {
        assert_eq!(serde_json::to_value(&action).unwrap(), wire);
        assert_eq!(serde_json::from_value::<Action>(wire).unwrap(), action);
    }
    for name in ACTION_NAMES {
        let body = match name {
            "set-image" => json!({"container": "c", "image": "i"}),
            _ => json!({}),
        };
        assert_eq!(
            Action::from_request(name, &body, now()).unwrap().name(),
            name
        );
    }
}

#[test]
fn planned_patches_serialize_for_the_audit_log() {
    let plan = run(Action::Abort, &canary(4));
    assert_eq!(
        serde_json::to_value(&plan.patches[0]).unwrap(),
        json!({
            "target": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "plural": "rollouts", "name": "demo", "namespace": "ns"},
            "subresource": "status",
            "patchType": "merge",
            "body": {"status": {"abort": true}},
            "fallback": {
                "target": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "plural": "rollouts", "name": "demo", "namespace": "ns"},
                "patchType": "merge",
                "body": {"status": {"abort": true}},
            },
        })
    );
}
