//! ReplicaSets: health, roles (stable/canary/active/preview/ping/pong), pods and order (upstream
//! `pkg/kubectl-argo-rollouts/info/replicaset_info.go`, `GetReplicaSetInfo`).

use serde::{Deserialize, Serialize};

use super::pod::{PodBrief, PodView, pod_view};
use super::str_enum::str_enum;
use crate::model::{POD_TEMPLATE_HASH_LABEL, Pod, ReplicaSet, Rollout};

/// Annotation naming the experiment template a ReplicaSet was created for.
pub const EXPERIMENT_TEMPLATE_ANNOTATION: &str = "experiment.argoproj.io/template-name";
/// Annotation holding the time at which an old ReplicaSet will be scaled down.
pub const SCALE_DOWN_DEADLINE_ANNOTATION: &str = "scale-down-deadline";

str_enum! {
    /// What a ReplicaSet is to its rollout, in the order upstream prints the roles.
    pub enum ReplicaSetRole {
        /// `status.stableRS`.
        #[default]
        Stable = "stable",
        /// The ReplicaSet of the update in progress (canary strategy).
        Canary = "canary",
        /// The ReplicaSet behind the active service (blue-green strategy).
        Active = "active",
        /// The ReplicaSet behind the preview service (blue-green strategy).
        Preview = "preview",
        /// The ping side of a ping-pong canary.
        Ping = "ping",
        /// The pong side of a ping-pong canary.
        Pong = "pong",
    }
}

str_enum! {
    /// A ReplicaSet's health (upstream `getReplicaSetHealth`).
    pub enum ReplicaSetHealth {
        /// Also what a ReplicaSet with nothing desired and nothing observed is, as upstream.
        #[default]
        Healthy = "Healthy",
        Progressing = "Progressing",
        /// `spec.replicas` is 0.
        ScaledDown = "ScaledDown",
        /// A `ReplicaFailure` condition is true.
        ReplicaFailure = "ReplicaFailure",
    }
}

/// A ReplicaSet with its pods, as the detail page shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ReplicaSetView {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub created_at: Option<String>,
    /// The `rollout.argoproj.io/revision` annotation, 0 when missing.
    pub revision: i64,
    pub status: ReplicaSetHealth,
    /// In the order of [`ReplicaSetRole`]; none for experiment ReplicaSets.
    pub roles: Vec<ReplicaSetRole>,
    pub pod_template_hash: Option<String>,
    /// `spec.replicas`.
    pub desired: Option<i32>,
    /// `status.replicas`.
    pub replicas: i32,
    pub ready: i32,
    pub available: i32,
    /// Experiment template name, for ReplicaSets owned by an experiment.
    pub template: Option<String>,
    /// Raw `scale-down-deadline` annotation (RFC3339); the browser counts down to it.
    pub scale_down_deadline: Option<String>,
    pub images: Vec<String>,
    pub init_container_images: Vec<String>,
    /// Sorted by creation time, then name.
    pub pods: Vec<PodView>,
}

/// The ReplicaSet fields a list row needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ReplicaSetBrief {
    pub name: String,
    pub revision: i64,
    pub status: ReplicaSetHealth,
    pub roles: Vec<ReplicaSetRole>,
    pub replicas: i32,
    pub available: i32,
    pub scale_down_deadline: Option<String>,
    pub pods: Vec<PodBrief>,
}

impl ReplicaSetView {
    /// True when this is the canary ReplicaSet.
    pub fn is_canary(&self) -> bool {
        self.has_role(ReplicaSetRole::Canary)
    }

    /// True when `role` is one of this ReplicaSet's roles.
    pub fn has_role(&self, role: ReplicaSetRole) -> bool {
        self.roles.contains(&role)
    }

    /// The list-row subset.
    pub fn brief(&self) -> ReplicaSetBrief {
        ReplicaSetBrief {
            name: self.name.clone(),
            revision: self.revision,
            status: self.status,
            roles: self.roles.clone(),
            replicas: self.replicas,
            available: self.available,
            scale_down_deadline: self.scale_down_deadline.clone(),
            pods: self.pods.iter().map(PodView::brief).collect(),
        }
    }
}

/// Upstream `getReplicaSetHealth`.
pub fn replica_set_health(rs: &ReplicaSet) -> ReplicaSetHealth {
    let generation = rs.metadata.generation.unwrap_or(0);
    let observed = rs.status.observed_generation.unwrap_or(0);
    if generation > observed {
        return ReplicaSetHealth::Progressing;
    }
    let failure = rs
        .status
        .conditions
        .iter()
        .any(|c| c.type_ == "ReplicaFailure" && c.status == "True");
    if failure {
        return ReplicaSetHealth::ReplicaFailure;
    }
    match rs.spec.replicas {
        Some(desired) if rs.status.available_replicas < desired => ReplicaSetHealth::Progressing,
        Some(0) => ReplicaSetHealth::ScaledDown,
        _ => ReplicaSetHealth::Healthy,
    }
}

/// The roles of one of a rollout's ReplicaSets.
///
/// Upstream compares hashes even when both are empty, so an RS without the hash label counts as
/// stable for a rollout without `stableRS`; here an empty hash never matches anything.
pub fn roles(ro: &Rollout, hash: &str) -> Vec<ReplicaSetRole> {
    let mut roles = Vec::new();
    if hash.is_empty() {
        return roles;
    }
    let status = &ro.status;
    let is = |v: &Option<String>| v.as_deref() == Some(hash);
    if let Some(canary) = &ro.spec.strategy.canary {
        let stable_ping = status.canary.stable_ping_pong.as_deref() == Some("ping");
        let ping_pong = |roles: &mut Vec<ReplicaSetRole>, ping: bool| {
            if canary.ping_pong.is_some() {
                roles.push(if ping {
                    ReplicaSetRole::Ping
                } else {
                    ReplicaSetRole::Pong
                });
            }
        };
        if is(&status.stable_rs) {
            roles.push(ReplicaSetRole::Stable);
            ping_pong(&mut roles, stable_ping);
        } else if is(&status.current_pod_hash) {
            roles.push(ReplicaSetRole::Canary);
            ping_pong(&mut roles, !stable_ping);
        }
    } else if ro.spec.strategy.blue_green.is_some() {
        if is(&status.stable_rs) {
            roles.push(ReplicaSetRole::Stable);
        }
        if is(&status.blue_green.active_selector) {
            roles.push(ReplicaSetRole::Active);
        } else if is(&status.blue_green.preview_selector) {
            roles.push(ReplicaSetRole::Preview);
        }
    }
    roles
}

/// Views of the ReplicaSets owned by `owner_uid`, with their pods, newest revision first.
/// Roles are computed when `rollout` is given (experiment ReplicaSets have none).
pub fn replica_set_views(
    owner_uid: &str,
    rollout: Option<&Rollout>,
    replica_sets: &[&ReplicaSet],
    pods: &[&Pod],
) -> Vec<ReplicaSetView> {
    let mut views: Vec<ReplicaSetView> = replica_sets
        .iter()
        .filter(|rs| rs.metadata.owned_by(owner_uid))
        .map(|rs| {
            let hash = rs
                .metadata
                .labels
                .get(POD_TEMPLATE_HASH_LABEL)
                .map(str::to_owned);
            let mut rs_pods: Vec<PodView> = pods
                .iter()
                .filter(|p| p.metadata.owned_by(&rs.metadata.uid))
                .map(|p| pod_view(p))
                .collect();
            rs_pods.sort_by(|a, b| (&a.created_at, &a.name).cmp(&(&b.created_at, &b.name)));
            let images =
                |cs: &[crate::model::Container]| cs.iter().map(|c| c.image.clone()).collect();
            ReplicaSetView {
                name: rs.metadata.name.clone(),
                namespace: rs.metadata.namespace.clone(),
                uid: rs.metadata.uid.clone(),
                created_at: rs.metadata.creation_timestamp.clone(),
                revision: rs.metadata.revision(),
                status: replica_set_health(rs),
                roles: rollout
                    .map(|ro| roles(ro, hash.as_deref().unwrap_or_default()))
                    .unwrap_or_default(),
                pod_template_hash: hash,
                desired: rs.spec.replicas,
                replicas: rs.status.replicas,
                ready: rs.status.ready_replicas,
                available: rs.status.available_replicas,
                template: rs
                    .metadata
                    .annotations
                    .get(EXPERIMENT_TEMPLATE_ANNOTATION)
                    .map(str::to_owned),
                scale_down_deadline: rs
                    .metadata
                    .annotations
                    .get(SCALE_DOWN_DEADLINE_ANNOTATION)
                    .map(str::to_owned),
                images: images(&rs.spec.template.spec.containers),
                init_container_images: images(&rs.spec.template.spec.init_containers),
                pods: rs_pods,
            }
        })
        .collect();
    // Upstream's effective order (its creation-time tie-break is computed and discarded):
    // revision descending, then name ascending.
    views.sort_by(|a, b| {
        b.revision
            .cmp(&a.revision)
            .then_with(|| a.name.cmp(&b.name))
    });
    views
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rs(value: serde_json::Value) -> ReplicaSet {
        let mut value = value;
        value["kind"] = json!("ReplicaSet");
        match crate::model::Object::from_json(value) {
            Ok(Some(crate::model::Object::ReplicaSet(rs))) => rs,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn health() {
        let cases = [
            (
                json!({"metadata": {"generation": 2}, "status": {"observedGeneration": 1}}),
                "Progressing",
            ),
            (
                json!({"metadata": {"generation": 1}, "spec": {"replicas": 3},
                "status": {"observedGeneration": 1, "availableReplicas": 2}}),
                "Progressing",
            ),
            (
                json!({"metadata": {"generation": 1}, "spec": {"replicas": 3},
                "status": {"observedGeneration": 1, "availableReplicas": 0,
                    "conditions": [{"type": "ReplicaFailure", "status": "True"}]}}),
                "ReplicaFailure",
            ),
            (
                json!({"metadata": {"generation": 1}, "spec": {"replicas": 0},
                "status": {"observedGeneration": 1}}),
                "ScaledDown",
            ),
            (
                json!({"metadata": {"generation": 1}, "spec": {"replicas": 3},
                "status": {"observedGeneration": 1, "availableReplicas": 3}}),
                "Healthy",
            ),
            // No spec.replicas and nothing observed: healthy, as upstream.
            (json!({"metadata": {}}), "Healthy"),
        ];
        for (value, want) in cases {
            assert_eq!(replica_set_health(&rs(value.clone())), want, "{value}");
        }
    }

    #[test]
    fn sort_by_revision_then_name() {
        let mk = |name: &str, rev: &str, created: &str| {
            rs(
                json!({"metadata": {"name": name, "creationTimestamp": created,
                "annotations": {"rollout.argoproj.io/revision": rev},
                "ownerReferences": [{"uid": "ro"}]}}),
            )
        };
        let a = mk("b", "2", "2024-01-01T00:00:00Z");
        let b = mk("a", "2", "2024-02-01T00:00:00Z");
        let c = mk("c", "3", "2020-01-01T00:00:00Z");
        let d = mk("z", "x", "2020-01-01T00:00:00Z");
        let views = replica_set_views("ro", None, &[&a, &d, &b, &c], &[]);
        let names: Vec<_> = views
            .iter()
            .map(|v| (v.name.as_str(), v.revision))
            .collect();
        assert_eq!(names, [("c", 3), ("a", 2), ("b", 2), ("z", 0)]);
    }

    #[test]
    fn empty_hash_never_matches() {
        let ro = Rollout {
            spec: crate::model::RolloutSpec {
                strategy: crate::model::Strategy {
                    canary: Some(Default::default()),
                    ..Default::default()
                },
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(roles(&ro, "").is_empty());
    }
}
