//! Experiments with their ReplicaSets and AnalysisRuns (upstream `pkg/kubectl-argo-rollouts/info/experiment_info.go`, `NewExperimentInfo`).

use serde::{Deserialize, Serialize};

use super::analysis::{AnalysisRunView, analysis_run_views, ts_key};
use super::images::{ImageInfo, experiment_images};
use super::replicaset::{ReplicaSetView, replica_set_views};
use crate::model::{AnalysisRun, Experiment, Pod, ReplicaSet};

/// An experiment of a rollout.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ExperimentView {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub created_at: Option<String>,
    pub revision: i64,
    /// `status.phase`: Pending, Running, Successful, Failed, Error, Inconclusive, or empty; a
    /// string, as the controller wrote it (a newer one may add a phase).
    #[cfg_attr(
        test,
        ts(
            type = r#""Pending" | "Running" | "Successful" | "Failed" | "Error" | "Inconclusive" | "" | (string & {})"#
        )
    )]
    pub phase: String,
    pub message: Option<String>,
    pub duration: Option<String>,
    pub available_at: Option<String>,
    /// Images of its running ReplicaSets, tagged `Σ:<template>`.
    pub images: Vec<ImageInfo>,
    /// Its ReplicaSets (no roles; `template` set), newest revision first.
    pub replica_sets: Vec<ReplicaSetView>,
    pub analysis_runs: Vec<AnalysisRunView>,
    /// Ended early: `spec.terminate` is set (the rollout controller sets it when the update is
    /// aborted or the step is skipped; its phase may still read `Successful`, as upstream shows
    /// it), or, when a controller did not write it, a completed experiment of the newest
    /// revision of an aborted rollout ([`super::rollout_detail`] adds that inference).
    pub terminated: bool,
}

/// Views of the experiments owned by `owner_uid`.
///
/// Upstream sorts with a comparator that is not a strict order (revision descending, else
/// creation ascending, which never looks at equality); this uses revision descending, creation
/// ascending, then name ascending, a total order that agrees with it wherever it is defined.
pub fn experiment_views(
    owner_uid: &str,
    experiments: &[&Experiment],
    replica_sets: &[&ReplicaSet],
    pods: &[&Pod],
    runs: &[&AnalysisRun],
) -> Vec<ExperimentView> {
    let mut views: Vec<ExperimentView> = experiments
        .iter()
        .filter(|e| e.metadata.owned_by(owner_uid))
        .map(|e| {
            let mut view = ExperimentView {
                name: e.metadata.name.clone(),
                namespace: e.metadata.namespace.clone(),
                uid: e.metadata.uid.clone(),
                created_at: e.metadata.creation_timestamp.clone(),
                revision: e.metadata.revision(),
                phase: e.status.phase.clone().unwrap_or_default(),
                message: e.status.message.clone(),
                duration: e.spec.duration.clone(),
                available_at: e.status.available_at.clone(),
                images: Vec::new(),
                replica_sets: replica_set_views(&e.metadata.uid, None, replica_sets, pods),
                analysis_runs: analysis_run_views(&e.metadata.uid, runs),
                terminated: e.spec.terminate,
            };
            view.images = experiment_images(&view.replica_sets);
            view
        })
        .collect();
    views.sort_by(|a, b| {
        b.revision
            .cmp(&a.revision)
            .then_with(|| ts_key(&a.created_at).cmp(&ts_key(&b.created_at)))
            .then_with(|| a.name.cmp(&b.name))
    });
    views
}
