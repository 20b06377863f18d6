//! Health of the data sources: what `/readyz`, the API and the UI say about the cache.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Kind;

/// Where the dashboard's objects come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SourceKind {
    /// Live watches on a Kubernetes cluster.
    Cluster,
    /// A fixed set of objects read from files (`--from-files`), read-only.
    Files,
    /// The built-in simulation (`--demo`); nothing here is a real cluster.
    Demo,
}

/// A problem that keeps the dashboard from showing real data, in words for the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// Stable machine-readable code: `crdMissing`, `forbidden`, `unreachable`, `watchFailing`.
    pub code: String,
    /// What is wrong and what to do about it.
    pub message: String,
}

/// State of the watch of one kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KindHealth {
    /// The initial list has completed (and the cache reflects the cluster).
    pub synced: bool,
    /// The last watch error, cleared when the watch recovers.
    pub error: Option<String>,
    /// How often the watch had to restart after an error.
    pub restarts: u64,
}

/// Health of every source, sent to clients in `status` frames and served by `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
        health.problem = Some(Problem {
            code: "crdMissing".into(),
            message: "install the CRDs".into(),
        });
        assert!(!health.ready());
    }
}
