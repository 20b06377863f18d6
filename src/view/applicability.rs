//! Which actions apply to a rollout now, and why not: the one set of rules that both the
//! action executor (`crate::actions::execute` refuses what does not apply, with the reason)
//! and the detail view ([`super::RolloutDetail::actions`], the UI's enabled/disabled buttons
//! and their titles) use, so that curl and the UI always agree.
//!
//! The rules live beside the view because they read the rollout's status exactly as the view
//! computes it ([`super::phase::rollout_phase`]); `actions` depends on `view`, never back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::phase::{DEGRADED, HEALTHY, PAUSED, PROGRESSING, rollout_phase};
use crate::model::Rollout;

/// URL names of the actions the rules know, in the dashboard's order (`crate::actions` uses
/// this list as its `ACTION_NAMES`).
pub const RULED_ACTIONS: [&str; 9] = [
    "promote",
    "promote-full",
    "abort",
    "retry",
    "restart",
    "pause",
    "resume",
    "set-image",
    "undo",
];

/// Whether one action applies now: `reason` says why not (and is `None` when it applies).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ActionVerdict {
    pub enabled: bool,
    pub reason: Option<String>,
}

/// Why an action does not apply, with the HTTP status the server answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Refusal {
    /// 422 when the rollout's spec is invalid, 409 when its state does not allow the action.
    pub status: u16,
    /// `invalid_spec` | `not_applicable`.
    pub code: &'static str,
    pub reason: String,
}

fn conflict(reason: impl Into<String>) -> Refusal {
    Refusal {
        status: 409,
        code: "not_applicable",
        reason: reason.into(),
    }
}

/// The message of the rollout's `InvalidSpec` condition, when it has one.
pub fn invalid_spec(ro: &Rollout) -> Option<String> {
    ro.status
        .conditions
        .iter()
        .find(|c| c.type_ == "InvalidSpec" && c.status != "False")
        .map(|c| c.message.clone().unwrap_or_default())
}

/// True when the update has reached its end: Healthy and the current pods are the stable ones.
pub fn fully_promoted(ro: &Rollout, phase: &str) -> bool {
    let status = &ro.status;
    !status.abort
        && phase == HEALTHY
        && (status.current_pod_hash.is_none() || status.current_pod_hash == status.stable_rs)
}

/// Whether `action` (a URL name, e.g. `promote-full`) applies to `ro` now. Unknown names apply
/// (the planner rejects them).
pub fn applicable(action: &str, ro: &Rollout) -> Result<(), Refusal> {
    let (phase, _) = rollout_phase(ro);
    applicable_in(action, ro, &phase)
}

/// [`applicable`] with the phase already computed.
pub fn applicable_in(action: &str, ro: &Rollout, phase: &str) -> Result<(), Refusal> {
    let status = &ro.status;
    let in_update = phase == PAUSED || phase == PROGRESSING;
    let shown = if phase.is_empty() {
        "not updating"
    } else {
        phase
    };
    match action {
        "promote" | "promote-full" => {
            if let Some(message) = invalid_spec(ro) {
                return Err(Refusal {
                    status: 422,
                    code: "invalid_spec",
                    reason: format!(
                        "The rollout's spec is invalid, so no step can run: fix the spec first ({message})"
                    ),
                });
            }
            if status.abort {
                return Err(conflict(
                    "The update was aborted: use Retry to start it again.",
                ));
            }
            if action == "promote-full" && fully_promoted(ro, phase) {
                return Err(conflict(
                    "Nothing to promote: the rollout is fully promoted (Healthy).",
                ));
            }
            if !in_update {
                return Err(conflict(format!(
                    "Nothing to promote: the rollout is {shown}."
                )));
            }
            Ok(())
        }
        "abort" => {
            if status.abort {
                return Err(conflict("Already aborted."));
            }
            if !in_update {
                return Err(conflict(format!(
                    "Nothing to abort: the rollout is {shown}."
                )));
            }
            Ok(())
        }
        "retry" => {
            if !status.abort {
                let why = if phase == DEGRADED {
                    "it is Degraded without an abort, and retrying changes nothing"
                } else {
                    "nothing to retry"
                };
                return Err(conflict(format!(
                    "Retry restarts an aborted update; this rollout is not aborted ({why})."
                )));
            }
            Ok(())
        }
        "pause" => {
            if ro.spec.paused {
                return Err(conflict("Already paused by a person."));
            }
            Ok(())
        }
        "resume" => {
            if !ro.spec.paused && status.pause_conditions.is_empty() {
                return Err(conflict("The rollout is not paused."));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The verdict of every action in [`RULED_ACTIONS`], keyed by its URL name.
pub fn verdicts(ro: &Rollout, phase: &str) -> BTreeMap<String, ActionVerdict> {
    RULED_ACTIONS
        .iter()
        .map(|&name| {
            let verdict = match applicable_in(name, ro, phase) {
                Ok(()) => ActionVerdict {
                    enabled: true,
                    reason: None,
                },
                Err(refusal) => ActionVerdict {
                    enabled: false,
                    reason: Some(refusal.reason),
                },
            };
            (name.to_owned(), verdict)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Condition, PauseCondition};

    fn canary() -> Rollout {
        let mut ro = Rollout::default();
        ro.metadata.name = "demo".into();
        ro.spec.replicas = Some(2);
        ro.spec.strategy.canary = Some(crate::model::CanaryStrategy {
            steps: vec![
                serde_json::json!({"setWeight": 20}),
                serde_json::json!({"pause": {}}),
            ],
            ..Default::default()
        });
        ro.status.current_step_index = Some(1);
        ro.status.current_pod_hash = Some("new".into());
        ro.status.stable_rs = Some("old".into());
        ro.status.pause_conditions = vec![PauseCondition {
            reason: "CanaryPauseStep".into(),
            start_time: None,
        }];
        ro
    }

    fn invalid() -> Rollout {
        let mut ro = canary();
        ro.status.pause_conditions.clear();
        ro.status.conditions.push(Condition {
            type_: "InvalidSpec".into(),
            status: "True".into(),
            reason: Some("InvalidSpec".into()),
            message: Some("steps[1].setWeight: must be between 0 and 100".into()),
            ..Default::default()
        });
        ro
    }

    #[test]
    fn promote_on_an_invalid_spec_is_a_422_with_the_reason() {
        let err = applicable("promote", &invalid()).unwrap_err();
        assert_eq!((err.status, err.code), (422, "invalid_spec"));
        assert!(err.reason.contains("spec is invalid"), "{}", err.reason);
        assert!(err.reason.contains("steps[1].setWeight"), "{}", err.reason);
        assert_eq!(
            applicable("promote-full", &invalid()).unwrap_err().status,
            422
        );
    }

    #[test]
    fn retry_needs_an_abort() {
        let err = applicable("retry", &invalid()).unwrap_err();
        assert_eq!((err.status, err.code), (409, "not_applicable"));
        assert!(err.reason.contains("not aborted"), "{}", err.reason);
        assert!(applicable("retry", &canary()).is_err());
        let mut aborted = canary();
        aborted.status.abort = true;
        assert_eq!(applicable("retry", &aborted), Ok(()));
    }

    #[test]
    fn promote_full_applies_until_fully_promoted() {
        assert_eq!(applicable("promote-full", &canary()), Ok(()));
        let mut done = canary();
        done.status.pause_conditions.clear();
        done.status.phase = Some("Healthy".into());
        done.status.stable_rs = Some("new".into());
        let err = applicable("promote-full", &done).unwrap_err();
        assert!(err.reason.contains("fully promoted"), "{}", err.reason);
        // Degraded but not promoted: never says "already fully promoted".
        let err = applicable("promote-full", &{
            let mut d = canary();
            d.status.phase = Some("Degraded".into());
            d
        })
        .unwrap_err();
        assert_eq!(err.reason, "Nothing to promote: the rollout is Degraded.");
    }

    #[test]
    fn pause_and_resume() {
        let mut ro = canary();
        assert_eq!(applicable("pause", &ro), Ok(()));
        assert_eq!(applicable("resume", &ro), Ok(()));
        ro.spec.paused = true;
        assert!(applicable("pause", &ro).is_err());
        ro.spec.paused = false;
        ro.status.pause_conditions.clear();
        assert!(applicable("resume", &ro).is_err());
    }

    #[test]
    fn verdicts_cover_every_action() {
        let v = verdicts(&invalid(), "Degraded");
        assert_eq!(v.len(), RULED_ACTIONS.len());
        assert!(!v["promote"].enabled);
        assert!(!v["retry"].enabled);
        assert!(v["set-image"].enabled && v["set-image"].reason.is_none());
    }
}
