//! Rollout status and message: upstream `GetRolloutPhase` and `CalculateRolloutPhase` (upstream `utils/rollout/rolloututil.go`).

use crate::model::{Rollout, RolloutSpec, RolloutStatus};

/// The annotation a rollout with a `workloadRef` carries with the referenced workload's generation.
pub const WORKLOAD_GENERATION_ANNOTATION: &str = "rollout.argoproj.io/workload-generation";

/// Phase names the controller writes (`types.go`).
pub const HEALTHY: &str = "Healthy";
/// A rollout that is moving towards its desired state.
pub const PROGRESSING: &str = "Progressing";
/// A rollout paused by a user or by a pause step / pause condition.
pub const PAUSED: &str = "Paused";
/// A rollout that failed: invalid spec, aborted, or progress deadline exceeded.
pub const DEGRADED: &str = "Degraded";

/// `(status, message)` exactly as upstream `GetRolloutPhase` computes them.
pub fn rollout_phase(ro: &Rollout) -> (String, String) {
    let status = &ro.status;
    if !generation_observed(ro) {
        return progressing("waiting for rollout spec update to be observed");
    }
    if status.controller_pause && status.pause_conditions.is_empty() {
        return progressing("waiting for rollout to unpause");
    }
    if ro.spec.template_resolved_from_ref && !workload_generation_observed(ro) {
        return progressing(
            "waiting for rollout spec update to be observed for the reference workload",
        );
    }
    // Controllers v1.0+ compute phase and message themselves; older ones leave them empty.
    if let Some(phase) = status.phase.as_deref().filter(|p| !p.is_empty()) {
        return (phase.to_owned(), status.message.clone().unwrap_or_default());
    }
    calculate_rollout_phase(&ro.spec, status)
}

fn progressing(message: &str) -> (String, String) {
    (PROGRESSING.to_owned(), message.to_owned())
}

/// A non-numeric observedGeneration (the v0.9 hash) counts as observed, as upstream.
fn generation_observed(ro: &Rollout) -> bool {
    match ro
        .status
        .observed_generation
        .as_deref()
        .and_then(|g| g.parse::<i64>().ok())
    {
        Some(observed) => observed >= ro.metadata.generation.unwrap_or(0),
        None => true,
    }
}

fn workload_generation_observed(ro: &Rollout) -> bool {
    let annotated = ro
        .metadata
        .annotations
        .get(WORKLOAD_GENERATION_ANNOTATION)
        .and_then(|g| g.parse::<i32>().ok());
    let observed = ro
        .status
        .workload_observed_generation
        .as_deref()
        .and_then(|g| g.parse::<i32>().ok());
    match (annotated, observed) {
        (Some(a), Some(o)) => a == o,
        _ => true,
    }
}

/// The desired replica count: `spec.replicas`, 1 when unset (as the controller defaults it).
pub fn desired_replicas(spec: &RolloutSpec) -> i32 {
    spec.replicas.unwrap_or(1)
}

/// True for an analysis phase that will not change any more.
pub fn analysis_completed(phase: &str) -> bool {
    matches!(phase, "Successful" | "Failed" | "Error" | "Inconclusive")
}

/// Client-side phase for controllers that do not write `status.phase` (upstream `CalculateRolloutPhase`, used when
/// `status.phase` is empty).
pub fn calculate_rollout_phase(spec: &RolloutSpec, status: &RolloutStatus) -> (String, String) {
    for cond in &status.conditions {
        let message = cond.message.as_deref().unwrap_or_default();
        if cond.type_ == "InvalidSpec" {
            return (DEGRADED.to_owned(), format!("InvalidSpec: {message}"));
        }
        if let Some(reason @ ("RolloutAborted" | "ProgressDeadlineExceeded")) =
            cond.reason.as_deref()
        {
            return (DEGRADED.to_owned(), format!("{reason}: {message}"));
        }
    }
    if spec.paused {
        return (PAUSED.to_owned(), "manually paused".to_owned());
    }
    if let Some(pause) = status.pause_conditions.first() {
        return (PAUSED.to_owned(), pause.reason.clone());
    }
    if spec.restart_at.is_some() && status.restarted_at != spec.restart_at {
        return progressing("rollout is restarting");
    }
    let updated = status.updated_replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if updated < desired_replicas(spec) {
        return progressing("more replicas need to be updated");
    }
    if available < updated {
        return progressing("updated replicas are still becoming available");
    }
    let current_hash = status.current_pod_hash.as_deref().unwrap_or_default();
    let stable_differs = || {
        let stable = status.stable_rs.as_deref().unwrap_or_default();
        stable.is_empty() || stable != current_hash
    };
    if let Some(bg) = &spec.strategy.blue_green {
        let active = status
            .blue_green
            .active_selector
            .as_deref()
            .unwrap_or_default();
        if active.is_empty() || active != current_hash {
            return progressing("active service cutover pending");
        }
        if stable_differs() {
            let post_done = status
                .blue_green
                .post_promotion_analysis_run_status
                .as_ref()
                .is_some_and(|ar| analysis_completed(&ar.status));
            if bg.post_promotion_analysis.is_some() && !post_done {
                return progressing("waiting for analysis to complete");
            }
            return progressing("waiting for post-promotion verification to complete");
        }
    } else if let Some(canary) = &spec.strategy.canary {
        if canary.traffic_routing.is_none() && status.replicas.unwrap_or(0) > updated {
            return progressing("old replicas are pending termination");
        }
        if stable_differs() {
            return progressing("waiting for all steps to complete");
        }
    }
    (HEALTHY.to_owned(), String::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Condition, PauseCondition};

    fn canary() -> Rollout {
        let mut ro = Rollout::default();
        ro.spec.strategy.canary = Some(Default::default());
        ro.spec.replicas = Some(2);
        ro.status.updated_replicas = Some(2);
        ro.status.available_replicas = Some(2);
        ro.status.replicas = Some(2);
        ro.status.current_pod_hash = Some("abc".into());
        ro.status.stable_rs = Some("abc".into());
        ro
    }

    #[test]
    fn healthy_when_everything_is_updated() {
        assert_eq!(rollout_phase(&canary()), ("Healthy".into(), "".into()));
    }

    #[test]
    fn unobserved_generation_wins_over_everything() {
        let mut ro = canary();
        ro.metadata.generation = Some(5);
        ro.status.observed_generation = Some("4".into());
        ro.status.phase = Some("Healthy".into());
        assert_eq!(
            rollout_phase(&ro).1,
            "waiting for rollout spec update to be observed"
        );
        // A v0.9 hash is treated as observed.
        ro.status.observed_generation = Some("7d8f9c".into());
        assert_eq!(rollout_phase(&ro).0, "Healthy");
        // Greater than generation also counts as observed.
        ro.status.observed_generation = Some("6".into());
        assert_eq!(rollout_phase(&ro).0, "Healthy");
    }

    #[test]
    fn controller_pause_without_conditions_is_unpausing() {
        let mut ro = canary();
        ro.status.controller_pause = true;
        assert_eq!(rollout_phase(&ro).1, "waiting for rollout to unpause");
    }

    #[test]
    fn workload_generation_mismatch() {
        let mut ro = canary();
        ro.spec.template_resolved_from_ref = true;
        ro.metadata
            .annotations
            .insert(WORKLOAD_GENERATION_ANNOTATION.into(), "3".into());
        ro.status.workload_observed_generation = Some("2".into());
        assert_eq!(
            rollout_phase(&ro).1,
            "waiting for rollout spec update to be observed for the reference workload"
        );
    }

    #[test]
    fn controller_phase_is_used_when_set() {
        let mut ro = canary();
        ro.status.phase = Some("Paused".into());
        ro.status.message = Some("CanaryPauseStep".into());
        assert_eq!(
            rollout_phase(&ro),
            ("Paused".into(), "CanaryPauseStep".into())
        );
    }

    #[test]
    fn conditions_take_precedence_over_pause() {
        let mut ro = canary();
        ro.spec.paused = true;
        ro.status.conditions.push(Condition {
            type_: "Progressing".into(),
            reason: Some("RolloutAborted".into()),
            message: Some("boom".into()),
            ..Default::default()
        });
        assert_eq!(
            rollout_phase(&ro),
            ("Degraded".into(), "RolloutAborted: boom".into())
        );
    }

    #[test]
    fn manual_pause_then_pause_condition() {
        let mut ro = canary();
        ro.status.pause_conditions.push(PauseCondition {
            reason: "CanaryPauseStep".into(),
            start_time: None,
        });
        assert_eq!(
            rollout_phase(&ro),
            ("Paused".into(), "CanaryPauseStep".into())
        );
        ro.spec.paused = true;
        assert_eq!(
            rollout_phase(&ro),
            ("Paused".into(), "manually paused".into())
        );
    }

    #[test]
    fn progressing_reasons_in_order() {
        let mut ro = canary();
        ro.spec.restart_at = Some("2024-01-01T00:00:00Z".into());
        assert_eq!(rollout_phase(&ro).1, "rollout is restarting");
        ro.status.restarted_at = ro.spec.restart_at.clone();
        ro.status.available_replicas = Some(1);
        assert_eq!(
            rollout_phase(&ro).1,
            "updated replicas are still becoming available"
        );
        ro.status.available_replicas = Some(2);
        ro.status.replicas = Some(3);
        assert_eq!(rollout_phase(&ro).1, "old replicas are pending termination");
        ro.status.replicas = Some(2);
        ro.status.stable_rs = Some("old".into());
        assert_eq!(rollout_phase(&ro).1, "waiting for all steps to complete");
    }

    #[test]
    fn blue_green_cutover_and_post_promotion() {
        let mut ro = canary();
        ro.spec.strategy.canary = None;
        ro.spec.strategy.blue_green = Some(Default::default());
        assert_eq!(rollout_phase(&ro).1, "active service cutover pending");
        ro.status.blue_green.active_selector = Some("abc".into());
        assert_eq!(rollout_phase(&ro).0, "Healthy");
        ro.status.stable_rs = Some("old".into());
        assert_eq!(
            rollout_phase(&ro).1,
            "waiting for post-promotion verification to complete"
        );
        if let Some(bg) = ro.spec.strategy.blue_green.as_mut() {
            bg.post_promotion_analysis = Some(serde_json::json!({"templates": []}));
        }
        assert_eq!(rollout_phase(&ro).1, "waiting for analysis to complete");
    }

    #[test]
    fn missing_status_defaults_to_one_desired_replica() {
        let mut ro = Rollout::default();
        ro.spec.strategy.canary = Some(Default::default());
        assert_eq!(rollout_phase(&ro).1, "more replicas need to be updated");
        ro.spec.replicas = Some(0);
        assert_eq!(rollout_phase(&ro).1, "waiting for all steps to complete");
    }
}
