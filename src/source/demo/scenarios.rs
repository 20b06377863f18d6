//! The seeded scenarios (one rollout per state worth showing) and the `--demo-extra` fleet,
//! and the seeding that fast-forwards them into their showcase states.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::{CYCLE_ANNOTATION, DemoWorld, EXTRA_HISTORY, FAILING_TEMPLATE};

impl DemoWorld {
    /// Seeds the scenarios and fast-forwards until they are in their showcase states:
    /// a canary waiting for promotion, a timed pause, an analysis collecting measurements,
    /// a blue-green awaiting promotion, an aborted rollout with failed analysis, a healthy
    /// one, and `extra` small rollouts.
    pub fn seeded(now: Timestamp, extra: usize) -> Self {
        Self::seeded_from(
            DemoWorld::new(now - SignedDuration::from_mins(10)),
            now,
            extra,
        )
    }

    /// [`DemoWorld::seeded`], from an empty `world` whose clock is ten minutes before `now`.
    pub(super) fn seeded_from(mut world: DemoWorld, now: Timestamp, extra: usize) -> Self {
        // Start in the past and simulate up to `now`, so timestamps look lived-in.
        for scenario in scenarios() {
            world.put(scenario);
        }
        world.advance_to(now - SignedDuration::from_mins(5), 5);
        // Ship new versions so the canaries and the blue-green start moving.
        for (ns, name, image) in [
            (
                "demo-shop",
                "checkout-api",
                "ghcr.io/demo/checkout-api:2.4.0",
            ),
            ("demo-shop", "storefront", "ghcr.io/demo/storefront:7.1.3"),
            (
                "demo-payments",
                "payments-gateway",
                "ghcr.io/demo/payments-gateway:3.0.1",
            ),
            (
                "demo-payments",
                "ledger",
                "registry.internal:5000/payments/ledger:2026.11.2",
            ),
            (
                "demo-search",
                "search-indexer",
                "ghcr.io/demo/search-indexer:1.9.0",
            ),
            (
                "demo-shop",
                "recommendations",
                "ghcr.io/demo/recommendations:5.1.0",
            ),
            (
                "demo-payments",
                "fraud-check",
                "ghcr.io/demo/fraud-check:2.8.0",
            ),
            ("demo-search", "ranking", "ghcr.io/demo/ranking:0.15.0"),
        ] {
            world.set_image(ns, name, image);
        }
        // Someone pushes a step the controller refuses: refunds stays on its old version with
        // an InvalidSpec condition naming the step.
        world.edit_rollout("demo-payments", "refunds", |ro| {
            ro["spec"]["strategy"]["canary"]["steps"][1]["setWeight"] = json!(120);
        });
        // A few seconds into its update, a person pauses ranking (same ticks as one advance).
        world.advance_to(
            now - SignedDuration::from_mins(5) + SignedDuration::from_secs(6),
            2,
        );
        world.edit_rollout("demo-search", "ranking", |ro| {
            ro["spec"]["paused"] = json!(true);
        });
        // The filler rollouts join later, with creation times as old as the others': ten
        // minutes of their cycles cost 20 times the work of the showcase for nothing to see
        // (old revisions are pruned), and two minutes spread their cycles as well.
        world.advance_to(now - EXTRA_HISTORY, 2);
        let created = json!((now - SignedDuration::from_mins(10)).to_string());
        for mut filler in extra_rollouts(extra) {
            filler["metadata"]["creationTimestamp"] = created.clone();
            world.put(filler);
        }
        world.advance_to(now - SignedDuration::from_secs(8), 2);
        // The analysis canary ships last so its measurements arrive while you watch.
        world.set_image(
            "demo-payments",
            "payments-gateway",
            "ghcr.io/demo/payments-gateway:3.1.0",
        );
        world.advance_to(now, 1);
        world.changed.clear();
        world
    }
}

impl DemoWorld {
    /// The smaller `staging` cluster of the demo's fleet: a few rollouts of the same teams,
    /// `demo-shop/checkout-api` among them (the same namespace and name as in `prod-eu`, a
    /// release candidate ahead of production, waiting for promotion), a cycling storefront,
    /// a blue-green awaiting promotion and a calm one.
    pub fn seeded_staging(now: Timestamp) -> Self {
        let mut world = DemoWorld::new(now - SignedDuration::from_mins(10));
        for scenario in staging_scenarios() {
            world.put(scenario);
        }
        world.advance_to(now - SignedDuration::from_mins(5), 5);
        for (ns, name, image) in [
            (
                "demo-shop",
                "checkout-api",
                "ghcr.io/demo/checkout-api:2.5.0-rc.1",
            ),
            (
                "demo-payments",
                "ledger",
                "registry.internal:5000/payments/ledger:2026.12.0-rc.1",
            ),
        ] {
            world.set_image(ns, name, image);
        }
        world.advance_to(now, 2);
        world.changed.clear();
        world
    }
}

/// The rollouts of the demo's `staging` cluster ([`DemoWorld::seeded_staging`]).
pub(super) fn staging_scenarios() -> Vec<Value> {
    vec![
        rollout(
            "demo-shop",
            "checkout-api",
            "ghcr.io/demo/checkout-api:2.4.0",
            2,
            json!({"canary": {"steps": [
                {"setWeight": 50}, {"pause": {}}, {"setWeight": 100}
            ]}}),
            false,
        ),
        rollout(
            "demo-shop",
            "storefront",
            "ghcr.io/demo/storefront:7.2.0-rc.3",
            2,
            json!({"canary": {"steps": [
                {"setWeight": 50}, {"pause": {"duration": "15s"}}
            ]}}),
            true,
        ),
        rollout(
            "demo-payments",
            "ledger",
            "registry.internal:5000/payments/ledger:2026.11.2",
            1,
            json!({"blueGreen": {
                "activeService": "ledger-active", "previewService": "ledger-preview",
                "autoPromotionEnabled": false, "scaleDownDelaySeconds": 30
            }}),
            false,
        ),
        rollout(
            "demo-search",
            "query-frontend",
            "ghcr.io/demo/query-frontend:5.3.0-rc.1",
            1,
            json!({"canary": {"steps": [{"setWeight": 50}, {"pause": {"duration": "10s"}}]}}),
            false,
        ),
    ]
}

/// A rollout in `ns` with one container running `image`; `cycle`: the simulation keeps
/// shipping new versions of it.
pub(super) fn rollout(
    ns: &str,
    name: &str,
    image: &str,
    replicas: i64,
    strategy: Value,
    cycle: bool,
) -> Value {
    let container = name.split('-').next().unwrap_or(name);
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {
            "name": name, "namespace": ns, "generation": 1,
            "labels": {"app": name, "team": ns.trim_start_matches("demo-")},
            "annotations": if cycle { json!({CYCLE_ANNOTATION: "true"}) } else { json!({}) },
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": strategy,
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": container, "image": image}]},
            },
        },
        "status": {},
    })
}

/// The showcase rollouts, one per state worth seeing (see [`DemoWorld::seeded`]).
pub(super) fn scenarios() -> Vec<Value> {
    vec![
        rollout(
            "demo-shop",
            "checkout-api",
            "ghcr.io/demo/checkout-api:2.3.9",
            5,
            json!({"canary": {"steps": [
                {"setWeight": 20}, {"pause": {}}, {"setWeight": 40}, {"pause": {"duration": "30s"}},
                {"setWeight": 60}, {"pause": {"duration": "30s"}}, {"setWeight": 80}, {"pause": {"duration": "30s"}}
            ]}}),
            false,
        ),
        rollout(
            "demo-shop",
            "storefront",
            "ghcr.io/demo/storefront:7.1.2",
            4,
            json!({"canary": {"steps": [
                {"setWeight": 25}, {"pause": {"duration": "20s"}}, {"setWeight": 50}, {"pause": {"duration": "20s"}},
                {"setWeight": 75}, {"pause": {"duration": "15s"}}
            ]}}),
            true,
        ),
        rollout(
            "demo-payments",
            "payments-gateway",
            "ghcr.io/demo/payments-gateway:3.0.0",
            5,
            json!({"canary": {"steps": [
                {"setWeight": 20}, {"analysis": {"templates": [{"templateName": "success-rate"}]}},
                {"setWeight": 60}, {"pause": {"duration": "20s"}}
            ]}}),
            true,
        ),
        rollout(
            "demo-payments",
            "ledger",
            "registry.internal:5000/payments/ledger:2026.11.1",
            3,
            json!({"blueGreen": {
                "activeService": "ledger-active", "previewService": "ledger-preview", "autoPromotionEnabled": false,
                "scaleDownDelaySeconds": 30
            }}),
            false,
        ),
        rollout(
            "demo-search",
            "search-indexer",
            "ghcr.io/demo/search-indexer:1.8.4",
            4,
            json!({"canary": {
                "analysis": {"templates": [{"templateName": FAILING_TEMPLATE}]},
                "steps": [{"setWeight": 10}, {"pause": {}}]
            }}),
            false,
        ),
        rollout(
            "demo-search",
            "query-frontend",
            "ghcr.io/demo/query-frontend:5.2.0",
            3,
            json!({"canary": {"steps": [
                {"setWeight": 50}, {"pause": {"duration": "10s"}}
            ]}}),
            false,
        ),
        // A canary at an experiment step: baseline and canary ReplicaSets side by side, with an
        // analysis comparing them, for an hour.
        rollout(
            "demo-shop",
            "recommendations",
            "ghcr.io/demo/recommendations:5.0.3",
            5,
            json!({"canary": {"steps": [
                {"setWeight": 20},
                {"experiment": {"duration": "1h",
                    "templates": [{"name": "baseline", "specRef": "stable", "replicas": 1},
                                  {"name": "canary", "specRef": "canary", "replicas": 1}],
                    "analyses": [{"name": "success-rate", "templateName": "success-rate"}]}},
                {"setWeight": 60}, {"pause": {}}
            ]}}),
            false,
        ),
        // Init containers: a schema migration and a sidecar (restartPolicy Always).
        with_init_containers(rollout(
            "demo-shop",
            "cart",
            "ghcr.io/demo/cart:4.2.0",
            2,
            json!({"canary": {"steps": [{"setWeight": 50}, {"pause": {"duration": "10s"}}]}}),
            false,
        )),
        // A blue-green whose preview (one pod until promotion) passes a pre-promotion analysis
        // and then waits for a person.
        rollout(
            "demo-payments",
            "fraud-check",
            "ghcr.io/demo/fraud-check:2.7.4",
            3,
            json!({"blueGreen": {
                "activeService": "fraud-check-active", "previewService": "fraud-check-preview",
                "autoPromotionEnabled": false, "previewReplicaCount": 1, "scaleDownDelaySeconds": 30,
                "prePromotionAnalysis": {"templates": [{"templateName": "success-rate"}]}
            }}),
            false,
        ),
        // Paused by a person in the middle of an update (seeded_from pauses it).
        rollout(
            "demo-search",
            "ranking",
            "ghcr.io/demo/ranking:0.14.2",
            4,
            json!({"canary": {"steps": [
                {"setWeight": 25}, {"setWeight": 50}, {"pause": {"duration": "1m"}}, {"setWeight": 75}
            ]}}),
            false,
        ),
        // Scaled to zero.
        rollout(
            "demo-search",
            "legacy-search",
            "ghcr.io/demo/legacy-search:0.9.8",
            0,
            json!({"canary": {"steps": [{"setWeight": 50}, {"pause": {}}]}}),
            false,
        ),
        // Deployed, then given a step the controller refuses (seeded_from breaks it).
        rollout(
            "demo-payments",
            "refunds",
            "ghcr.io/demo/refunds:1.4.1",
            2,
            json!({"canary": {"steps": [
                {"setWeight": 20}, {"setWeight": 60}, {"pause": {}}
            ]}}),
            false,
        ),
    ]
}

/// `ro` with init containers in its pod template.
pub(super) fn with_init_containers(mut ro: Value) -> Value {
    ro["spec"]["template"]["spec"]["initContainers"] = json!([
        {"name": "migrate-schema", "image": "ghcr.io/demo/cart-migrations:4.2.0"},
        {"name": "config-agent", "image": "ghcr.io/demo/config-agent:1.3.1", "restartPolicy": "Always"}
    ]);
    ro
}

/// `extra` small canaries in `demo-fleet`, one in four shipping versions by itself.
pub(super) fn extra_rollouts(extra: usize) -> Vec<Value> {
    (1..=extra)
        .map(|i| {
            rollout(
                "demo-fleet",
                &format!("svc-{i:02}"),
                &format!("ghcr.io/demo/svc-{i:02}:1.{i}.0"),
                1 + (i as i64 % 3),
                json!({"canary": {"steps": [{"setWeight": 50}, {"pause": {"duration": format!("{}s", 10 + i % 20)}}]}}),
                i % 4 == 0,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::super::testing::{object, rollout_status, world};
    use super::*;
    use crate::model::Kind;

    #[test]
    fn the_staging_cluster_is_small_and_shares_a_name_with_prod_eu() {
        let now: Timestamp = "2026-11-26T12:00:00Z".parse().unwrap();
        let staging = DemoWorld::seeded_staging(now);
        let prod = DemoWorld::seeded(now, 0);
        let rollouts = |w: &DemoWorld| {
            w.objects
                .keys()
                .filter(|k| k.kind() == crate::model::Kind::Rollout)
                .map(|k| format!("{}/{}", k.namespace(), k.name()))
                .collect::<Vec<_>>()
        };
        let (staging_names, prod_names) = (rollouts(&staging), rollouts(&prod));
        assert_eq!(staging_names.len(), 4, "{staging_names:?}");
        assert!(staging_names.len() < prod_names.len());
        assert!(prod_names.contains(&"demo-shop/checkout-api".to_owned()));
        assert!(staging_names.contains(&"demo-shop/checkout-api".to_owned()));
        // Its checkout-api is a release candidate waiting for a person, not prod's version.
        let key = staging
            .objects
            .keys()
            .find(|k| k.kind() == crate::model::Kind::Rollout && k.name() == "checkout-api")
            .unwrap()
            .clone();
        let ro = &staging.objects[&key];
        assert_eq!(
            ro["spec"]["template"]["spec"]["containers"][0]["image"],
            "ghcr.io/demo/checkout-api:2.5.0-rc.1"
        );
        assert_eq!(
            ro["status"]["pauseConditions"][0]["reason"], "CanaryPauseStep",
            "{}",
            ro["status"]
        );
    }

    #[test]
    fn seeded_world_shows_every_scenario() {
        let w = world();
        let checkout = rollout_status(&w, "demo-shop", "checkout-api");
        assert_eq!(checkout["currentStepIndex"], 1, "{checkout}");
        assert_eq!(checkout["pauseConditions"][0]["reason"], "CanaryPauseStep");
        let ledger = rollout_status(&w, "demo-payments", "ledger");
        assert_eq!(
            ledger["pauseConditions"][0]["reason"], "BlueGreenPause",
            "{ledger}"
        );
        let indexer = rollout_status(&w, "demo-search", "search-indexer");
        assert_eq!(indexer["abort"], true, "{indexer}");
        let gateway = rollout_status(&w, "demo-payments", "payments-gateway");
        assert_eq!(gateway["currentStepIndex"], 1, "{gateway}");
        assert_eq!(
            gateway["canary"]["currentStepAnalysisRunStatus"]["status"],
            "Running"
        );
        let healthy = rollout_status(&w, "demo-search", "query-frontend");
        assert_eq!(healthy["stableRS"], healthy["currentPodHash"]);
        let fleet = w
            .objects
            .keys()
            .filter(|k| k.kind() == Kind::Rollout && k.namespace() == "demo-fleet")
            .count();
        assert_eq!(fleet, 3);
    }

    /// The states added for #15.12, each as the controller would leave it.
    #[test]
    fn seeded_world_shows_the_rarer_states() {
        let w = world();
        // An experiment step: the experiment (owned by the rollout) with a ReplicaSet per
        // template, each with a running pod, and a running analysis owned by the experiment.
        let ro = object(&w, Kind::Rollout, "demo-shop", "recommendations");
        let st = &ro["status"];
        assert_eq!(st["currentStepIndex"], 1, "{st}");
        let name = st["canary"]["currentExperiment"]
            .as_str()
            .unwrap()
            .to_owned();
        let exp = object(&w, Kind::Experiment, "demo-shop", &name);
        assert_eq!(exp["status"]["phase"], "Running", "{exp}");
        assert_eq!(
            exp["metadata"]["ownerReferences"][0]["uid"],
            ro["metadata"]["uid"]
        );
        let exp_uid = exp["metadata"]["uid"].as_str().unwrap();
        let rss = w.children(Kind::ReplicaSet, "demo-shop", exp_uid);
        assert_eq!(rss.len(), 2, "{rss:?}");
        for (_, rs) in &rss {
            assert_eq!(rs["status"]["availableReplicas"], 1, "{rs}");
        }
        let runs = w.children(Kind::AnalysisRun, "demo-shop", exp_uid);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].1["status"]["phase"], "Running");
        // Past the 60 measurements kept, the values still vary.
        let result = &runs[0].1["status"]["metricResults"][0];
        assert!(result["count"].as_i64().unwrap() > 60, "{result}");
        let values: BTreeSet<String> = result["measurements"].as_array().unwrap()[50..]
            .iter()
            .map(|m| m["value"].to_string())
            .collect();
        assert!(values.len() > 1, "{values:?}");
        // Init containers in the template and in the pods, completed (and the sidecar running).
        let cart = object(&w, Kind::Rollout, "demo-shop", "cart");
        assert_eq!(
            cart["spec"]["template"]["spec"]["initContainers"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let pods: Vec<Value> = w
            .keys_of(Kind::Pod)
            .filter(|k| k.namespace() == "demo-shop" && k.name().starts_with("cart-"))
            .map(|k| w.objects[k].clone())
            .collect();
        assert_eq!(pods.len(), 2);
        let init = &pods[0]["status"]["initContainerStatuses"];
        assert_eq!(
            init[0]["state"]["terminated"]["reason"], "Completed",
            "{init}"
        );
        assert!(init[1]["state"]["running"].is_object(), "{init}");
        // Blue-green: a one-pod preview, a successful pre-promotion analysis, waiting.
        let fraud = rollout_status(&w, "demo-payments", "fraud-check");
        assert_eq!(
            fraud["pauseConditions"][0]["reason"], "BlueGreenPause",
            "{fraud}"
        );
        let pre = &fraud["blueGreen"]["prePromotionAnalysisRunStatus"];
        assert_eq!(pre["status"], "Successful", "{fraud}");
        let preview = fraud["blueGreen"]["previewSelector"].as_str().unwrap();
        assert_ne!(Some(preview), fraud["blueGreen"]["activeSelector"].as_str());
        let preview_rs = object(
            &w,
            Kind::ReplicaSet,
            "demo-payments",
            &format!("fraud-check-{preview}"),
        );
        assert_eq!(preview_rs["spec"]["replicas"], 1);
        // Paused by a person mid-update.
        let ranking = object(&w, Kind::Rollout, "demo-search", "ranking");
        assert_eq!(ranking["spec"]["paused"], true);
        assert_ne!(
            ranking["status"]["stableRS"],
            ranking["status"]["currentPodHash"]
        );
        assert_eq!(
            ranking["status"]["observedGeneration"],
            ranking["metadata"]["generation"].to_string()
        );
        // Zero replicas, healthy.
        let zero = rollout_status(&w, "demo-search", "legacy-search");
        assert_eq!(
            (zero["replicas"].clone(), zero["availableReplicas"].clone()),
            (json!(0), json!(0))
        );
        assert_eq!(zero["stableRS"], zero["currentPodHash"]);
        // InvalidSpec: the condition names the step; the old version keeps running.
        let refunds = rollout_status(&w, "demo-payments", "refunds");
        let invalid = refunds["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "InvalidSpec")
            .unwrap_or_else(|| panic!("{refunds}"));
        assert!(
            invalid["message"]
                .as_str()
                .unwrap()
                .contains("steps[1].setWeight"),
            "{invalid}"
        );
        assert_eq!(refunds["availableReplicas"], 2);
    }

    /// The seeded demo's rollouts have a history like a cluster's: the controller's Events of
    /// their simulated past, dated by the simulated clock, about the right rollout.
    #[test]
    fn seeding_records_the_controllers_events() {
        let mut w = world();
        let events = w.take_events();
        let about = |name: &str, reason: &str| {
            events
                .iter()
                .filter(|e| e["involvedObject"]["name"] == name && e["reason"] == reason)
                .collect::<Vec<_>>()
        };
        let checkout = rollout_status(&w, "demo-shop", "checkout-api");
        let started = checkout["pauseConditions"][0]["startTime"]
            .as_str()
            .unwrap();
        let steps = about("checkout-api", "RolloutStepCompleted");
        assert!(!steps.is_empty(), "{events:#?}");
        assert!(
            steps
                .iter()
                .all(|e| e["lastTimestamp"].as_str() <= Some(started)),
            "a step completed after the pause that follows it began: {steps:#?}"
        );
        let paused = about("checkout-api", "RolloutPaused");
        assert_eq!(paused.len(), 1, "{events:#?}");
        assert_eq!(paused[0]["involvedObject"]["namespace"], "demo-shop");
        assert_eq!(about("search-indexer", "RolloutAborted").len(), 1);
        assert!(w.take_events().is_empty(), "take_events drains");
    }
}
