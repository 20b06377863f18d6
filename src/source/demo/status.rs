//! The rollout status the simulated controller reads and writes, through [`Status`]'s named
//! operations rather than JSON paths at each use.
//!
//! It stays the JSON object it is stored as, not a serde struct: actions patch fields the
//! controller does not know (which must survive a reconcile), a field the controller cleared
//! to `null` and one it never set are different objects to the decode path and to the
//! settled-rollout check (an object that changes is written again), and both must stay as they
//! were. Each operation is the JSON edit the controller made before, in one place.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::objects::condition;

/// A rollout's `status`, being reconciled.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Status(Value);

impl Status {
    /// The status of the rollout `ro` (empty when it has none).
    pub(super) fn of(ro: &Value) -> Self {
        Self(Value::Object(
            ro["status"].as_object().cloned().unwrap_or_default(),
        ))
    }

    /// The JSON to store.
    pub(super) fn into_value(self) -> Value {
        self.0
    }

    /// `currentPodHash`: the pod template hash of the update in progress (or done).
    pub(super) fn current_pod_hash(&self) -> Option<&str> {
        self.0["currentPodHash"].as_str()
    }

    /// `stableRS`: the pod template hash of the stable ReplicaSet; none before the first deploy.
    pub(super) fn stable_rs(&self) -> Option<&str> {
        self.0["stableRS"].as_str()
    }

    /// `currentStepIndex` (0 when unset).
    pub(super) fn step_index(&self) -> usize {
        self.0["currentStepIndex"].as_u64().unwrap_or(0) as usize
    }

    pub(super) fn set_step_index(&mut self, idx: usize) {
        self.0["currentStepIndex"] = json!(idx);
    }

    /// Whether `pauseConditions` holds any: the rollout waits (for time or for promotion).
    pub(super) fn paused(&self) -> bool {
        self.0["pauseConditions"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
    }

    /// When the (first) pause condition started.
    pub(super) fn pause_started(&self) -> Option<Timestamp> {
        self.0["pauseConditions"][0]["startTime"]
            .as_str()
            .and_then(|t| t.parse().ok())
    }

    /// The controller pauses the rollout for `reason` (`CanaryPauseStep`, `BlueGreenPause`).
    pub(super) fn pause(&mut self, reason: &str, now: Timestamp) {
        self.0["pauseConditions"] = json!([{"reason": reason, "startTime": now.to_string()}]);
        self.0["controllerPause"] = json!(true);
    }

    /// No pause conditions, and not paused by the controller.
    pub(super) fn clear_pause(&mut self) {
        self.0["pauseConditions"] = json!([]);
        self.0["controllerPause"] = json!(false);
    }

    /// `controllerPause`: the controller paused the rollout; with no pause conditions left
    /// (a promote cleared them) it moves on.
    pub(super) fn controller_pause(&self) -> bool {
        self.0["controllerPause"] == true
    }

    pub(super) fn set_controller_pause(&mut self, paused: bool) {
        self.0["controllerPause"] = json!(paused);
    }

    /// `abort`: the update is aborted (by a failed analysis or a person).
    pub(super) fn aborted(&self) -> bool {
        self.0["abort"] == true
    }

    /// Aborts the update, saying why.
    pub(super) fn abort(&mut self, message: String) {
        self.0["abort"] = json!(true);
        self.0["message"] = json!(message);
    }

    /// Whether `abortedAt` is set: it stays while the abort stands, so that a retry (the
    /// abort cleared by a person) is seen.
    pub(super) fn abort_recorded(&self) -> bool {
        !self.0["abortedAt"].is_null()
    }

    /// `message`, when not empty.
    pub(super) fn message(&self) -> Option<&str> {
        self.0["message"].as_str().filter(|m| !m.is_empty())
    }

    /// The abort is on record: the rollout goes back to its first step, unpaused.
    pub(super) fn record_abort(&mut self, message: &str, now: Timestamp) {
        self.set_condition(condition(
            "Progressing",
            "False",
            "RolloutAborted",
            message,
            now,
        ));
        self.clear_pause();
        self.set_step_index(0);
        if !self.abort_recorded() {
            self.0["abortedAt"] = json!(now.to_string());
        }
    }

    /// A retry after an abort: the abort's time and message go.
    pub(super) fn clear_abort_record(&mut self) {
        self.0["abortedAt"] = Value::Null;
        self.0["message"] = Value::Null;
    }

    /// A new update to the pod template `hash`, of the steps whose hash is `step_hash`: not
    /// aborted, not paused, with `condition` as its only condition.
    pub(super) fn start_update(&mut self, hash: &str, step_hash: &str, condition: Value) {
        self.0["currentPodHash"] = json!(hash);
        self.0["currentStepHash"] = json!(step_hash);
        self.0["abort"] = json!(false);
        self.clear_pause();
        self.set_only_condition(condition);
    }

    /// The canary's update is done: the current pod template becomes the stable one.
    pub(super) fn promote_current(&mut self, steps: usize) {
        self.0["stableRS"] = self.0["currentPodHash"].clone();
        self.0["promoteFull"] = json!(false);
        self.set_step_index(steps);
    }

    /// `stableRS` (and, for a blue-green, the active service) now select `hash`.
    pub(super) fn set_stable(&mut self, hash: &str) {
        self.0["stableRS"] = json!(hash);
    }

    /// `promoteFull`: a person asked to skip the remaining steps.
    pub(super) fn promote_full(&self) -> bool {
        self.0["promoteFull"] == true
    }

    /// `restartedAt`: the `spec.restartAt` whose restart is done.
    pub(super) fn restarted_at(&self) -> Option<&str> {
        self.0["restartedAt"].as_str()
    }

    pub(super) fn set_restarted_at(&mut self, at: &str) {
        self.0["restartedAt"] = json!(at);
    }

    /// The replica counts: `total` of every ReplicaSet (also as `HPAReplicas`), `available`
    /// of them (ready too: the demo's pods are ready as soon as they run), and `updated`, of
    /// the current pod template.
    pub(super) fn set_replica_counts(&mut self, total: i64, available: i64, updated: i64) {
        self.0["replicas"] = json!(total);
        self.0["readyReplicas"] = json!(available);
        self.0["availableReplicas"] = json!(available);
        self.0["updatedReplicas"] = json!(updated);
        self.0["HPAReplicas"] = json!(total);
    }

    /// `observedGeneration` (a string, as the controller writes it).
    pub(super) fn set_observed_generation(&mut self, generation: i64) {
        self.0["observedGeneration"] = json!(generation.to_string());
    }

    /// `conditions` is `[condition]`.
    pub(super) fn set_only_condition(&mut self, condition: Value) {
        self.0["conditions"] = json!([condition]);
    }

    /// Sets the rollout's single condition, keeping the old one (and its timestamps) when
    /// only the time would change: the controller stamps transitions, and a condition
    /// re-stamped on every tick would make every settled rollout change every second.
    pub(super) fn set_condition(&mut self, condition: Value) {
        let unchanged = self.0["conditions"].as_array().is_some_and(|list| {
            list.len() == 1
                && ["type", "status", "reason", "message"]
                    .iter()
                    .all(|f| list[0][*f] == condition[*f])
        });
        if !unchanged {
            self.set_only_condition(condition);
        }
    }

    /// The `InvalidSpec` condition with `message`, replacing another `InvalidSpec` (kept, with
    /// its time, when its message is the same); other conditions stay.
    pub(super) fn set_invalid_spec(&mut self, message: &str, now: Timestamp) {
        let condition = condition("InvalidSpec", "True", "InvalidSpec", message, now);
        let mut list: Vec<Value> = self.0["conditions"].as_array().cloned().unwrap_or_default();
        if !list
            .iter()
            .any(|c| c["type"] == "InvalidSpec" && c["message"] == condition["message"])
        {
            list.retain(|c| c["type"] != "InvalidSpec");
            list.push(condition);
            self.0["conditions"] = json!(list);
        }
    }

    /// The spec is valid (again): no `InvalidSpec` condition.
    pub(super) fn clear_invalid_spec(&mut self) {
        if let Some(list) = self.0["conditions"].as_array_mut() {
            list.retain(|c| c["type"] != "InvalidSpec");
        }
    }

    /// `canary.currentStepAnalysisRunStatus`: the step's run and its phase.
    pub(super) fn set_step_analysis(&mut self, run: &str, phase: &str) {
        self.0["canary"]["currentStepAnalysisRunStatus"] = run_ref(run, phase);
    }

    /// `canary.currentBackgroundAnalysisRunStatus`.
    pub(super) fn set_background_analysis(&mut self, run: &str, phase: &str) {
        self.0["canary"]["currentBackgroundAnalysisRunStatus"] = run_ref(run, phase);
    }

    /// `blueGreen.prePromotionAnalysisRunStatus`.
    pub(super) fn set_pre_promotion_analysis(&mut self, run: &str, phase: &str) {
        self.0["blueGreen"]["prePromotionAnalysisRunStatus"] = run_ref(run, phase);
    }

    /// `canary.currentExperiment`: the experiment of the current step.
    pub(super) fn current_experiment(&self) -> Option<&str> {
        self.0["canary"]["currentExperiment"].as_str()
    }

    pub(super) fn set_current_experiment(&mut self, name: &str) {
        self.0["canary"]["currentExperiment"] = json!(name);
    }

    pub(super) fn clear_current_experiment(&mut self) {
        if let Some(canary) = self.0["canary"].as_object_mut() {
            canary.remove("currentExperiment");
        }
    }

    /// A blue-green's first deploy: both services select `hash`.
    pub(super) fn set_selectors(&mut self, hash: &str) {
        self.0["blueGreen"] = json!({"activeSelector": hash, "previewSelector": hash});
    }

    /// A blue-green's update: the preview service selects `hash`, with no pre-promotion run yet.
    pub(super) fn start_preview(&mut self, hash: &str) {
        self.0["blueGreen"]["previewSelector"] = json!(hash);
        if let Some(bg) = self.0["blueGreen"].as_object_mut() {
            bg.remove("prePromotionAnalysisRunStatus");
        }
    }

    /// The active service selects `hash`.
    pub(super) fn set_active_selector(&mut self, hash: &str) {
        self.0["blueGreen"]["activeSelector"] = json!(hash);
    }

    /// Both services select `hash` again, keeping the rest of the blue-green status.
    pub(super) fn set_active_and_preview(&mut self, hash: &str) {
        self.set_active_selector(hash);
        self.0["blueGreen"]["previewSelector"] = json!(hash);
    }
}

/// The rollout's pointer to an analysis run, with the run's phase.
fn run_ref(run: &str, phase: &str) -> Value {
    json!({"name": run, "status": phase})
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fields the controller does not know survive, and what it clears stays an explicit
    /// `null` (as the JSON edits it replaces left them).
    #[test]
    fn keeps_unknown_fields_and_explicit_nulls() {
        let ro = json!({"status": {"abort": true, "abortedAt": "2026-11-26T11:00:00Z",
            "message": "", "someFutureField": {"x": 1}, "pauseConditions": null}});
        let mut st = Status::of(&ro);
        assert!(st.aborted() && st.abort_recorded());
        assert_eq!(st.message(), None, "an empty message is none");
        assert!(!st.paused());
        st.clear_abort_record();
        assert!(!st.abort_recorded());
        let value = st.into_value();
        assert_eq!(value["someFutureField"], json!({"x": 1}));
        assert_eq!(value["abortedAt"], Value::Null);
        assert!(
            value.as_object().unwrap().contains_key("abortedAt"),
            "{value}"
        );
        assert_eq!(Status::of(&json!({})).into_value(), json!({}));
    }

    #[test]
    fn pauses_and_conditions() {
        let now: Timestamp = "2026-11-26T12:00:00Z".parse().unwrap();
        let mut st = Status::of(&json!({"status": {"currentStepIndex": 3}}));
        assert_eq!(st.step_index(), 3);
        st.pause("CanaryPauseStep", now);
        assert!(st.paused() && st.controller_pause());
        assert_eq!(st.pause_started(), Some(now));
        st.clear_pause();
        assert!(!st.paused() && !st.controller_pause());
        // The same condition a second later keeps the first one's time.
        st.set_condition(condition("Available", "True", "R", "m", now));
        let later = now + jiff::SignedDuration::from_secs(1);
        st.set_condition(condition("Available", "True", "R", "m", later));
        st.set_invalid_spec("bad", later);
        st.set_invalid_spec("bad", later + jiff::SignedDuration::from_secs(1));
        let value = st.clone().into_value();
        let conditions = value["conditions"].as_array().unwrap();
        assert_eq!(conditions.len(), 2, "{value}");
        assert_eq!(conditions[0]["lastUpdateTime"], now.to_string());
        assert_eq!(conditions[1]["lastUpdateTime"], later.to_string());
        st.clear_invalid_spec();
        assert_eq!(st.into_value()["conditions"].as_array().unwrap().len(), 1);
    }
}
