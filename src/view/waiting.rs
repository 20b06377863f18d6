//! How long a rollout has waited (issue #15.7): since when it is paused (for promotion, in a
//! timed pause, by a person, on an inconclusive analysis) or Degraded, from the times the
//! controller wrote. One rule for the list row and the detail page; the browser only counts
//! from `since` (the view stays clock-free).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::PauseKind;
use super::explain::{BLUE_GREEN_PAUSE, INCONCLUSIVE_ANALYSIS, INCONCLUSIVE_EXPERIMENT};
use super::phase::{DEGRADED, PAUSED};
use super::steps::CANARY_PAUSE_STEP;
use crate::model::{Condition, PauseCondition, Rollout};

/// What a rollout waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum WaitingKind {
    /// At a pause step with no duration, or a blue-green preview, until someone promotes it.
    Promotion,
    /// In a timed pause.
    Pause,
    /// On a decision about an inconclusive analysis or experiment.
    Inconclusive,
    /// Paused by a person.
    Person,
    /// Any other pause.
    Paused,
    /// Degraded (aborted, progress deadline exceeded, invalid spec).
    Degraded,
}

/// Since when a rollout waits, and on what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct WaitingView {
    pub kind: WaitingKind,
    /// RFC3339, as the controller wrote it.
    pub since: String,
}

/// The earliest start of the pause conditions with one of `reasons` (any when `None`).
fn paused_since(pcs: &[PauseCondition], reasons: Option<&[&str]>) -> Option<String> {
    pcs.iter()
        .filter(|p| reasons.is_none_or(|r| r.contains(&p.reason.as_str())))
        .filter_map(|p| {
            let text = p.start_time.as_deref()?;
            Some((text.parse::<Timestamp>().ok()?, text))
        })
        .min_by_key(|(at, _)| *at)
        .map(|(_, text)| text.to_owned())
}

/// The last transition of the first condition that matches, if it is a time.
fn condition_since(
    conditions: &[Condition],
    matches: impl Fn(&Condition) -> bool,
) -> Option<String> {
    conditions
        .iter()
        .find(|c| matches(c))
        .and_then(|c| c.last_transition_time.clone())
        .filter(|t| t.parse::<Timestamp>().is_ok())
}

fn is(c: &Condition, type_: &str, status: &str) -> bool {
    c.type_ == type_ && c.status == status
}

/// Since when `ro` waits: a pause from its pause condition's `startTime` (a person's pause,
/// which has none upstream, from the `Paused` condition), Degraded from what made it so (the
/// abort, the `Progressing` condition turned False, an `InvalidSpec` or `ReplicaFailure`).
/// `None` when it does not wait or no time is known: never a guess.
pub fn waiting(
    ro: &Rollout,
    phase: &str,
    pause_kind: Option<PauseKind>,
    aborted: bool,
) -> Option<WaitingView> {
    let pcs = &ro.status.pause_conditions;
    let conds = &ro.status.conditions;
    let at = |kind, since: Option<String>| since.map(|since| WaitingView { kind, since });
    if phase == DEGRADED {
        let since = aborted
            .then(|| {
                ro.status
                    .aborted_at
                    .clone()
                    .filter(|t| t.parse::<Timestamp>().is_ok())
                    .or_else(|| {
                        condition_since(conds, |c| c.reason.as_deref() == Some("RolloutAborted"))
                    })
            })
            .flatten()
            .or_else(|| condition_since(conds, |c| is(c, "Progressing", "False")))
            .or_else(|| condition_since(conds, |c| is(c, "InvalidSpec", "True")))
            .or_else(|| condition_since(conds, |c| is(c, "ReplicaFailure", "True")))
            .or_else(|| condition_since(conds, |c| is(c, "Available", "False")));
        return at(WaitingKind::Degraded, since);
    }
    if phase != PAUSED {
        return None;
    }
    let pause_steps: &[&str] = &[CANARY_PAUSE_STEP, BLUE_GREEN_PAUSE];
    let (kind, reasons): (WaitingKind, Option<&[&str]>) = match pause_kind {
        Some(PauseKind::Promotion) => (WaitingKind::Promotion, Some(pause_steps)),
        Some(PauseKind::Timed) => (WaitingKind::Pause, Some(pause_steps)),
        Some(PauseKind::Inconclusive) => (
            WaitingKind::Inconclusive,
            Some(&[INCONCLUSIVE_ANALYSIS, INCONCLUSIVE_EXPERIMENT]),
        ),
        Some(PauseKind::Person) => (WaitingKind::Person, Some(&["PausedByUser"])),
        Some(PauseKind::Other) | None => (WaitingKind::Paused, None),
    };
    let since = reasons
        .and_then(|r| paused_since(pcs, Some(r)))
        .or_else(|| paused_since(pcs, None))
        .or_else(|| condition_since(conds, |c| is(c, "Paused", "True")));
    at(kind, since)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rollout(status: serde_json::Value) -> Rollout {
        serde_json::from_value(json!({"status": status})).unwrap()
    }

    fn cond(type_: &str, status: &str, reason: &str, at: &str) -> serde_json::Value {
        json!({"type": type_, "status": status, "reason": reason, "lastTransitionTime": at})
    }

    fn since(w: Option<WaitingView>) -> Option<(WaitingKind, String)> {
        w.map(|w| (w.kind, w.since))
    }

    #[test]
    fn pauses_wait_since_their_own_condition() {
        let ro = rollout(json!({"pauseConditions": [
            {"reason": "PausedByUser", "startTime": "2026-11-30T06:50:00Z"},
            {"reason": "CanaryPauseStep", "startTime": "2026-11-30T06:58:33Z"}]}));
        let w = |kind| since(waiting(&ro, PAUSED, Some(kind), false));
        let t = "2026-11-30T06:58:33Z".to_owned();
        assert_eq!(
            w(PauseKind::Promotion),
            Some((WaitingKind::Promotion, t.clone()))
        );
        assert_eq!(w(PauseKind::Timed), Some((WaitingKind::Pause, t)));
        assert_eq!(
            w(PauseKind::Person),
            Some((WaitingKind::Person, "2026-11-30T06:50:00Z".into()))
        );
        // Another pause's start when its own has none; the earliest of any for the rest.
        assert_eq!(
            w(PauseKind::Other),
            Some((WaitingKind::Paused, "2026-11-30T06:50:00Z".into()))
        );
        let inconclusive = rollout(json!({"pauseConditions": [
            {"reason": "InconclusiveAnalysisRun", "startTime": "2026-11-30T06:40:00Z"}]}));
        assert_eq!(
            since(waiting(
                &inconclusive,
                PAUSED,
                Some(PauseKind::Inconclusive),
                false
            )),
            Some((WaitingKind::Inconclusive, "2026-11-30T06:40:00Z".into()))
        );
        // A person's pause without a pause condition: the Paused condition's transition.
        let person = rollout(
            json!({"conditions": [cond("Paused", "True", "RolloutPaused", "2026-11-30T06:58:00Z")]}),
        );
        assert_eq!(
            since(waiting(&person, PAUSED, Some(PauseKind::Person), false)),
            Some((WaitingKind::Person, "2026-11-30T06:58:00Z".into()))
        );
        // No time known: nothing said, never a guess.
        let unknown = rollout(json!({"pauseConditions": [{"reason": "CanaryPauseStep"}]}));
        assert_eq!(
            waiting(&unknown, PAUSED, Some(PauseKind::Promotion), false),
            None
        );
    }

    #[test]
    fn degraded_waits_since_the_abort_or_the_condition_that_made_it_so() {
        let ro = rollout(json!({"abortedAt": "2026-11-30T06:58:34Z", "conditions": [
            cond("Progressing", "False", "RolloutAborted", "2026-11-30T06:58:35Z")]}));
        assert_eq!(
            since(waiting(&ro, DEGRADED, None, true)),
            Some((WaitingKind::Degraded, "2026-11-30T06:58:34Z".into()))
        );
        let mut no_time = ro.clone();
        no_time.status.aborted_at = None;
        assert_eq!(
            waiting(&no_time, DEGRADED, None, true).unwrap().since,
            "2026-11-30T06:58:35Z"
        );
        let invalid = rollout(json!({"conditions": [
            cond("Available", "True", "AvailableReason", "2026-11-30T06:00:00Z"),
            cond("InvalidSpec", "True", "InvalidSpec", "2026-11-30T06:58:33Z")]}));
        assert_eq!(
            waiting(&invalid, DEGRADED, None, false).unwrap().since,
            "2026-11-30T06:58:33Z"
        );
        let nothing = rollout(json!({"conditions": [
            cond("Available", "True", "AvailableReason", "2026-11-30T06:00:00Z")]}));
        assert_eq!(waiting(&nothing, DEGRADED, None, false), None);
        // Healthy and Progressing do not wait, whatever stale pause conditions say.
        let stale = rollout(json!({"pauseConditions": [
            {"reason": "CanaryPauseStep", "startTime": "2026-11-30T06:58:33Z"}]}));
        assert_eq!(
            waiting(&stale, "Healthy", Some(PauseKind::Promotion), false),
            None
        );
        assert_eq!(waiting(&stale, "Progressing", None, false), None);
    }
}
