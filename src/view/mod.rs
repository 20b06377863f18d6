//! View model: pure, clock-free functions from watched objects to what the dashboard shows.
//!
//! [`rollout_detail`] builds everything the detail page needs for one rollout, and
//! [`RolloutDetail::summary`] the list row. Nothing here reads the clock (the browser computes
//! ages and countdowns from the timestamps), and every list is sorted, so a view changes only
//! when objects change and its JSON can be compared to detect changes. The semantics follow
//! upstream `kubectl argo rollouts` (`pkg/kubectl-argo-rollouts/info`); deliberate differences
//! are listed in `src/view/UPSTREAM-DIFFERENCES.md`.

pub mod analysis;
pub mod applicability;
pub mod experiment;
pub mod explain;
pub mod history;
pub mod images;
pub mod phase;
pub mod pod;
pub mod replicaset;
pub mod steps;
mod str_enum;
pub mod waiting;
pub mod weights;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use analysis::{AnalysisRunView, MeasurementView, MetricView, Threshold, ThresholdOp};
pub use applicability::{ActionVerdict, Refusal};
pub use experiment::ExperimentView;
pub use explain::{AttentionKind, PauseKind};
pub use history::{EventView, HistoryView};
pub use images::ImageInfo;
pub use pod::{PodBrief, PodIcon, PodIconClass, PodView};
pub use replicaset::{ReplicaSetBrief, ReplicaSetHealth, ReplicaSetRole, ReplicaSetView};
pub use steps::{StepKind, StepState, StepView};
pub use waiting::{WaitingKind, WaitingView};

use str_enum::str_enum;

use crate::model::{
    AnalysisRun, AnalysisRunRef, Condition, Container, EventRecord, Experiment, Pod, ReplicaSet,
    Rollout, TrafficWeights,
};

/// Objects that may relate to one rollout: a superset is fine, the view filters by
/// ownerReference UID itself (RSs owned by the rollout, pods owned by those RSs, experiments
/// owned by the rollout, ARs owned by the rollout or by its experiments, RSs (and their pods)
/// owned by its experiments).
#[derive(Debug, Clone, Default)]
pub struct Related<'a> {
    pub replica_sets: Vec<&'a ReplicaSet>,
    pub pods: Vec<&'a Pod>,
    pub analysis_runs: Vec<&'a AnalysisRun>,
    pub experiments: Vec<&'a Experiment>,
    /// Events about the rollout, newest first.
    pub events: Vec<&'a EventRecord>,
    /// Why Events cannot be shown, if so.
    pub events_unavailable: Option<&'a str>,
}

/// Replica counts of a rollout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Replicas {
    /// `spec.replicas`, 1 when unset.
    pub desired: i32,
    pub current: i32,
    pub updated: i32,
    pub ready: i32,
    pub available: i32,
}

str_enum! {
    /// The rollout's strategy: which of `spec.strategy.canary` and `.blueGreen` is set.
    pub enum RolloutStrategy {
        Canary = "Canary",
        BlueGreen = "BlueGreen",
        /// Neither (an invalid spec): upstream's empty string.
        #[default]
        None = "",
    }
}

/// One row of the rollout list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RolloutSummary {
    /// The cluster's short name (set by the store: the view model knows no clusters).
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub resource_version: String,
    pub labels: BTreeMap<String, String>,
    pub created_at: Option<String>,
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// `status.observedGeneration` (a string: a number, or a hash on v0.9 controllers).
    pub observed_generation: Option<String>,
    pub strategy: RolloutStrategy,
    /// `Healthy` | `Progressing` | `Paused` | `Degraded` (or whatever a controller writes).
    /// A string, not an enum: it is the controller's `status.phase`, and a newer controller's
    /// value must reach the page as written; TypeScript gets the known ones as a union.
    #[cfg_attr(
        test,
        ts(type = r#""Healthy" | "Progressing" | "Paused" | "Degraded" | (string & {})"#)
    )]
    pub status: String,
    /// Upstream's message, e.g. `CanaryPauseStep` or `ProgressDeadlineExceeded: …`.
    pub message: String,
    /// `"<currentStepIndex>/<steps>"` as upstream, `None` when upstream leaves it empty.
    pub step: Option<String>,
    /// `status.currentStepIndex` (canary only).
    pub step_index: Option<i32>,
    /// Number of canary steps.
    pub step_count: usize,
    /// Canary only.
    pub set_weight: Option<i32>,
    /// Canary only.
    pub actual_weight: Option<i32>,
    pub images: Vec<ImageInfo>,
    pub replicas: Replicas,
    pub replica_sets: Vec<ReplicaSetBrief>,
    pub current_pod_hash: Option<String>,
    pub stable_rs: Option<String>,
    /// `spec.paused`: paused by a user.
    pub paused: bool,
    /// `status.abort`.
    pub aborted: bool,
    /// Reasons of `status.pauseConditions`, in order.
    pub pause_reasons: Vec<String>,
    /// Plain-language status, e.g. "Waiting for promotion at step 1/8 (pause with no duration)".
    pub reason: String,
    pub needs_attention: bool,
    pub attention_reason: Option<String>,
    /// The worst phase among the rollout's current analyses (step, background, pre- and
    /// post-promotion), if any: one of their `status`es as written, so a string.
    #[cfg_attr(
        test,
        ts(
            type = r#""Pending" | "Running" | "Successful" | "Failed" | "Error" | "Inconclusive" | (string & {}) | null"#
        )
    )]
    pub analysis_status: Option<String>,
    pub restarted_at: Option<String>,
    /// End of the current timed pause (RFC3339); `None` when not in one or indefinite.
    pub pause_until: Option<String>,
    /// Why it is paused (status Paused only): the UI decides from this, not from `reason`.
    pub pause_kind: Option<PauseKind>,
    /// Why it needs attention: the type of `attention_reason`.
    pub attention_kind: Option<AttentionKind>,
    /// Since when it waits (paused or Degraded), when known. Added within protocol 3.
    #[serde(default)]
    pub waiting: Option<WaitingView>,
}

/// A container's name and image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ContainerView {
    pub name: String,
    pub image: String,
}

/// `spec.workloadRef`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct WorkloadRefView {
    pub api_version: String,
    /// The kind as the spec names it (`Deployment`, …): a string, not an enum, because the
    /// view passes it through and the controller accepts more than one kind.
    pub kind: String,
    pub name: String,
}

/// Canary strategy settings and status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CanaryView {
    pub canary_service: Option<String>,
    pub stable_service: Option<String>,
    /// Traffic routing provider keys (`smi`, `istio`, `nginx`, …); empty without routing.
    pub traffic_routing: Vec<String>,
    pub max_traffic_weight: Option<i32>,
    pub ping_pong: bool,
    pub stable_ping_pong: Option<String>,
    /// Template names of the background analysis.
    pub background_analysis: Vec<String>,
    pub current_experiment: Option<String>,
    /// `status.canary.weights`, written when traffic routing is used.
    pub weights: Option<TrafficWeights>,
}

/// Blue-green strategy settings and status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct BlueGreenView {
    pub active_service: Option<String>,
    pub preview_service: Option<String>,
    pub active_selector: Option<String>,
    pub preview_selector: Option<String>,
    /// `spec.strategy.blueGreen.autoPromotionEnabled`, true when unset.
    pub auto_promotion_enabled: bool,
    pub auto_promotion_seconds: Option<i32>,
    /// When the paused preview will be promoted automatically (RFC3339), when computable.
    pub auto_promotion_deadline: Option<String>,
    pub scale_down_delay_seconds: Option<i32>,
    /// Replicas of the preview: `spec.previewReplicaCount`, else the preview ReplicaSet's
    /// desired replicas; `None` when no ReplicaSet has the preview role (none, or it is the
    /// active one).
    pub preview_replicas: Option<i32>,
    pub pre_promotion_analysis: Vec<String>,
    pub post_promotion_analysis: Vec<String>,
}

str_enum! {
    /// Which of the rollout's current analyses an [`AnalysisRefView`] points to.
    pub enum AnalysisRefKind {
        /// `status.canary.currentStepAnalysisRunStatus`.
        #[default]
        Step = "step",
        /// `status.canary.currentBackgroundAnalysisRunStatus`.
        Background = "background",
        /// `status.blueGreen.prePromotionAnalysisRunStatus`.
        PrePromotion = "prePromotion",
        /// `status.blueGreen.postPromotionAnalysisRunStatus`.
        PostPromotion = "postPromotion",
    }
}

/// The rollout's pointer to one of its current AnalysisRuns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AnalysisRefView {
    pub kind: AnalysisRefKind,
    pub name: String,
    /// The run's phase as the controller copied it into the rollout's status.
    #[cfg_attr(
        test,
        ts(
            type = r#""Pending" | "Running" | "Successful" | "Failed" | "Error" | "Inconclusive" | "" | (string & {})"#
        )
    )]
    pub status: String,
    pub message: Option<String>,
}

/// A status condition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ConditionView {
    #[serde(rename = "type")]
    pub type_: String,
    /// As the object's status has it: `True`, `False` or `Unknown` by Kubernetes convention.
    #[cfg_attr(test, ts(type = r#""True" | "False" | "Unknown" | (string & {})"#))]
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub last_transition_time: Option<String>,
    pub last_update_time: Option<String>,
}

/// A pause condition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PauseConditionView {
    pub reason: String,
    pub start_time: Option<String>,
}

/// Everything of one revision. Its runs and experiments are named here and listed in full in
/// [`RolloutDetail::analysis_runs`] and [`RolloutDetail::experiments`], so that measurement
/// histories are not sent twice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RevisionView {
    pub revision: i64,
    /// True for the newest revision (upstream "current"; the others can be rolled back to).
    pub current: bool,
    /// Images of every ReplicaSet of the revision, scaled down or not, with role tags.
    pub images: Vec<ImageInfo>,
    pub replica_sets: Vec<ReplicaSetView>,
    pub analysis_runs: Vec<String>,
    pub experiments: Vec<String>,
}

str_enum! {
    /// Where [`RolloutDetail::containers`] come from.
    pub enum ContainersSource {
        /// The rollout's own pod template.
        Rollout = "rollout",
        /// A workloadRef rollout: the current ReplicaSet's template.
        ReplicaSet = "replicaSet",
        /// Neither is known.
        #[default]
        None = "none",
    }
}

/// Everything the detail page shows about one rollout.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RolloutDetail {
    /// The list row, computed from the same objects.
    pub summary: RolloutSummary,
    pub annotations: BTreeMap<String, String>,
    /// Every canary step, even before the controller sets `currentStepIndex`.
    pub steps: Vec<StepView>,
    pub containers: Vec<ContainerView>,
    pub init_containers: Vec<ContainerView>,
    pub containers_source: ContainersSource,
    pub workload_ref: Option<WorkloadRefView>,
    pub canary: Option<CanaryView>,
    pub blue_green: Option<BlueGreenView>,
    /// Newest first.
    pub revisions: Vec<RevisionView>,
    /// Runs owned directly by the rollout (experiment runs are under `experiments`).
    pub analysis_runs: Vec<AnalysisRunView>,
    pub experiments: Vec<ExperimentView>,
    pub analysis_refs: Vec<AnalysisRefView>,
    pub conditions: Vec<ConditionView>,
    pub pause_conditions: Vec<PauseConditionView>,
    pub controller_pause: bool,
    /// Plain-language sentences: the summary reason first, then supporting details.
    pub explanation: Vec<String>,
    pub restart_at: Option<String>,
    pub aborted_at: Option<String>,
    pub progress_deadline_seconds: Option<i32>,
    /// Whether each action applies now and why not, by URL name (`promote-full`): the same
    /// rules the server enforces ([`applicability`]).
    pub actions: BTreeMap<String, ActionVerdict>,
    /// The message of the `InvalidSpec` condition, if the spec is invalid.
    pub invalid_spec: Option<String>,
    /// The 0-based canary step the `InvalidSpec` message names (`steps[2]`), if any.
    pub invalid_step: Option<usize>,
    /// The rollout's Events, newest first. Added within protocol 3.
    #[serde(default)]
    pub history: HistoryView,
}

impl RolloutDetail {
    /// The list row for this rollout.
    pub fn summary(&self) -> RolloutSummary {
        self.summary.clone()
    }
}

fn containers(list: &[Container]) -> Vec<ContainerView> {
    list.iter()
        .map(|c| ContainerView {
            name: c.name.clone(),
            image: c.image.clone(),
        })
        .collect()
}

fn template_names(analysis: Option<&serde_json::Value>) -> Vec<String> {
    analysis
        .and_then(|a| a.get("templates"))
        .and_then(serde_json::Value::as_array)
        .map(|ts| {
            ts.iter()
                .filter_map(|t| t.get("templateName").and_then(serde_json::Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn analysis_refs(ro: &Rollout) -> Vec<AnalysisRefView> {
    let s = &ro.status;
    [
        (
            AnalysisRefKind::Step,
            &s.canary.current_step_analysis_run_status,
        ),
        (
            AnalysisRefKind::Background,
            &s.canary.current_background_analysis_run_status,
        ),
        (
            AnalysisRefKind::PrePromotion,
            &s.blue_green.pre_promotion_analysis_run_status,
        ),
        (
            AnalysisRefKind::PostPromotion,
            &s.blue_green.post_promotion_analysis_run_status,
        ),
    ]
    .into_iter()
    .filter_map(|(kind, r): (AnalysisRefKind, &Option<AnalysisRunRef>)| {
        r.as_ref().map(|r| AnalysisRefView {
            kind,
            name: r.name.clone(),
            status: r.status.clone(),
            message: r.message.clone(),
        })
    })
    .collect()
}

/// Builds the detail view of `ro` from the objects in `related`. Pure: no clock, no I/O.
pub fn rollout_detail(ro: &Rollout, related: &Related<'_>) -> RolloutDetail {
    let uid = ro.metadata.uid.as_str();
    let status = &ro.status;
    let replica_sets =
        replicaset::replica_set_views(uid, Some(ro), &related.replica_sets, &related.pods);
    let mut experiments = experiment::experiment_views(
        uid,
        &related.experiments,
        &related.replica_sets,
        &related.pods,
        &related.analysis_runs,
    );
    let analysis_runs = analysis::analysis_run_views(uid, &related.analysis_runs);
    let (phase, message) = phase::rollout_phase(ro);

    let canary = ro.spec.strategy.canary.as_ref();
    let step_count = canary.map_or(0, |c| c.steps.len());
    let step_index = canary.and(status.current_step_index);
    let step = match step_index {
        Some(i) if step_count > 0 => Some(format!("{i}/{step_count}")),
        _ => None,
    };
    let strategy = if canary.is_some() {
        RolloutStrategy::Canary
    } else if ro.spec.strategy.blue_green.is_some() {
        RolloutStrategy::BlueGreen
    } else {
        RolloutStrategy::None
    };

    let refs = analysis_refs(ro);
    let mut steps = steps::step_views(ro);
    history::set_step_times(ro, &mut steps, &related.events);

    // Revisions: every revision of a ReplicaSet, experiment or run, newest first (including 0).
    let mut revision_numbers: Vec<i64> = replica_sets
        .iter()
        .map(|r| r.revision)
        .chain(experiments.iter().map(|e| e.revision))
        .chain(analysis_runs.iter().map(|a| a.revision))
        .collect();
    revision_numbers.sort_unstable_by(|a, b| b.cmp(a));
    revision_numbers.dedup();
    let revisions: Vec<RevisionView> = revision_numbers
        .iter()
        .enumerate()
        .map(|(i, &revision)| {
            let rss: Vec<ReplicaSetView> = replica_sets
                .iter()
                .filter(|r| r.revision == revision)
                .cloned()
                .collect();
            let mut images = Vec::new();
            images::add_replica_set_images(&mut images, &rss, false);
            RevisionView {
                revision,
                current: i == 0,
                images,
                replica_sets: rss,
                analysis_runs: analysis_runs
                    .iter()
                    .filter(|a| a.revision == revision)
                    .map(|a| a.name.clone())
                    .collect(),
                experiments: experiments
                    .iter()
                    .filter(|e| e.revision == revision)
                    .map(|e| e.name.clone())
                    .collect(),
            }
        })
        .collect();

    // A workloadRef rollout has no template of its own; upstream reads the referenced
    // Deployment, which is not watched here, so the current ReplicaSet's template stands in.
    let current_rs = replica_sets
        .iter()
        .find(|r| r.pod_template_hash.is_some() && r.pod_template_hash == status.current_pod_hash);
    let own = &ro.spec.template.spec;
    let (containers_source, main, init) = if !own.containers.is_empty() {
        (
            ContainersSource::Rollout,
            containers(&own.containers),
            containers(&own.init_containers),
        )
    } else if let (Some(_), Some(rs)) = (&ro.spec.workload_ref, current_rs) {
        let template = related
            .replica_sets
            .iter()
            .find(|r| r.metadata.uid == rs.uid)
            .map(|r| &r.spec.template.spec);
        match template {
            Some(t) => (
                ContainersSource::ReplicaSet,
                containers(&t.containers),
                containers(&t.init_containers),
            ),
            None => (ContainersSource::None, Vec::new(), Vec::new()),
        }
    } else {
        (ContainersSource::None, Vec::new(), Vec::new())
    };

    let blue_green = ro
        .spec
        .strategy
        .blue_green
        .as_ref()
        .map(|bg| BlueGreenView {
            active_service: bg.active_service.clone(),
            preview_service: bg.preview_service.clone(),
            active_selector: status.blue_green.active_selector.clone(),
            preview_selector: status.blue_green.preview_selector.clone(),
            auto_promotion_enabled: bg.auto_promotion_enabled.unwrap_or(true),
            auto_promotion_seconds: bg.auto_promotion_seconds,
            auto_promotion_deadline: explain::auto_promotion_deadline(ro),
            scale_down_delay_seconds: bg.scale_down_delay_seconds,
            preview_replicas: preview_replicas(bg, &replica_sets),
            pre_promotion_analysis: template_names(bg.pre_promotion_analysis.as_ref()),
            post_promotion_analysis: template_names(bg.post_promotion_analysis.as_ref()),
        });
    let canary_view = canary.map(|c| CanaryView {
        canary_service: c.canary_service.clone(),
        stable_service: c.stable_service.clone(),
        traffic_routing: c
            .traffic_routing
            .as_ref()
            .map(|t| t.providers.keys().cloned().collect())
            .unwrap_or_default(),
        max_traffic_weight: c
            .traffic_routing
            .as_ref()
            .and_then(|t| t.max_traffic_weight),
        ping_pong: c.ping_pong.is_some(),
        stable_ping_pong: status.canary.stable_ping_pong.clone(),
        background_analysis: template_names(c.analysis.as_ref()),
        current_experiment: status.canary.current_experiment.clone(),
        weights: status.canary.weights.clone(),
    });

    let analysis_status = explain::worst_analysis_status(&refs);
    let pause_until = explain::pause_until(ro);
    let explained = explain::explain(explain::Facts {
        ro,
        phase: &phase,
        message: &message,
        pause_until: pause_until.as_deref(),
        analysis_refs: &refs,
        analysis_status: analysis_status.as_deref(),
    });

    let waiting = waiting::waiting(
        ro,
        &phase,
        explained.pause_kind,
        status.abort || explained.attention_kind == Some(AttentionKind::Aborted),
    );
    let summary = RolloutSummary {
        cluster: String::new(),
        namespace: ro.metadata.namespace.clone(),
        name: ro.metadata.name.clone(),
        uid: uid.to_owned(),
        resource_version: ro.metadata.resource_version.clone(),
        labels: ro.metadata.labels.to_map(),
        created_at: ro.metadata.creation_timestamp.clone(),
        generation: ro.metadata.generation,
        observed_generation: status.observed_generation.clone(),
        strategy,
        status: phase,
        message,
        step,
        step_index,
        step_count,
        set_weight: weights::set_weight(ro),
        actual_weight: weights::actual_weight(ro, &replica_sets),
        images: images::rollout_images(
            &replica_sets,
            experiments.iter().map(|e| e.images.as_slice()),
        ),
        replicas: Replicas {
            desired: phase::desired_replicas(&ro.spec),
            current: status.replicas.unwrap_or(0),
            updated: status.updated_replicas.unwrap_or(0),
            ready: status.ready_replicas.unwrap_or(0),
            available: status.available_replicas.unwrap_or(0),
        },
        replica_sets: replica_sets.iter().map(ReplicaSetView::brief).collect(),
        current_pod_hash: status.current_pod_hash.clone(),
        stable_rs: status.stable_rs.clone(),
        paused: ro.spec.paused,
        aborted: status.abort,
        pause_reasons: status
            .pause_conditions
            .iter()
            .map(|p| p.reason.clone())
            .collect(),
        reason: explained.reason,
        needs_attention: explained.attention.is_some(),
        attention_reason: explained.attention,
        analysis_status,
        restarted_at: status.restarted_at.clone(),
        pause_until,
        pause_kind: explained.pause_kind,
        attention_kind: explained.attention_kind,
        waiting,
    };
    let actions = applicability::verdicts(ro, &summary.status);
    let invalid_spec = applicability::invalid_spec(ro);
    let invalid_step = invalid_spec.as_deref().and_then(named_step);
    // An experiment the abort ended reads "Successful" upstream; say it was terminated. The
    // controller sets `spec.terminate` then (read by `experiment_views`); without it, a
    // completed experiment of the newest revision of an aborted rollout was ended by the abort.
    let newest = revision_numbers.first().copied();
    for e in &mut experiments {
        e.terminated = e.terminated
            || status.abort
                && Some(e.revision) == newest
                && matches!(
                    e.phase.as_str(),
                    "Successful" | "Failed" | "Error" | "Inconclusive"
                );
    }

    RolloutDetail {
        summary,
        annotations: ro.metadata.annotations.to_map(),
        steps,
        containers: main,
        init_containers: init,
        containers_source,
        workload_ref: ro.spec.workload_ref.as_ref().map(|w| WorkloadRefView {
            api_version: w.api_version.clone(),
            kind: w.kind.clone(),
            name: w.name.clone(),
        }),
        canary: canary_view,
        blue_green,
        revisions,
        analysis_runs,
        experiments,
        analysis_refs: refs,
        conditions: status.conditions.iter().map(condition_view).collect(),
        pause_conditions: status
            .pause_conditions
            .iter()
            .map(|p| PauseConditionView {
                reason: p.reason.clone(),
                start_time: p.start_time.clone(),
            })
            .collect(),
        controller_pause: status.controller_pause,
        explanation: explained.details,
        restart_at: ro.spec.restart_at.clone(),
        aborted_at: status.aborted_at.clone(),
        progress_deadline_seconds: ro.spec.progress_deadline_seconds,
        actions,
        invalid_spec,
        invalid_step,
        history: history::history_view(ro, &related.events, related.events_unavailable),
    }
}

/// The blue-green preview figure: `spec.strategy.blueGreen.previewReplicaCount` (the controller
/// runs the preview with that many until promotion), else the preview ReplicaSet's desired
/// replicas; `None` without a preview ReplicaSet (one that is also active has the `active` role
/// only, so a promoted rollout has none).
fn preview_replicas(
    bg: &crate::model::BlueGreenStrategy,
    replica_sets: &[ReplicaSetView],
) -> Option<i32> {
    let preview = replica_sets
        .iter()
        .find(|r| r.has_role(ReplicaSetRole::Preview))?;
    bg.preview_replica_count.or(preview.desired)
}

/// The step an `InvalidSpec` message names: `spec.strategy.canary.steps[2].setWeight: …` → 2.
fn named_step(message: &str) -> Option<usize> {
    let start = message.find("steps[")? + "steps[".len();
    let len = message[start..].find(']')?;
    message[start..start + len].parse().ok()
}

fn condition_view(c: &Condition) -> ConditionView {
    ConditionView {
        type_: c.type_.clone(),
        status: c.status.clone(),
        reason: c.reason.clone(),
        message: c.message.clone(),
        last_transition_time: c.last_transition_time.clone(),
        last_update_time: c.last_update_time.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn decode<T: serde::de::DeserializeOwned>(value: Value) -> T {
        serde_json::from_value(value).unwrap()
    }

    fn owner(kind: &str, name: &str) -> Value {
        json!([{"apiVersion": "argoproj.io/v1alpha1", "kind": kind, "name": name,
                "uid": format!("uid-{name}"), "controller": true}])
    }

    /// A blue-green rollout paused before promotion: active `old` (3 replicas), preview `new`.
    fn blue_green(
        preview_replica_count: Option<i32>,
        preview_desired: i32,
    ) -> (Rollout, Vec<ReplicaSet>) {
        let mut strategy = json!({"activeService": "a", "previewService": "p",
                                  "autoPromotionEnabled": false});
        if let Some(count) = preview_replica_count {
            strategy["previewReplicaCount"] = json!(count);
        }
        let ro: Rollout = decode(json!({
            "metadata": {"name": "bg", "namespace": "ns", "uid": "uid-bg", "generation": 2},
            "spec": {"replicas": 3, "strategy": {"blueGreen": strategy}},
            "status": {"observedGeneration": "2", "currentPodHash": "new", "stableRS": "old",
                       "blueGreen": {"activeSelector": "old", "previewSelector": "new"},
                       "pauseConditions": [{"reason": "BlueGreenPause"}], "controllerPause": true}
        }));
        let rs = |hash: &str, revision: &str, replicas: i32| -> ReplicaSet {
            decode(json!({
                "metadata": {"name": format!("bg-{hash}"), "namespace": "ns",
                             "uid": format!("uid-rs-{hash}"),
                             "labels": {crate::model::POD_TEMPLATE_HASH_LABEL: hash},
                             "annotations": {crate::model::REVISION_ANNOTATION: revision},
                             "ownerReferences": owner("Rollout", "bg")},
                "spec": {"replicas": replicas},
                "status": {"replicas": replicas, "availableReplicas": replicas, "readyReplicas": replicas}
            }))
        };
        (ro, vec![rs("old", "1", 3), rs("new", "2", preview_desired)])
    }

    fn detail_of(ro: &Rollout, rss: &[ReplicaSet], experiments: &[Experiment]) -> RolloutDetail {
        let related = Related {
            replica_sets: rss.iter().collect(),
            experiments: experiments.iter().collect(),
            ..Default::default()
        };
        rollout_detail(ro, &related)
    }

    #[test]
    fn preview_replicas_come_from_preview_replica_count() {
        // The controller runs the preview with previewReplicaCount until promotion; the
        // ReplicaSet may not have caught up yet (still 3 desired): the spec says 1.
        let (ro, rss) = blue_green(Some(1), 3);
        let bg = detail_of(&ro, &rss, &[]).blue_green.unwrap();
        assert_eq!(bg.preview_replicas, Some(1));
        // Unset: the preview ReplicaSet's desired replicas.
        let (ro, rss) = blue_green(None, 3);
        assert_eq!(
            detail_of(&ro, &rss, &[])
                .blue_green
                .unwrap()
                .preview_replicas,
            Some(3)
        );
        // Promoted (the preview is the active one): no preview figure, whatever the spec says.
        let (mut ro, rss) = blue_green(Some(1), 3);
        ro.status.blue_green.active_selector = Some("new".into());
        ro.status.stable_rs = Some("new".into());
        assert_eq!(
            detail_of(&ro, &rss, &[])
                .blue_green
                .unwrap()
                .preview_replicas,
            None
        );
    }

    fn canary_with_experiment(
        abort: bool,
        terminate: Option<bool>,
        phase: &str,
    ) -> (Rollout, Experiment) {
        let ro: Rollout = decode(json!({
            "metadata": {"name": "ex", "namespace": "ns", "uid": "uid-ex", "generation": 1},
            "spec": {"replicas": 1, "strategy": {"canary": {"steps": [
                {"experiment": {"templates": [{"name": "baseline", "specRef": "stable"}]}},
                {"pause": {}}
            ]}}},
            "status": {"observedGeneration": "1", "abort": abort, "currentStepIndex": 0,
                       "currentPodHash": "new", "stableRS": "old"}
        }));
        let mut spec = json!({"templates": [{"name": "baseline"}]});
        if let Some(t) = terminate {
            spec["terminate"] = json!(t);
        }
        let ex: Experiment = decode(json!({
            "metadata": {"name": "ex-new-2-0", "namespace": "ns", "uid": "uid-ex-new-2-0",
                         "annotations": {crate::model::REVISION_ANNOTATION: "2"},
                         "ownerReferences": owner("Rollout", "ex")},
            "spec": spec,
            "status": {"phase": phase}
        }));
        (ro, ex)
    }

    #[test]
    fn experiments_read_spec_terminate() {
        // Skipped by a promote: not aborted, terminated by the controller, still Running.
        let (ro, ex) = canary_with_experiment(false, Some(true), "Running");
        let d = detail_of(&ro, &[], std::slice::from_ref(&ex));
        assert!(d.experiments[0].terminated, "{:?}", d.experiments[0]);
        assert_eq!(d.experiments[0].phase, "Running");
        // Not terminated, not aborted: a running experiment is just running.
        let (ro, ex) = canary_with_experiment(false, None, "Running");
        assert!(!detail_of(&ro, &[], &[ex]).experiments[0].terminated);
        let (ro, ex) = canary_with_experiment(false, Some(false), "Successful");
        assert!(!detail_of(&ro, &[], &[ex]).experiments[0].terminated);
        // The fallback for a controller that did not write spec.terminate: a completed
        // experiment of the newest revision of an aborted rollout.
        let (ro, ex) = canary_with_experiment(true, None, "Successful");
        assert!(detail_of(&ro, &[], &[ex]).experiments[0].terminated);
        let (ro, ex) = canary_with_experiment(true, None, "Running");
        assert!(!detail_of(&ro, &[], &[ex]).experiments[0].terminated);
    }
}
