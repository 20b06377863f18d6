//! Canary traffic weights: upstream `GetCurrentSetWeight` (`utils/replicaset/canary.go`) and the
//! `actualWeight` rule of `NewRolloutInfo` (`pkg/kubectl-argo-rollouts/info/rollout_info.go`).

use serde_json::Value;

use super::replicaset::ReplicaSetView;
use crate::model::Rollout;

/// The weight cap: `trafficRouting.maxTrafficWeight`, else 100.
pub fn max_weight(ro: &Rollout) -> i32 {
    ro.spec
        .strategy
        .canary
        .as_ref()
        .and_then(|c| c.traffic_routing.as_ref())
        .and_then(|t| t.max_traffic_weight)
        .unwrap_or(100)
}

/// The index of the current canary step, or `None` when there is none: no canary, no steps,
/// or an index past the end (all steps done). A nil index counts as 0, as upstream.
pub fn current_step_index(ro: &Rollout) -> Option<usize> {
    let steps = &ro.spec.strategy.canary.as_ref()?.steps;
    let idx = usize::try_from(ro.status.current_step_index.unwrap_or(0)).ok()?;
    (idx < steps.len()).then_some(idx)
}

fn step_set_weight(step: &Value) -> Option<i32> {
    step.get("setWeight")?
        .as_i64()
        .and_then(|w| i32::try_from(w).ok())
}

/// The desired canary weight; `None` for a non-canary rollout.
pub fn set_weight(ro: &Rollout) -> Option<i32> {
    let canary = ro.spec.strategy.canary.as_ref()?;
    if ro.status.abort {
        return Some(0);
    }
    let Some(idx) = current_step_index(ro) else {
        return Some(max_weight(ro));
    };
    // The weight in force is the last setWeight at or before the current step.
    Some(
        canary.steps[..=idx]
            .iter()
            .rev()
            .find_map(step_set_weight)
            .unwrap_or(0),
    )
}

/// The weight actually served to the canary; `None` for a non-canary rollout.
///
/// Upstream's list endpoint computes this before it attaches the ReplicaSets, so it reports 0
/// mid-step; here the ReplicaSets are always known first.
pub fn actual_weight(ro: &Rollout, replica_sets: &[ReplicaSetView]) -> Option<i32> {
    let canary = ro.spec.strategy.canary.as_ref()?;
    let max = max_weight(ro);
    if current_step_index(ro).is_none() {
        // As upstream, this ignores an abort: with no current step the canary is fully promoted.
        return Some(max);
    }
    let available = ro.status.available_replicas.unwrap_or(0);
    if available <= 0 {
        return Some(0);
    }
    match &canary.traffic_routing {
        None => {
            // Upstream loops over every canary ReplicaSet and keeps the last one's share.
            let mut weight = 0;
            for rs in replica_sets.iter().filter(|rs| rs.is_canary()) {
                weight = rs.available.saturating_mul(max) / available;
            }
            Some(weight)
        }
        Some(_) => match &ro.status.canary.weights {
            Some(weights) => Some(weights.canary.weight),
            None => set_weight(ro),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rollout(steps: Value, idx: Option<i32>) -> Rollout {
        let value = json!({
            "kind": "Rollout",
            "spec": {"strategy": {"canary": {"steps": steps}}},
            "status": {"currentStepIndex": idx, "availableReplicas": 4},
        });
        match crate::model::Object::from_json(value) {
            Ok(Some(crate::model::Object::Rollout(ro))) => ro,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn set_weight_walks_back_to_the_last_set_weight() {
        let steps = json!([{"setWeight": 10}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}]);
        assert_eq!(set_weight(&rollout(steps.clone(), Some(0))), Some(10));
        assert_eq!(set_weight(&rollout(steps.clone(), Some(1))), Some(10));
        assert_eq!(set_weight(&rollout(steps.clone(), Some(3))), Some(50));
        assert_eq!(set_weight(&rollout(steps.clone(), Some(4))), Some(100));
        assert_eq!(set_weight(&rollout(steps.clone(), None)), Some(10));
        let no_weight = json!([{"pause": {}}, {"setWeight": 50}]);
        assert_eq!(set_weight(&rollout(no_weight, Some(0))), Some(0));
    }

    #[test]
    fn abort_zeroes_set_weight_but_not_a_finished_actual_weight() {
        let mut ro = rollout(json!([{"setWeight": 10}]), Some(1));
        ro.status.abort = true;
        assert_eq!(set_weight(&ro), Some(0));
        assert_eq!(actual_weight(&ro, &[]), Some(100));
    }

    #[test]
    fn max_traffic_weight_caps() {
        let mut ro = rollout(json!([]), None);
        if let Some(c) = ro.spec.strategy.canary.as_mut() {
            c.traffic_routing = Some(crate::model::TrafficRouting {
                max_traffic_weight: Some(1000),
                ..Default::default()
            });
        }
        assert_eq!(set_weight(&ro), Some(1000));
        assert_eq!(actual_weight(&ro, &[]), Some(1000));
    }

    #[test]
    fn blue_green_has_no_weights() {
        let ro = Rollout::default();
        assert_eq!(set_weight(&ro), None);
        assert_eq!(actual_weight(&ro, &[]), None);
    }
}
