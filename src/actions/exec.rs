//! Running a planned action against a backend: a real cluster ([`super::KubeBackend`]) or the
//! built-in demo's in-memory objects (see [`apply_in_memory`]).
//!
//! [`execute`] reads the rollout, rejects a stale view, plans, sends the patches (status
//! subresource first, with the v0.9 fallback), retries a lost precondition race with a fresh
//! read and a fresh plan, and records a Kubernetes Event naming the person.

use std::future::Future;

use serde::Serialize;
use serde_json::Value;

use crate::model::Rollout;
use crate::view::applicability::{Refusal, applicable};

use super::plan::{
    Action, PatchType, Plan, PlanError, PlannedPatch, ROLLOUT_API_VERSION, ROLLOUT_KIND, SeenState,
    StaleError, Subresource, check_stale, plan,
};

/// How many times a write that lost a resourceVersion race is re-planned and re-sent.
pub const MAX_CONFLICT_RETRIES: u32 = 3;

/// The pause before the first re-read after a lost race; it doubles on each retry (50, 100,
/// 200 ms), so a controller writing in a burst (a new rollout, a step change) can finish
/// before we read again, instead of all retries landing inside the same burst.
pub const CONFLICT_BACKOFF: std::time::Duration = std::time::Duration::from_millis(50);

/// The Kubernetes calls an action needs. Implemented by [`super::KubeBackend`] for a cluster
/// and by the demo for its in-memory objects.
pub trait ActionBackend: Send + Sync {
    /// GET one object, as the API server returns it.
    fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = Result<Value, BackendError>> + Send;

    /// The ReplicaSets of `namespace` controlled by the rollout with `rollout_uid`.
    fn list_replica_sets(
        &self,
        namespace: &str,
        rollout_uid: &str,
    ) -> impl Future<Output = Result<Vec<Value>, BackendError>> + Send;

    /// Sends one patch and returns the object the API server answers with.
    fn patch(
        &self,
        patch: &PlannedPatch,
    ) -> impl Future<Output = Result<Value, BackendError>> + Send;

    /// Records a Kubernetes Event about `rollout` (type Normal).
    fn record_event(
        &self,
        rollout: &Value,
        reason: &str,
        message: &str,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;
}

/// An error of a backend call, classified by the API server's status code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// 404.
    #[error("{message}")]
    NotFound { message: String },
    /// 403: `verb` on `resource` (e.g. `patch` on `rollouts/status`) is not allowed.
    #[error("{message}")]
    Forbidden {
        verb: String,
        resource: String,
        message: String,
    },
    /// 409: a resourceVersion precondition failed or the object was modified concurrently.
    #[error("{message}")]
    Conflict { message: String },
    /// 422: the API server rejected the object or the patch (a failed JSON-patch `test` too).
    #[error("{message}")]
    Invalid { message: String },
    /// Any other status; 0 when no answer arrived (connection or decoding errors).
    #[error("status {status}: {message}")]
    Other { status: u16, message: String },
}

impl BackendError {
    /// Classifies an API server answer. `verb` and `resource` name the request, for 403s.
    pub fn from_status(
        status: u16,
        message: impl Into<String>,
        verb: &str,
        resource: &str,
    ) -> BackendError {
        let message = message.into();
        match status {
            404 => BackendError::NotFound { message },
            403 => BackendError::Forbidden {
                verb: verb.to_string(),
                resource: resource.to_string(),
                message,
            },
            409 => BackendError::Conflict { message },
            422 => BackendError::Invalid { message },
            _ => BackendError::Other { status, message },
        }
    }

    /// The HTTP status code the API server answered (0 when none).
    pub fn status(&self) -> u16 {
        match self {
            BackendError::NotFound { .. } => 404,
            BackendError::Forbidden { .. } => 403,
            BackendError::Conflict { .. } => 409,
            BackendError::Invalid { .. } => 422,
            BackendError::Other { status, .. } => *status,
        }
    }
}

/// Why an action failed, with the HTTP status the dashboard answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// 403.
    #[error("permission denied: not allowed to {verb} {resource} ({message})")]
    Forbidden {
        verb: String,
        resource: String,
        message: String,
    },
    /// 404.
    #[error("{message}")]
    NotFound { message: String },
    /// 409: the person's view is out of date; nothing was written.
    #[error("{0}; reload and try again")]
    Stale(StaleError),
    /// 409: the write kept losing races with other writers.
    #[error("conflict: {message}")]
    Conflict { message: String },
    /// 422: the action cannot be planned (bad input, unknown container or revision, ...).
    #[error("{0}")]
    Plan(PlanError),
    /// 409 (the rollout's state) or 422 (an invalid spec): the action does not apply to the
    /// rollout now, by the rules the UI shows ([`crate::view::applicability`]); nothing was
    /// written.
    #[error("{0}")]
    NotApplicable(Refusal),
    /// 422: the API server rejected the change.
    #[error("the API server rejected the change: {message}")]
    Invalid { message: String },
    /// 502: the Kubernetes API failed otherwise.
    #[error("the Kubernetes API failed (status {status}): {message}")]
    Upstream { status: u16, message: String },
    /// 400: a namespace or name Kubernetes would refuse; nothing was sent.
    #[error(transparent)]
    InvalidName(#[from] crate::names::NameError),
}

impl ActionError {
    /// The HTTP status code to answer with.
    pub fn status(&self) -> u16 {
        match self {
            ActionError::Forbidden { .. } => 403,
            ActionError::NotFound { .. } => 404,
            ActionError::Stale(_) | ActionError::Conflict { .. } => 409,
            ActionError::Plan(_) | ActionError::Invalid { .. } => 422,
            ActionError::NotApplicable(refusal) => refusal.status,
            ActionError::Upstream { .. } => 502,
            ActionError::InvalidName(_) => 400,
        }
    }

    /// A stable, machine-readable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            ActionError::Forbidden { .. } => "forbidden",
            ActionError::NotFound { .. } => "not_found",
            ActionError::Stale(_) => "stale",
            ActionError::Conflict { .. } => "conflict",
            ActionError::Plan(e) => e.code(),
            ActionError::NotApplicable(refusal) => refusal.code,
            ActionError::Invalid { .. } => "invalid",
            ActionError::Upstream { .. } => "upstream_error",
            ActionError::InvalidName(_) => "badRequest",
        }
    }
}

impl From<PlanError> for ActionError {
    fn from(e: PlanError) -> Self {
        ActionError::Plan(e)
    }
}

impl From<StaleError> for ActionError {
    fn from(e: StaleError) -> Self {
        ActionError::Stale(e)
    }
}

impl From<BackendError> for ActionError {
    fn from(e: BackendError) -> Self {
        match e {
            BackendError::NotFound { message } => ActionError::NotFound { message },
            BackendError::Forbidden {
                verb,
                resource,
                message,
            } => ActionError::Forbidden {
                verb,
                resource,
                message,
            },
            BackendError::Conflict { message } => ActionError::Conflict { message },
            BackendError::Invalid { message } => ActionError::Invalid { message },
            BackendError::Other { status, message } => ActionError::Upstream { status, message },
        }
    }
}

/// The result of a successful action.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionOutcome {
    /// Upstream's wording ("rollout 'x' promoted"), or why nothing was needed.
    pub message: String,
    /// False when the plan was empty and nothing was written.
    pub changed: bool,
    /// The patches the API server accepted, in order. A fallback that replaced a status patch
    /// is listed instead of it; `fallback` is always empty here.
    pub patches: Vec<PlannedPatch>,
    /// The rollout after the action: the last patch response for the rollout, else the GET.
    pub rollout: Value,
    /// The workloadRef object after set-image or undo patched it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload: Option<Value>,
    /// 1, plus one per precondition conflict that was retried.
    pub attempts: u32,
}

/// The Event reason recorded for a successful action.
pub fn event_reason(action: &Action) -> &'static str {
    match action {
        Action::Promote => "PromotedFromDashboard",
        Action::PromoteFull => "FullyPromotedFromDashboard",
        Action::Abort => "AbortedFromDashboard",
        Action::Retry => "RetriedFromDashboard",
        Action::Restart { .. } => "RestartedFromDashboard",
        Action::Pause => "PausedFromDashboard",
        Action::Resume => "ResumedFromDashboard",
        Action::SetImage { .. } => "ImageSetFromDashboard",
        Action::Undo { .. } => "RolledBackFromDashboard",
    }
}

/// Runs `action` on rollout `namespace/name` for `actor`.
///
/// 1. GET the rollout; [`check_stale`] against `seen` (409 [`ActionError::Stale`], nothing
///    written).
/// 2. For undo, list the rollout's ReplicaSets; for set-image and undo on a rollout with a
///    `workloadRef`, GET that object.
/// 3. Refuse an action that does not apply to the rollout now
///    ([`crate::view::applicability::applicable`]: 409, or 422 on an invalid spec).
/// 4. [`plan`]; an empty plan returns `changed: false` without writing or recording an Event.
/// 5. Send each patch. A status-subresource patch that gets 404 is replaced by its
///    `fallback` (v0.9 CRDs), and later main-resource merge patches the fallback already
///    contains are skipped (upstream sends the unified patch *instead of* the spec patch).
/// 6. When a patch with a precondition loses the race (409, or 422 from a failed JSON-patch
///    `test`), wait ([`CONFLICT_BACKOFF`], doubling) and go back to 1, up to
///    [`MAX_CONFLICT_RETRIES`] times. The retry's stale check
///    compares against the step and pod hash this call first read (plus what the person
///    saw), so a retry can never act on a rollout that moved on: intent still holds or 409.
/// 7. Record an Event (failure to record is logged, not returned).
///
/// Every attempt is logged with the actor, the action, the rollout, what the person saw
/// and the result.
pub async fn execute<B: ActionBackend>(
    backend: &B,
    namespace: &str,
    name: &str,
    action: &Action,
    seen: &SeenState,
    actor: &str,
) -> Result<ActionOutcome, ActionError> {
    execute_in("", backend, namespace, name, action, seen, actor).await
}

/// [`execute`] on a rollout of `cluster` (several clusters): every log line of the attempt
/// names the cluster, and so does the Event (`… via rollouts-dashboard: <message> (cluster
/// <name>)`).
pub async fn execute_in<B: ActionBackend>(
    cluster: &str,
    backend: &B,
    namespace: &str,
    name: &str,
    action: &Action,
    seen: &SeenState,
    actor: &str,
) -> Result<ActionOutcome, ActionError> {
    let result = run(cluster, backend, namespace, name, action, seen, actor).await;
    match &result {
        Ok(outcome) => tracing::info!(
            actor, cluster, action = %action, namespace, name, ?seen,
            changed = outcome.changed, attempts = outcome.attempts, message = %outcome.message,
            "rollout action succeeded"
        ),
        Err(error) => tracing::warn!(
            actor, cluster, action = %action, namespace, name, ?seen,
            status = error.status(), code = error.code(), %error,
            "rollout action failed"
        ),
    }
    result
}

async fn run<B: ActionBackend>(
    cluster: &str,
    backend: &B,
    namespace: &str,
    name: &str,
    action: &Action,
    seen: &SeenState,
    actor: &str,
) -> Result<ActionOutcome, ActionError> {
    // Defence in depth: the HTTP layer checks too, but no caller may put an arbitrary string
    // into a Kubernetes request path.
    crate::names::check_key(namespace, name)?;
    action.validate()?;
    let mut first_observed: Option<SeenState> = None;
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let mut rollout = backend
            .get(ROLLOUT_API_VERSION, ROLLOUT_KIND, namespace, name)
            .await
            .map_err(|e| not_found_as(e, format!("rollout '{namespace}/{name}' not found")))?;
        fill_namespace(&mut rollout, namespace);

        let guard = match &first_observed {
            None => seen.clone(),
            Some(first) => SeenState {
                resource_version: None,
                step_index: seen.step_index.or(first.step_index),
                pod_hash: seen
                    .pod_hash
                    .clone()
                    .filter(|h| !h.is_empty())
                    .or_else(|| first.pod_hash.clone()),
            },
        };
        if let Err(stale) = check_stale(&rollout, &guard) {
            tracing::info!(actor, cluster, action = %action, namespace, name, ?seen, attempt, %stale, "rollout action rejected: stale view");
            return Err(ActionError::Stale(stale));
        }
        if first_observed.is_none() {
            first_observed = Some(SeenState::observed(&rollout));
        }
        // The rules the UI shows: what it refuses, the server refuses with the same reason.
        let model: Rollout = serde_json::from_value(rollout.clone())
            .map_err(|e| PlanError::InvalidObject(format!("the rollout cannot be read: {e}")))?;
        if let Err(refusal) = applicable(action.name(), &model) {
            tracing::info!(actor, cluster, action = %action, namespace, name, ?seen, attempt, %refusal, "rollout action refused: does not apply");
            return Err(ActionError::NotApplicable(refusal));
        }

        let replica_sets = match action {
            Action::Undo { .. } => {
                let uid = rollout
                    .pointer("/metadata/uid")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                backend.list_replica_sets(namespace, uid).await?
            }
            _ => Vec::new(),
        };
        let workload = match action {
            Action::SetImage { .. } | Action::Undo { .. } => {
                fetch_workload(backend, &rollout, namespace).await?
            }
            _ => None,
        };
        let plan = plan(action, &rollout, &replica_sets, workload.as_ref())?;
        if plan.is_noop() {
            tracing::info!(actor, cluster, action = %action, namespace, name, ?seen, attempt, message = %plan.message, "rollout action needs no change");
            return Ok(ActionOutcome {
                message: plan.message,
                changed: false,
                patches: Vec::new(),
                rollout,
                workload,
                attempts: attempt,
            });
        }

        match apply(backend, &plan).await {
            Ok(applied) => {
                tracing::info!(
                    actor, cluster, action = %action, namespace, name, ?seen, attempt,
                    patches = %summarize(&applied.patches), "rollout action applied"
                );
                let rollout_after = applied.rollout.unwrap_or(rollout);
                let message = plan.message;
                let event_message = if cluster.is_empty() {
                    format!("{actor} via rollouts-dashboard: {message}")
                } else {
                    format!("{actor} via rollouts-dashboard: {message} (cluster {cluster})")
                };
                if let Err(e) = backend
                    .record_event(&rollout_after, event_reason(action), &event_message)
                    .await
                {
                    tracing::warn!(actor, cluster, action = %action, namespace, name, error = %e, "could not record the Event for a rollout action");
                }
                return Ok(ActionOutcome {
                    message,
                    changed: true,
                    patches: applied.patches,
                    rollout: rollout_after,
                    workload: applied.workload,
                    attempts: attempt,
                });
            }
            Err(failure) if failure.precondition_failed => {
                tracing::info!(
                    actor, cluster, action = %action, namespace, name, ?seen, attempt,
                    target = %failure.patch.target, error = %failure.error,
                    "rollout action lost a write race"
                );
                if attempt > MAX_CONFLICT_RETRIES {
                    return Err(ActionError::Conflict {
                        message: format!(
                            "{} kept changing while the action was applied ({attempt} attempts): {}",
                            failure.patch.target, failure.error
                        ),
                    });
                }
                tokio::time::sleep(CONFLICT_BACKOFF * 2u32.pow(attempt - 1)).await;
            }
            Err(failure) => {
                tracing::info!(
                    actor, cluster, action = %action, namespace, name, ?seen, attempt,
                    target = %failure.patch.target, error = %failure.error,
                    "rollout action patch failed"
                );
                return Err(match failure.error {
                    BackendError::NotFound { message } => ActionError::NotFound {
                        message: format!("{} not found: {message}", failure.patch.target),
                    },
                    other => other.into(),
                });
            }
        }
    }
}

/// GET the `spec.workloadRef` object, if the rollout has one.
async fn fetch_workload<B: ActionBackend>(
    backend: &B,
    rollout: &Value,
    namespace: &str,
) -> Result<Option<Value>, ActionError> {
    let Some(workload_ref) = rollout
        .pointer("/spec/workloadRef")
        .filter(|v| v.is_object())
    else {
        return Ok(None);
    };
    let kind = workload_ref
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let ref_name = workload_ref
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let api_version = match workload_ref
        .get("apiVersion")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        Some(v) => v,
        None => match kind {
            "Deployment" | "ReplicaSet" => "apps/v1",
            "PodTemplate" => "v1",
            other => return Err(PlanError::UnsupportedWorkload(other.to_string()).into()),
        },
    };
    if !matches!(kind, "Deployment" | "ReplicaSet" | "PodTemplate") {
        return Err(PlanError::UnsupportedWorkload(kind.to_string()).into());
    }
    let mut workload = backend
        .get(api_version, kind, namespace, ref_name)
        .await
        .map_err(|e| {
            not_found_as(
                e,
                format!("workloadRef {kind} '{namespace}/{ref_name}' not found"),
            )
        })?;
    fill_namespace(&mut workload, namespace);
    Ok(Some(workload))
}

struct Applied {
    patches: Vec<PlannedPatch>,
    rollout: Option<Value>,
    workload: Option<Value>,
}

struct ApplyFailure {
    patch: PlannedPatch,
    error: BackendError,
    precondition_failed: bool,
}

async fn apply<B: ActionBackend>(backend: &B, plan: &Plan) -> Result<Applied, ApplyFailure> {
    let mut applied = Applied {
        patches: Vec::new(),
        rollout: None,
        workload: None,
    };
    let mut fallback_sent: Option<Value> = None;
    for patch in &plan.patches {
        if let Some(fallback_body) = &fallback_sent
            && patch.subresource.is_none()
            && patch.patch_type == PatchType::Merge
            && merge_subsumed(fallback_body, &patch.body)
        {
            continue;
        }
        let (sent, response) = match backend.patch(patch).await {
            Ok(response) => (patch, response),
            Err(BackendError::NotFound { .. })
                if patch.subresource == Some(Subresource::Status) && patch.fallback.is_some() =>
            {
                let fallback = patch.fallback.as_deref().expect("checked above");
                let response = send(backend, fallback).await?;
                fallback_sent = Some(fallback.body.clone());
                (fallback, response)
            }
            Err(error) => return Err(failure(backend, patch, error).await),
        };
        let mut record = sent.clone();
        record.fallback = None;
        if record.target.kind == ROLLOUT_KIND {
            applied.rollout = Some(response);
        } else {
            applied.workload = Some(response);
        }
        applied.patches.push(record);
    }
    Ok(applied)
}

async fn send<B: ActionBackend>(backend: &B, patch: &PlannedPatch) -> Result<Value, ApplyFailure> {
    match backend.patch(patch).await {
        Ok(response) => Ok(response),
        Err(error) => Err(failure(backend, patch, error).await),
    }
}

async fn failure<B: ActionBackend>(
    backend: &B,
    patch: &PlannedPatch,
    error: BackendError,
) -> ApplyFailure {
    let precondition_failed = lost_race(backend, patch, &error).await;
    ApplyFailure {
        patch: patch.clone(),
        error,
        precondition_failed,
    }
}

/// True when a failed write lost a race with another writer, so that planning again on a
/// fresh read is right: 409 from any patch, or 422 from a JSON patch whose resourceVersion
/// `test` no longer holds.
///
/// A failed `test` cannot be told from other 422s by its answer: kube-apiserver 1.34 says
/// only "the server rejected our request due to an error in our request" with empty
/// details (older servers said "testing value ... failed: test failed"). So the target is
/// read again, and the race is lost only if its resourceVersion moved; a 422 on an
/// unchanged object is a real rejection and is returned as such.
async fn lost_race<B: ActionBackend>(
    backend: &B,
    patch: &PlannedPatch,
    error: &BackendError,
) -> bool {
    match error {
        BackendError::Conflict { .. } => true,
        BackendError::Invalid { .. } if patch.patch_type == PatchType::Json => {
            let Some(expected) = &patch.precondition_resource_version else {
                return false;
            };
            let target = &patch.target;
            match backend
                .get(
                    &target.api_version,
                    &target.kind,
                    &target.namespace,
                    &target.name,
                )
                .await
            {
                Ok(now) => {
                    now.pointer("/metadata/resourceVersion")
                        .and_then(Value::as_str)
                        != Some(expected.as_str())
                }
                Err(e) => {
                    tracing::warn!(target = %target, error = %e, "could not re-read an object after a rejected JSON patch");
                    false
                }
            }
        }
        _ => false,
    }
}

/// True when merging `patch` into `base` changes nothing: `base` already contains it.
fn merge_subsumed(base: &Value, patch: &Value) -> bool {
    let mut merged = base.clone();
    json_patch::merge(&mut merged, patch);
    &merged == base
}

fn not_found_as(error: BackendError, message: String) -> ActionError {
    match error {
        BackendError::NotFound { .. } => ActionError::NotFound { message },
        other => other.into(),
    }
}

fn fill_namespace(object: &mut Value, namespace: &str) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut)
        && meta
            .get("namespace")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        meta.insert("namespace".into(), Value::String(namespace.to_string()));
    }
}

fn summarize(patches: &[PlannedPatch]) -> String {
    patches
        .iter()
        .map(|p| {
            let sub = p
                .subresource
                .map(|s| format!("/{}", s.as_str()))
                .unwrap_or_default();
            format!("{}{sub} {}", p.target, p.body)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Applies `patch` to an in-memory `object` the way the API server would, for the demo
/// backend and tests.
///
/// * The resourceVersion precondition of a merge patch is checked first (409 Conflict); a
///   JSON patch's `test` op fails as the API server's does (422, bare message).
/// * Merge (and, approximately, strategic) patches use RFC 7386; JSON patches RFC 6902, where
///   a failed `test` is a 422 with the API server's wording.
/// * With `status_subresource` (how every Rollout CRD since v0.10 is served), a patch to the
///   status subresource changes only `status`, and a patch to the main resource leaves
///   `status` alone. Without it, a status-subresource patch is a 404.
/// * On success `metadata.resourceVersion` is incremented.
pub fn apply_in_memory(
    object: &mut Value,
    patch: &PlannedPatch,
    status_subresource: bool,
) -> Result<(), BackendError> {
    let current_rv = object
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let what = format!("{} \"{}\"", patch.target.plural, patch.target.name);
    if patch.subresource.is_some() && !status_subresource {
        return Err(BackendError::NotFound {
            message: format!(
                "the server could not find the requested resource (patch {what}/status)"
            ),
        });
    }
    // A JSON patch carries its precondition as a `test` op, which fails below with a 422.
    if let Some(rv) = &patch.precondition_resource_version
        && patch.patch_type != PatchType::Json
        && *rv != current_rv
    {
        return Err(BackendError::Conflict {
            message: format!(
                "Operation cannot be fulfilled on {what}: the object has been modified; please apply your changes to the latest version and try again"
            ),
        });
    }
    let mut patched = object.clone();
    match patch.patch_type {
        PatchType::Merge | PatchType::Strategic => json_patch::merge(&mut patched, &patch.body),
        PatchType::Json => {
            let ops: json_patch::Patch =
                serde_json::from_value(patch.body.clone()).map_err(|e| BackendError::Other {
                    status: 400,
                    message: format!("invalid JSON patch: {e}"),
                })?;
            json_patch::patch(&mut patched, &ops).map_err(|e| BackendError::Invalid {
                message: match e.kind {
                    // What kube-apiserver 1.34 answers, word for word, with empty details.
                    json_patch::PatchErrorKind::TestFailed => {
                        "the server rejected our request due to an error in our request".into()
                    }
                    _ => e.to_string(),
                },
            })?;
        }
    }
    if status_subresource {
        let status_of = |v: &Value| v.get("status").cloned();
        let mut result = if patch.subresource == Some(Subresource::Status) {
            let mut kept = object.clone();
            set_or_remove(&mut kept, "status", status_of(&patched));
            kept
        } else {
            set_or_remove(&mut patched, "status", status_of(object));
            patched
        };
        bump_resource_version(&mut result, &current_rv);
        *object = result;
    } else {
        bump_resource_version(&mut patched, &current_rv);
        *object = patched;
    }
    Ok(())
}

fn set_or_remove(object: &mut Value, key: &str, value: Option<Value>) {
    if let Some(map) = object.as_object_mut() {
        match value {
            Some(v) => map.insert(key.to_string(), v),
            None => map.remove(key),
        };
    }
}

fn bump_resource_version(object: &mut Value, current: &str) {
    let next = current
        .parse::<u64>()
        .map(|n| n + 1)
        .unwrap_or(1)
        .to_string();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), Value::String(next));
    }
}

#[cfg(test)]
mod tests;
