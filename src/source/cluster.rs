//! The live source: one kube watcher per kind (per watched namespace), whatever the number of
//! browsers, feeding the shared store.
//!
//! Watchers relist at once on expired resource versions and retry with a short capped
//! backoff on errors, so the dashboard recovers within seconds of the API server, without a
//! restart; every error is reflected, typed, in the health that `/readyz`, the API and the
//! UI report (CRDs missing, forbidden, unreachable), while the last objects listed stay shown.

use std::path::PathBuf;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;

use crate::health::{Problem, ProblemCode};
use crate::model::{Kind, Object};
use crate::store::Store;

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

/// Starts one watcher per kind and namespace; returns their tasks.
pub fn spawn_watchers(
    client: Client,
    namespaces: &[String],
    store: &Store,
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
            tasks.push(tokio::spawn(watch_kind(
                api,
                kind,
                scope.clone(),
                multi_scope,
                store.clone(),
            )));
        }
    }
    tasks
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

/// Runs the watch of one kind (in one namespace, or all) for as long as the process lives,
/// applying its events to the store and its errors to the health.
///
/// After an error the watch pauses ([`Backoff`]) and starts over with a fresh list, whose
/// end (`InitDone`) is the proof that the cache matches the cluster again and clears the
/// error. An expired resource version (410 Gone, as after an API server restart) relists at
/// once, without a pause. Meanwhile the store keeps the last objects listed: the dashboard
/// shows them, and the health says why they may be out of date.
async fn watch_kind(
    api: Api<DynamicObject>,
    kind: Kind,
    scope: Option<String>,
    multi_scope: bool,
    store: Store,
) {
    let config = watcher::Config::default().page_size(500);
    let mut backoff = Backoff::new();
    loop {
        let mut stream = watcher(api.clone(), config.clone()).boxed();
        let mut initial: Vec<Object> = vec![];
        let end = loop {
            match stream.try_next().await {
                Ok(Some(event)) => {
                    // `Init` comes before the list request: only what the server sent proves
                    // it answers again.
                    if !matches!(event, watcher::Event::Init) {
                        backoff.reset();
                    }
                    apply_event(
                        event,
                        kind,
                        scope.as_deref(),
                        multi_scope,
                        &store,
                        &mut initial,
                    );
                }
                Ok(None) => break WatchEnd::Ended,
                Err(err) => {
                    let problem = classify(kind, &err);
                    tracing::warn!(kind = kind.as_str(), %err, code = %problem.code, "watch error");
                    record_error(&store, kind, problem);
                    if is_expired(&err) {
                        // The watcher relists on its next poll; the error clears when it is done.
                        initial.clear();
                        continue;
                    }
                    break WatchEnd::Failed;
                }
            }
        };
        if end == WatchEnd::Ended {
            // kube's watcher never ends by design; should it, a new one lists afresh.
            tracing::warn!(
                kind = kind.as_str(),
                "watch stream ended; starting a new one"
            );
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

/// Applies one watcher event to the store; `initial` collects the objects of a (re)list.
fn apply_event(
    event: watcher::Event<DynamicObject>,
    kind: Kind,
    scope: Option<&str>,
    multi_scope: bool,
    store: &Store,
    initial: &mut Vec<Object>,
) {
    match event {
        watcher::Event::Init => initial.clear(),
        watcher::Event::InitApply(obj) => initial.extend(decode(kind, obj)),
        watcher::Event::InitDone => {
            let objects = std::mem::take(initial);
            tracing::info!(
                kind = kind.as_str(),
                namespace = scope.unwrap_or("*"),
                count = objects.len(),
                "watch synced"
            );
            if multi_scope {
                // Several namespaces share one kind: replace only this namespace's objects.
                store.replace_in_namespace(kind, scope.unwrap_or_default(), objects);
            } else {
                store.replace_kind(kind, objects);
            }
            store.update_health(|h| {
                h.kinds.entry(kind).or_default().recover();
                h.refresh_problem();
            });
        }
        watcher::Event::Apply(obj) => {
            if let Some(object) = decode(kind, obj) {
                store.apply(object);
            }
        }
        watcher::Event::Delete(obj) => {
            let ns = obj.metadata.namespace.clone().unwrap_or_default();
            let name = obj.metadata.name.clone().unwrap_or_default();
            store.delete(kind, &ns, &name);
        }
    }
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

fn record_error(store: &Store, kind: Kind, problem: Problem) {
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
}
