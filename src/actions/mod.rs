//! Rollout actions: promote, promote-full, abort, retry, restart, pause, resume, set-image
//! and undo, with the exact Kubernetes writes of the upstream `kubectl argo rollouts` plugin
//! (upstream `pkg/kubectl-argo-rollouts/cmd/{promote,abort,retry,restart,pause,set,undo}`)
//! and the fixes upstream lacks, listed below.
//!
//! * [`plan()`] (module [`plan`](mod@plan)) is pure: rollout, ReplicaSets and workload in,
//!   patches out. [`check_stale`] rejects actions taken on an outdated view.
//! * [`execute`] (module `exec`) runs a plan against any [`ActionBackend`]: GET, stale
//!   check, plan, patch (status subresource first, v0.9 fallback), retry lost
//!   resourceVersion races, record an Event. [`apply_in_memory`] applies a planned patch to
//!   an in-memory object the way the API server would, for the built-in demo.
//! * [`KubeBackend`] (module `kube_backend`) is the backend for a real cluster.
//!
//! Differences from upstream, all deliberate:
//! * promote's step skip, set-image and undo carry a resourceVersion precondition and are
//!   retried (re-read, re-checked, re-planned) when they lose a race; upstream sends none;
//! * a promote that arrives while the controller is still acting on a just-cleared pause
//!   (`controllerPause` true, no pause conditions) does not skip a step;
//! * set-image is a JSON patch of just the matching `image` fields (no read-then-PUT), on
//!   the workloadRef object of any supported kind, with the image taken whole (no split on
//!   `:`), and is a no-op when the image is already set;
//! * undo compares against the template really in use (the workload's, with a
//!   workloadRef), uses `/template` for PodTemplates and names the real revision;
//! * resume is new: it clears `spec.paused` and pause conditions without skipping a step;
//! * requests return when the write is done (upstream's set-image and undo hang after
//!   the write, waiting on an informer that was never started: argoproj/argo-rollouts#4956).

pub mod exec;
pub mod kube_backend;
pub mod plan;

pub use exec::{
    ActionBackend, ActionError, ActionOutcome, BackendError, MAX_CONFLICT_RETRIES, apply_in_memory,
    event_reason, execute, execute_in,
};
pub use kube_backend::{COMPONENT, KubeBackend, backend_error};
pub use plan::{
    ACTION_NAMES, Action, PatchType, Plan, PlanError, PlannedPatch, ROLLOUT_API_VERSION,
    ROLLOUT_KIND, SeenState, StaleError, Subresource, Target, check_stale, format_restart_at,
    is_controlled_by, plan, plural_of, split_api_version, validate_image,
};
