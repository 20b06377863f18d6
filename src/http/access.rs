//! What a request may read: the cluster and namespace filters it names, the cluster a path
//! means, and what its user may list in each cluster (each cluster's RBAC answers for itself;
//! with `--auth token`, only the clusters that accepted the token). Shared by the REST API, the WebSocket stream and the status filter, so that all three
//! decide alike (and none of them imports another for it).

use crate::auth::Identity;
use crate::auth::review::Visible;
use crate::error::ApiError;
use crate::names;
use crate::state::AppState;
use crate::store::{ClusterName, Readable};

/// Most namespaces one filter may name.
const MAX_FILTER_NAMESPACES: usize = 1000;

/// Parses a comma-separated namespace filter, rejecting names that cannot exist
/// ([`crate::names::check_namespace`]).
pub fn parse_namespaces(raw: Option<&str>) -> Result<Vec<String>, ApiError> {
    let Some(raw) = raw else { return Ok(vec![]) };
    let namespaces: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|ns| names::check_namespace(ns).map(|()| ns.to_owned()))
        .collect::<Result<_, _>>()?;
    if namespaces.len() > MAX_FILTER_NAMESPACES {
        return Err(ApiError::BadRequest(format!(
            "at most {MAX_FILTER_NAMESPACES} namespaces per filter"
        )));
    }
    Ok(namespaces)
}

/// Most clusters one filter may name.
const MAX_FILTER_CLUSTERS: usize = 100;

/// Parses cluster filters (each value comma-separated, repeatable): names as configured;
/// a name no cluster has matches nothing.
pub fn parse_clusters<'a>(raw: impl IntoIterator<Item = &'a str>) -> Result<Vec<String>, ApiError> {
    let mut clusters = vec![];
    for value in raw {
        for name in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            crate::config::check_cluster_name(name).map_err(ApiError::BadRequest)?;
            clusters.push(name.to_owned());
        }
    }
    if clusters.len() > MAX_FILTER_CLUSTERS {
        return Err(ApiError::BadRequest(format!(
            "at most {MAX_FILTER_CLUSTERS} clusters per filter"
        )));
    }
    Ok(clusters)
}

/// The cluster a request is about: the one its path names (it must be configured), or,
/// for the paths without one, the only cluster (with several: `clusterRequired`).
pub fn resolve_cluster(state: &AppState, named: Option<&str>) -> Result<ClusterName, ApiError> {
    let clusters = state.store.cluster_names();
    match named {
        Some(name) => clusters
            .into_iter()
            .find(|c| **c == *name)
            .ok_or_else(|| ApiError::ClusterNotFound(name.to_owned())),
        None => match clusters.as_slice() {
            [only] => Ok(only.clone()),
            _ => Err(ApiError::ClusterRequired {
                clusters: clusters.iter().map(|c| c.to_string()).collect(),
            }),
        },
    }
}

/// Namespaces the store knows (with rollouts, or watched): what read filtering decides on.
pub fn candidate_namespaces(state: &AppState) -> Vec<String> {
    let mut all = state.store.namespaces();
    all.extend(state.store.health().namespaces);
    all.sort();
    all.dedup();
    all
}

/// The namespaces `identity` may read in any cluster (for what is not about one cluster:
/// the namespace list, the health's redaction).
pub async fn visible(state: &AppState, identity: &Identity) -> Visible {
    let Some(by_cluster) = readable(state, identity).await else {
        return Visible::All;
    };
    let mut union: Vec<String> = vec![];
    for namespaces in by_cluster.into_values() {
        match namespaces {
            None => return Visible::All,
            Some(namespaces) => union.extend(namespaces),
        }
    }
    union.sort();
    union.dedup();
    Visible::Only(union)
}

/// What `identity` may read in each cluster: `None` when everything; else per cluster the
/// namespaces (`None`: all of them; a cluster missing: nothing, as one it is not signed in
/// to with `--auth token`). Each cluster's RBAC answers for itself.
pub async fn readable(state: &AppState, identity: &Identity) -> Option<Readable> {
    if identity.unrestricted {
        return None;
    }
    let clusters = state.store.cluster_names();
    if !state.auth.has_cluster() && clusters.iter().all(|c| state.auth.signed_in(identity, c)) {
        return None;
    }
    let candidates = candidate_namespaces(state);
    let answers = futures::future::join_all(clusters.iter().map(|cluster| {
        let candidates = &candidates;
        async move {
            let visible = state.auth.visible(identity, cluster, candidates).await;
            (cluster, visible)
        }
    }))
    .await;
    Some(
        answers
            .into_iter()
            .filter_map(|(cluster, visible)| match visible {
                Visible::All => Some((cluster.to_string(), None)),
                Visible::Only(namespaces) if namespaces.is_empty() => None,
                Visible::Only(namespaces) => Some((cluster.to_string(), Some(namespaces))),
            })
            .collect(),
    )
}

/// Refuses reading `namespace` of `cluster` when that cluster would (or, with `--auth
/// token`, when the person is not signed in to it: 401 `notSignedIn`).
pub async fn check_readable(
    state: &AppState,
    identity: &Identity,
    cluster: &str,
    namespace: &str,
) -> Result<(), ApiError> {
    if identity.unrestricted {
        return Ok(());
    }
    if !state.auth.signed_in(identity, cluster) {
        return Err(ApiError::NotSignedIn {
            cluster: cluster.to_owned(),
        });
    }
    if state.auth.can_list(identity, cluster, namespace).await {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "{} may not list rollouts in namespace {namespace:?} of cluster {cluster}",
            identity.user
        )))
    }
}
