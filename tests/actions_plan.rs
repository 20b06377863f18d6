//! Action planning against upstream's canary fixtures (as upstream's `undo_test.go` does), plus
//! the promote/abort/... bodies for the canary and blue-green fixtures.
//!
//! Fixtures are read in place from `../shared/fixtures/argo-rollouts-info` and are required:
//! a missing file fails the test.

mod common;

use rollouts_dashboard::actions::{
    Action, PatchType, PlanError, PlannedPatch, SeenState, Subresource, Target, check_stale, plan,
};
use serde_json::{Value, json};

fn fixture(scenario: &str, file: &str) -> Value {
    let path = common::fixture(&format!("argo-rollouts-info/{scenario}/{file}"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("required fixture {} is missing: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()))
}

fn canary(file: &str) -> Value {
    fixture("canary", file)
}

fn canary_replica_sets() -> Vec<Value> {
    ["canary-rs.yaml", "old-rs.yaml", "stable-rs.yaml"]
        .iter()
        .map(|f| canary(f))
        .collect()
}

/// The pod template of an RS fixture without the rollouts-pod-template-hash label, as it
/// must be written back.
fn template_of(image: &str) -> Value {
    json!({
        "metadata": {"creationTimestamp": null, "labels": {"app": "canary-demo"}},
        "spec": {
            "containers": [{
                "image": image,
                "imagePullPolicy": "Always",
                "name": "canary-demo",
                "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                "resources": {"requests": {"cpu": "5m", "memory": "32Mi"}},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
            }],
            "dnsPolicy": "ClusterFirst",
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "terminationGracePeriodSeconds": 30,
        },
    })
}

fn rollout_target(name: &str) -> Target {
    Target {
        api_version: "argoproj.io/v1alpha1".into(),
        kind: "Rollout".into(),
        plural: "rollouts".into(),
        name: name.into(),
        namespace: "jesse-test".into(),
    }
}

fn json_patch(target: Target, body: Value, precondition: Option<&str>) -> PlannedPatch {
    PlannedPatch {
        target,
        subresource: None,
        patch_type: PatchType::Json,
        body,
        precondition_resource_version: precondition.map(str::to_string),
        fallback: None,
    }
}

fn merge(
    target: Target,
    subresource: Option<Subresource>,
    body: Value,
    fallback: Option<PlannedPatch>,
) -> PlannedPatch {
    PlannedPatch {
        target,
        subresource,
        patch_type: PatchType::Merge,
        body,
        precondition_resource_version: None,
        fallback: fallback.map(Box::new),
    }
}

// ----- undo (upstream undo_test.go) -----------------------------------------------------------

#[test]
fn undo_defaults_to_the_previous_revision() {
    let ro = canary("canary-rollout.yaml");
    let plan = plan(
        &Action::Undo { to_revision: None },
        &ro,
        &canary_replica_sets(),
        None,
    )
    .unwrap();
    assert_eq!(plan.message, "rollout 'canary-demo' undo");
    assert_eq!(
        plan.patches,
        vec![json_patch(
            rollout_target("canary-demo"),
            json!([
                {"op": "test", "path": "/metadata/resourceVersion", "value": "28253567"},
                {"op": "replace", "path": "/spec/template", "value": template_of("argoproj/rollouts-demo:green")},
            ]),
            Some("28253567"),
        )]
    );
}

#[test]
fn undo_to_revision_29() {
    let ro = canary("canary-rollout.yaml");
    let plan = plan(
        &Action::Undo {
            to_revision: Some(29),
        },
        &ro,
        &canary_replica_sets(),
        None,
    )
    .unwrap();
    assert_eq!(
        plan.patches[0].body,
        json!([
            {"op": "test", "path": "/metadata/resourceVersion", "value": "28253567"},
            {"op": "replace", "path": "/spec/template", "value": template_of("argoproj/rollouts-demo:asdf")},
        ])
    );
}

#[test]
fn undo_to_the_current_revision_is_skipped() {
    let ro = canary("canary-rollout.yaml");
    let plan = plan(
        &Action::Undo {
            to_revision: Some(31),
        },
        &ro,
        &canary_replica_sets(),
        None,
    )
    .unwrap();
    assert!(plan.patches.is_empty());
    assert_eq!(
        plan.message,
        "skipped rollback (current template already matches revision 31)"
    );
}

#[test]
fn undo_to_a_missing_revision_fails() {
    let ro = canary("canary-rollout.yaml");
    let err = plan(
        &Action::Undo {
            to_revision: Some(1),
        },
        &ro,
        &canary_replica_sets(),
        None,
    )
    .unwrap_err();
    assert_eq!(err, PlanError::RevisionNotFound(1));
    assert_eq!(
        err.to_string(),
        "unable to find specified revision 1 in history"
    );
}

#[test]
fn undo_without_history_fails() {
    let ro = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "guestbook", "namespace": "default", "uid": "u"},
        "spec": {"strategy": {"canary": {}}},
    });
    let err = plan(
        &Action::Undo { to_revision: None },
        &ro,
        &canary_replica_sets(),
        None,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no revision found for rollout \"guestbook\""
    );
}

#[test]
fn undo_ignores_replica_sets_it_does_not_control() {
    let ro = canary("canary-rollout.yaml");
    let mut sets = canary_replica_sets();
    for rs in &mut sets {
        rs["metadata"]["ownerReferences"][0]["controller"] = json!(false);
    }
    let err = plan(
        &Action::Undo {
            to_revision: Some(29),
        },
        &ro,
        &sets,
        None,
    )
    .unwrap_err();
    assert_eq!(err, PlanError::RevisionNotFound(29));
}

#[test]
fn undo_of_a_workload_ref_replica_set_patches_the_replica_set() {
    let ro = canary("canary-rollout2.yaml");
    let workload = canary("canary-rs.yaml");
    let plan = plan(
        &Action::Undo {
            to_revision: Some(29),
        },
        &ro,
        &canary_replica_sets(),
        Some(&workload),
    )
    .unwrap();
    assert_eq!(plan.message, "rollout 'canary-demo-workloadRef' undo");
    assert_eq!(
        plan.patches,
        vec![json_patch(
            Target {
                api_version: "apps/v1".into(),
                kind: "ReplicaSet".into(),
                plural: "replicasets".into(),
                name: "canary-demo-65fb5ffc84".into(),
                namespace: "jesse-test".into(),
            },
            json!([
                {"op": "test", "path": "/metadata/resourceVersion", "value": "28253392"},
                {"op": "replace", "path": "/spec/template", "value": template_of("argoproj/rollouts-demo:asdf")},
            ]),
            Some("28253392"),
        )]
    );
    // The workload already runs revision 31: nothing to do.
    let skip = rollouts_dashboard::actions::plan(
        &Action::Undo {
            to_revision: Some(31),
        },
        &ro,
        &canary_replica_sets(),
        Some(&workload),
    )
    .unwrap();
    assert_eq!(
        skip.message,
        "skipped rollback (current template already matches revision 31)"
    );
}

#[test]
fn undo_of_a_workload_ref_deployment_patches_the_deployment() {
    let ro = canary("canary-rollout3.yaml");
    let workload = canary("canary-ref-deploy.yaml");
    let plan = plan(
        &Action::Undo {
            to_revision: Some(29),
        },
        &ro,
        &canary_replica_sets(),
        Some(&workload),
    )
    .unwrap();
    // The Deployment fixture has no resourceVersion, so there is no precondition to test.
    assert_eq!(
        plan.patches,
        vec![json_patch(
            Target {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                plural: "deployments".into(),
                name: "canary-demo-deploy".into(),
                namespace: "jesse-test".into(),
            },
            json!([{"op": "replace", "path": "/spec/template", "value": template_of("argoproj/rollouts-demo:asdf")}]),
            None,
        )]
    );
}

#[test]
fn undo_of_a_workload_ref_pod_template_uses_the_template_path() {
    let mut ro = canary("canary-rollout3.yaml");
    ro["spec"]["workloadRef"] =
        json!({"apiVersion": "v1", "kind": "PodTemplate", "name": "canary-demo-pt"});
    let deploy = canary("canary-ref-deploy.yaml");
    let workload = json!({
        "apiVersion": "v1",
        "kind": "PodTemplate",
        "metadata": {"name": "canary-demo-pt", "namespace": "jesse-test", "resourceVersion": "42"},
        "template": deploy["spec"]["template"],
    });
    let plan = plan(
        &Action::Undo { to_revision: None },
        &ro,
        &canary_replica_sets(),
        Some(&workload),
    )
    .unwrap();
    assert_eq!(
        plan.patches,
        vec![json_patch(
            Target {
                api_version: "v1".into(),
                kind: "PodTemplate".into(),
                plural: "podtemplates".into(),
                name: "canary-demo-pt".into(),
                namespace: "jesse-test".into(),
            },
            json!([
                {"op": "test", "path": "/metadata/resourceVersion", "value": "42"},
                {"op": "replace", "path": "/template", "value": template_of("argoproj/rollouts-demo:green")},
            ]),
            Some("42"),
        )]
    );
}

// ----- other actions on the fixtures ----------------------------------------------------------

#[test]
fn canary_fixture_promote_skips_step_0_with_a_precondition() {
    // canary-demo: step 0 of 8, no pause condition, not paused -> rule 3.
    let ro = canary("canary-rollout.yaml");
    let plan = plan(&Action::Promote, &ro, &[], None).unwrap();
    assert_eq!(
        plan.patches,
        vec![PlannedPatch {
            precondition_resource_version: Some("28253567".into()),
            ..merge(
                rollout_target("canary-demo"),
                Some(Subresource::Status),
                json!({"metadata": {"resourceVersion": "28253567"}, "status": {"pauseConditions": null, "currentStepIndex": 1}}),
                Some(PlannedPatch {
                    precondition_resource_version: Some("28253567".into()),
                    ..merge(
                        rollout_target("canary-demo"),
                        None,
                        json!({"metadata": {"resourceVersion": "28253567"}, "spec": {"paused": false}, "status": {"pauseConditions": null, "currentStepIndex": 1}}),
                        None,
                    )
                }),
            )
        }]
    );
}

#[test]
fn canary_fixture_promote_full_abort_retry_pause_restart() {
    let ro = canary("canary-rollout.yaml");
    let t = || rollout_target("canary-demo");
    let run = |action: Action| plan(&action, &ro, &[], None).unwrap().patches;
    assert_eq!(
        run(Action::PromoteFull),
        vec![merge(
            t(),
            Some(Subresource::Status),
            json!({"status": {"promoteFull": true}}),
            Some(merge(
                t(),
                None,
                json!({"spec": {"paused": false}, "status": {"promoteFull": true}}),
                None
            )),
        )]
    );
    for (action, body) in [
        (Action::Abort, json!({"status": {"abort": true}})),
        (Action::Retry, json!({"status": {"abort": false}})),
    ] {
        assert_eq!(
            run(action),
            vec![merge(
                t(),
                Some(Subresource::Status),
                body.clone(),
                Some(merge(t(), None, body, None))
            )]
        );
    }
    assert_eq!(
        run(Action::Pause),
        vec![merge(t(), None, json!({"spec": {"paused": true}}), None)]
    );
    assert_eq!(
        run(Action::Restart {
            at: "2019-10-28T05:00:00Z".into()
        }),
        vec![merge(
            t(),
            None,
            json!({"spec": {"restartAt": "2019-10-28T05:00:00Z"}}),
            None
        )]
    );
    assert!(run(Action::Resume).is_empty());
}

#[test]
fn blue_green_fixture_promote_clears_the_pause_condition() {
    // bluegreen-demo: controllerPause with [BlueGreenPause] -> rule 2.
    let ro = fixture("blue-green", "bluegreen-rollout.yaml");
    let t = || Target {
        namespace: "jesse-test".into(),
        ..rollout_target("bluegreen-demo")
    };
    let plan = plan(&Action::Promote, &ro, &[], None).unwrap();
    assert_eq!(plan.message, "rollout 'bluegreen-demo' promoted");
    assert_eq!(
        plan.patches,
        vec![merge(
            t(),
            Some(Subresource::Status),
            json!({"status": {"pauseConditions": null}}),
            Some(merge(
                t(),
                None,
                json!({"spec": {"paused": false}, "status": {"pauseConditions": null}}),
                None
            )),
        )]
    );
    // Resume is the same write here.
    assert_eq!(
        rollouts_dashboard::actions::plan(&Action::Resume, &ro, &[], None)
            .unwrap()
            .patches,
        plan.patches
    );
    // Promote-full: preview 74b948fccb is not the stable 6cbccd9f99 yet.
    let full = rollouts_dashboard::actions::plan(&Action::PromoteFull, &ro, &[], None).unwrap();
    assert_eq!(
        full.patches[0].body,
        json!({"status": {"promoteFull": true}})
    );
}

#[test]
fn set_image_on_the_canary_fixture_with_a_registry_port() {
    let ro = canary("canary-rollout.yaml");
    let action = Action::SetImage {
        container: "canary-demo".into(),
        image: "registry.local:5000/team/app".into(),
    };
    let plan = plan(&action, &ro, &[], None).unwrap();
    assert_eq!(plan.message, "rollout \"canary-demo\" image updated");
    assert_eq!(
        plan.patches,
        vec![json_patch(
            rollout_target("canary-demo"),
            json!([
                {"op": "test", "path": "/metadata/resourceVersion", "value": "28253567"},
                {"op": "test", "path": "/spec/template/spec/containers/0/name", "value": "canary-demo"},
                {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "registry.local:5000/team/app"},
            ]),
            Some("28253567"),
        )]
    );
}

#[test]
fn set_image_on_the_workload_ref_deployment_fixture() {
    let ro = canary("canary-rollout3.yaml");
    let workload = canary("canary-ref-deploy.yaml");
    let action = Action::SetImage {
        container: "*".into(),
        image: "argoproj/rollouts-demo:blue".into(),
    };
    let plan = plan(&action, &ro, &[], Some(&workload)).unwrap();
    assert_eq!(
        plan.message,
        "deployment \"canary-demo-deploy\" image updated"
    );
    assert_eq!(
        plan.patches[0].body,
        json!([
            {"op": "test", "path": "/spec/template/spec/containers/0/name", "value": "canary-demo-deploy"},
            {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "argoproj/rollouts-demo:blue"},
        ])
    );
}

#[test]
fn stale_guard_on_the_canary_fixture() {
    let ro = canary("canary-rollout.yaml");
    let seen = |step, hash: &str| SeenState {
        resource_version: Some("1".into()),
        step_index: Some(step),
        pod_hash: Some(hash.into()),
    };
    assert!(check_stale(&ro, &seen(0, "65fb5ffc84")).is_ok());
    assert_eq!(
        check_stale(&ro, &seen(1, "65fb5ffc84"))
            .unwrap_err()
            .changes,
        vec!["step moved from 1 to 0"]
    );
    assert_eq!(
        check_stale(&ro, &seen(0, "877894d5b")).unwrap_err().changes,
        vec!["pod hash changed from 877894d5b to 65fb5ffc84"]
    );
}
