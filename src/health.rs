//! Health of the data sources: what `/readyz`, the API and the UI say about the cache.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Kind;

/// Where the dashboard's objects come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum SourceKind {
    /// Live watches on a Kubernetes cluster.
    Cluster,
    /// A fixed set of objects read from files (`--from-files`), read-only.
    Files,
    /// The built-in simulation (`--demo`); nothing here is a real cluster.
    Demo,
}

/// What kind of problem keeps the dashboard from showing real data. The order is the
/// priority: when several watches fail differently, the first one is the one shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum ProblemCode {
    /// The Argo Rollouts CRDs are not installed.
    CrdMissing,
    /// The identity may not list or watch a kind.
    Forbidden,
    /// The API server cannot be reached.
    Unreachable,
    /// The API server answers, but the watch fails.
    WatchFailing,
}

impl ProblemCode {
    /// Every code, by priority.
    pub const ALL: [ProblemCode; 4] = [
        ProblemCode::CrdMissing,
        ProblemCode::Forbidden,
        ProblemCode::Unreachable,
        ProblemCode::WatchFailing,
    ];

    /// The stable machine-readable code the API, the stream and the UI use.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::CrdMissing => "crdMissing",
            ProblemCode::Forbidden => "forbidden",
            ProblemCode::Unreachable => "unreachable",
            ProblemCode::WatchFailing => "watchFailing",
        }
    }
}

impl std::fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ProblemCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The code of a wire name, for tests and fixtures written with strings (`"forbidden".into()`);
/// an unknown name is the generic [`ProblemCode::WatchFailing`].
impl From<&str> for ProblemCode {
    fn from(code: &str) -> Self {
        ProblemCode::ALL
            .into_iter()
            .find(|c| c.as_str() == code)
            .unwrap_or(ProblemCode::WatchFailing)
    }
}

/// A problem that keeps the dashboard from showing real data, in words for the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// Stable machine-readable code: `crdMissing`, `forbidden`, `unreachable`, `watchFailing`.
    pub code: ProblemCode,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl Problem {
    /// A problem of kind `code`.
    pub fn new(code: ProblemCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    /// `code: message`, as `/readyz` and each kind's `error` put it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// State of the watch of one kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct KindHealth {
    /// The initial list has completed (and the cache reflects the cluster).
    pub synced: bool,
    /// The last watch error in words (`code: message`), cleared when the watch recovers.
    pub error: Option<String>,
    /// How often the watch had to restart after an error.
    pub restarts: u64,
    /// The last watch error, typed; [`KindHealth::error`] is its text.
    #[serde(skip)]
    pub problem: Option<Problem>,
}

impl KindHealth {
    /// Records a watch error: the watch restarts.
    pub fn fail(&mut self, problem: Problem) {
        self.restarts += 1;
        self.error = Some(problem.to_string());
        self.problem = Some(problem);
    }

    /// The watch has listed again: its cache matches the cluster.
    pub fn recover(&mut self) {
        self.synced = true;
        self.error = None;
        self.problem = None;
    }
}

/// Health of every source, sent to clients in `status` frames and served by `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// Which source feeds the cache.
    pub source: SourceKind,
    /// Namespaces being watched; empty means all namespaces.
    pub namespaces: Vec<String>,
    /// Per-kind watch state.
    pub kinds: BTreeMap<Kind, KindHealth>,
    /// A blocking problem, if any (CRDs missing, forbidden, cluster unreachable).
    pub problem: Option<Problem>,
    /// Notes for the operator, e.g. a fallback from all namespaces to one.
    pub notes: Vec<String>,
}

impl Health {
    /// Health of a source that has not synced anything yet.
    pub fn starting(source: SourceKind, namespaces: Vec<String>) -> Self {
        Self {
            source,
            namespaces,
            kinds: Kind::ALL
                .into_iter()
                .map(|k| (k, KindHealth::default()))
                .collect(),
            problem: None,
            notes: vec![],
        }
    }

    /// Health of a source whose objects are all loaded (files, demo).
    pub fn loaded(source: SourceKind) -> Self {
        let mut health = Self::starting(source, vec![]);
        for kind in health.kinds.values_mut() {
            kind.synced = true;
        }
        health
    }

    /// Ready means every watch has synced and no blocking problem exists.
    pub fn ready(&self) -> bool {
        self.problem.is_none() && self.kinds.values().all(|k| k.synced)
    }

    /// Sets [`Health::problem`] to the most important current watch error of the kinds
    /// (by [`ProblemCode`] order), or none.
    pub fn refresh_problem(&mut self) {
        self.problem = self
            .kinds
            .values()
            .filter_map(|k| k.problem.as_ref())
            .min_by_key(|p| p.code)
            .cloned();
    }
}

/// What one cluster's data is like now: `synced` (current), `syncing` (the first lists are
/// under way), or the problem that keeps it from being current.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum ClusterState {
    Synced,
    Syncing,
    Unreachable,
    Forbidden,
    CrdMissing,
    WatchFailing,
}

impl ClusterState {
    /// Every state.
    pub const ALL: [ClusterState; 6] = [
        ClusterState::Synced,
        ClusterState::Syncing,
        ClusterState::Unreachable,
        ClusterState::Forbidden,
        ClusterState::CrdMissing,
        ClusterState::WatchFailing,
    ];

    /// The state a cluster's (kind-level) health says.
    pub fn of(health: &Health) -> Self {
        match health.problem.as_ref().map(|p| p.code) {
            Some(ProblemCode::CrdMissing) => ClusterState::CrdMissing,
            Some(ProblemCode::Forbidden) => ClusterState::Forbidden,
            Some(ProblemCode::Unreachable) => ClusterState::Unreachable,
            Some(ProblemCode::WatchFailing) => ClusterState::WatchFailing,
            None if health.kinds.values().all(|k| k.synced) => ClusterState::Synced,
            None => ClusterState::Syncing,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterState::Synced => "synced",
            ClusterState::Syncing => "syncing",
            ClusterState::Unreachable => "unreachable",
            ClusterState::Forbidden => "forbidden",
            ClusterState::CrdMissing => "crdMissing",
            ClusterState::WatchFailing => "watchFailing",
        }
    }
}

impl std::fmt::Display for ClusterState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One cluster's health as the `status` frame, `/api/v1/status` and `/readyz` report it.
/// Its rollouts are "stale" when `state` is not `synced` after it had synced once
/// (`lastSyncedAt` set): they stay listed as last known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    /// The cluster's short name.
    pub name: String,
    pub state: ClusterState,
    /// What keeps it from being current, in words (none when `synced` or `syncing`).
    pub problem: Option<Problem>,
    /// When the current state began (RFC 3339).
    pub since: Option<String>,
    /// The last time every watch of the cluster was synced (RFC 3339): while `synced`, when
    /// it became so; after, when it stopped being so. None until the first sync.
    pub last_synced_at: Option<String>,
    /// Rollouts of the cluster in the cache (as of the frame).
    pub rollouts: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_all_kinds_synced_and_no_problem() {
        let mut health = Health::starting(SourceKind::Cluster, vec![]);
        assert!(!health.ready());
        for k in health.kinds.values_mut() {
            k.synced = true;
        }
        assert!(health.ready());
        health.problem = Some(Problem::new(ProblemCode::CrdMissing, "install the CRDs"));
        assert!(!health.ready());
    }

    #[test]
    fn problems_are_typed_and_serialize_as_before() {
        let mut health = Health::starting(SourceKind::Cluster, vec![]);
        health.refresh_problem();
        assert_eq!(health.problem, None);
        for k in health.kinds.values_mut() {
            k.recover();
        }
        let pods = health.kinds.get_mut(&Kind::Pod).unwrap();
        pods.fail(Problem::new(ProblemCode::Forbidden, "may not list pods"));
        let rollouts = health.kinds.get_mut(&Kind::Rollout).unwrap();
        rollouts.fail(Problem::new(
            ProblemCode::CrdMissing,
            "the Argo Rollouts CRD is missing",
        ));
        health.refresh_problem();
        let problem = health.problem.clone().unwrap();
        assert_eq!(problem.code, ProblemCode::CrdMissing);
        assert_eq!(problem.message, "the Argo Rollouts CRD is missing");
        // The JSON the API, the stream and the UI read is the one of string codes.
        let json = serde_json::to_value(&health).unwrap();
        assert_eq!(
            json["problem"],
            serde_json::json!({"code": "crdMissing", "message": "the Argo Rollouts CRD is missing"})
        );
        assert_eq!(
            json["kinds"]["Pod"],
            serde_json::json!({"synced": true, "error": "forbidden: may not list pods", "restarts": 1})
        );
        // Recovery clears the kind's error; the next most important one shows.
        health.kinds.get_mut(&Kind::Rollout).unwrap().recover();
        health.refresh_problem();
        assert_eq!(
            health.problem.as_ref().unwrap().code,
            ProblemCode::Forbidden
        );
        assert!(!health.ready());
        health.kinds.get_mut(&Kind::Pod).unwrap().recover();
        health.refresh_problem();
        assert!(health.ready());
        assert_eq!(ProblemCode::from("unreachable"), ProblemCode::Unreachable);
        assert_eq!(ProblemCode::Forbidden, "forbidden");
    }
}
