//! The demo source (`--demo`): a SIMULATION of a cluster running the Argo Rollouts
//! controller, held in memory, so a newcomer sees live rollouts with no cluster at all.
//!
//! Nothing here talks to Kubernetes and nothing here runs unless `--demo` is given. The
//! simulation is deliberately small: it advances canary steps and timed pauses, scales
//! ReplicaSets to the step weights, moves pods from Pending to Running, produces analysis
//! measurements and decides them, aborts on failed analysis, and switches blue-green
//! services on promotion. Its objects use the real Argo Rollouts field names, so the same
//! view model and the same action planning code run on them; actions are applied as the
//! API server would (JSON merge patch / JSON patch, resourceVersion preconditions).
//!
//! How it works: [`DemoWorld`] holds every object as the JSON an API server would serve
//! ([`world`]: keys, resourceVersions, uids, owner indexes, the change list). Each
//! [`DemoWorld::tick`] runs the simulated controllers over the rollouts that may change
//! ([`controller`], with the strategies in [`canary`] and [`bluegreen`], and [`experiment`],
//! [`analysis`] and [`pods`] for what they own); rollouts whose tick changed nothing and that
//! wait for nothing timed are *settled* and skipped until one of their objects changes.
//!
//! The controller reads a rollout's spec once per reconcile into a typed [`rollout::Spec`]
//! and edits its status through [`status::Status`]'s named operations; the objects
//! themselves stay JSON, since they feed the same decode path as a cluster's and actions
//! patch them as an API server would. [`scenarios`] seeds one rollout per state worth
//! showing and fast-forwards ten simulated minutes; [`objects`] builds the JSON.
//! [`super::demo_cluster`] runs the world in real time, feeds its changes to the store and
//! applies actions to it.

mod analysis;
mod bluegreen;
mod canary;
mod controller;
mod experiment;
mod objects;
mod pods;
mod rollout;
mod scenarios;
mod status;
#[cfg(test)]
mod testing;
mod world;

use jiff::SignedDuration;

pub use objects::{parse_duration, template_hash};
pub use world::{DemoWork, DemoWorld, ObjKey};

/// How long a new pod stays Pending before it is Running and Ready.
const POD_START: SignedDuration = SignedDuration::from_secs(2);
/// How long a healthy "cycling" rollout waits before the simulation ships a new version.
const CYCLE_IDLE: SignedDuration = SignedDuration::from_secs(25);
/// Annotation marking a rollout whose versions the simulation keeps shipping.
const CYCLE_ANNOTATION: &str = "demo.rollouts-dashboard/cycle";
/// Annotation holding when a cycling rollout's current version shipped or became stable.
const CYCLE_SINCE_ANNOTATION: &str = "demo.rollouts-dashboard/cycle-since";
/// Old revisions kept per rollout (the demo's `revisionHistoryLimit`).
const HISTORY_LIMIT: usize = 3;
/// Annotation counting retries, so a retried update gets fresh analysis runs.
const ATTEMPT_ANNOTATION: &str = "demo.rollouts-dashboard/attempt";
/// How long before `now` the `--demo-extra` rollouts start being simulated.
const EXTRA_HISTORY: SignedDuration = SignedDuration::from_mins(2);
/// Label on simulated analysis steps: the measured values pass or fail.
const FAILING_TEMPLATE: &str = "error-rate-failing";
/// Annotations the controller puts on an experiment's ReplicaSets.
const EXPERIMENT_NAME_ANNOTATION: &str = "experiment.argoproj.io/name";
const EXPERIMENT_TEMPLATE_ANNOTATION: &str = "experiment.argoproj.io/template-name";
