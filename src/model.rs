//! Trimmed, typed copies of the Kubernetes objects the dashboard shows.
//!
//! Every struct here keeps only the fields that the view model reads, so a cache of 10,000
//! rollouts with their ReplicaSets and pods stays small. Unknown fields are ignored and every
//! field has a default, so objects written by older or newer controllers still load. Values
//! whose shape varies (canary steps, metric providers, analysis templates) stay as JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Annotation that `kubectl apply` writes; large and never shown, so it is dropped on load.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// Annotation holding a ReplicaSet's, AnalysisRun's or Experiment's rollout revision.
pub const REVISION_ANNOTATION: &str = "rollout.argoproj.io/revision";
/// Label that ties a ReplicaSet and its pods to one pod template of a rollout.
pub const POD_TEMPLATE_HASH_LABEL: &str = "rollouts-pod-template-hash";

/// The five kinds the dashboard watches.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    Rollout,
    ReplicaSet,
    Pod,
    AnalysisRun,
    Experiment,
}

impl Kind {
    /// Every watched kind, in the order the sources start them.
    pub const ALL: [Kind; 5] = [
        Kind::Rollout,
        Kind::ReplicaSet,
        Kind::Pod,
        Kind::AnalysisRun,
        Kind::Experiment,
    ];

    /// The `kind` field of objects of this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Rollout => "Rollout",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::Pod => "Pod",
            Kind::AnalysisRun => "AnalysisRun",
            Kind::Experiment => "Experiment",
        }
    }

    /// Parses a `kind` field; `None` for kinds the dashboard ignores.
    pub fn parse(kind: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == kind)
    }

    /// API group/version of this kind.
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::Pod => "v1",
            Kind::ReplicaSet => "apps/v1",
            _ => "argoproj.io/v1alpha1",
        }
    }

    /// Whether objects of this kind own objects the dashboard watches: a Rollout its
    /// ReplicaSets, AnalysisRuns and Experiments, a ReplicaSet its pods, an Experiment its
    /// ReplicaSets and AnalysisRuns.
    pub fn may_own(self) -> bool {
        matches!(self, Kind::Rollout | Kind::ReplicaSet | Kind::Experiment)
    }

    /// Lower-case plural resource name, as in REST paths.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Rollout => "rollouts",
            Kind::ReplicaSet => "replicasets",
            Kind::Pod => "pods",
            Kind::AnalysisRun => "analysisruns",
            Kind::Experiment => "experiments",
        }
    }
}

/// Reads a JSON value that clusters write either as a string or as a number (for example
/// `status.observedGeneration`, a string in v1.0+ CRDs and a hash in v0.9) as a string.
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    })
}

/// Reads `null` as the type's default, which serde's `default` alone does not do.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Reads an analysis reference (`spec.strategy.canary.analysis`, blue-green pre/post-promotion
/// analysis) keeping only what the views read: that it is set, and its templates' names.
fn trim_analysis<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.map(|analysis| {
        let templates: Vec<Value> = analysis
            .get("templates")
            .and_then(Value::as_array)
            .map(|ts| {
                ts.iter()
                    .filter_map(|t| t.get("templateName").filter(|n| n.is_string()))
                    .map(|n| serde_json::json!({"templateName": n}))
                    .collect()
            })
            .unwrap_or_default();
        serde_json::json!({ "templates": templates })
    }))
}

/// Fields of a metric provider that the views read (`view::analysis::provider_query`); the
/// rest (a job provider's whole Job spec, a web provider's headers) is dropped on load: at
/// 10,000 rollouts the kept JSON trees were a large part of the cache.
const PROVIDER_FIELDS: [&str; 4] = ["query", "queries", "formula", "metricDataQueries"];

/// Reads a metric's `provider`: every provider key is kept (the first names the provider),
/// each with only the fields in [`PROVIDER_FIELDS`].
fn trim_provider<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(
        Option::<Value>::deserialize(d)?.map(|provider| match provider {
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(key, body)| {
                        let body = match body {
                            Value::Object(fields) => Value::Object(
                                fields
                                    .into_iter()
                                    .filter(|(k, _)| PROVIDER_FIELDS.contains(&k.as_str()))
                                    .collect(),
                            ),
                            _ => Value::Object(Default::default()),
                        };
                        (key, body)
                    })
                    .collect(),
            ),
            other => other,
        }),
    )
}

/// Reads the traffic-routing providers keeping their names only (the views list the names).
fn provider_names<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Value>, D::Error> {
    Ok(BTreeMap::<String, Value>::deserialize(d)?
        .into_keys()
        .map(|k| (k, Value::Null))
        .collect())
}

/// A label or annotation map, stored compactly: a sorted boxed slice of boxed strings.
///
/// Why not `BTreeMap<String, String>`: every non-empty B-tree allocates a 544-byte leaf and
/// each `String` carries a capacity word, which at 10,000 rollouts (with their ReplicaSets)
/// came to ~3.3 KB per rollout. These maps are small, read by key a few times per view and
/// rarely changed, so a binary search over a sorted slice is as fast and a fraction of the
/// size. It reads and writes the same JSON as the map (an object; `null` reads as empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels(Box<[(Box<str>, Box<str>)]>);

impl Labels {
    /// The value stored under `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.find(key).ok().map(|i| &*self.0[i].1)
    }

    /// True when `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// The entries, in key order (as a `BTreeMap` iterates).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sets `key` to `value`, returning the previous value. Reallocates the slice: meant for
    /// the rare change (tests, benchmarks), not for building a map entry by entry.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        let found = self.find(&key);
        let mut entries = std::mem::take(&mut self.0).into_vec();
        let old = match found {
            Ok(i) => Some(std::mem::replace(&mut entries[i].1, value.into()).into()),
            Err(i) => {
                entries.insert(i, (key.into(), value.into()));
                None
            }
        };
        self.0 = entries.into_boxed_slice();
        old
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.find(key).ok()?;
        let mut entries = std::mem::take(&mut self.0).into_vec();
        let (_, value) = entries.remove(i);
        self.0 = entries.into_boxed_slice();
        Some(value.into())
    }

    /// A copy as the map type the protocol uses.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| (**k).cmp(key))
    }
}

impl From<BTreeMap<String, String>> for Labels {
    fn from(map: BTreeMap<String, String>) -> Self {
        // A B-tree iterates in key order with unique keys, so the slice is sorted as `find`
        // requires.
        Labels(map.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

impl Serialize for Labels {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Through a map, so duplicate keys resolve as they did (last wins) and null is empty.
        Ok(null_default::<D, BTreeMap<String, String>>(d)?.into())
    }
}

/// The metadata fields the dashboard uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Meta {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub resource_version: String,
    pub generation: Option<i64>,
    pub creation_timestamp: Option<String>,
    pub deletion_timestamp: Option<String>,
    pub labels: Labels,
    pub annotations: Labels,
    #[serde(deserialize_with = "null_default")]
    pub owner_references: Vec<OwnerRef>,
}

impl Meta {
    /// The integer revision annotation, 0 when missing or not a number (as upstream).
    pub fn revision(&self) -> i64 {
        self.annotations
            .get(REVISION_ANNOTATION)
            .and_then(|r| r.parse().ok())
            .unwrap_or(0)
    }

    /// True when any owner reference (not only the controller) points at `uid`, as upstream.
    pub fn owned_by(&self, uid: &str) -> bool {
        !uid.is_empty() && self.owner_references.iter().any(|o| o.uid == uid)
    }

    /// Drops data that is never shown, before the object is stored.
    pub fn trim(&mut self) {
        self.annotations.remove(LAST_APPLIED_ANNOTATION);
    }
}

/// One owner reference.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OwnerRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    pub controller: Option<bool>,
}

/// A container's name and image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Container {
    pub name: String,
    pub image: String,
    /// `Always` marks a sidecar init container.
    pub restart_policy: Option<String>,
}

/// The pod spec fields that matter: containers and init containers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodSpec {
    #[serde(deserialize_with = "null_default")]
    pub containers: Vec<Container>,
    #[serde(deserialize_with = "null_default")]
    pub init_containers: Vec<Container>,
    pub node_name: Option<String>,
}

/// A pod template: only its spec's containers are kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodTemplate {
    pub spec: PodSpec,
}

/// A status condition, shared by Rollouts, ReplicaSets and Experiments.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub last_transition_time: Option<String>,
    pub last_update_time: Option<String>,
}

/// An Argo Rollouts `Rollout`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Rollout {
    pub metadata: Meta,
    pub spec: RolloutSpec,
    pub status: RolloutStatus,
}

/// `Rollout.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RolloutSpec {
    pub replicas: Option<i32>,
    pub paused: bool,
    pub restart_at: Option<String>,
    pub template_resolved_from_ref: bool,
    pub workload_ref: Option<WorkloadRef>,
    pub strategy: Strategy,
    pub template: PodTemplate,
    pub progress_deadline_seconds: Option<i32>,
    pub progress_deadline_abort: bool,
}

/// `spec.workloadRef`: the Deployment, ReplicaSet or PodTemplate that holds the template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkloadRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
}

/// `spec.strategy`: exactly one of canary and blue-green is set on a valid rollout.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Strategy {
    pub canary: Option<CanaryStrategy>,
    pub blue_green: Option<BlueGreenStrategy>,
}

/// `spec.strategy.canary`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CanaryStrategy {
    /// Steps stay JSON: there are many step types and plugins add more.
    #[serde(deserialize_with = "null_default")]
    pub steps: Vec<Value>,
    pub traffic_routing: Option<TrafficRouting>,
    pub ping_pong: Option<Value>,
    /// Background analysis (runs for the whole update): only its template names are kept.
    #[serde(deserialize_with = "trim_analysis")]
    pub analysis: Option<Value>,
    pub canary_service: Option<String>,
    pub stable_service: Option<String>,
}

/// `spec.strategy.canary.trafficRouting`: only the cap on the weight is read, the rest is kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrafficRouting {
    pub max_traffic_weight: Option<i32>,
    /// Provider name → `null` (their settings are never shown).
    #[serde(flatten, deserialize_with = "provider_names")]
    pub providers: BTreeMap<String, Value>,
}

/// `spec.strategy.blueGreen`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BlueGreenStrategy {
    pub active_service: Option<String>,
    pub preview_service: Option<String>,
    pub auto_promotion_enabled: Option<bool>,
    pub auto_promotion_seconds: Option<i32>,
    pub scale_down_delay_seconds: Option<i32>,
    /// Replicas the preview ReplicaSet runs with until promotion (all of them when unset).
    pub preview_replica_count: Option<i32>,
    /// Only the template names are kept.
    #[serde(deserialize_with = "trim_analysis")]
    pub pre_promotion_analysis: Option<Value>,
    /// Only the template names are kept.
    #[serde(deserialize_with = "trim_analysis")]
    pub post_promotion_analysis: Option<Value>,
}

/// `Rollout.status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RolloutStatus {
    pub abort: bool,
    pub aborted_at: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub pause_conditions: Vec<PauseCondition>,
    pub controller_pause: bool,
    pub current_pod_hash: Option<String>,
    pub current_step_hash: Option<String>,
    pub current_step_index: Option<i32>,
    #[serde(deserialize_with = "string_or_number")]
    pub observed_generation: Option<String>,
    #[serde(rename = "stableRS")]
    pub stable_rs: Option<String>,
    pub restarted_at: Option<String>,
    pub promote_full: bool,
    pub phase: Option<String>,
    pub message: Option<String>,
    pub replicas: Option<i32>,
    pub updated_replicas: Option<i32>,
    pub ready_replicas: Option<i32>,
    pub available_replicas: Option<i32>,
    #[serde(deserialize_with = "null_default")]
    pub conditions: Vec<Condition>,
    pub canary: CanaryStatus,
    pub blue_green: BlueGreenStatus,
    #[serde(deserialize_with = "string_or_number")]
    pub workload_observed_generation: Option<String>,
}

/// One entry of `status.pauseConditions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PauseCondition {
    pub reason: String,
    pub start_time: Option<String>,
}

/// `status.canary`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CanaryStatus {
    pub current_step_analysis_run_status: Option<AnalysisRunRef>,
    pub current_background_analysis_run_status: Option<AnalysisRunRef>,
    pub current_experiment: Option<String>,
    pub weights: Option<TrafficWeights>,
    pub stable_ping_pong: Option<String>,
}

/// `status.blueGreen`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BlueGreenStatus {
    pub active_selector: Option<String>,
    pub preview_selector: Option<String>,
    pub pre_promotion_analysis_run_status: Option<AnalysisRunRef>,
    pub post_promotion_analysis_run_status: Option<AnalysisRunRef>,
    pub scale_up_preview_check_point: bool,
}

/// The rollout's pointer to an AnalysisRun it started, with that run's phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalysisRunRef {
    pub name: String,
    pub status: String,
    pub message: Option<String>,
}

/// `status.canary.weights`, written by the controller when traffic routing is used.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrafficWeights {
    pub canary: WeightDestination,
    pub stable: WeightDestination,
}

/// One destination of the traffic weights.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WeightDestination {
    pub weight: i32,
    pub service_name: Option<String>,
    pub pod_template_hash: Option<String>,
}

/// An `apps/v1` ReplicaSet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReplicaSet {
    pub metadata: Meta,
    pub spec: ReplicaSetSpec,
    pub status: ReplicaSetStatus,
}

/// `ReplicaSet.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReplicaSetSpec {
    pub replicas: Option<i32>,
    pub template: PodTemplate,
}

/// `ReplicaSet.status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReplicaSetStatus {
    pub replicas: i32,
    pub available_replicas: i32,
    pub ready_replicas: i32,
    pub observed_generation: Option<i64>,
    #[serde(deserialize_with = "null_default")]
    pub conditions: Vec<Condition>,
}

/// A `v1` Pod.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Pod {
    pub metadata: Meta,
    pub spec: PodSpec,
    pub status: PodStatus,
}

/// `Pod.status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodStatus {
    pub phase: Option<String>,
    pub reason: Option<String>,
    pub message: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub init_container_statuses: Vec<ContainerStatus>,
    #[serde(deserialize_with = "null_default")]
    pub container_statuses: Vec<ContainerStatus>,
}

/// One container's status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerStatus {
    pub name: String,
    pub ready: bool,
    pub restart_count: i32,
    pub started: Option<bool>,
    pub state: ContainerState,
}

/// A container's current state; at most one member is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerState {
    pub waiting: Option<StateDetail>,
    pub running: Option<StateDetail>,
    pub terminated: Option<StateDetail>,
}

/// Details of a container state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StateDetail {
    pub reason: Option<String>,
    pub message: Option<String>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub started_at: Option<String>,
}

/// An Argo Rollouts `AnalysisRun`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalysisRun {
    pub metadata: Meta,
    pub spec: AnalysisRunSpec,
    pub status: AnalysisRunStatus,
}

/// `AnalysisRun.spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalysisRunSpec {
    #[serde(deserialize_with = "null_default")]
    pub metrics: Vec<Metric>,
    #[serde(deserialize_with = "null_default")]
    pub args: Vec<AnalysisArg>,
    pub terminate: bool,
}

/// One metric of an analysis.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Metric {
    pub name: String,
    pub success_condition: Option<String>,
    pub failure_condition: Option<String>,
    /// IntOrString in the CRD.
    pub count: Option<Value>,
    pub failure_limit: Option<Value>,
    pub inconclusive_limit: Option<Value>,
    pub consecutive_error_limit: Option<Value>,
    pub interval: Option<String>,
    pub initial_delay: Option<String>,
    /// The provider block (prometheus, web, job, …), kept as JSON with only the fields the
    /// views read (see [`PROVIDER_FIELDS`]).
    #[serde(deserialize_with = "trim_provider")]
    pub provider: Option<Value>,
}

/// An analysis argument. `valueFrom` (secret or field references) is kept as the reference,
/// never resolved, so no secret value can reach a response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalysisArg {
    pub name: String,
    pub value: Option<String>,
    pub value_from: Option<Value>,
}

/// `AnalysisRun.status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalysisRunStatus {
    pub phase: Option<String>,
    pub message: Option<String>,
    pub started_at: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub metric_results: Vec<MetricResult>,
}

/// The results of one metric so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MetricResult {
    pub name: String,
    pub phase: Option<String>,
    pub message: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub measurements: Vec<Measurement>,
    pub count: i32,
    pub successful: i32,
    pub failed: i32,
    pub inconclusive: i32,
    pub error: i32,
    pub consecutive_error: i32,
}

/// One measurement of a metric.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Measurement {
    pub phase: Option<String>,
    pub value: Option<String>,
    pub message: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// `None` and `Some(empty)` differ upstream: only a missing map makes a NonJobInfo.
    pub metadata: Option<BTreeMap<String, String>>,
}

/// An Argo Rollouts `Experiment`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Experiment {
    pub metadata: Meta,
    pub spec: ExperimentSpec,
    pub status: ExperimentStatus,
}

/// `Experiment.spec`: templates and analyses stay JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExperimentSpec {
    pub duration: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub templates: Vec<Value>,
    #[serde(deserialize_with = "null_default")]
    pub analyses: Vec<Value>,
    /// Set by the rollout controller (a step skipped, an abort) or a person to end it early.
    pub terminate: bool,
}

/// `Experiment.status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExperimentStatus {
    pub phase: Option<String>,
    pub message: Option<String>,
    pub available_at: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub conditions: Vec<Condition>,
}

/// Longest Event message kept: a controller's message is a line, a few hundred characters at
/// most; anything longer is cut (on a character boundary) so the history stays small.
pub const EVENT_MESSAGE_MAX: usize = 1024;

/// A core/v1 `Event` about a Rollout, trimmed to what the history shows: who reported what,
/// when, and how often. Everything else (related object, action, annotations) is dropped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RolloutEvent {
    pub metadata: EventMeta,
    pub involved_object: InvolvedObject,
    /// `Normal` or `Warning`.
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub first_timestamp: Option<String>,
    pub last_timestamp: Option<String>,
    /// Set instead of the timestamps by writers of the newer events API.
    pub event_time: Option<String>,
    pub count: Option<i32>,
    pub series: Option<EventSeries>,
    pub source: EventSourceRef,
    /// The newer API's name for `source.component`.
    pub reporting_component: Option<String>,
}

/// The Event's own name and namespace (an Event updated in place keeps its name).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EventMeta {
    pub name: String,
    pub namespace: String,
}

/// `involvedObject`: the object the Event is about.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InvolvedObject {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub uid: String,
}

/// `series`: repetitions of an Event written through the newer events API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EventSeries {
    pub count: Option<i32>,
    pub last_observed_time: Option<String>,
}

/// `source`: the component that reported the Event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EventSourceRef {
    pub component: Option<String>,
}

impl RolloutEvent {
    /// Decodes a core/v1 Event, trimmed; `Ok(None)` for objects that are not Events or for
    /// Events about anything but an Argo Rollouts `Rollout`.
    pub fn from_json(value: Value) -> Result<Option<RolloutEvent>, DecodeError> {
        let is_event = value.get("kind").and_then(Value::as_str) == Some("Event")
            && value.get("apiVersion").and_then(Value::as_str) == Some("v1");
        if !is_event {
            return Ok(None);
        }
        RolloutEvent::decode(value)
    }

    /// Decodes an object known to be a core/v1 Event (a watch's items carry no `kind`),
    /// trimmed; `Ok(None)` when it is not about a Rollout.
    pub fn decode(value: Value) -> Result<Option<RolloutEvent>, DecodeError> {
        let name = value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut event: RolloutEvent =
            serde_json::from_value(value).map_err(|source| DecodeError::Invalid {
                kind: "Event",
                name,
                source,
            })?;
        if !event.is_about_a_rollout() {
            return Ok(None);
        }
        if let Some(message) = &mut event.message
            && message.len() > EVENT_MESSAGE_MAX
        {
            let mut end = EVENT_MESSAGE_MAX;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push('…');
        }
        Ok(Some(event))
    }

    /// True when the Event names a Rollout of `argoproj.io` (any version).
    pub fn is_about_a_rollout(&self) -> bool {
        let o = &self.involved_object;
        o.kind == "Rollout" && o.api_version.starts_with("argoproj.io/")
    }

    /// When it last happened: the newest of the times the writer set (core/v1 writers set
    /// the timestamps, events.k8s.io writers the event time and series).
    pub fn time(&self) -> Option<&str> {
        self.last_timestamp
            .as_deref()
            .or(self
                .series
                .as_ref()
                .and_then(|s| s.last_observed_time.as_deref()))
            .or(self.event_time.as_deref())
            .or(self.first_timestamp.as_deref())
    }

    /// How often it happened (1 when the writer did not count).
    pub fn occurrences(&self) -> i32 {
        self.series
            .as_ref()
            .and_then(|s| s.count)
            .or(self.count)
            .unwrap_or(1)
            .max(1)
    }

    /// The reporting component: `source.component`, else `reportingComponent`.
    pub fn reporter(&self) -> &str {
        self.source
            .component
            .as_deref()
            .filter(|c| !c.is_empty())
            .or(self.reporting_component.as_deref())
            .unwrap_or_default()
    }
}

/// An Event as the store keeps it: a rollout's history holds up to a hundred of them, so at
/// 10,000 rollouts every byte counts. Times are parsed once (16 bytes instead of a string),
/// the often repeated reason and source are shared ([`std::sync::Arc`]), and what the history
/// does not show (the involved object's kind and version, the namespace, which is the log's)
/// is gone. Measured with `tests/bench/scale_mem.rs DIR 100` (10,000 rollouts, 100 Events
/// each): +877 MiB of RSS as decoded Events, +283 MiB (~300 bytes an Event) as records.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// The Event's own name (an Event updated in place keeps it).
    pub name: Box<str>,
    /// The UID of the rollout it is about (empty when the writer did not say).
    pub uid: Box<str>,
    pub warning: bool,
    pub reason: std::sync::Arc<str>,
    pub message: Box<str>,
    /// When it first happened, when it recurred.
    pub first: Option<jiff::Timestamp>,
    /// When it last happened ([`RolloutEvent::time`]).
    pub last: Option<jiff::Timestamp>,
    pub count: i32,
    /// The reporting component ([`RolloutEvent::reporter`]).
    pub source: std::sync::Arc<str>,
}

impl RolloutEvent {
    /// The compact record the store keeps.
    pub fn record(&self) -> EventRecord {
        let time = |t: Option<&str>| t.and_then(|t| t.parse::<jiff::Timestamp>().ok());
        EventRecord {
            name: self.metadata.name.as_str().into(),
            uid: self.involved_object.uid.as_str().into(),
            warning: self.type_.as_deref() == Some("Warning"),
            reason: self.reason.as_deref().unwrap_or_default().into(),
            message: self.message.as_deref().unwrap_or_default().into(),
            first: time(
                self.first_timestamp
                    .as_deref()
                    .or(self.event_time.as_deref()),
            ),
            last: time(self.time()),
            count: self.occurrences(),
            source: self.reporter().into(),
        }
    }
}

/// Any watched object, as the store holds it.
// Objects live here only briefly on their way into the store's `Arc`s, so the size
// difference between variants costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Rollout(Rollout),
    ReplicaSet(ReplicaSet),
    Pod(Pod),
    AnalysisRun(AnalysisRun),
    Experiment(Experiment),
}

/// Why a JSON object could not be read as a watched kind.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("object has no kind")]
    MissingKind,
    #[error("{kind} {name:?}: {source}")]
    Invalid {
        kind: &'static str,
        name: String,
        source: serde_json::Error,
    },
}

impl Object {
    /// Decodes a JSON object of a watched kind, trimming it. `Ok(None)` for other kinds.
    pub fn from_json(value: Value) -> Result<Option<Object>, DecodeError> {
        let kind = value
            .get("kind")
            .and_then(Value::as_str)
            .ok_or(DecodeError::MissingKind)?;
        match Kind::parse(kind) {
            Some(kind) => Object::decode(kind, value).map(Some),
            None => Ok(None),
        }
    }

    /// Decodes a JSON object known to be of `kind`, trimming it.
    pub fn decode(kind: Kind, value: Value) -> Result<Object, DecodeError> {
        let name = value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let invalid = |source| DecodeError::Invalid {
            kind: kind.as_str(),
            name: name.clone(),
            source,
        };
        let mut object = match kind {
            Kind::Rollout => Object::Rollout(serde_json::from_value(value).map_err(invalid)?),
            Kind::ReplicaSet => Object::ReplicaSet(serde_json::from_value(value).map_err(invalid)?),
            Kind::Pod => Object::Pod(serde_json::from_value(value).map_err(invalid)?),
            Kind::AnalysisRun => {
                Object::AnalysisRun(serde_json::from_value(value).map_err(invalid)?)
            }
            Kind::Experiment => Object::Experiment(serde_json::from_value(value).map_err(invalid)?),
        };
        object.meta_mut().trim();
        if let Object::Pod(pod) = &mut object {
            // No view reads a pod's labels or annotations (its ReplicaSet's are read), and a
            // rollout has many pods: each non-empty map is a ~544-byte B-tree leaf.
            pod.metadata.labels = Labels::default();
            pod.metadata.annotations = Labels::default();
        }
        Ok(object)
    }

    /// The object's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Object::Rollout(_) => Kind::Rollout,
            Object::ReplicaSet(_) => Kind::ReplicaSet,
            Object::Pod(_) => Kind::Pod,
            Object::AnalysisRun(_) => Kind::AnalysisRun,
            Object::Experiment(_) => Kind::Experiment,
        }
    }

    /// The object's metadata.
    pub fn meta(&self) -> &Meta {
        match self {
            Object::Rollout(o) => &o.metadata,
            Object::ReplicaSet(o) => &o.metadata,
            Object::Pod(o) => &o.metadata,
            Object::AnalysisRun(o) => &o.metadata,
            Object::Experiment(o) => &o.metadata,
        }
    }

    fn meta_mut(&mut self) -> &mut Meta {
        match self {
            Object::Rollout(o) => &mut o.metadata,
            Object::ReplicaSet(o) => &mut o.metadata,
            Object::Pod(o) => &mut o.metadata,
            Object::AnalysisRun(o) => &mut o.metadata,
            Object::Experiment(o) => &mut o.metadata,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_and_trims_a_rollout() {
        let value = json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Rollout",
            "metadata": {
                "name": "web", "namespace": "shop", "uid": "u1",
                "annotations": {LAST_APPLIED_ANNOTATION: "{}", "keep": "me"},
                "managedFields": [{"manager": "kubectl"}]
            },
            "spec": {"strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}]}}},
            "status": {"observedGeneration": 7, "currentStepIndex": 1}
        });
        let Some(Object::Rollout(ro)) = Object::from_json(value).unwrap() else {
            panic!("not a rollout")
        };
        assert_eq!(ro.metadata.annotations.len(), 1);
        assert_eq!(ro.status.observed_generation.as_deref(), Some("7"));
        assert_eq!(ro.spec.strategy.canary.unwrap().steps.len(), 2);
    }

    #[test]
    fn pods_keep_no_labels_or_annotations() {
        let value = json!({"kind": "Pod", "metadata": {"name": "p", "namespace": "shop",
            "labels": {POD_TEMPLATE_HASH_LABEL: "abc"}, "annotations": {"a": "b"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": "rs", "uid": "u2"}]}});
        let Some(Object::Pod(pod)) = Object::from_json(value).unwrap() else {
            panic!("not a pod")
        };
        assert!(pod.metadata.labels.is_empty());
        assert!(pod.metadata.annotations.is_empty());
        assert!(pod.metadata.owned_by("u2"));
    }

    #[test]
    fn labels_read_and_write_the_same_json_as_a_map() {
        let json = r#"{"b":"2","a":"1","c":""}"#;
        let labels: Labels = serde_json::from_str(json).unwrap();
        let map: BTreeMap<String, String> = serde_json::from_str(json).unwrap();
        assert_eq!(
            serde_json::to_string(&labels).unwrap(),
            serde_json::to_string(&map).unwrap()
        );
        assert_eq!(labels.to_map(), map);
        assert_eq!(labels.len(), 3);
        assert_eq!(labels.get("a"), Some("1"));
        assert_eq!(labels.get("c"), Some(""));
        assert_eq!(labels.get("d"), None);
        assert!(labels.contains_key("b") && !labels.contains_key("0"));
        assert_eq!(
            labels.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        let empty: Labels = serde_json::from_str("null").unwrap();
        assert!(empty.is_empty());
        assert_eq!(serde_json::to_string(&empty).unwrap(), "{}");
        assert!(serde_json::from_str::<Labels>(r#"{"a":1}"#).is_err());
    }

    #[test]
    fn labels_insert_and_remove_keep_key_order() {
        let mut labels = Labels::default();
        for (k, v) in [("m", "1"), ("a", "2"), ("z", "3"), ("f", "4")] {
            assert_eq!(labels.insert(k.into(), v.into()), None);
        }
        assert_eq!(labels.insert("a".into(), "5".into()).as_deref(), Some("2"));
        assert_eq!(labels.remove("z").as_deref(), Some("3"));
        assert_eq!(labels.remove("z"), None);
        assert_eq!(
            labels.iter().collect::<Vec<_>>(),
            [("a", "5"), ("f", "4"), ("m", "1")]
        );
        assert_eq!(labels.get("f"), Some("4"));
    }

    #[test]
    fn ignores_other_kinds_and_reports_bad_ones() {
        assert!(
            Object::from_json(json!({"kind": "Service"}))
                .unwrap()
                .is_none()
        );
        let err = Object::from_json(json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": 3}))
            .unwrap_err();
        assert!(err.to_string().starts_with("Pod \"p\""), "{err}");
    }

    #[test]
    fn nulls_read_as_defaults() {
        let value = json!({"kind": "ReplicaSet", "metadata": {"name": "rs", "labels": null,
            "ownerReferences": null}, "status": {"conditions": null}});
        let Some(Object::ReplicaSet(rs)) = Object::from_json(value).unwrap() else {
            panic!()
        };
        assert!(rs.metadata.labels.is_empty());
    }

    #[test]
    fn decodes_only_events_about_rollouts_and_trims_them() {
        let event = |kind: &str, message: String| {
            json!({"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": "web.1", "namespace": "shop", "managedFields": [{}]},
                "involvedObject": {"apiVersion": "argoproj.io/v1alpha1", "kind": kind,
                                   "name": "web", "uid": "u1"},
                "type": "Normal", "reason": "RolloutStepCompleted", "message": message,
                "firstTimestamp": "2026-01-01T10:00:00Z", "lastTimestamp": "2026-01-01T10:05:00Z",
                "count": 3, "source": {"component": "rollouts-controller"}})
        };
        let ev = RolloutEvent::from_json(event("Rollout", "step".into()))
            .unwrap()
            .expect("an event about a rollout");
        assert_eq!(ev.time(), Some("2026-01-01T10:05:00Z"));
        assert_eq!(ev.occurrences(), 3);
        assert_eq!(ev.reporter(), "rollouts-controller");
        assert_eq!(ev.involved_object.uid, "u1");
        // Another kind's Event, or no Event at all, is not kept.
        assert!(
            RolloutEvent::from_json(event("AnalysisRun", "x".into()))
                .unwrap()
                .is_none()
        );
        assert!(
            RolloutEvent::from_json(json!({"kind": "Pod", "apiVersion": "v1"}))
                .unwrap()
                .is_none()
        );
        // A long message is cut on a character boundary.
        let long = RolloutEvent::from_json(event("Rollout", "é".repeat(2000)))
            .unwrap()
            .unwrap();
        let message = long.message.unwrap();
        assert!(
            message.len() <= EVENT_MESSAGE_MAX + '…'.len_utf8(),
            "{}",
            message.len()
        );
        assert!(message.ends_with('…'));
        // The newer API: event time and series.
        let newer: RolloutEvent = serde_json::from_value(json!({
            "eventTime": "2026-01-01T10:00:00.123456Z", "reportingComponent": "kube-rs",
            "series": {"count": 4, "lastObservedTime": "2026-01-01T10:09:00.000000Z"}}))
        .unwrap();
        assert_eq!(newer.time(), Some("2026-01-01T10:09:00.000000Z"));
        assert_eq!(newer.occurrences(), 4);
        assert_eq!(newer.reporter(), "kube-rs");
    }
}
