//! The live source: one kube watcher per kind (per watched namespace), whatever the number of
//! browsers, feeding the shared store.
//!
//! Watchers relist on expired resource versions and retry with backoff on errors, so the
//! dashboard recovers without a restart; every error is reflected in the health that
//! `/readyz`, the API and the UI report (CRDs missing, forbidden, unreachable).

use std::path::PathBuf;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::{WatchStreamExt, watcher};

use crate::health::{Health, Problem};
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

/// Runs one watcher forever, applying its events to the store.
async fn watch_kind(
    api: Api<DynamicObject>,
    kind: Kind,
    scope: Option<String>,
    multi_scope: bool,
    store: Store,
) {
    let config = watcher::Config::default().page_size(500);
    let mut stream = watcher(api, config).default_backoff().boxed();
    let mut initial: Vec<Object> = vec![];
    loop {
        let event = match stream.try_next().await {
            Ok(Some(event)) => event,
            Ok(None) => {
                // The watcher stream never ends by design; if it does, restart it after a pause.
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(err) => {
                tracing::warn!(kind = kind.as_str(), %err, "watch error; retrying with backoff");
                record_error(&store, kind, &err);
                continue;
            }
        };
        match event {
            watcher::Event::Init => initial.clear(),
            watcher::Event::InitApply(obj) => initial.extend(decode(kind, obj)),
            watcher::Event::InitDone => {
                let objects = std::mem::take(&mut initial);
                tracing::info!(
                    kind = kind.as_str(),
                    namespace = scope.as_deref().unwrap_or("*"),
                    count = objects.len(),
                    "watch synced"
                );
                if multi_scope {
                    // Several namespaces share one kind: replace only this namespace's objects.
                    let ns = scope.clone().unwrap_or_default();
                    for key in store.keys_of(kind) {
                        if key.namespace == ns && !objects.iter().any(|o| o.meta().name == key.name)
                        {
                            store.delete(kind, &key.namespace, &key.name);
                        }
                    }
                    for object in objects {
                        store.apply(object);
                    }
                } else {
                    store.replace_kind(kind, objects);
                }
                store.update_health(|h| {
                    let entry = h.kinds.entry(kind).or_default();
                    entry.synced = true;
                    entry.error = None;
                    h.problem = derive_problem(h);
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

fn record_error(store: &Store, kind: Kind, err: &watcher::Error) {
    let message = describe(kind, err);
    store.update_health(|h| {
        let entry = h.kinds.entry(kind).or_default();
        entry.restarts += 1;
        entry.error = Some(message.clone());
        h.problem = derive_problem(h);
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

/// Puts a watch error in words, with a stable prefix that [`derive_problem`] classifies.
fn describe(kind: Kind, err: &watcher::Error) -> String {
    let resource = format!("{}.{}", kind.plural(), kind.api_version());
    match status_of(err) {
        Some(s) if s.code == 404 && kind.api_version().starts_with("argoproj.io") => format!(
            "crdMissing: the Argo Rollouts CRD for {resource} is not installed in this cluster; \
             install the Argo Rollouts CRDs (argoproj.io/v1alpha1)"
        ),
        Some(s) if s.code == 403 => format!(
            "forbidden: this identity may not list/watch {resource}: {}",
            s.message
        ),
        Some(s) => format!("watchFailing: {resource}: {} ({})", s.message, s.code),
        None => format!("unreachable: {resource}: {err}"),
    }
}

/// The most important current problem, from the per-kind errors of unsynced kinds.
pub fn derive_problem(health: &Health) -> Option<Problem> {
    let errors: Vec<&str> = health
        .kinds
        .values()
        .filter_map(|k| k.error.as_deref())
        .collect();
    ["crdMissing", "forbidden", "unreachable", "watchFailing"]
        .into_iter()
        .find_map(|code| {
            errors
                .iter()
                .find(|e| e.starts_with(code))
                .map(|e| Problem {
                    code: code.to_owned(),
                    message: e[code.len() + 2..].to_owned(),
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::SourceKind;

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

    #[test]
    fn problems_are_classified_by_priority() {
        let mut health = Health::starting(SourceKind::Cluster, vec![]);
        assert_eq!(derive_problem(&health), None);
        health.kinds.get_mut(&Kind::Pod).unwrap().error =
            Some("forbidden: this identity may not list/watch pods.v1: no".into());
        health.kinds.get_mut(&Kind::Rollout).unwrap().error =
            Some("crdMissing: the Argo Rollouts CRD is missing".into());
        let problem = derive_problem(&health).unwrap();
        assert_eq!(problem.code, "crdMissing");
        assert_eq!(problem.message, "the Argo Rollouts CRD is missing");
    }
}
