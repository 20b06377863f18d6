//! The Events the Argo Rollouts controller would record about a rollout, derived from a
//! transition of its status, for the demo (which has no controller writing Events), and the
//! shape of an Event about a rollout, which the demo's actions record as ours.
//!
//! Pure: the old and new rollout and the time in, Event objects (core/v1 JSON) out. The
//! reasons and message formats are upstream's (`utils/conditions/conditions.go`), each recorded
//! where upstream records it, named on each rule below.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::model::REVISION_ANNOTATION;

/// The controller's Event source, as upstream's recorder names it.
pub const CONTROLLER_COMPONENT: &str = "rollouts-controller";

/// A core/v1 Event about `rollout` (its name, namespace and UID), reported by `component`
/// at `now`. `seq` keeps the names of Events made at the same instant apart.
pub fn rollout_event(
    rollout: &Value,
    type_: &str,
    reason: &str,
    message: &str,
    component: &str,
    now: Timestamp,
    seq: usize,
) -> Value {
    let text = |pointer: &str| rollout.pointer(pointer).cloned().unwrap_or(Value::Null);
    let name = rollout
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let at = now.to_string();
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": format!("{name}.{:x}{seq}", now.as_nanosecond()),
            "namespace": text("/metadata/namespace"),
        },
        "involvedObject": {
            "apiVersion": text("/apiVersion"),
            "kind": "Rollout",
            "name": name,
            "namespace": text("/metadata/namespace"),
            "uid": text("/metadata/uid"),
        },
        "type": type_,
        "reason": reason,
        "message": message,
        "source": {"component": component},
        "firstTimestamp": at,
        "lastTimestamp": at,
        "count": 1,
    })
}

/// Upstream `CanaryStepString`: how a step reads in `RolloutStepCompleted`.
fn step_string(step: &Value) -> String {
    let field = |key: &str| step.get(key).filter(|v| !v.is_null());
    let name = |v: &Value| {
        v.get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    if let Some(w) = field("setWeight") {
        return format!("setWeight: {w}");
    }
    if let Some(pause) = field("pause") {
        return match pause.get("duration") {
            Some(Value::String(d)) => format!("pause: {d}"),
            Some(Value::Number(d)) => format!("pause: {d}"),
            _ => "pause".to_owned(),
        };
    }
    if field("experiment").is_some() {
        return "experiment".to_owned();
    }
    if field("analysis").is_some() {
        return "analysis".to_owned();
    }
    if let Some(scale) = field("setCanaryScale") {
        if let Some(w) = scale.get("weight").filter(|v| !v.is_null()) {
            return format!("setCanaryScale{{weight: {w}}}");
        }
        if scale.get("matchTrafficWeight") == Some(&Value::Bool(true)) {
            return "setCanaryScale{matchTrafficWeight: true}".to_owned();
        }
        if let Some(r) = scale.get("replicas").filter(|v| !v.is_null()) {
            return format!("setCanaryScale{{replicas: {r}}}");
        }
    }
    if let Some(plugin) = field("plugin") {
        return format!("plugin: {}", name(plugin));
    }
    if let Some(route) = field("setHeaderRoute") {
        return format!("setHeaderRoute: {}", name(route));
    }
    if let Some(route) = field("setMirrorRoute") {
        return format!("setMirrorRoute: {}", name(route));
    }
    "invalid".to_owned()
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// The four analysis references of a rollout's status, with upstream's type labels
/// (`RolloutTypeStepLabel`, …).
const ANALYSIS_REFS: [(&str, &str); 4] = [
    (
        "PostPromotion",
        "/status/blueGreen/postPromotionAnalysisRunStatus",
    ),
    (
        "PrePromotion",
        "/status/blueGreen/prePromotionAnalysisRunStatus",
    ),
    ("Step", "/status/canary/currentStepAnalysisRunStatus"),
    (
        "Background",
        "/status/canary/currentBackgroundAnalysisRunStatus",
    ),
];

/// The Events upstream's controller records when `before` (`None`: just created) becomes
/// `after`, in the order it records them.
pub fn controller_events(before: Option<&Value>, after: &Value, now: Timestamp) -> Vec<Value> {
    let null = Value::Null;
    let old = before.unwrap_or(&null);
    let mut out: Vec<(&str, String, String)> = vec![];
    let revision = |v: &Value| {
        v.pointer("/metadata/annotations")
            .and_then(|a| a.get(REVISION_ANNOTATION))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let new_revision = revision(after);

    // `rolloutContext.setRolloutRevision`: the revision annotation moved.
    if let Some(rev) = &new_revision
        && revision(old).as_ref() != Some(rev)
    {
        out.push((
            "Normal",
            "RolloutUpdated".into(),
            format!("Rollout updated to revision {rev}"),
        ));
    }

    // `rolloutContext.reconcileAnalysisRunStatusChanges` / `emitAnalysisRunStatusChanges`:
    // a run's phase changed (or a new run has its first phase).
    for (label, pointer) in ANALYSIS_REFS {
        let Some(run) = after.pointer(pointer).filter(|r| r.is_object()) else {
            continue;
        };
        let (name, phase) = (str_at(run, "/name"), str_at(run, "/status"));
        let (Some(name), Some(phase)) = (name, phase.filter(|p| !p.is_empty())) else {
            continue;
        };
        let prev = old.pointer(pointer).filter(|r| r.is_object());
        let prev_name = prev.and_then(|p| str_at(p, "/name"));
        let prev_phase = prev.and_then(|p| str_at(p, "/status"));
        let changed = prev.is_none() || prev_name == Some(name) && prev_phase != Some(phase);
        if changed {
            let warning = matches!(phase, "Failed" | "Error");
            out.push((
                if warning { "Warning" } else { "Normal" },
                format!("AnalysisRun{phase}"),
                format!(
                    "{label} Analysis Run '{name}' Status New: '{phase}' Previous: '{}'",
                    prev_phase.unwrap_or("NoPreviousStatus")
                ),
            ));
        }
    }

    // `rolloutContext.syncRolloutStatusCanary`: each step the index moved past, within one
    // update (a new pod hash restarts the steps; an abort sends the index back).
    let steps = after
        .pointer("/spec/strategy/canary/steps")
        .and_then(Value::as_array);
    let index = |v: &Value| {
        v.pointer("/status/currentStepIndex")
            .and_then(Value::as_u64)
    };
    let same_update =
        str_at(old, "/status/currentPodHash") == str_at(after, "/status/currentPodHash");
    if let (Some(steps), Some(from), Some(to)) = (steps, index(old), index(after))
        && same_update
        && to > from
    {
        for done in from + 1..=to.min(steps.len() as u64) {
            let step = &steps[(done - 1) as usize];
            out.push((
                "Normal",
                "RolloutStepCompleted".into(),
                format!(
                    "Rollout step {done}/{} completed ({})",
                    steps.len(),
                    step_string(step)
                ),
            ));
        }
    }

    // `rolloutContext.calculateRolloutConditions`: the abort set the Progressing condition
    // to RolloutAborted (a Warning, with the abort's message when there is one).
    let aborted = |v: &Value| v.pointer("/status/abort") == Some(&Value::Bool(true));
    if aborted(after) && !aborted(old) {
        let message = after
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|cs| {
                cs.iter().find(|c| {
                    str_at(c, "/type") == Some("Progressing")
                        && str_at(c, "/reason") == Some("RolloutAborted")
                })
            })
            .and_then(|c| str_at(c, "/message"))
            .map(str::to_owned)
            .unwrap_or_else(|| {
                format!(
                    "Rollout aborted update to revision {}",
                    new_revision.as_deref().unwrap_or("0")
                )
            });
        out.push(("Warning", "RolloutAborted".into(), message));
    }

    // `rolloutContext.sendStateChangeEvents`: pause conditions appeared or went (an abort
    // clears them too, which is not a resume).
    let pauses = |v: &Value| {
        v.pointer("/status/pauseConditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (was_paused, paused) = (!pauses(old).is_empty(), pauses(after));
    if paused.is_empty() == was_paused {
        if let Some(first) = paused.first() {
            out.push((
                "Normal",
                "RolloutPaused".into(),
                format!(
                    "Rollout is paused ({})",
                    str_at(first, "/reason").unwrap_or_default()
                ),
            ));
        } else if after
            .pointer("/status/abortedAt")
            .is_none_or(Value::is_null)
        {
            out.push((
                "Normal",
                "RolloutResumed".into(),
                "Rollout is resumed".into(),
            ));
        }
    }

    // `rolloutContext.promoteStable`: the current pod hash became the stable one.
    let current = str_at(after, "/status/currentPodHash");
    let (was_stable, stable) = (
        str_at(old, "/status/stableRS"),
        str_at(after, "/status/stableRS"),
    );
    if current.is_some() && stable == current && was_stable != current {
        let why = if was_stable.is_none() {
            "Initial deploy".to_owned()
        } else if old.pointer("/status/promoteFull") == Some(&Value::Bool(true)) {
            "Full promotion requested".to_owned()
        } else if let Some(steps) = steps {
            format!("Completed all {} canary steps", steps.len())
        } else {
            "Completed blue-green update".to_owned()
        };
        out.push((
            "Normal",
            "RolloutCompleted".into(),
            format!(
                "Rollout completed update to revision {} ({}): {why}",
                new_revision.as_deref().unwrap_or("0"),
                current.unwrap_or_default()
            ),
        ));
    }

    out.into_iter()
        .enumerate()
        .map(|(seq, (type_, reason, message))| {
            rollout_event(
                after,
                type_,
                &reason,
                &message,
                CONTROLLER_COMPONENT,
                now,
                seq,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canary(index: u64, hash: &str, stable: &str, revision: &str) -> Value {
        json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": "web", "namespace": "shop", "uid": "u1",
                         "annotations": {REVISION_ANNOTATION: revision}},
            "spec": {"strategy": {"canary": {"steps": [
                {"setWeight": 20}, {"pause": {"duration": "10s"}}, {"pause": {}},
                {"setCanaryScale": {"replicas": 2}}, {"analysis": {"templates": []}}]}}},
            "status": {"currentStepIndex": index, "currentPodHash": hash, "stableRS": stable}
        })
    }

    fn said(events: &[Value]) -> Vec<(String, String, String)> {
        events
            .iter()
            .map(|e| {
                let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
                (s("type"), s("reason"), s("message"))
            })
            .collect()
    }

    fn normal(reason: &str, message: &str) -> (String, String, String) {
        ("Normal".into(), reason.into(), message.into())
    }

    #[test]
    fn an_update_its_steps_pauses_and_completion_read_as_upstream() {
        let now = Timestamp::from_second(1_790_000_000).unwrap();
        let stable = canary(5, "old", "old", "1");
        let updated = canary(0, "new", "old", "2");
        assert_eq!(
            said(&controller_events(Some(&stable), &updated, now)),
            [normal("RolloutUpdated", "Rollout updated to revision 2")]
        );
        let mut paused = canary(2, "new", "old", "2");
        paused["status"]["pauseConditions"] =
            json!([{"reason": "CanaryPauseStep", "startTime": "2026-01-01T00:00:00Z"}]);
        assert_eq!(
            said(&controller_events(Some(&updated), &paused, now)),
            [
                normal(
                    "RolloutStepCompleted",
                    "Rollout step 1/5 completed (setWeight: 20)"
                ),
                normal(
                    "RolloutStepCompleted",
                    "Rollout step 2/5 completed (pause: 10s)"
                ),
                normal("RolloutPaused", "Rollout is paused (CanaryPauseStep)"),
            ]
        );
        let resumed = canary(4, "new", "old", "2");
        assert_eq!(
            said(&controller_events(Some(&paused), &resumed, now)),
            [
                normal("RolloutStepCompleted", "Rollout step 3/5 completed (pause)"),
                normal(
                    "RolloutStepCompleted",
                    "Rollout step 4/5 completed (setCanaryScale{replicas: 2})"
                ),
                normal("RolloutResumed", "Rollout is resumed"),
            ]
        );
        let done = canary(5, "new", "new", "2");
        assert_eq!(
            said(&controller_events(Some(&resumed), &done, now)),
            [
                normal(
                    "RolloutStepCompleted",
                    "Rollout step 5/5 completed (analysis)"
                ),
                normal(
                    "RolloutCompleted",
                    "Rollout completed update to revision 2 (new): Completed all 5 canary steps"
                ),
            ]
        );
        // Nothing changed, nothing said.
        assert!(controller_events(Some(&done), &done, now).is_empty());
        // The Events name the rollout, its UID, the controller and the time.
        let e = &controller_events(Some(&stable), &updated, now)[0];
        assert_eq!(e["involvedObject"]["uid"], "u1");
        assert_eq!(e["source"]["component"], CONTROLLER_COMPONENT);
        assert_eq!(e["lastTimestamp"], now.to_string());
        let decoded = crate::model::RolloutEvent::from_json(e.clone()).unwrap();
        assert!(decoded.is_some(), "the store reads what the demo writes");
    }

    #[test]
    fn aborts_and_analysis_runs_read_as_upstream() {
        let now = Timestamp::from_second(1_790_000_000).unwrap();
        let mut running = canary(4, "new", "old", "3");
        running["status"]["canary"] =
            json!({"currentStepAnalysisRunStatus": {"name": "web-new-3-4", "status": "Running"}});
        let before = canary(3, "new", "old", "3");
        assert_eq!(
            said(&controller_events(Some(&before), &running, now)),
            [
                normal(
                    "AnalysisRunRunning",
                    "Step Analysis Run 'web-new-3-4' Status New: 'Running' Previous: 'NoPreviousStatus'"
                ),
                normal(
                    "RolloutStepCompleted",
                    "Rollout step 4/5 completed (setCanaryScale{replicas: 2})"
                ),
            ]
        );
        let mut aborted = canary(0, "new", "old", "3");
        aborted["status"]["canary"] =
            json!({"currentStepAnalysisRunStatus": {"name": "web-new-3-4", "status": "Failed"}});
        aborted["status"]["abort"] = json!(true);
        aborted["status"]["abortedAt"] = json!("2026-01-01T00:00:00Z");
        aborted["status"]["conditions"] = json!([{"type": "Progressing", "status": "False",
            "reason": "RolloutAborted", "message": "Rollout aborted update to revision 3: Metric \"error-rate\" assessed Failed"}]);
        let warn = |reason: &str, message: &str| {
            ("Warning".to_owned(), reason.to_owned(), message.to_owned())
        };
        assert_eq!(
            said(&controller_events(Some(&running), &aborted, now)),
            [
                warn(
                    "AnalysisRunFailed",
                    "Step Analysis Run 'web-new-3-4' Status New: 'Failed' Previous: 'Running'"
                ),
                warn(
                    "RolloutAborted",
                    "Rollout aborted update to revision 3: Metric \"error-rate\" assessed Failed"
                ),
            ]
        );
        // An abort clears the pause conditions: not a resume.
        let mut paused = running.clone();
        paused["status"]["pauseConditions"] = json!([{"reason": "CanaryPauseStep"}]);
        let events = said(&controller_events(Some(&paused), &aborted, now));
        assert!(
            events.iter().all(|(_, r, _)| r != "RolloutResumed"),
            "{events:?}"
        );
        // A blue-green rollout's first deploy, and its promotion.
        let bg = |stable: Option<&str>| {
            let mut v = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                "metadata": {"name": "bg", "namespace": "shop", "annotations": {REVISION_ANNOTATION: "2"}},
                "spec": {"strategy": {"blueGreen": {}}}, "status": {"currentPodHash": "b"}});
            if let Some(s) = stable {
                v["status"]["stableRS"] = json!(s);
            }
            v
        };
        assert_eq!(
            said(&controller_events(
                Some(&bg(Some("a"))),
                &bg(Some("b")),
                now
            )),
            [normal(
                "RolloutCompleted",
                "Rollout completed update to revision 2 (b): Completed blue-green update"
            )]
        );
        let first = said(&controller_events(None, &bg(Some("b")), now));
        assert_eq!(
            first.last().unwrap().2,
            "Rollout completed update to revision 2 (b): Initial deploy"
        );
    }
}
