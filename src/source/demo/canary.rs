//! The canary strategy's steps: weights, pauses (timed or waiting for promotion), step and
//! background analyses, experiments, and the abort a failed analysis causes.

use serde_json::Value;

use super::experiment::experiment_name;
use super::objects::ns_uid;
use super::rollout::{
    Canary, PauseDuration, Spec, Step, attempt_suffix, revision, set_cycle_since,
};
use super::status::Status;
use super::{DemoWorld, ObjKey};
use crate::model::{Kind, POD_TEMPLATE_HASH_LABEL};

impl DemoWorld {
    /// One step of the canary `canary` of `spec`, whose current ReplicaSet is `current`.
    pub(super) fn step_canary(
        &mut self,
        ro: &mut Value,
        st: &mut Status,
        spec: &Spec,
        canary: &Canary,
        current: &(ObjKey, Value),
        stable: Option<&(ObjKey, Value)>,
    ) {
        let (canary_key, canary_rs) = current;
        let steps = &canary.steps;
        let replicas = spec.replicas;
        let idx = st.step_index();
        let pause_conditions = st.paused();
        // An experiment ends when the rollout leaves its step (a promote skips it).
        let current_experiment = steps
            .get(idx)
            .filter(|s| matches!(s, Step::Experiment(_)))
            .map(|_| experiment_name(ro, st, idx));
        self.end_experiments(ro, st, current_experiment.as_deref());
        if spec.paused {
            return;
        }
        self.background_analysis(ro, st, canary);
        if st.aborted() {
            return;
        }
        if pause_conditions {
            // Timed pauses end by themselves; indefinite ones wait for promote.
            if let Some(Step::Pause(PauseDuration::Timed(duration))) = steps.get(idx) {
                let started = st.pause_started().unwrap_or(self.now);
                if self.now.duration_since(started) >= *duration {
                    st.clear_pause();
                    st.set_step_index(idx + 1);
                }
            }
            return;
        }
        if st.controller_pause() {
            // Promoted out of a pause: the controller moves past the pause step.
            st.set_controller_pause(false);
            if let Some(Step::Pause(_)) = steps.get(idx) {
                st.set_step_index(idx + 1);
                return;
            }
        }
        if st.promote_full() || idx >= steps.len() {
            // All steps done (or promote-full): the canary becomes stable.
            self.scale(canary_key, replicas);
            if canary_rs["status"]["availableReplicas"]
                .as_i64()
                .unwrap_or(0)
                >= replicas
            {
                st.promote_current(steps.len());
                set_cycle_since(ro, self.now);
            }
            return;
        }
        // ReplicaSets of superseded canaries go away; only stable and current stay.
        let (ns, uid) = ns_uid(ro);
        let keep = [st.stable_rs(), st.current_pod_hash()];
        let superseded: Vec<ObjKey> = self
            .child_refs(Kind::ReplicaSet, &ns, &uid)
            .filter(|(_, rs)| {
                !keep.contains(&rs["metadata"]["labels"][POD_TEMPLATE_HASH_LABEL].as_str())
            })
            .map(|(k, _)| k)
            .collect();
        for k in superseded {
            self.scale(&k, 0);
        }
        match &steps[idx] {
            Step::SetWeight(weight) => {
                self.set_weight(st, idx, (*weight, replicas), current, stable)
            }
            Step::Pause(_) => st.pause("CanaryPauseStep", self.now),
            Step::Analysis { template } => {
                let run_name = format!(
                    "{}-{}-{}{}",
                    ro["metadata"]["name"].as_str().unwrap_or(""),
                    st.current_pod_hash().unwrap_or(""),
                    idx,
                    attempt_suffix(ro)
                );
                let phase = self.ensure_analysis_run(ro, &run_name, template, 20);
                st.set_step_analysis(&run_name, &phase);
                match phase.as_str() {
                    "Successful" => st.set_step_index(idx + 1),
                    "Failed" | "Error" => self.abort_for(ro, st, &run_name),
                    _ => {}
                }
            }
            Step::Experiment(experiment) => {
                let name = experiment_name(ro, st, idx);
                st.set_current_experiment(&name);
                let stable_template = stable.map(|(_, rs)| rs["spec"]["template"].clone());
                let phase = self.ensure_experiment(ro, st, &name, experiment, stable_template);
                match phase.as_str() {
                    "Successful" => {
                        st.set_step_index(idx + 1);
                        st.clear_current_experiment();
                    }
                    "Failed" | "Error" => st.abort(format!(
                        "Rollout aborted update to revision {}: experiment {name} {}",
                        revision(ro).unwrap_or("?"),
                        phase.to_lowercase()
                    )),
                    _ => {}
                }
            }
            // Step kinds the simulation does not model pass at once.
            Step::Other => st.set_step_index(idx + 1),
        }
    }

    /// A `setWeight` step: the canary and stable ReplicaSets scaled to the weight; the step
    /// is done once the canary's pods are available.
    fn set_weight(
        &mut self,
        st: &mut Status,
        idx: usize,
        (weight, replicas): (i64, i64),
        (canary_key, canary_rs): &(ObjKey, Value),
        stable: Option<&(ObjKey, Value)>,
    ) {
        let canary_count = (replicas * weight + 99) / 100;
        self.scale(canary_key, canary_count);
        if let Some((k, _)) = stable {
            self.scale(k, replicas - canary_count);
        }
        if canary_rs["status"]["availableReplicas"]
            .as_i64()
            .unwrap_or(0)
            >= canary_count
            && canary_rs["spec"]["replicas"].as_i64() == Some(canary_count)
        {
            st.set_step_index(idx + 1);
        }
    }

    /// The canary's background analysis, which runs for the whole update; a failure aborts.
    pub(super) fn background_analysis(&mut self, ro: &Value, st: &mut Status, canary: &Canary) {
        let Some(template) = &canary.background_template else {
            return;
        };
        let run_name = format!(
            "{}-{}-background{}",
            ro["metadata"]["name"].as_str().unwrap_or(""),
            st.current_pod_hash().unwrap_or(""),
            attempt_suffix(ro)
        );
        let phase = self.ensure_analysis_run(ro, &run_name, template, 0);
        st.set_background_analysis(&run_name, &phase);
        if phase == "Failed" {
            self.abort_for(ro, st, &run_name);
        }
    }

    /// Aborts the update because the run `run_name` failed, with the run's message.
    pub(super) fn abort_for(&mut self, ro: &Value, st: &mut Status, run_name: &str) {
        let ns = ro["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let run = self
            .objects
            .get(&ObjKey::new(Kind::AnalysisRun, ns, run_name));
        let why = run
            .and_then(|r| r["status"]["message"].as_str())
            .unwrap_or("analysis failed")
            .to_owned();
        st.abort(format!(
            "Rollout aborted update to revision {}: {why}",
            revision(ro).unwrap_or("?")
        ));
    }
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::super::testing::{rollout_status, world};
    use super::*;

    #[test]
    fn promote_by_clearing_pause_conditions_moves_on() {
        let mut w = world();
        let key = ObjKey::new(Kind::Rollout, "demo-shop", "checkout-api");
        let mut ro = w.objects[&key].clone();
        ro["status"]["pauseConditions"] = Value::Null;
        w.put(ro);
        let now = w.now;
        w.advance_to(now + SignedDuration::from_secs(5), 1);
        assert_eq!(
            rollout_status(&w, "demo-shop", "checkout-api")["currentStepIndex"],
            3
        );
    }
}
