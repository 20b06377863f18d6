//! A rollout's history: its Kubernetes Events (the controller's and ours, naming the person),
//! newest first, and when each canary step started and ended, derived from them.
//!
//! Times come only from what was recorded: the controller's `RolloutStepCompleted` Events
//! (upstream `rolloutContext.syncRolloutStatusCanary` records one as the step index moves on),
//! its `RolloutUpdated` Event (upstream `rolloutContext.setRolloutRevision`, at the start of an
//! update) and the current pause condition. The API server expires Events after an hour and the
//! store keeps a bounded number, so a time that is not known stays `None` (the UI says
//! "unknown"); nothing is guessed.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::steps::{StepKind, StepView, pause_step_start};
use crate::model::{EventRecord, Rollout};

/// The component this dashboard writes as its Events' source (and as field manager).
pub const COMPONENT: &str = "rollouts-dashboard";

/// Reason of the controller's Event when a canary step completes.
pub const STEP_COMPLETED: &str = "RolloutStepCompleted";
/// Reason of the controller's Event when an update to a new revision starts.
pub const ROLLOUT_UPDATED: &str = "RolloutUpdated";

/// One Event about the rollout.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    /// `Normal` | `Warning`, as the Event has it (the API server accepts no other, but the
    /// view passes it through rather than guess).
    #[serde(rename = "type")]
    #[cfg_attr(test, ts(type = r#""Normal" | "Warning" | (string & {})"#))]
    pub type_: String,
    pub reason: String,
    pub message: String,
    /// When it last happened (RFC3339), if the writer said.
    pub time: Option<String>,
    /// When it first happened, if it recurred (`count` > 1).
    pub first_time: Option<String>,
    /// How often it happened.
    pub count: i32,
    /// The reporting component (`rollouts-controller`, `rollouts-dashboard`, …).
    pub source: String,
    /// For this dashboard's Events: the person who acted.
    pub by: Option<String>,
    /// For this dashboard's Events: what they did, in words (`promoted`, `aborted`).
    pub action: Option<String>,
}

/// The Events section of the detail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct HistoryView {
    /// Why the Events cannot be shown (the identity may not list them), if so.
    pub unavailable: Option<String>,
    /// Newest first, at most the store's bound; the API server keeps Events about an hour.
    pub events: Vec<EventView>,
}

/// What this dashboard's Event reasons (`actions::exec::event_reason`) say was done.
fn action_of(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "PromotedFromDashboard" => "promoted",
        "FullyPromotedFromDashboard" => "fully promoted",
        "AbortedFromDashboard" => "aborted",
        "RetriedFromDashboard" => "retried",
        "RestartedFromDashboard" => "restarted",
        "PausedFromDashboard" => "paused",
        "ResumedFromDashboard" => "resumed",
        "ImageSetFromDashboard" => "set the image",
        "RolledBackFromDashboard" => "rolled back",
        _ => return None,
    })
}

/// The person an Event of ours names: its message is `<person> via rollouts-dashboard: …`
/// (`actions::exec::run`).
fn person_of(event: &EventRecord) -> Option<String> {
    if &*event.source != COMPONENT {
        return None;
    }
    let (person, _) = event.message.split_once(&format!(" via {COMPONENT}: "))?;
    (!person.is_empty()).then(|| person.to_owned())
}

/// The Events about `ro` (by UID when both have one: a rollout deleted and created again
/// under the same name does not inherit the old one's), newest first as stored.
pub fn history_view(
    ro: &Rollout,
    events: &[&EventRecord],
    unavailable: Option<&str>,
) -> HistoryView {
    HistoryView {
        unavailable: unavailable.map(str::to_owned),
        events: own_events(ro, events)
            .map(|e| EventView {
                type_: if e.warning { "Warning" } else { "Normal" }.to_owned(),
                action: action_of(&e.reason).map(str::to_owned),
                reason: e.reason.to_string(),
                message: e.message.to_string(),
                time: e.last.map(|t| t.to_string()),
                first_time: (e.count > 1)
                    .then_some(e.first)
                    .flatten()
                    .map(|t| t.to_string()),
                count: e.count,
                source: e.source.to_string(),
                by: person_of(e),
            })
            .collect(),
    }
}

fn own_events<'a>(
    ro: &'a Rollout,
    events: &'a [&'a EventRecord],
) -> impl Iterator<Item = &'a EventRecord> + 'a {
    let uid = ro.metadata.uid.as_str();
    events.iter().copied().filter(move |e| {
        let theirs = &*e.uid;
        uid.is_empty() || theirs.is_empty() || theirs == uid
    })
}

/// `Rollout step 3/8 completed (pause: 10s)` → 3: the number of steps done, so the step at
/// 0-based index 2 ended (upstream `RolloutStepCompletedMessage`, written after the index moved).
fn completed_count(message: &str) -> Option<usize> {
    let rest = message.strip_prefix("Rollout step ")?;
    let (done, _) = rest.split_once('/')?;
    done.parse().ok()
}

/// Sets each step's `began_at` / `ended_at` from the Events and the pause condition.
///
/// The update's start is the newest `RolloutUpdated` Event (step 0 began then); step `i`
/// ended at the newest `Rollout step i+1/N completed` Event since that start, and the next
/// step began then. A completion later than one of a later step belongs to an earlier
/// attempt (an abort and a retry) and is not used; steps skipped by a full promotion have no
/// Event and stay unknown. The current pause step began at its pause condition's start.
pub fn set_step_times(ro: &Rollout, steps: &mut [StepView], events: &[&EventRecord]) {
    let Some(current) = ro
        .status
        .current_step_index
        .and_then(|i| usize::try_from(i).ok())
    else {
        return;
    };
    let own: Vec<&EventRecord> = own_events(ro, events).collect();
    let update_start: Option<Timestamp> = own
        .iter()
        .filter(|e| &*e.reason == ROLLOUT_UPDATED)
        .filter_map(|e| e.last)
        .max();
    let mut ends: Vec<Option<Timestamp>> = vec![None; steps.len()];
    for e in &own {
        if &*e.reason != STEP_COMPLETED {
            continue;
        }
        let (Some(done), Some(at)) = (completed_count(&e.message), e.last) else {
            continue;
        };
        let in_this_update = update_start.is_none_or(|start| at >= start);
        // Only steps already behind the current one have ended.
        if done == 0 || done > current.min(steps.len()) || !in_this_update {
            continue;
        }
        let slot = &mut ends[done - 1];
        if slot.is_none_or(|old| at > old) {
            *slot = Some(at);
        }
    }
    // Walk back from the current step: an end later than a later step's is an older attempt's.
    let mut bound: Option<Timestamp> = None;
    for end in ends.iter_mut().rev() {
        match (*end, bound) {
            (Some(at), Some(b)) if at > b => *end = None,
            (Some(at), _) => bound = Some(at),
            (None, _) => {}
        }
    }
    let pause_start = pause_step_start(ro);
    for (i, step) in steps.iter_mut().enumerate() {
        if i > current {
            break;
        }
        let previous_end = if i == 0 { update_start } else { ends[i - 1] }.map(|t| t.to_string());
        step.began_at = if i == current && step.kind == StepKind::Pause {
            pause_start.clone().or(previous_end)
        } else {
            previous_end
        };
        step.ended_at = ends[i].map(|t| t.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn event(name: &str, reason: &str, message: &str, at: &str, uid: &str) -> EventRecord {
        crate::model::RolloutEvent::from_json(json!({"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": "shop"},
            "involvedObject": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                               "name": "web", "namespace": "shop", "uid": uid},
            "type": "Normal", "reason": reason, "message": message,
            "firstTimestamp": at, "lastTimestamp": at, "count": 1,
            "source": {"component": "rollouts-controller"}}))
        .unwrap()
        .unwrap()
        .record()
    }

    fn canary(index: i32, pause_start: Option<&str>) -> Rollout {
        let mut status = json!({"currentStepIndex": index});
        if let Some(start) = pause_start {
            status["pauseConditions"] = json!([{"reason": "CanaryPauseStep", "startTime": start}]);
        }
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "shop", "uid": "u1"},
            "spec": {"strategy": {"canary": {"steps": [
                {"setWeight": 20}, {"pause": {"duration": "10s"}}, {"setWeight": 50},
                {"pause": {}}, {"setWeight": 80}]}}},
            "status": status
        }))
        .unwrap()
    }

    fn times(ro: &Rollout, events: &[EventRecord]) -> Vec<(Option<String>, Option<String>)> {
        let mut steps = super::super::steps::step_views(ro);
        let refs: Vec<&EventRecord> = events.iter().collect();
        set_step_times(ro, &mut steps, &refs);
        steps
            .into_iter()
            .map(|s| (s.began_at, s.ended_at))
            .collect()
    }

    fn t(s: &str) -> Option<String> {
        Some(format!("2026-11-30T10:{s}Z"))
    }

    #[test]
    fn step_times_come_from_the_controllers_events_and_the_pause() {
        let events = [
            event(
                "a",
                ROLLOUT_UPDATED,
                "Rollout updated to revision 2",
                "2026-11-30T10:00:00Z",
                "u1",
            ),
            event(
                "b",
                STEP_COMPLETED,
                "Rollout step 1/5 completed (setWeight: 20)",
                "2026-11-30T10:00:02Z",
                "u1",
            ),
            event(
                "c",
                STEP_COMPLETED,
                "Rollout step 2/5 completed (pause: 10s)",
                "2026-11-30T10:00:12Z",
                "u1",
            ),
            event(
                "d",
                STEP_COMPLETED,
                "Rollout step 3/5 completed (setWeight: 50)",
                "2026-11-30T10:00:14Z",
                "u1",
            ),
        ];
        // At the indefinite pause (index 3), which began at its pause condition's start.
        let ro = canary(3, Some("2026-11-30T10:00:15Z"));
        assert_eq!(
            times(&ro, &events),
            [
                (t("00:00"), t("00:02")),
                (t("00:02"), t("00:12")),
                (t("00:12"), t("00:14")),
                (t("00:15"), None),
                (None, None),
            ]
        );
        // Without the update's Event (expired after an hour) step 0's start is unknown, and
        // without step 2's completion its end and step 3's start (no pause condition) too.
        let ro = canary(3, None);
        assert_eq!(
            times(&ro, &[events[1].clone(), events[2].clone()]),
            [
                (None, t("00:02")),
                (t("00:02"), t("00:12")),
                (t("00:12"), None),
                (None, None),
                (None, None),
            ]
        );
    }

    #[test]
    fn older_updates_and_attempts_and_other_rollouts_do_not_count() {
        let events = [
            // The previous update went further, an hour ago.
            event(
                "old1",
                STEP_COMPLETED,
                "Rollout step 1/5 completed (setWeight: 20)",
                "2026-11-30T09:00:02Z",
                "u1",
            ),
            event(
                "old3",
                STEP_COMPLETED,
                "Rollout step 3/5 completed (setWeight: 50)",
                "2026-11-30T09:00:14Z",
                "u1",
            ),
            event(
                "upd",
                ROLLOUT_UPDATED,
                "Rollout updated to revision 3",
                "2026-11-30T10:00:00Z",
                "u1",
            ),
            event(
                "new1",
                STEP_COMPLETED,
                "Rollout step 1/5 completed (setWeight: 20)",
                "2026-11-30T10:00:05Z",
                "u1",
            ),
            // A rollout of the same name before it was deleted and created again.
            event(
                "other",
                STEP_COMPLETED,
                "Rollout step 2/5 completed (pause: 10s)",
                "2026-11-30T10:00:20Z",
                "u0",
            ),
        ];
        let ro = canary(2, None);
        assert_eq!(
            times(&ro, &events),
            [
                (t("00:00"), t("00:05")),
                (t("00:05"), None),
                (None, None),
                (None, None),
                (None, None),
            ]
        );
        // Without the update's Event, a completion later than the next step's is an older
        // attempt's: step 0 ended at 10:00:05 (this attempt), step 1's 09:00 end comes after
        // nothing later, so it stays; but an end after a later step's end is dropped.
        let retried = [
            event(
                "s1",
                STEP_COMPLETED,
                "Rollout step 1/5 completed (setWeight: 20)",
                "2026-11-30T10:00:30Z",
                "u1",
            ),
            event(
                "s2",
                STEP_COMPLETED,
                "Rollout step 2/5 completed (pause: 10s)",
                "2026-11-30T10:00:20Z",
                "u1",
            ),
        ];
        let ro = canary(2, None);
        assert_eq!(times(&ro, &retried)[0], (None, None));
        assert_eq!(times(&ro, &retried)[1], (None, t("00:20")));
    }

    #[test]
    fn the_history_names_the_person_and_what_they_did() {
        let mut ours = event(
            "p",
            "PromotedFromDashboard",
            "alice@example.com via rollouts-dashboard: promoted to step 2/5",
            "2026-11-30T10:01:00Z",
            "u1",
        );
        ours.source = COMPONENT.into();
        let mut recurring = event(
            "r",
            "RolloutPaused",
            "Rollout is paused (CanaryPauseStep)",
            "2026-11-30T10:02:00Z",
            "u1",
        );
        recurring.count = 3;
        recurring.first = "2026-11-30T09:40:00Z".parse().ok();
        let foreign = event("f", "RolloutPaused", "x", "2026-11-30T10:03:00Z", "u0");
        let ro = canary(1, None);
        let view = history_view(&ro, &[&recurring, &ours, &foreign], None);
        let got: Vec<Value> = view
            .events
            .iter()
            .map(|e| json!([e.reason, e.by, e.action, e.count, e.first_time, e.source]))
            .collect();
        assert_eq!(
            got,
            [
                json!([
                    "RolloutPaused",
                    null,
                    null,
                    3,
                    "2026-11-30T09:40:00Z",
                    "rollouts-controller"
                ]),
                json!([
                    "PromotedFromDashboard",
                    "alice@example.com",
                    "promoted",
                    1,
                    null,
                    "rollouts-dashboard"
                ]),
            ]
        );
        // Someone else's message that merely looks like ours names nobody.
        let mut lookalike = ours.clone();
        lookalike.source = "kubectl".into();
        assert_eq!(history_view(&ro, &[&lookalike], None).events[0].by, None);
        assert_eq!(
            history_view(&ro, &[], Some("forbidden"))
                .unavailable
                .as_deref(),
            Some("forbidden")
        );
        // Every action's Event reason has its words.
        for name in crate::actions::ACTION_NAMES {
            let body = match name {
                "set-image" => json!({"container": "app", "image": "app:2"}),
                _ => json!({}),
            };
            let action = crate::actions::Action::from_request(name, &body, Timestamp::UNIX_EPOCH)
                .expect(name);
            let reason = crate::actions::exec::event_reason(&action);
            assert!(action_of(reason).is_some(), "{name}: {reason}");
        }
    }
}
