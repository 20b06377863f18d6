//! Pure planning of rollout actions: objects in, patches out.
//!
//! Nothing here talks to a cluster. [`plan`] reads the rollout (and, for undo and set-image,
//! its ReplicaSets and its `workloadRef` object) exactly as the API server returns them and
//! produces the list of patches the upstream `kubectl argo rollouts` plugin would send, with
//! three deliberate differences:
//!
//! * writes that must not race carry a resourceVersion precondition (upstream sends none),
//! * set-image is a JSON patch of the matching `image` fields instead of a read-then-PUT of
//!   the whole object, and works for every `workloadRef` kind,
//! * undo skips a rollback that would change nothing and names the real revision.
//!
//! [`check_stale`] is the guard that keeps a person from acting on a view that the rollout
//! has already left behind (for example a double-clicked promote).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::model::{POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION};

/// API version of the Rollout CRD.
pub const ROLLOUT_API_VERSION: &str = "argoproj.io/v1alpha1";
/// Kind of the Rollout CRD.
pub const ROLLOUT_KIND: &str = "Rollout";

/// One action a person can take on a rollout.
///
/// Serialized with an `action` tag, e.g. `{"action":"set-image","container":"app","image":"x"}`
/// or `{"action":"undo","revision":3}`. Requests from the HTTP layer are built with
/// [`Action::from_request`] (URL action name + JSON body), which also validates them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    /// Go to the next step / clear the current pause (upstream `promote`).
    Promote,
    /// Skip all remaining steps, pauses and analyses (upstream `promote --full`).
    PromoteFull,
    /// Abort the update and go back to the stable ReplicaSet.
    Abort,
    /// Retry an aborted update.
    Retry,
    /// Restart every pod; `at` is an RFC 3339 UTC timestamp with second precision.
    Restart { at: String },
    /// Set `spec.paused`.
    Pause,
    /// Our addition: clear `spec.paused` and any pause conditions, never skip a step.
    Resume,
    /// Set the image of one container, or of every container with `*`.
    SetImage { container: String, image: String },
    /// Roll back to a revision; `None` means the previous one.
    Undo {
        #[serde(rename = "revision", default, skip_serializing_if = "Option::is_none")]
        to_revision: Option<i64>,
    },
}

/// URL names of the actions, in the order the dashboard shows them (one list, kept with the
/// rules that decide when each applies).
pub const ACTION_NAMES: [&str; 9] = crate::view::applicability::RULED_ACTIONS;

impl Action {
    /// The URL name of the action (`promote-full`, `set-image`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Action::Promote => "promote",
            Action::PromoteFull => "promote-full",
            Action::Abort => "abort",
            Action::Retry => "retry",
            Action::Restart { .. } => "restart",
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::SetImage { .. } => "set-image",
            Action::Undo { .. } => "undo",
        }
    }

    /// Builds an action from the URL action name and the JSON request body.
    ///
    /// * `promote` also accepts upstream's `{"full":true}` body, which means `promote-full`.
    /// * `restart` takes an optional `at`; without it the restart is at `now`.
    /// * `set-image` needs `container` and `image` (the whole image reference, see
    ///   [`validate_image`]).
    /// * `undo` takes an optional `revision` (number or numeric string; 0 means previous).
    ///
    /// A null body counts as `{}`. Unknown body fields are rejected, so a typo such as
    /// `revison` cannot silently roll back to the wrong revision.
    pub fn from_request(
        name: &str,
        body: &Value,
        now: jiff::Timestamp,
    ) -> Result<Action, PlanError> {
        let empty = Map::new();
        let fields = match body {
            Value::Null => &empty,
            Value::Object(map) => map,
            _ => {
                return Err(PlanError::InvalidAction(
                    "the request body must be a JSON object".into(),
                ));
            }
        };
        let allowed: &[&str] = match name {
            "promote" => &["full"],
            "restart" => &["at"],
            "set-image" => &["container", "image"],
            "undo" => &["revision"],
            "promote-full" | "abort" | "retry" | "pause" | "resume" => &[],
            _ => {
                return Err(PlanError::InvalidAction(format!(
                    "unknown action \"{name}\" (expected one of: {})",
                    ACTION_NAMES.join(", ")
                )));
            }
        };
        if let Some(unknown) = fields.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(PlanError::InvalidAction(format!(
                "unknown field \"{unknown}\" for action \"{name}\""
            )));
        }
        let string_field = |key: &str| -> Result<Option<String>, PlanError> {
            match fields.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(PlanError::InvalidAction(format!(
                    "\"{key}\" must be a string"
                ))),
            }
        };
        let action = match name {
            "promote" => match fields.get("full") {
                None | Some(Value::Null) | Some(Value::Bool(false)) => Action::Promote,
                Some(Value::Bool(true)) => Action::PromoteFull,
                Some(_) => {
                    return Err(PlanError::InvalidAction(
                        "\"full\" must be a boolean".into(),
                    ));
                }
            },
            "promote-full" => Action::PromoteFull,
            "abort" => Action::Abort,
            "retry" => Action::Retry,
            "pause" => Action::Pause,
            "resume" => Action::Resume,
            "restart" => Action::Restart {
                at: match string_field("at")? {
                    Some(at) => at,
                    None => format_restart_at(now),
                },
            },
            "set-image" => Action::SetImage {
                container: string_field("container")?.ok_or_else(|| {
                    PlanError::InvalidAction("set-image needs a \"container\"".into())
                })?,
                image: string_field("image")?.ok_or_else(|| {
                    PlanError::InvalidAction("set-image needs an \"image\"".into())
                })?,
            },
            // Only "undo" is left: every other name returned above.
            _ => Action::Undo {
                to_revision: match fields.get("revision") {
                    None | Some(Value::Null) => None,
                    Some(Value::Number(n)) => Some(n.as_i64().ok_or_else(|| {
                        PlanError::InvalidAction("\"revision\" must be an integer".into())
                    })?),
                    Some(Value::String(s)) => Some(s.trim().parse().map_err(|_| {
                        PlanError::InvalidAction(format!(
                            "\"revision\" must be an integer, got {s:?}"
                        ))
                    })?),
                    Some(_) => {
                        return Err(PlanError::InvalidAction(
                            "\"revision\" must be an integer".into(),
                        ));
                    }
                },
            },
        };
        action.validate()?;
        Ok(action.normalized())
    }

    /// Checks the arguments of the action (image syntax, container name, restart time,
    /// revision sign). [`plan`] calls it too, so actions built by hand are checked as well.
    pub fn validate(&self) -> Result<(), PlanError> {
        match self {
            Action::Restart { at } => parse_restart_at(at).map(|_| ()),
            Action::SetImage { container, image } => {
                if container.trim().is_empty() {
                    return Err(PlanError::InvalidAction(
                        "the container name must not be empty".into(),
                    ));
                }
                validate_image(image)
            }
            Action::Undo {
                to_revision: Some(r),
            } if *r < 0 => Err(PlanError::InvalidAction(format!(
                "revision must be a positive integer, got {r}"
            ))),
            _ => Ok(()),
        }
    }

    /// Canonical form: restart time at second precision in UTC, `revision: 0` as "previous".
    fn normalized(self) -> Action {
        match self {
            Action::Restart { at } => match parse_restart_at(&at) {
                Ok(ts) => Action::Restart {
                    at: format_restart_at(ts),
                },
                Err(_) => Action::Restart { at },
            },
            Action::Undo {
                to_revision: Some(0),
            } => Action::Undo { to_revision: None },
            other => other,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Restart { at } => write!(f, "restart (at {at})"),
            Action::SetImage { container, image } => write!(f, "set-image {container}={image}"),
            Action::Undo {
                to_revision: Some(r),
            } => write!(f, "undo to revision {r}"),
            Action::Undo { to_revision: None } => write!(f, "undo to the previous revision"),
            other => f.write_str(other.name()),
        }
    }
}

/// Formats a restart time as upstream does: RFC 3339, UTC, whole seconds (`2024-05-01T10:00:00Z`).
pub fn format_restart_at(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn parse_restart_at(at: &str) -> Result<jiff::Timestamp, PlanError> {
    at.parse::<jiff::Timestamp>().map_err(|e| {
        PlanError::InvalidAction(format!(
            "restart time {at:?} is not an RFC 3339 timestamp: {e}"
        ))
    })
}

/// Validates an image reference: non-empty, no whitespace or control characters.
///
/// The image is used whole, as one string: it is never split into name and tag. That is what
/// keeps `registry.local:5000/team/app` (a registry port, no tag) and digests such as
/// `app@sha256:...` intact, where upstream's UI splits on the last `:` and breaks both.
pub fn validate_image(image: &str) -> Result<(), PlanError> {
    let invalid = |reason: &str| PlanError::InvalidImage {
        image: image.to_string(),
        reason: reason.into(),
    };
    if image.is_empty() {
        return Err(invalid("the image must not be empty"));
    }
    if image.chars().any(char::is_whitespace) {
        return Err(invalid("the image must not contain whitespace"));
    }
    if image.chars().any(char::is_control) {
        return Err(invalid("the image must not contain control characters"));
    }
    if image.starts_with(['/', ':', '@']) || image.ends_with(['/', ':', '@']) {
        return Err(invalid(
            "the image must not start or end with '/', ':' or '@'",
        ));
    }
    Ok(())
}

/// The object a patch is sent to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub api_version: String,
    pub kind: String,
    /// Lower-case plural resource name, as in REST paths (`rollouts`, `deployments`).
    pub plural: String,
    pub name: String,
    pub namespace: String,
}

impl Target {
    /// The target describing `object` (reads apiVersion, kind, name and namespace).
    pub fn of(object: &Value) -> Result<Target, PlanError> {
        let kind = str_at(object, &["kind"]).unwrap_or_default();
        let api_version = str_at(object, &["apiVersion"])
            .map(str::to_string)
            .or_else(|| default_api_version(kind).map(str::to_string))
            .unwrap_or_default();
        let name = str_at(object, &["metadata", "name"]).unwrap_or_default();
        if kind.is_empty() || api_version.is_empty() || name.is_empty() {
            return Err(PlanError::InvalidObject(
                "the object has no apiVersion, kind or metadata.name".into(),
            ));
        }
        Ok(Target {
            api_version,
            kind: kind.to_string(),
            plural: plural_of(kind),
            name: name.to_string(),
            namespace: str_at(object, &["metadata", "namespace"])
                .unwrap_or_default()
                .to_string(),
        })
    }

    /// `(group, version)`; the core group is `""`.
    pub fn group_version(&self) -> (&str, &str) {
        split_api_version(&self.api_version)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// Splits `apps/v1` into `("apps", "v1")` and `v1` into `("", "v1")`.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

/// Lower-case plural resource name of a kind: the kinds actions touch, else `<kind>s`.
pub fn plural_of(kind: &str) -> String {
    match kind {
        "Rollout" => "rollouts".into(),
        "Deployment" => "deployments".into(),
        "ReplicaSet" => "replicasets".into(),
        "PodTemplate" => "podtemplates".into(),
        "Event" => "events".into(),
        other => format!("{}s", other.to_ascii_lowercase()),
    }
}

fn default_api_version(kind: &str) -> Option<&'static str> {
    match kind {
        "Rollout" => Some(ROLLOUT_API_VERSION),
        "Deployment" | "ReplicaSet" => Some("apps/v1"),
        "PodTemplate" | "Event" => Some("v1"),
        _ => None,
    }
}

/// A subresource a patch can be sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Subresource {
    Status,
}

impl Subresource {
    pub fn as_str(self) -> &'static str {
        match self {
            Subresource::Status => "status",
        }
    }
}

/// How the body of a patch is interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PatchType {
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/strategic-merge-patch+json` (built-in kinds only).
    Strategic,
}

impl PatchType {
    pub fn content_type(self) -> &'static str {
        match self {
            PatchType::Merge => "application/merge-patch+json",
            PatchType::Json => "application/json-patch+json",
            PatchType::Strategic => "application/strategic-merge-patch+json",
        }
    }
}

/// One write to send.
///
/// `body` is exactly what goes on the wire. When `precondition_resource_version` is set, the
/// body already enforces it: merge patches carry it as `metadata.resourceVersion` (the API
/// server answers 409 Conflict when it is stale) and JSON patches start with a `test` op on
/// `/metadata/resourceVersion` (the API server answers 422 when it fails). The field is
/// repeated here so that in-memory backends and audit logs need not parse the body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedPatch {
    pub target: Target,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subresource: Option<Subresource>,
    pub patch_type: PatchType,
    pub body: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precondition_resource_version: Option<String>,
    /// What to send to the main resource instead when the status subresource answers 404
    /// (Rollout CRDs of v0.9 have no status subresource). When a fallback was used, later
    /// main-resource merge patches that the fallback already contains are skipped, exactly
    /// as upstream replaces its spec patch by the unified patch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Box<PlannedPatch>>,
}

/// The outcome of planning: the patches to send in order, and the message to show when they
/// succeed. An empty `patches` means nothing needs to change and `message` says why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub patches: Vec<PlannedPatch>,
    pub message: String,
}

impl Plan {
    /// True when nothing needs to be written.
    pub fn is_noop(&self) -> bool {
        self.patches.is_empty()
    }

    fn noop(message: String) -> Plan {
        Plan {
            patches: Vec::new(),
            message,
        }
    }
}

/// Why an action cannot be planned. All of them are the caller's or the object's fault
/// (HTTP 422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("{0}")]
    InvalidAction(String),
    #[error("invalid image {image:?}: {reason}")]
    InvalidImage { image: String, reason: String },
    #[error("unable to find container named \"{0}\"")]
    ContainerNotFound(String),
    #[error("unable to find specified revision {0} in history")]
    RevisionNotFound(i64),
    #[error("no revision found for rollout \"{0}\"")]
    NoRevision(String),
    #[error("workload of type {0} is not supported")]
    UnsupportedWorkload(String),
    #[error(
        "the rollout's workloadRef {kind} \"{name}\" is needed for this action but was not supplied"
    )]
    MissingWorkload { kind: String, name: String },
    #[error("invalid object: {0}")]
    InvalidObject(String),
}

impl PlanError {
    /// A stable, machine-readable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            PlanError::InvalidAction(_) => "invalid_action",
            PlanError::InvalidImage { .. } => "invalid_image",
            PlanError::ContainerNotFound(_) => "container_not_found",
            PlanError::RevisionNotFound(_) => "revision_not_found",
            PlanError::NoRevision(_) => "no_revision",
            PlanError::UnsupportedWorkload(_) => "unsupported_workload",
            PlanError::MissingWorkload { .. } => "workload_missing",
            PlanError::InvalidObject(_) => "invalid_object",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Stale-view guard
// ---------------------------------------------------------------------------------------------

/// What the person saw when they clicked: sent by the UI with every action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SeenState {
    /// `metadata.resourceVersion` of the rollout as displayed.
    pub resource_version: Option<String>,
    /// `status.currentStepIndex` as displayed.
    pub step_index: Option<i32>,
    /// `status.currentPodHash` as displayed.
    pub pod_hash: Option<String>,
}

impl SeenState {
    /// The step and pod hash of `rollout` now, without a resourceVersion: what a retry after
    /// a write conflict compares against.
    pub fn observed(rollout: &Value) -> SeenState {
        SeenState {
            resource_version: None,
            step_index: step_index(rollout),
            pod_hash: str_at(rollout, &["status", "currentPodHash"]).map(str::to_string),
        }
    }

    fn normalized(&self) -> SeenState {
        let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
        SeenState {
            resource_version: nonempty(&self.resource_version),
            step_index: self.step_index,
            pod_hash: nonempty(&self.pod_hash),
        }
    }
}

/// The rollout is no longer in the state the person saw.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the rollout changed since it was displayed: {}", changes.join("; "))]
pub struct StaleError {
    /// One sentence per change, e.g. "step moved from 1 to 2".
    pub changes: Vec<String>,
}

/// Rejects an action whose view is out of date.
///
/// * A given step index or pod hash that differs from the current one is stale
///   ("step moved from 1 to 2", "pod hash changed from a to b"). A missing
///   `status.currentStepIndex` counts as step 0, as upstream reads it.
/// * A differing resourceVersion only matters when neither a step index nor a pod hash was
///   given: the controller rewrites status all the time, so the resourceVersion alone would
///   reject almost every click on a progressing rollout.
/// * An empty `SeenState` is never stale.
///
/// This is what makes a double-click of promote safe: the second request carries the step
/// index the first one moved away from, and is rejected.
pub fn check_stale(rollout: &Value, seen: &SeenState) -> Result<(), StaleError> {
    let seen = seen.normalized();
    let mut changes = Vec::new();
    if let Some(seen_step) = seen.step_index {
        let current = step_index(rollout).unwrap_or(0);
        if current != seen_step {
            changes.push(format!("step moved from {seen_step} to {current}"));
        }
    }
    if let Some(seen_hash) = &seen.pod_hash {
        let current = str_at(rollout, &["status", "currentPodHash"]).unwrap_or("");
        if current != seen_hash {
            let current = if current.is_empty() { "none" } else { current };
            changes.push(format!("pod hash changed from {seen_hash} to {current}"));
        }
    }
    if seen.step_index.is_none()
        && seen.pod_hash.is_none()
        && let Some(seen_rv) = &seen.resource_version
    {
        let current = str_at(rollout, &["metadata", "resourceVersion"]).unwrap_or("");
        if current != seen_rv {
            changes.push(format!(
                "resourceVersion changed from {seen_rv} to {current}"
            ));
        }
    }
    if changes.is_empty() {
        Ok(())
    } else {
        Err(StaleError { changes })
    }
}

fn step_index(rollout: &Value) -> Option<i32> {
    value_at(rollout, &["status", "currentStepIndex"])
        .and_then(Value::as_i64)
        .and_then(|i| i32::try_from(i).ok())
}

// ---------------------------------------------------------------------------------------------
// Planning
// ---------------------------------------------------------------------------------------------

/// Plans `action` on `rollout`.
///
/// * `replica_sets`: the ReplicaSets of the namespace (or those owned by the rollout); only
///   undo reads them, and only those *controlled* by the rollout count.
/// * `workload`: the object named by `spec.workloadRef`; needed by set-image and undo when the
///   rollout has a workloadRef, ignored otherwise.
pub fn plan(
    action: &Action,
    rollout: &Value,
    replica_sets: &[Value],
    workload: Option<&Value>,
) -> Result<Plan, PlanError> {
    action.validate()?;
    let target = Target::of(rollout)?;
    let name = target.name.clone();
    match action {
        Action::Promote => Ok(plan_promote(rollout, &target)),
        Action::PromoteFull => Ok(plan_promote_full(rollout, &target)),
        Action::Abort => Ok(Plan {
            patches: vec![status_with_fallback(
                &target,
                json!({"status": {"abort": true}}),
                None,
                None,
            )],
            message: format!("rollout '{name}' aborted"),
        }),
        Action::Retry => Ok(Plan {
            patches: vec![status_with_fallback(
                &target,
                json!({"status": {"abort": false}}),
                None,
                None,
            )],
            message: format!("rollout '{name}' retried"),
        }),
        Action::Restart { at } => {
            let at = format_restart_at(parse_restart_at(at)?);
            Ok(Plan {
                patches: vec![main_merge(
                    &target,
                    json!({"spec": {"restartAt": at}}),
                    None,
                )],
                message: format!("rollout '{name}' restarts at {at}"),
            })
        }
        Action::Pause => Ok(Plan {
            patches: vec![main_merge(&target, json!({"spec": {"paused": true}}), None)],
            message: format!("rollout '{name}' paused"),
        }),
        Action::Resume => Ok(plan_resume(rollout, &target)),
        Action::SetImage { container, image } => {
            plan_set_image(rollout, workload, container, image)
        }
        Action::Undo { to_revision } => plan_undo(rollout, replica_sets, workload, *to_revision),
    }
}

fn unpause() -> Value {
    json!({"spec": {"paused": false}})
}

/// Upstream `getPatches` for a plain promote, plus one guard (see rule 3).
fn plan_promote(rollout: &Value, target: &Target) -> Plan {
    let name = &target.name;
    let rv = resource_version(rollout);
    let paused = bool_at(rollout, &["spec", "paused"]);
    let has_pause_conditions = value_at(rollout, &["status", "pauseConditions"])
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let controller_pause = bool_at(rollout, &["status", "controllerPause"]);
    let inconclusive = is_canary(rollout)
        && str_at(
            rollout,
            &["status", "canary", "currentStepAnalysisRunStatus", "status"],
        ) == Some("Inconclusive");

    let mut patches = Vec::new();
    let mut unified = json!({"spec": {"paused": false}, "status": {"pauseConditions": null}});
    let mut unified_precondition = None;
    let mut status: Option<(Value, Option<String>)> = None;
    let mut note = None;

    if inconclusive && has_pause_conditions && controller_pause {
        // Rule 1: an inconclusive canary step analysis: clear the pause and move on.
        if let Some(next) = next_step_index(rollout) {
            status = Some((
                json!({"status": {"pauseConditions": null, "controllerPause": false, "currentStepIndex": next}}),
                rv.clone(),
            ));
        }
    } else if has_pause_conditions {
        // Rule 2: clear the pause; the controller moves to the next step itself.
        status = Some((json!({"status": {"pauseConditions": null}}), None));
    } else if is_canary(rollout) {
        // Rule 3: a canary with steps and no pause condition (mid-analysis, mid-experiment):
        // skip the current step.
        if let Some(next) = next_step_index(rollout) {
            if controller_pause {
                // Guard (not upstream): the pause conditions were just cleared (by a first
                // click) and the controller has not caught up yet. Skipping a step now would
                // advance two steps for one intent.
                note = Some(format!(
                    "rollout '{name}' is already resuming (waiting for the controller to unpause); no step skipped"
                ));
            } else {
                status = Some((
                    json!({"status": {"pauseConditions": null, "currentStepIndex": next}}),
                    rv.clone(),
                ));
                unified = json!({"spec": {"paused": false}, "status": {"pauseConditions": null, "currentStepIndex": next}});
                unified_precondition = rv.clone();
            }
        }
    }
    // Rule 4: blue-green without a pause condition: no status patch.

    if let Some((body, precondition)) = status {
        patches.push(status_with_fallback(
            target,
            body,
            precondition,
            Some((unified, unified_precondition)),
        ));
    }
    if paused {
        patches.push(main_merge(target, unpause(), None));
    }
    if patches.is_empty() {
        return Plan::noop(
            note.unwrap_or_else(|| format!("rollout '{name}' is not paused; nothing to promote")),
        );
    }
    Plan {
        patches,
        message: format!("rollout '{name}' promoted"),
    }
}

/// Upstream `promote --full`.
fn plan_promote_full(rollout: &Value, target: &Target) -> Plan {
    let name = &target.name;
    let mut patches = Vec::new();
    let current = str_at(rollout, &["status", "currentPodHash"]).unwrap_or("");
    let stable = str_at(rollout, &["status", "stableRS"]).unwrap_or("");
    if current != stable {
        patches.push(status_with_fallback(
            target,
            json!({"status": {"promoteFull": true}}),
            None,
            Some((
                json!({"spec": {"paused": false}, "status": {"promoteFull": true}}),
                None,
            )),
        ));
    }
    if bool_at(rollout, &["spec", "paused"]) {
        patches.push(main_merge(target, unpause(), None));
    }
    if patches.is_empty() {
        return Plan::noop(format!(
            "rollout '{name}' is already fully promoted; nothing to do"
        ));
    }
    Plan {
        patches,
        message: format!("rollout '{name}' fully promoted"),
    }
}

/// Our resume: exactly promote's rule 2 plus the spec unpause, never a step skip.
fn plan_resume(rollout: &Value, target: &Target) -> Plan {
    let name = &target.name;
    let mut patches = Vec::new();
    let has_pause_conditions = value_at(rollout, &["status", "pauseConditions"])
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if has_pause_conditions {
        patches.push(status_with_fallback(
            target,
            json!({"status": {"pauseConditions": null}}),
            None,
            Some((
                json!({"spec": {"paused": false}, "status": {"pauseConditions": null}}),
                None,
            )),
        ));
    }
    if bool_at(rollout, &["spec", "paused"]) {
        patches.push(main_merge(target, unpause(), None));
    }
    if patches.is_empty() {
        return Plan::noop(format!("rollout '{name}' is not paused; nothing to resume"));
    }
    Plan {
        patches,
        message: format!("rollout '{name}' resumed"),
    }
}

/// The object holding the pod template, and the JSON pointer of that template in it.
struct TemplateHolder<'a> {
    object: &'a Value,
    target: Target,
    template_path: &'static str,
}

fn template_holder<'a>(
    rollout: &'a Value,
    workload: Option<&'a Value>,
) -> Result<TemplateHolder<'a>, PlanError> {
    let Some(workload_ref) = value_at(rollout, &["spec", "workloadRef"]).filter(|v| v.is_object())
    else {
        return Ok(TemplateHolder {
            object: rollout,
            target: Target::of(rollout)?,
            template_path: "/spec/template",
        });
    };
    let kind = str_at(workload_ref, &["kind"])
        .unwrap_or_default()
        .to_string();
    let ref_name = str_at(workload_ref, &["name"])
        .unwrap_or_default()
        .to_string();
    let template_path = match kind.as_str() {
        "Deployment" | "ReplicaSet" => "/spec/template",
        "PodTemplate" => "/template",
        _ => return Err(PlanError::UnsupportedWorkload(kind)),
    };
    let object = workload.ok_or_else(|| PlanError::MissingWorkload {
        kind: kind.clone(),
        name: ref_name.clone(),
    })?;
    let mut target = Target::of(object)?;
    if target.kind != kind || target.name != ref_name {
        return Err(PlanError::InvalidObject(format!(
            "the workload supplied is {} \"{}\", but the rollout's workloadRef names {kind} \"{ref_name}\"",
            target.kind, target.name
        )));
    }
    if target.namespace.is_empty() {
        target.namespace = str_at(rollout, &["metadata", "namespace"])
            .unwrap_or_default()
            .to_string();
    }
    Ok(TemplateHolder {
        object,
        target,
        template_path,
    })
}

/// Set-image as one JSON patch of the matching `image` fields.
///
/// For every matching container the patch has a `test` of the container's name at its index
/// and a `replace` of its image, so it can never write into a container that moved; the whole
/// patch is also guarded by a `test` of the resourceVersion.
fn plan_set_image(
    rollout: &Value,
    workload: Option<&Value>,
    container: &str,
    image: &str,
) -> Result<Plan, PlanError> {
    let holder = template_holder(rollout, workload)?;
    let pod_spec_pointer = format!("{}/spec", holder.template_path);
    let pod_spec = holder.object.pointer(&pod_spec_pointer);
    let mut ops = Vec::new();
    let mut found = false;
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        let Some(items) = pod_spec.and_then(|s| s.get(list)).and_then(Value::as_array) else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let item_name = str_at(item, &["name"]).unwrap_or_default();
            if container != "*" && item_name != container {
                continue;
            }
            found = true;
            if str_at(item, &["image"]) == Some(image) {
                continue;
            }
            ops.push(json!({"op": "test", "path": format!("{pod_spec_pointer}/{list}/{i}/name"), "value": item_name}));
            ops.push(json!({"op": "replace", "path": format!("{pod_spec_pointer}/{list}/{i}/image"), "value": image}));
        }
    }
    if !found {
        return Err(PlanError::ContainerNotFound(container.to_string()));
    }
    let kind = holder.target.kind.to_ascii_lowercase();
    let holder_name = holder.target.name.clone();
    if ops.is_empty() {
        return Ok(Plan::noop(format!(
            "{kind} \"{holder_name}\" already uses image {image}; nothing to do"
        )));
    }
    let rv = resource_version(holder.object);
    Ok(Plan {
        patches: vec![json_patch(holder.target, ops, rv)],
        message: format!("{kind} \"{holder_name}\" image updated"),
    })
}

/// Upstream `RunUndoRollout`, with the skip compared against the template that is really in
/// use (the workload's, when there is a workloadRef) and the real revision in the message.
fn plan_undo(
    rollout: &Value,
    replica_sets: &[Value],
    workload: Option<&Value>,
    to_revision: Option<i64>,
) -> Result<Plan, PlanError> {
    let rollout_name = str_at(rollout, &["metadata", "name"])
        .unwrap_or_default()
        .to_string();
    let uid = str_at(rollout, &["metadata", "uid"]).unwrap_or_default();
    let owned: Vec<(&Value, i64)> = replica_sets
        .iter()
        .filter(|rs| is_controlled_by(rs, uid))
        .filter_map(|rs| revision_of(rs).map(|r| (rs, r)))
        .collect();
    let (rs, revision) = match to_revision.filter(|r| *r > 0) {
        Some(wanted) => owned
            .iter()
            .find(|(_, r)| *r == wanted)
            .copied()
            .ok_or(PlanError::RevisionNotFound(wanted))?,
        None => {
            // Second-highest revision, first one wins on ties (as upstream).
            let mut latest: Option<(&Value, i64)> = None;
            let mut previous: Option<(&Value, i64)> = None;
            for &(rs, r) in &owned {
                if latest.is_none_or(|(_, l)| l < r) {
                    previous = latest;
                    latest = Some((rs, r));
                } else if previous.is_none_or(|(_, p)| p < r) {
                    previous = Some((rs, r));
                }
            }
            previous.ok_or_else(|| PlanError::NoRevision(rollout_name.clone()))?
        }
    };

    let holder = template_holder(rollout, workload)?;
    let mut wanted = rs
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    strip_hash_label(&mut wanted);
    if let Some(current) = holder.object.pointer(holder.template_path) {
        let mut current = current.clone();
        strip_hash_label(&mut current);
        if semantic_derivative(&current, &wanted) {
            return Ok(Plan::noop(format!(
                "skipped rollback (current template already matches revision {revision})"
            )));
        }
    }
    let rv = resource_version(holder.object);
    let ops = vec![json!({"op": "replace", "path": holder.template_path, "value": wanted})];
    Ok(Plan {
        patches: vec![json_patch(holder.target, ops, rv)],
        message: format!("rollout '{rollout_name}' undo"),
    })
}

/// True when `rs` has a controller ownerReference with `uid`.
pub fn is_controlled_by(rs: &Value, uid: &str) -> bool {
    !uid.is_empty()
        && value_at(rs, &["metadata", "ownerReferences"])
            .and_then(Value::as_array)
            .is_some_and(|refs| {
                refs.iter().any(|r| {
                    str_at(r, &["uid"]) == Some(uid)
                        && value_at(r, &["controller"]).and_then(Value::as_bool) == Some(true)
                })
            })
}

/// The revision annotation: 0 when absent, `None` when it is not an integer (upstream skips
/// such ReplicaSets).
fn revision_of(rs: &Value) -> Option<i64> {
    match value_at(rs, &["metadata", "annotations", REVISION_ANNOTATION]) {
        None => Some(0),
        Some(v) => v.as_str().and_then(|s| s.parse().ok()),
    }
}

/// Removes the `rollouts-pod-template-hash` label of a pod template, and the labels map when
/// it becomes empty (Go's `omitempty` does the same upstream).
fn strip_hash_label(template: &mut Value) {
    if let Some(labels) = template
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(POD_TEMPLATE_HASH_LABEL);
        if labels.is_empty()
            && let Some(meta) = template
                .pointer_mut("/metadata")
                .and_then(Value::as_object_mut)
        {
            meta.remove("labels");
        }
    }
}

/// apimachinery's `Semantic.DeepDerivative(a, b)` on JSON: fields unset in `a` (null, empty
/// strings, empty maps and lists) are not compared, so defaults the API server filled in on
/// the ReplicaSet (`terminationMessagePath`, `dnsPolicy`, ...) do not count as differences.
/// Unlike apimachinery, a non-empty list must have the same length on both sides: a template
/// with one container is not "equal" to one with two.
fn semantic_derivative(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, _) => true,
        (Value::String(s), _) if s.is_empty() => true,
        (Value::Object(m), _) if m.is_empty() => true,
        (Value::Array(v), _) if v.is_empty() => true,
        (Value::Object(ma), Value::Object(mb)) => ma.iter().all(|(k, va)| match mb.get(k) {
            Some(vb) => semantic_derivative(va, vb),
            None => is_unset(va),
        }),
        (Value::Array(va), Value::Array(vb)) => {
            va.len() == vb.len() && va.iter().zip(vb).all(|(x, y)| semantic_derivative(x, y))
        }
        (Value::Number(x), Value::Number(y)) => {
            x == y || (x.as_f64().is_some() && x.as_f64() == y.as_f64())
        }
        _ => a == b,
    }
}

fn is_unset(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Patch builders and JSON helpers
// ---------------------------------------------------------------------------------------------

fn with_merge_precondition(mut body: Value, rv: Option<&str>) -> Value {
    if let (Some(rv), Some(obj)) = (rv, body.as_object_mut()) {
        obj.insert("metadata".into(), json!({"resourceVersion": rv}));
    }
    body
}

fn main_merge(target: &Target, body: Value, precondition: Option<String>) -> PlannedPatch {
    PlannedPatch {
        target: target.clone(),
        subresource: None,
        patch_type: PatchType::Merge,
        body: with_merge_precondition(body, precondition.as_deref()),
        precondition_resource_version: precondition,
        fallback: None,
    }
}

/// A merge patch to the status subresource; the fallback defaults to the same body sent to
/// the main resource (abort, retry).
fn status_with_fallback(
    target: &Target,
    body: Value,
    precondition: Option<String>,
    fallback: Option<(Value, Option<String>)>,
) -> PlannedPatch {
    let (fallback_body, fallback_precondition) =
        fallback.unwrap_or_else(|| (body.clone(), precondition.clone()));
    PlannedPatch {
        target: target.clone(),
        subresource: Some(Subresource::Status),
        patch_type: PatchType::Merge,
        body: with_merge_precondition(body, precondition.as_deref()),
        precondition_resource_version: precondition,
        fallback: Some(Box::new(main_merge(
            target,
            fallback_body,
            fallback_precondition,
        ))),
    }
}

fn json_patch(target: Target, mut ops: Vec<Value>, precondition: Option<String>) -> PlannedPatch {
    if let Some(rv) = &precondition {
        ops.insert(
            0,
            json!({"op": "test", "path": "/metadata/resourceVersion", "value": rv}),
        );
    }
    PlannedPatch {
        target,
        subresource: None,
        patch_type: PatchType::Json,
        body: Value::Array(ops),
        precondition_resource_version: precondition,
        fallback: None,
    }
}

/// `status.currentStepIndex + 1` capped at the number of steps (upstream
/// `GetCurrentCanaryStep`); `None` when the rollout is not a canary with steps.
fn next_step_index(rollout: &Value) -> Option<i64> {
    let steps = value_at(rollout, &["spec", "strategy", "canary", "steps"])
        .and_then(Value::as_array)
        .map(Vec::len)
        .filter(|n| *n > 0)? as i64;
    let index = value_at(rollout, &["status", "currentStepIndex"])
        .and_then(Value::as_i64)
        .unwrap_or(0);
    Some(if index < steps { index + 1 } else { index })
}

fn is_canary(rollout: &Value) -> bool {
    value_at(rollout, &["spec", "strategy", "canary"]).is_some_and(|v| !v.is_null())
}

fn resource_version(object: &Value) -> Option<String> {
    str_at(object, &["metadata", "resourceVersion"])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn value_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, key| v.get(key))
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    value_at(v, path).and_then(Value::as_str)
}

fn bool_at(v: &Value, path: &[&str]) -> bool {
    value_at(v, path).and_then(Value::as_bool).unwrap_or(false)
}

#[cfg(test)]
mod tests;
