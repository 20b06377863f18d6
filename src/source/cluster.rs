//! The live source: one kube watcher per kind (per watched namespace), whatever the number of
//! browsers, feeding the shared store.
//!
//! Watchers relist at once on expired resource versions and retry with a short capped
//! backoff on errors, so the dashboard recovers within seconds of the API server, without a
//! restart; every error is reflected, typed, in the health that `/readyz`, the API and the
//! UI report (CRDs missing, forbidden, unreachable), while the last objects listed stay shown.
//!
//! Events are watched the same way (one watch per namespace scope, only those about a
//! Rollout, by field selector), but they are a garnish: an identity that may not list them
//! loses the history, not the dashboard, so their errors stay out of the health.

use std::path::PathBuf;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;

use crate::health::{Problem, ProblemCode};
use crate::model::{Kind, Object, RolloutEvent};
use crate::store::ClusterStore;

/// Why the cluster could not be reached at start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot read kubeconfig {path}: {source}")]
    Kubeconfig {
        path: PathBuf,
        source: kube::config::KubeconfigError,
    },
    #[error("cannot load Kubernetes configuration: {0}")]
    Config(String),
    #[error("cannot create Kubernetes client: {0}")]
    Client(#[from] kube::Error),
}

/// Loads the Kubernetes configuration from `--kubeconfig`/`--context`, else the usual
/// inference (KUBECONFIG, ~/.kube/config, in-cluster service account).
pub async fn kube_config(
    kubeconfig: Option<&PathBuf>,
    context: Option<&str>,
) -> Result<kube::Config, ClusterError> {
    let options = KubeConfigOptions {
        context: context.map(str::to_owned),
        ..Default::default()
    };
    match kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path).map_err(|source| ClusterError::Kubeconfig {
                path: path.clone(),
                source,
            })?;
            kube::Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|source| ClusterError::Kubeconfig {
                    path: path.clone(),
                    source,
                })
        }
        None if context.is_some() => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| ClusterError::Config(e.to_string())),
        None => kube::Config::infer()
            .await
            .map_err(|e| ClusterError::Config(e.to_string())),
    }
}

/// The name of the cluster [`kube_config`] connects to: the context's name (the one asked
/// for, else the kubeconfig's current context), or `in-cluster` without a kubeconfig.
pub fn cluster_name(kubeconfig: Option<&PathBuf>, context: Option<&str>) -> String {
    if let Some(context) = context {
        return context.to_owned();
    }
    let file = match kubeconfig {
        Some(path) => Kubeconfig::read_from(path).ok(),
        None => Kubeconfig::read().ok(),
    };
    file.and_then(|f| f.current_context)
        .unwrap_or_else(|| IN_CLUSTER.to_owned())
}

/// The name of the cluster the dashboard runs in, when it uses its service account.
pub const IN_CLUSTER: &str = "in-cluster";

/// Builds a client from [`kube_config`].
pub async fn client(
    kubeconfig: Option<&PathBuf>,
    context: Option<&str>,
) -> Result<Client, ClusterError> {
    Ok(Client::try_from(kube_config(kubeconfig, context).await?)?)
}

/// The API resource of a watched kind.
pub fn api_resource(kind: Kind) -> ApiResource {
    let (group, version) = match kind.api_version().split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", kind.api_version()),
    };
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(group, version, kind.as_str()),
        kind.plural(),
    )
}

/// Decides which namespaces to watch. With none requested, tries cluster-wide; if the
/// identity may not list rollouts cluster-wide, falls back to the context's namespace and
/// says so in the returned note.
pub async fn resolve_namespaces(
    client: &Client,
    requested: &[String],
) -> (Vec<String>, Option<String>) {
    if !requested.is_empty() {
        return (requested.to_vec(), None);
    }
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &api_resource(Kind::Rollout));
    match api.list_metadata(&ListParams::default().limit(1)).await {
        Err(kube::Error::Api(status)) if status.is_forbidden() => {
            let ns = client.default_namespace().to_owned();
            let note = format!(
                "This identity may not list rollouts in all namespaces ({}); watching only \
                 namespace {ns:?} from the kubeconfig context. Pass -n/--namespace to choose.",
                status.message
            );
            (vec![ns], Some(note))
        }
        _ => (vec![], None),
    }
}

/// The API resource of core/v1 Events.
pub fn events_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "Event"), "events")
}

/// The field selector of the Events watch: only Events about a Rollout reach the dashboard
/// (the API server supports `involvedObject.kind` for Events; one value, so AnalysisRun and
/// Experiment Events would need watches of their own).
pub const EVENTS_FIELD_SELECTOR: &str = "involvedObject.kind=Rollout";

/// Starts one watcher per kind and namespace, and one of Events per namespace; returns their
/// tasks.
pub fn spawn_watchers(
    client: Client,
    namespaces: &[String],
    store: &ClusterStore,
) -> Vec<tokio::task::JoinHandle<()>> {
    let scopes: Vec<Option<String>> = if namespaces.is_empty() {
        vec![None]
    } else {
        namespaces.iter().cloned().map(Some).collect()
    };
    let mut tasks = vec![];
    for kind in Kind::ALL {
        for scope in &scopes {
            let resource = api_resource(kind);
            let api: Api<DynamicObject> = match scope {
                Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
                None => Api::all_with(client.clone(), &resource),
            };
            let multi_scope = scopes.len() > 1;
            let sink = KindSink {
                kind,
                scope: scope.clone(),
                multi_scope,
                store: store.clone(),
                initial: vec![],
            };
            tasks.push(tokio::spawn(watch(api, list_config(), sink)));
        }
    }
    for scope in &scopes {
        let resource = events_resource();
        let api: Api<DynamicObject> = match scope {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
            None => Api::all_with(client.clone(), &resource),
        };
        let sink = EventSink {
            scope: scope.clone(),
            store: store.clone(),
            initial: vec![],
        };
        let config = list_config().fields(EVENTS_FIELD_SELECTOR);
        tasks.push(tokio::spawn(watch(api, config, sink)));
    }
    tasks
}

/// How every watch lists: in pages, so a large namespace is not one huge response.
fn list_config() -> watcher::Config {
    watcher::Config::default().page_size(500)
}

/// Where a watch's objects and errors go: the store's objects of one kind and the health, or
/// the store's Events.
trait Sink: Send + 'static {
    /// For logs.
    fn name(&self) -> &'static str;
    /// A (re)list starts.
    fn init(&mut self);
    /// One object of the (re)list.
    fn init_apply(&mut self, obj: DynamicObject);
    /// The (re)list is complete: the cache matches the cluster again.
    fn init_done(&mut self);
    fn apply(&mut self, obj: DynamicObject);
    fn delete(&mut self, obj: DynamicObject);
    /// The watch failed; it restarts after a pause.
    fn failed(&mut self, err: &watcher::Error);
}

/// Feeds the store's objects of one kind and that kind's health.
struct KindSink {
    kind: Kind,
    scope: Option<String>,
    multi_scope: bool,
    store: ClusterStore,
    /// The objects of the current (re)list.
    initial: Vec<Object>,
}

impl Sink for KindSink {
    fn name(&self) -> &'static str {
        self.kind.as_str()
    }

    fn init(&mut self) {
        self.initial.clear();
    }

    fn init_apply(&mut self, obj: DynamicObject) {
        self.initial.extend(decode(self.kind, obj));
    }

    fn init_done(&mut self) {
        let kind = self.kind;
        let objects = std::mem::take(&mut self.initial);
        tracing::info!(
            kind = kind.as_str(),
            namespace = self.scope.as_deref().unwrap_or("*"),
            count = objects.len(),
            "watch synced"
        );
        if self.multi_scope {
            // Several namespaces share one kind: replace only this namespace's objects.
            self.store.replace_in_namespace(
                kind,
                self.scope.as_deref().unwrap_or_default(),
                objects,
            );
        } else {
            self.store.replace_kind(kind, objects);
        }
        self.store.update_health(|h| {
            h.kinds.entry(kind).or_default().recover();
            h.refresh_problem();
        });
    }

    fn apply(&mut self, obj: DynamicObject) {
        if let Some(object) = decode(self.kind, obj) {
            self.store.apply(object);
        }
    }

    fn delete(&mut self, obj: DynamicObject) {
        let ns = obj.metadata.namespace.clone().unwrap_or_default();
        let name = obj.metadata.name.clone().unwrap_or_default();
        self.store.delete(self.kind, &ns, &name);
    }

    fn failed(&mut self, err: &watcher::Error) {
        let problem = classify(self.kind, err);
        tracing::warn!(kind = self.kind.as_str(), %err, code = %problem.code, "watch error");
        record_error(&self.store, self.kind, problem);
    }
}

/// Feeds the store's Events about rollouts. Its errors never reach the health: without
/// Events the rollouts still show, and their history says why it is missing.
struct EventSink {
    /// The namespace of this watch (`None`: all): what a relist replaces, and whose history
    /// an error makes unavailable.
    scope: Option<String>,
    store: ClusterStore,
    initial: Vec<RolloutEvent>,
}

impl Sink for EventSink {
    fn name(&self) -> &'static str {
        "Event"
    }

    fn init(&mut self) {
        self.initial.clear();
    }

    fn init_apply(&mut self, obj: DynamicObject) {
        self.initial.extend(decode_event(obj));
    }

    fn init_done(&mut self) {
        let events = std::mem::take(&mut self.initial);
        tracing::info!(
            namespace = self.scope.as_deref().unwrap_or("*"),
            count = events.len(),
            "events watch synced"
        );
        self.store.replace_events(self.scope.as_deref(), events);
        self.store
            .set_events_unavailable(self.scope.as_deref(), None);
    }

    fn apply(&mut self, obj: DynamicObject) {
        if let Some(event) = decode_event(obj) {
            self.store.apply_event(event);
        }
    }

    fn delete(&mut self, obj: DynamicObject) {
        if let Some(event) = decode_event(obj) {
            self.store.delete_event(&event);
        }
    }

    fn failed(&mut self, err: &watcher::Error) {
        tracing::warn!(%err, "events watch error");
        if let Some(why) = events_unavailable(err) {
            self.store
                .set_events_unavailable(self.scope.as_deref(), Some(why));
        }
    }
}

/// What the history says when the Events watch fails for good reason (403); `None` for
/// errors a retry may cure (the rollouts' own health reports an unreachable API server).
fn events_unavailable(err: &watcher::Error) -> Option<String> {
    let status = status_of(err).filter(|s| s.code == 403)?;
    Some(format!(
        "this identity may not list/watch events: {}",
        status.message
    ))
}

fn decode_event(obj: DynamicObject) -> Option<RolloutEvent> {
    let value = serde_json::to_value(obj).ok()?;
    match RolloutEvent::decode(value) {
        Ok(event) => event,
        Err(err) => {
            tracing::warn!(%err, "skipping an Event that does not match its schema");
            None
        }
    }
}

/// Shortest pause after a watch error.
const BACKOFF_MIN: Duration = Duration::from_millis(500);
/// Longest pause after a watch error, before jitter (at most a quarter more): an API server
/// back from an outage is listed again within about five seconds, however long it was gone.
const BACKOFF_MAX: Duration = Duration::from_secs(4);

/// Capped exponential backoff with jitter, reset by every event the watch delivers.
///
/// kube's `default_backoff` grows to 30 s and is reset only by an `Ok` item; after an outage
/// of 40 s, its 30 s pauses (and a second one for the "too old resource version" that
/// follows an API server restart) kept the dashboard unready for 82 s.
#[derive(Debug)]
struct Backoff {
    next: Duration,
    /// Per-watch randomness, so that the watches of all kinds do not retry in lockstep.
    jitter: std::collections::hash_map::RandomState,
    attempts: u64,
}

impl Backoff {
    fn new() -> Self {
        Self {
            next: BACKOFF_MIN,
            jitter: Default::default(),
            attempts: 0,
        }
    }

    /// The pause before the next attempt: BACKOFF_MIN, doubling up to BACKOFF_MAX, each
    /// with up to a quarter more at random.
    fn next_delay(&mut self) -> Duration {
        use std::hash::BuildHasher;
        let base = self.next;
        self.next = (self.next * 2).min(BACKOFF_MAX);
        self.attempts += 1;
        let spread = self.jitter.hash_one(self.attempts) % 1000;
        base + base / 4 * u32::try_from(spread).unwrap_or(0) / 1000
    }

    fn reset(&mut self) {
        self.next = BACKOFF_MIN;
    }
}

/// Runs one watch for as long as the process lives, handing its events to `sink`.
///
/// After an error the watch pauses ([`Backoff`]) and starts over with a fresh list, whose
/// end (`InitDone`) is the proof that the cache matches the cluster again and clears the
/// error. An expired resource version (410 Gone, as after an API server restart) relists at
/// once, without a pause. Meanwhile the store keeps the last objects listed: the dashboard
/// shows them, and the health says why they may be out of date.
async fn watch<S: Sink>(api: Api<DynamicObject>, config: watcher::Config, mut sink: S) {
    let mut backoff = Backoff::new();
    loop {
        let mut stream = watcher(api.clone(), config.clone()).boxed();
        let end = loop {
            match stream.try_next().await {
                Ok(Some(event)) => {
                    // `Init` comes before the list request: only what the server sent proves
                    // it answers again.
                    if !matches!(event, watcher::Event::Init) {
                        backoff.reset();
                    }
                    match event {
                        watcher::Event::Init => sink.init(),
                        watcher::Event::InitApply(obj) => sink.init_apply(obj),
                        watcher::Event::InitDone => sink.init_done(),
                        watcher::Event::Apply(obj) => sink.apply(obj),
                        watcher::Event::Delete(obj) => sink.delete(obj),
                    }
                }
                Ok(None) => break WatchEnd::Ended,
                Err(err) => {
                    sink.failed(&err);
                    if is_expired(&err) {
                        // The watcher relists on its next poll; the error clears when it is done.
                        sink.init();
                        continue;
                    }
                    break WatchEnd::Failed;
                }
            }
        };
        if end == WatchEnd::Ended {
            // kube's watcher never ends by design; should it, a new one lists afresh.
            tracing::warn!(kind = sink.name(), "watch stream ended; starting a new one");
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// Why a watcher stream was given up.
#[derive(Debug, PartialEq, Eq)]
enum WatchEnd {
    /// It returned an error that a fresh list recovers from.
    Failed,
    /// It ended (it should not).
    Ended,
}

fn decode(kind: Kind, obj: DynamicObject) -> Option<Object> {
    let value = match serde_json::to_value(obj) {
        Ok(v) => v,
        Err(err) => {
            tracing::warn!(kind = kind.as_str(), %err, "cannot re-encode object");
            return None;
        }
    };
    match Object::decode(kind, value) {
        Ok(object) => Some(object),
        Err(err) => {
            // One malformed object must not hide the others.
            tracing::warn!(%err, "skipping object that does not match its schema");
            None
        }
    }
}

fn record_error(store: &ClusterStore, kind: Kind, problem: Problem) {
    store.update_health(|h| {
        h.kinds.entry(kind).or_default().fail(problem);
        h.refresh_problem();
    });
}

fn status_of(err: &watcher::Error) -> Option<&kube::core::Status> {
    match err {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => Some(s),
        watcher::Error::WatchError(s) => Some(s),
        _ => None,
    }
}

/// The resource version the watch resumed from is gone (410, "too old resource version"):
/// only a new list can continue, and it can be made at once.
fn is_expired(err: &watcher::Error) -> bool {
    status_of(err).is_some_and(|s| s.code == 410)
}

/// Classifies a watch error and puts it in words.
fn classify(kind: Kind, err: &watcher::Error) -> Problem {
    let resource = format!("{}.{}", kind.plural(), kind.api_version());
    match status_of(err) {
        Some(s) if s.code == 404 && kind.api_version().starts_with("argoproj.io") => Problem::new(
            ProblemCode::CrdMissing,
            format!(
                "the Argo Rollouts CRD for {resource} is not installed in this cluster; \
                 install the Argo Rollouts CRDs (argoproj.io/v1alpha1)"
            ),
        ),
        Some(s) if s.code == 403 => Problem::new(
            ProblemCode::Forbidden,
            format!("this identity may not list/watch {resource}: {}", s.message),
        ),
        Some(s) => Problem::new(
            ProblemCode::WatchFailing,
            format!("{resource}: {} ({})", s.message, s.code),
        ),
        None => Problem::new(ProblemCode::Unreachable, format!("{resource}: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_resources_match_the_kinds() {
        let ar = api_resource(Kind::Rollout);
        assert_eq!(
            (ar.group.as_str(), ar.version.as_str(), ar.plural.as_str()),
            ("argoproj.io", "v1alpha1", "rollouts")
        );
        let ar = api_resource(Kind::Pod);
        assert_eq!((ar.group.as_str(), ar.api_version.as_str()), ("", "v1"));
    }

    fn api_error(code: u16, message: &str) -> watcher::Error {
        watcher::Error::InitialListFailed(kube::Error::Api(
            kube::core::Status::failure(message, "")
                .with_code(code)
                .boxed(),
        ))
    }

    #[test]
    fn errors_are_classified_by_kind() {
        let crd = classify(Kind::Rollout, &api_error(404, "not found"));
        assert_eq!(crd.code, ProblemCode::CrdMissing);
        assert!(
            crd.message.contains("rollouts.argoproj.io/v1alpha1"),
            "{crd}"
        );
        // A missing core kind is not a missing CRD.
        let pods = classify(Kind::Pod, &api_error(404, "not found"));
        assert_eq!(pods.code, ProblemCode::WatchFailing);
        let forbidden = classify(Kind::Pod, &api_error(403, "no"));
        assert_eq!(forbidden.code, ProblemCode::Forbidden);
        assert_eq!(
            forbidden.to_string(),
            "forbidden: this identity may not list/watch pods.v1: no"
        );
        let gone = watcher::Error::WatchError(
            kube::core::Status::failure("too old resource version: 1 (2)", "Expired")
                .with_code(410)
                .boxed(),
        );
        assert!(is_expired(&gone));
        assert_eq!(classify(Kind::Pod, &gone).code, ProblemCode::WatchFailing);
        assert!(!is_expired(&api_error(500, "boom")));
        let unreachable = classify(Kind::Pod, &watcher::Error::NoResourceVersion);
        assert_eq!(unreachable.code, ProblemCode::Unreachable);
    }

    #[test]
    fn backoff_is_capped_and_resets() {
        let mut backoff = Backoff::new();
        let delays: Vec<Duration> = (0..20).map(|_| backoff.next_delay()).collect();
        assert!(
            delays[0] >= BACKOFF_MIN && delays[0] <= BACKOFF_MIN * 5 / 4,
            "{delays:?}"
        );
        assert!(
            delays.iter().all(|d| *d <= Duration::from_secs(5)),
            "{delays:?}"
        );
        assert!(delays[19] >= BACKOFF_MAX, "{delays:?}");
        backoff.reset();
        assert!(backoff.next_delay() <= BACKOFF_MIN * 5 / 4);
    }

    #[test]
    fn only_a_forbidden_events_watch_makes_the_history_unavailable() {
        let why = events_unavailable(&api_error(403, "events is forbidden")).unwrap();
        assert_eq!(
            why,
            "this identity may not list/watch events: events is forbidden"
        );
        assert_eq!(events_unavailable(&api_error(500, "boom")), None);
        assert_eq!(events_unavailable(&watcher::Error::NoResourceVersion), None);
        let ar = events_resource();
        assert_eq!(
            (ar.api_version.as_str(), ar.plural.as_str()),
            ("v1", "events")
        );
    }
}
