//! Plain-language explanations: why a rollout is paused, degraded or aborted, whether it needs
//! attention, and when a timed pause ends.

use serde::{Deserialize, Serialize};

use super::AnalysisRefView;
use super::phase::{DEGRADED, HEALTHY, PAUSED, PROGRESSING, analysis_completed};
use super::steps::{CANARY_PAUSE_STEP, StepState, add_seconds, pause_duration, step_views};
use super::weights::current_step_index;
use crate::model::Rollout;

/// Pause condition reason of a blue-green rollout waiting for promotion.
pub const BLUE_GREEN_PAUSE: &str = "BlueGreenPause";
/// Pause condition reason after an inconclusive analysis.
pub const INCONCLUSIVE_ANALYSIS: &str = "InconclusiveAnalysisRun";
/// Pause condition reason after an inconclusive experiment.
pub const INCONCLUSIVE_EXPERIMENT: &str = "InconclusiveExperiment";

/// What [`explain`] looks at.
pub struct Facts<'a> {
    pub ro: &'a Rollout,
    pub phase: &'a str,
    pub message: &'a str,
    pub pause_until: Option<&'a str>,
    pub analysis_refs: &'a [AnalysisRefView],
    pub analysis_status: Option<&'a str>,
}

/// Why a paused rollout is paused, as a type (the UI decides from it, never from the prose).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum PauseKind {
    /// `spec.paused`: a person paused it; a person must resume it.
    Person,
    /// A canary pause step with a duration, or a blue-green pause with auto-promotion: it
    /// resumes by itself at `pauseUntil`.
    Timed,
    /// A pause step with no duration, or a blue-green preview without auto-promotion.
    Promotion,
    /// An inconclusive analysis or experiment.
    Inconclusive,
    /// Any other pause condition.
    Other,
}

/// Why a rollout needs a human, as a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum AttentionKind {
    /// `status.abort`.
    Aborted,
    /// Degraded without an abort (invalid spec, progress deadline exceeded).
    Degraded,
    /// A current analysis failed or errored.
    AnalysisFailed,
    /// An analysis or experiment was inconclusive.
    Inconclusive,
    /// Paused by a person (`spec.paused`).
    PausedByPerson,
    /// Waiting at an indefinite pause for promotion.
    WaitingForPromotion,
    /// A status this dashboard does not know.
    Unrecognized,
}

/// The explanation of a rollout's state.
pub struct Explained {
    /// One sentence for the list row.
    pub reason: String,
    /// Why it needs a human, if it does.
    pub attention: Option<String>,
    /// [`Explained::attention`] as a type.
    pub attention_kind: Option<AttentionKind>,
    /// Why it is paused, when its status is Paused.
    pub pause_kind: Option<PauseKind>,
    /// The reason followed by supporting sentences, for the detail page.
    pub details: Vec<String>,
}

fn pause_start(ro: &Rollout, reason: &str) -> Option<String> {
    ro.status
        .pause_conditions
        .iter()
        .find(|p| p.reason == reason)
        .and_then(|p| p.start_time.clone())
}

/// When a paused blue-green preview is promoted automatically: the `BlueGreenPause` start plus
/// `autoPromotionSeconds`, unless auto-promotion is disabled.
pub fn auto_promotion_deadline(ro: &Rollout) -> Option<String> {
    let bg = ro.spec.strategy.blue_green.as_ref()?;
    if bg.auto_promotion_enabled == Some(false) {
        return None;
    }
    let seconds = bg.auto_promotion_seconds.filter(|s| *s > 0)?;
    add_seconds(&pause_start(ro, BLUE_GREEN_PAUSE)?, i64::from(seconds))
}

/// End of the current timed pause: a canary pause step with a duration, or a blue-green pause
/// with auto-promotion seconds. `None` for indefinite and manual pauses.
pub fn pause_until(ro: &Rollout) -> Option<String> {
    // A manual pause holds the rollout regardless of any timer.
    if ro.spec.paused {
        return None;
    }
    if let Some(canary) = &ro.spec.strategy.canary {
        let step = &canary.steps[current_step_index(ro)?];
        let duration = pause_duration(step)?;
        return add_seconds(&pause_start(ro, CANARY_PAUSE_STEP)?, duration.as_secs());
    }
    auto_promotion_deadline(ro)
}

fn severity(status: &str) -> u8 {
    match status {
        "Failed" | "Error" => 4,
        "Inconclusive" => 3,
        "Running" | "Pending" => 2,
        "Successful" => 1,
        _ => 0,
    }
}

/// The most severe phase among the rollout's current analyses.
pub fn worst_analysis_status(refs: &[AnalysisRefView]) -> Option<String> {
    refs.iter()
        .filter(|r| !r.status.is_empty())
        // `max_by_key` keeps the last of equals; reversing keeps the first (step before background).
        .rev()
        .max_by_key(|r| severity(&r.status))
        .map(|r| r.status.clone())
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Splits upstream's "Reason: message" into a readable sentence.
fn degraded_reason(message: &str) -> String {
    let (prefix, rest) = message.split_once(": ").unwrap_or(("", message));
    match prefix {
        "InvalidSpec" => format!("Invalid spec: {rest}"),
        "RolloutAborted" => format!("Rollout aborted: {rest}"),
        "ProgressDeadlineExceeded" => format!("Progress deadline exceeded: {rest}"),
        _ if message.is_empty() => "Degraded".to_owned(),
        _ => format!("Degraded: {message}"),
    }
}

/// Explains the rollout's state in plain words.
pub fn explain(f: Facts<'_>) -> Explained {
    let ro = f.ro;
    let status = &ro.status;
    let steps = step_views(ro);
    // Same notation as upstream's `step` field ("1/8" = step index 1 of 8), so the reason and
    // the step shown beside it never disagree.
    let step_text = |i: usize| format!("step {}/{}", i, steps.len());
    let first_pause = status.pause_conditions.first().map(|p| p.reason.as_str());

    let reason = match f.phase {
        DEGRADED => degraded_reason(f.message),
        PAUSED if ro.spec.paused => "Manually paused".to_owned(),
        PAUSED => match first_pause.unwrap_or(f.message) {
            CANARY_PAUSE_STEP => match (f.pause_until, current_step_index(ro)) {
                (Some(until), _) => format!("Paused until {until}"),
                (None, Some(i)) => format!(
                    "Waiting for promotion at {} (pause with no duration)",
                    step_text(i)
                ),
                (None, None) => "Waiting for promotion (pause step)".to_owned(),
            },
            BLUE_GREEN_PAUSE => match f.pause_until {
                Some(until) => format!("Paused until {until}, then the preview is promoted"),
                None => "Waiting for promotion of the preview ReplicaSet".to_owned(),
            },
            INCONCLUSIVE_ANALYSIS => {
                "Paused: analysis was inconclusive; promote to continue or abort".to_owned()
            }
            INCONCLUSIVE_EXPERIMENT => {
                "Paused: experiment was inconclusive; promote to continue or abort".to_owned()
            }
            other => format!("Paused: {other}"),
        },
        PROGRESSING if f.message.is_empty() => "Progressing".to_owned(),
        PROGRESSING => capitalize(f.message),
        HEALTHY => "Healthy: fully promoted, all replicas updated and available".to_owned(),
        other if f.message.is_empty() => other.to_owned(),
        other => format!("{other}: {}", f.message),
    };

    let waiting_for_promotion = f.phase == PAUSED
        && !ro.spec.paused
        && f.pause_until.is_none()
        && matches!(first_pause, Some(CANARY_PAUSE_STEP | BLUE_GREEN_PAUSE));
    let pause_kind = (f.phase == PAUSED).then(|| {
        if ro.spec.paused {
            PauseKind::Person
        } else {
            match first_pause.unwrap_or(f.message) {
                CANARY_PAUSE_STEP | BLUE_GREEN_PAUSE if f.pause_until.is_some() => PauseKind::Timed,
                CANARY_PAUSE_STEP | BLUE_GREEN_PAUSE => PauseKind::Promotion,
                INCONCLUSIVE_ANALYSIS | INCONCLUSIVE_EXPERIMENT => PauseKind::Inconclusive,
                _ => PauseKind::Other,
            }
        }
    });
    let (attention_kind, attention) = if status.abort {
        (
            Some(AttentionKind::Aborted),
            Some(format!(
                "Aborted{}",
                aborted_cause(ro, f.analysis_refs)
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default()
            )),
        )
    } else if f.phase == DEGRADED {
        (
            Some(AttentionKind::Degraded),
            Some(degraded_reason(f.message)),
        )
    } else if matches!(f.analysis_status, Some("Failed" | "Error")) {
        (
            Some(AttentionKind::AnalysisFailed),
            Some(format!(
                "Analysis {}",
                f.analysis_status.unwrap_or_default().to_lowercase()
            )),
        )
    } else if f.analysis_status == Some("Inconclusive")
        || matches!(
            first_pause,
            Some(INCONCLUSIVE_ANALYSIS | INCONCLUSIVE_EXPERIMENT)
        )
    {
        (
            Some(AttentionKind::Inconclusive),
            Some("Analysis inconclusive: promote or abort".to_owned()),
        )
    } else if f.phase == PAUSED && ro.spec.paused {
        // A person's pause holds until a person resumes it, whatever the pods do.
        (
            Some(AttentionKind::PausedByPerson),
            Some("Paused by a person: resume to continue".to_owned()),
        )
    } else if waiting_for_promotion {
        (
            Some(AttentionKind::WaitingForPromotion),
            Some("Waiting for promotion".to_owned()),
        )
    } else if ![HEALTHY, PROGRESSING, PAUSED, DEGRADED].contains(&f.phase) {
        (
            Some(AttentionKind::Unrecognized),
            Some(format!("Unrecognized status {:?}", f.phase)),
        )
    } else {
        (None, None)
    };

    let mut details = vec![reason.clone()];
    if let (true, Some(at)) = (status.abort, &status.aborted_at) {
        details.push(format!("Aborted at {at}."));
    }
    for c in &status.conditions {
        if let ("InvalidSpec", Some(m)) = (c.type_.as_str(), &c.message) {
            details.push(format!("Invalid spec: {m}"));
        }
    }
    for r in f.analysis_refs {
        if analysis_completed(&r.status) && r.status != "Successful" {
            let msg = r
                .message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            details.push(format!(
                "Analysis {} ({}) {}{msg}",
                r.name, r.kind, r.status
            ));
        }
    }
    if let Some(current) = steps.iter().find(|s| s.state == StepState::Current) {
        details.push(format!(
            "Current {}: {}",
            step_text(current.index),
            current.label
        ));
    }
    if status.controller_pause && status.pause_conditions.is_empty() {
        details.push("The controller is resuming the rollout.".to_owned());
    }
    details.dedup();
    Explained {
        reason,
        attention,
        attention_kind,
        pause_kind,
        details,
    }
}

/// Why an aborted rollout was aborted: the RolloutAborted condition, else a failed analysis.
fn aborted_cause(ro: &Rollout, refs: &[AnalysisRefView]) -> Option<String> {
    ro.status
        .conditions
        .iter()
        .find(|c| c.reason.as_deref() == Some("RolloutAborted"))
        .and_then(|c| c.message.clone())
        .filter(|m| !m.is_empty())
        .or_else(|| {
            refs.iter()
                .filter(|r| analysis_completed(&r.status) && r.status != "Successful")
                .find_map(|r| r.message.clone())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::AnalysisRefKind;

    fn bref(kind: AnalysisRefKind, status: &str) -> AnalysisRefView {
        AnalysisRefView {
            kind,
            name: kind.to_string(),
            status: status.into(),
            message: None,
        }
    }

    #[test]
    fn worst_status() {
        assert_eq!(worst_analysis_status(&[]), None);
        let refs = [
            bref(AnalysisRefKind::Step, "Successful"),
            bref(AnalysisRefKind::Background, "Failed"),
        ];
        assert_eq!(worst_analysis_status(&refs).as_deref(), Some("Failed"));
        let refs = [
            bref(AnalysisRefKind::Step, "Running"),
            bref(AnalysisRefKind::Background, "Successful"),
        ];
        assert_eq!(worst_analysis_status(&refs).as_deref(), Some("Running"));
    }

    #[test]
    fn degraded_sentences() {
        assert_eq!(degraded_reason("InvalidSpec: bad"), "Invalid spec: bad");
        assert_eq!(degraded_reason("Other: x"), "Degraded: Other: x");
        assert_eq!(degraded_reason(""), "Degraded");
    }
}
