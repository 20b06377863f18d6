//! The rollout as the simulated controller reads it: its spec, read once per reconcile into
//! [`Spec`], and the annotations the demo keeps on it (revision, cycling, retries).
//!
//! The objects stay JSON (the demo feeds the same decode path as a cluster, and actions patch
//! them as an API server would); these types are the controller's reading of them. They read
//! exactly what the JSON paths they replace read, with the same defaults, rather than
//! [`crate::model::Rollout`]: the model keeps only what the views show (steps stay JSON,
//! analyses are trimmed to names) and refuses what the demo tolerates (a `null` where a bool
//! goes), and a reconcile must not change because the model grew stricter.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::objects::parse_duration;
use super::{ATTEMPT_ANNOTATION, CYCLE_ANNOTATION, CYCLE_SINCE_ANNOTATION};
use crate::model::REVISION_ANNOTATION;

/// What the controller reads of `spec`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Spec {
    /// `spec.replicas`, 1 when unset.
    pub replicas: i64,
    /// `spec.paused`: a person paused the rollout.
    pub paused: bool,
    /// `spec.restartAt`: pods created before it are replaced.
    pub restart_at: Option<String>,
    pub strategy: Strategy,
}

/// `spec.strategy`: canary when `canary` is an object, blue-green otherwise.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Strategy {
    Canary(Canary),
    BlueGreen(BlueGreen),
}

/// `spec.strategy.canary`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Canary {
    pub steps: Vec<Step>,
    /// The background analysis's (first) template, which runs for the whole update.
    pub background_template: Option<String>,
}

/// One canary step, by the first of its fields the simulation models (a valid step has one).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Step {
    SetWeight(i64),
    Pause(PauseDuration),
    /// An analysis step, by its first template (`success-rate` when it names none).
    Analysis {
        template: String,
    },
    /// An experiment step: its templates, duration and analyses are copied into the
    /// Experiment object as they are, so they stay JSON.
    Experiment(Value),
    /// A step kind the simulation does not model: it passes at once.
    Other,
}

/// A pause step's `duration`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum PauseDuration {
    /// None: the pause waits for promotion.
    Indefinite,
    Timed(SignedDuration),
    /// Set but not a duration the simulation reads: waits for promotion, and keeps the
    /// rollout awake (it might be something timed).
    Unreadable,
}

/// `spec.strategy.blueGreen`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct BlueGreen {
    /// `autoPromotionEnabled`, true unless it is `false`.
    pub auto_promotion: bool,
    /// Replicas of the preview until promotion (all of them when unset).
    pub preview_replica_count: Option<i64>,
    /// The pre-promotion analysis's (first) template.
    pub pre_promotion_template: Option<String>,
}

impl Spec {
    /// Reads the spec of the rollout `ro`.
    pub(super) fn read(ro: &Value) -> Self {
        let spec = &ro["spec"];
        let canary = &spec["strategy"]["canary"];
        let strategy = if canary.is_object() {
            Strategy::Canary(Canary {
                steps: canary["steps"]
                    .as_array()
                    .map(|steps| steps.iter().map(Step::read).collect())
                    .unwrap_or_default(),
                background_template: first_template(&canary["analysis"]),
            })
        } else {
            let bg = &spec["strategy"]["blueGreen"];
            Strategy::BlueGreen(BlueGreen {
                auto_promotion: bg["autoPromotionEnabled"] != false,
                preview_replica_count: bg["previewReplicaCount"].as_i64(),
                pre_promotion_template: first_template(&bg["prePromotionAnalysis"]),
            })
        };
        Self {
            replicas: spec["replicas"].as_i64().unwrap_or(1),
            paused: spec["paused"] == true,
            restart_at: spec["restartAt"].as_str().map(str::to_owned),
            strategy,
        }
    }

    /// The canary steps (none for a blue-green).
    pub(super) fn steps(&self) -> &[Step] {
        match &self.strategy {
            Strategy::Canary(canary) => &canary.steps,
            Strategy::BlueGreen(_) => &[],
        }
    }

    /// What the controller's validation says of a spec it refuses, as the `InvalidSpec`
    /// condition's message; only the checks the demo needs (a canary weight out of range).
    pub(super) fn invalid(&self, name: &str) -> Option<String> {
        self.steps().iter().enumerate().find_map(|(i, step)| match step {
            Step::SetWeight(weight) if !(0..=100).contains(weight) => Some(format!(
                "The Rollout \"{name}\" is invalid: spec.strategy.canary.steps[{i}].setWeight: Invalid value: {weight}: SetWeight needs to be between 0 and 100"
            )),
            _ => None,
        })
    }
}

impl Step {
    /// Reads a step by the first of `setWeight`, `pause`, `analysis`, `experiment` it has.
    fn read(step: &Value) -> Self {
        if let Some(weight) = step["setWeight"].as_i64() {
            Self::SetWeight(weight)
        } else if let Some(pause) = step.get("pause") {
            Self::Pause(PauseDuration::read(&pause["duration"]))
        } else if let Some(analysis) = step.get("analysis") {
            Self::Analysis {
                template: first_template(analysis).unwrap_or_else(|| "success-rate".to_owned()),
            }
        } else if let Some(experiment) = step.get("experiment") {
            Self::Experiment(experiment.clone())
        } else {
            Self::Other
        }
    }
}

impl PauseDuration {
    /// A duration as Argo writes it (`30s`, `5m`, `1h`) or a number of seconds.
    fn read(duration: &Value) -> Self {
        if duration.is_null() {
            return Self::Indefinite;
        }
        duration
            .as_str()
            .map(str::to_owned)
            .or_else(|| duration.as_i64().map(|n| format!("{n}s")))
            .and_then(|d| parse_duration(&d))
            .map_or(Self::Unreadable, Self::Timed)
    }
}

/// The first template an analysis (`{templates: [{templateName}]}`) names.
fn first_template(analysis: &Value) -> Option<String> {
    analysis["templates"][0]["templateName"]
        .as_str()
        .map(str::to_owned)
}

/// The rollout's revision annotation.
pub(super) fn revision(ro: &Value) -> Option<&str> {
    ro["metadata"]["annotations"][REVISION_ANNOTATION].as_str()
}

/// Sets the rollout's revision annotation.
pub(super) fn set_revision(ro: &mut Value, revision: i64) {
    ro["metadata"]["annotations"][REVISION_ANNOTATION] = json!(revision.to_string());
}

/// The suffix of the names of the analysis runs and experiments of a retried update, so a
/// retry starts them afresh (none before the first retry).
pub(super) fn attempt_suffix(ro: &Value) -> String {
    match ro["metadata"]["annotations"][ATTEMPT_ANNOTATION].as_str() {
        Some(attempt) => format!("-retry{attempt}"),
        None => String::new(),
    }
}

/// Counts a retry of the update (see [`attempt_suffix`]).
pub(super) fn count_retry(ro: &mut Value) {
    let attempt = ro["metadata"]["annotations"][ATTEMPT_ANNOTATION]
        .as_str()
        .and_then(|a| a.parse::<u64>().ok())
        .unwrap_or(0);
    ro["metadata"]["annotations"][ATTEMPT_ANNOTATION] = json!((attempt + 1).to_string());
}

/// Whether the simulation keeps shipping new versions of the rollout.
pub(super) fn cycles(ro: &Value) -> bool {
    ro["metadata"]["annotations"][CYCLE_ANNOTATION] == "true"
}

/// When the rollout's current version shipped or became stable (cycling counts from it).
pub(super) fn cycle_since(ro: &Value) -> Option<Timestamp> {
    ro["metadata"]["annotations"][CYCLE_SINCE_ANNOTATION]
        .as_str()
        .and_then(|t| t.parse().ok())
}

/// Records that the rollout's version shipped or became stable at `now`.
pub(super) fn set_cycle_since(ro: &mut Value, now: Timestamp) {
    ro["metadata"]["annotations"][CYCLE_SINCE_ANNOTATION] = json!(now.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_steps_as_the_controller_did() {
        let ro = json!({"metadata": {"name": "r"}, "spec": {"strategy": {"canary": {
            "analysis": {"templates": [{"templateName": "bg"}]},
            "steps": [{"setWeight": 20}, {"pause": {}}, {"pause": {"duration": "30s"}},
                      {"pause": {"duration": 15}}, {"pause": {"duration": "soon"}},
                      {"analysis": {"templates": []}}, {"experiment": {"duration": "1h"}},
                      {"setCanaryScale": {"replicas": 1}}, {"setWeight": 120}]}}}});
        let spec = Spec::read(&ro);
        assert_eq!(
            (spec.replicas, spec.paused, spec.restart_at.as_deref()),
            (1, false, None)
        );
        let Strategy::Canary(canary) = &spec.strategy else {
            panic!("{spec:?}")
        };
        assert_eq!(canary.background_template.as_deref(), Some("bg"));
        assert_eq!(
            canary.steps,
            [
                Step::SetWeight(20),
                Step::Pause(PauseDuration::Indefinite),
                Step::Pause(PauseDuration::Timed(SignedDuration::from_secs(30))),
                Step::Pause(PauseDuration::Timed(SignedDuration::from_secs(15))),
                Step::Pause(PauseDuration::Unreadable),
                Step::Analysis {
                    template: "success-rate".to_owned()
                },
                Step::Experiment(json!({"duration": "1h"})),
                Step::Other,
                Step::SetWeight(120),
            ]
        );
        assert!(
            spec.invalid("r")
                .unwrap()
                .contains("steps[8].setWeight: Invalid value: 120")
        );
    }

    #[test]
    fn reads_blue_green_defaults() {
        let spec = Spec::read(
            &json!({"spec": {"replicas": 3, "paused": true, "strategy": {
            "blueGreen": {"previewReplicaCount": 1}}}}),
        );
        assert_eq!((spec.replicas, spec.paused), (3, true));
        assert_eq!(
            spec.strategy,
            Strategy::BlueGreen(BlueGreen {
                auto_promotion: true,
                preview_replica_count: Some(1),
                pre_promotion_template: None
            })
        );
        assert_eq!(spec.steps(), []);
        assert_eq!(spec.invalid("r"), None);
        let manual = Spec::read(&json!({"spec": {"strategy": {"blueGreen": {
            "autoPromotionEnabled": false,
            "prePromotionAnalysis": {"templates": [{"templateName": "smoke"}]}}}}}));
        let Strategy::BlueGreen(bg) = manual.strategy else {
            panic!()
        };
        assert!(!bg.auto_promotion);
        assert_eq!(bg.pre_promotion_template.as_deref(), Some("smoke"));
    }
}
