//! Experiments of canary experiment steps: created with a ReplicaSet per template, their
//! analyses started once the ReplicaSets are available, ended after their duration, on a
//! failed analysis, or when the rollout leaves the step.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::objects::{bump_generation, ns_uid, owner, parse_duration, template_hash};
use super::rollout::{attempt_suffix, revision};
use super::status::Status;
use super::{DemoWorld, EXPERIMENT_NAME_ANNOTATION, EXPERIMENT_TEMPLATE_ANNOTATION, ObjKey};
use crate::model::{Kind, POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION};

impl DemoWorld {
    /// The rollout's experiment for the step at `idx` of the current update: creates it with
    /// its ReplicaSets (templates from the stable or the canary pod template), starts its
    /// analyses once they are available, ends it after its duration, and returns its phase.
    pub(super) fn ensure_experiment(
        &mut self,
        ro: &Value,
        st: &Status,
        name: &str,
        step: &Value,
        stable_template: Option<Value>,
    ) -> String {
        let (ns, _) = ns_uid(ro);
        let key = ObjKey::new(Kind::Experiment, ns.clone(), name);
        let revision = ro["metadata"]["annotations"][REVISION_ANNOTATION].clone();
        let Some(mut exp) = self.objects.get(&key).cloned() else {
            let templates: Vec<Value> = step["templates"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|mut t| {
                    let mut template = match t["specRef"].as_str() {
                        Some("stable") => stable_template
                            .clone()
                            .unwrap_or_else(|| ro["spec"]["template"].clone()),
                        _ => ro["spec"]["template"].clone(),
                    };
                    let label = format!(
                        "{}-{}",
                        ro["metadata"]["name"].as_str().unwrap_or(""),
                        t["name"].as_str().unwrap_or("")
                    );
                    template["metadata"]["labels"] = json!({"app": label});
                    let hash = template_hash(&template);
                    template["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL] = json!(hash);
                    t["replicas"] = json!(t["replicas"].as_i64().unwrap_or(1));
                    t["selector"] = json!({"matchLabels": {"app": label}});
                    t["template"] = template;
                    t
                })
                .collect();
            let exp = json!({
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Experiment",
                "metadata": {
                    "name": name, "namespace": ns, "generation": 1,
                    "labels": {POD_TEMPLATE_HASH_LABEL: st.current_pod_hash()},
                    "annotations": {REVISION_ANNOTATION: revision},
                    "ownerReferences": [owner(ro)],
                },
                "spec": {"duration": step["duration"].clone(), "templates": templates,
                         "analyses": step["analyses"].clone()},
                "status": {"phase": "Pending"},
            });
            self.put(exp.clone());
            let exp = self.objects.get(&key).cloned().unwrap_or(exp);
            for t in exp["spec"]["templates"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let template = t["template"].clone();
                let rs = json!({
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": format!("{name}-{}", t["name"].as_str().unwrap_or("")),
                        "namespace": ns,
                        "generation": 1,
                        "labels": template["metadata"]["labels"].clone(),
                        "annotations": {EXPERIMENT_NAME_ANNOTATION: name,
                                        EXPERIMENT_TEMPLATE_ANNOTATION: t["name"].clone()},
                        "ownerReferences": [owner(&exp)],
                    },
                    "spec": {"replicas": t["replicas"].clone(), "selector": t["selector"].clone(),
                             "template": template},
                    "status": {"replicas": 0, "availableReplicas": 0, "readyReplicas": 0, "observedGeneration": 1},
                });
                self.put(rs);
            }
            return "Pending".to_owned();
        };
        let phase = exp["status"]["phase"]
            .as_str()
            .unwrap_or("Pending")
            .to_owned();
        if !matches!(phase.as_str(), "Pending" | "Running") {
            return phase;
        }
        let exp_uid = exp["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let replica_sets: Vec<(ObjKey, bool)> = self
            .child_refs(Kind::ReplicaSet, &ns, &exp_uid)
            .map(|(k, rs)| {
                let available = rs["status"]["availableReplicas"].as_i64().unwrap_or(0)
                    >= rs["spec"]["replicas"].as_i64().unwrap_or(0);
                (k, available)
            })
            .collect();
        if phase == "Pending" {
            if replica_sets.iter().all(|(_, available)| *available) {
                exp["status"]["phase"] = json!("Running");
                exp["status"]["availableAt"] = json!(self.now.to_string());
                let mut runs = Vec::new();
                for analysis in exp["spec"]["analyses"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                {
                    let analysis_name = analysis["name"].as_str().unwrap_or("analysis");
                    let run_name = format!("{name}-{analysis_name}");
                    let template = analysis["templateName"].as_str().unwrap_or("success-rate");
                    self.ensure_analysis_run_of(ro, &exp, &run_name, template, 0);
                    runs.push(
                        json!({"name": analysis_name, "analysisRun": run_name, "phase": "Running"}),
                    );
                }
                exp["status"]["analysisRuns"] = json!(runs);
                exp["status"]["message"] = json!(format!("Experiment \"{name}\" is running."));
            }
        } else {
            let runs: Vec<String> = self
                .child_refs(Kind::AnalysisRun, &ns, &exp_uid)
                .map(|(_, run)| {
                    run["status"]["phase"]
                        .as_str()
                        .unwrap_or("Running")
                        .to_owned()
                })
                .collect();
            let ended = exp["spec"]["duration"]
                .as_str()
                .and_then(parse_duration)
                .zip(
                    exp["status"]["availableAt"]
                        .as_str()
                        .and_then(|t| t.parse::<Timestamp>().ok()),
                )
                .is_some_and(|(duration, at)| self.now.duration_since(at) >= duration);
            if runs.iter().any(|p| p == "Failed" || p == "Error") {
                exp["status"]["phase"] = json!("Failed");
                exp["status"]["message"] = json!("An analysis of the experiment failed");
            } else if ended {
                exp["status"]["phase"] = json!("Successful");
                exp["status"]["message"] = json!("Experiment completed its duration");
            }
            if exp["status"]["phase"] != "Running" {
                self.stop_experiment_children(&ns, &exp_uid);
            }
        }
        let phase = exp["status"]["phase"]
            .as_str()
            .unwrap_or("Pending")
            .to_owned();
        self.put_if_changed(&key, exp);
        phase
    }

    /// Ends the rollout's experiments other than `keep` that are still going, as the controller
    /// does when their step is left (promoted past, aborted, fully promoted): `spec.terminate`,
    /// ReplicaSets scaled to zero, runs terminated.
    pub(super) fn end_experiments(&mut self, ro: &Value, st: &mut Status, keep: Option<&str>) {
        let (ns, uid) = ns_uid(ro);
        let going: Vec<(ObjKey, Value)> = self
            .child_refs(Kind::Experiment, &ns, &uid)
            .filter(|(k, e)| {
                Some(k.name()) != keep
                    && e["spec"]["terminate"] != true
                    && matches!(e["status"]["phase"].as_str(), Some("Pending" | "Running"))
            })
            .map(|(k, e)| (k, e.clone()))
            .collect();
        for (key, mut exp) in going {
            let exp_uid = exp["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            exp["spec"]["terminate"] = json!(true);
            exp["status"]["phase"] = json!("Successful");
            exp["status"]["message"] = json!("Experiment terminated");
            bump_generation(&mut exp);
            self.put(exp);
            self.stop_experiment_children(&ns, &exp_uid);
            if st.current_experiment() == Some(key.name()) {
                st.clear_current_experiment();
            }
        }
    }

    /// Scales an experiment's ReplicaSets to zero and terminates its running analysis runs.
    pub(super) fn stop_experiment_children(&mut self, ns: &str, exp_uid: &str) {
        let rss: Vec<ObjKey> = self
            .child_refs(Kind::ReplicaSet, ns, exp_uid)
            .map(|(k, _)| k)
            .collect();
        for k in rss {
            self.scale(&k, 0);
        }
        let runs: Vec<(ObjKey, Value)> = self
            .child_refs(Kind::AnalysisRun, ns, exp_uid)
            .filter(|(_, run)| run["status"]["phase"] == "Running")
            .map(|(k, run)| (k, run.clone()))
            .collect();
        for (_, mut run) in runs {
            run["spec"]["terminate"] = json!(true);
            run["status"]["phase"] = json!("Successful");
            run["status"]["message"] = json!("Run Terminated");
            self.put(run);
        }
    }
}

/// The experiment a canary's experiment step at `idx` runs, named as the controller names it:
/// `<rollout>-<pod hash>-<revision>-<step>`.
pub(super) fn experiment_name(ro: &Value, st: &Status, idx: usize) -> String {
    format!(
        "{}-{}-{}-{idx}{}",
        ro["metadata"]["name"].as_str().unwrap_or(""),
        st.current_pod_hash().unwrap_or(""),
        revision(ro).unwrap_or("0"),
        attempt_suffix(ro)
    )
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::super::testing::{key, object, rollout_status, world};
    use super::*;

    /// Promoting past the experiment step ends the experiment (spec.terminate, ReplicaSets
    /// scaled to zero, run terminated) and the canary goes on.
    #[test]
    fn promoting_past_an_experiment_terminates_it() {
        let mut w = world();
        let ro_key = key(Kind::Rollout, "demo-shop", "recommendations");
        let mut ro = w.objects[&ro_key].clone();
        let name = ro["status"]["canary"]["currentExperiment"]
            .as_str()
            .unwrap()
            .to_owned();
        // What promote's rule 3 patches: the next step.
        ro["status"]["currentStepIndex"] = json!(2);
        w.put(ro);
        let now = w.now;
        w.advance_to(now + SignedDuration::from_secs(6), 1);
        let exp = object(&w, Kind::Experiment, "demo-shop", &name);
        assert_eq!(exp["spec"]["terminate"], true, "{exp}");
        let exp_uid = exp["metadata"]["uid"].as_str().unwrap();
        for (_, rs) in w.children(Kind::ReplicaSet, "demo-shop", exp_uid) {
            assert_eq!(rs["spec"]["replicas"], 0, "{rs}");
            assert_eq!(rs["status"]["replicas"], 0, "{rs}");
        }
        let runs = w.children(Kind::AnalysisRun, "demo-shop", exp_uid);
        assert_eq!(runs[0].1["status"]["phase"], "Successful");
        let st = rollout_status(&w, "demo-shop", "recommendations");
        assert!(st["currentStepIndex"].as_i64().unwrap() >= 3, "{st}");
        assert!(st["canary"]["currentExperiment"].is_null(), "{st}");
    }
}
