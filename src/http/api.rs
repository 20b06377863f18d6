//! JSON API handlers. They read only the shared store, never the API server.

use axum::extract::DefaultBodyLimit;
use axum::extract::{Extension, OriginalUri, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::access::{
    check_readable, parse_clusters, parse_namespaces, readable, resolve_cluster, visible,
};
use crate::auth::Identity;
use crate::error::ApiError;
use crate::names;
use crate::state::AppState;
use crate::store::{ListFilter, RolloutKey};

/// Routes under `/api`; unknown paths get a JSON 404, never the SPA.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/rollouts", get(list_rollouts))
        .route(
            "/v1/namespaces/{namespace}/rollouts/{name}",
            get(get_rollout),
        )
        .route(
            "/v1/namespaces/{namespace}/rollouts/{name}/{action}",
            post(super::actions::post_action)
                .layer(DefaultBodyLimit::max(super::actions::MAX_BODY)),
        )
        .route(
            "/v1/namespaces/{namespace}/rollouts/{name}/permissions",
            get(permissions),
        )
        .route(
            "/v1/clusters/{cluster}/namespaces/{namespace}/rollouts/{name}",
            get(get_cluster_rollout),
        )
        .route(
            "/v1/clusters/{cluster}/namespaces/{namespace}/rollouts/{name}/{action}",
            post(super::actions::post_cluster_action)
                .layer(DefaultBodyLimit::max(super::actions::MAX_BODY)),
        )
        .route(
            "/v1/clusters/{cluster}/namespaces/{namespace}/rollouts/{name}/permissions",
            get(cluster_permissions),
        )
        .route("/v1/namespaces", get(list_namespaces))
        .route("/v1/whoami", get(whoami))
        .route("/v1/status", get(status))
        .route("/v1/stream", get(super::ws::stream))
        .fallback(unknown_endpoint)
}

async fn unknown_endpoint(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::UnknownEndpoint(uri.path().to_owned())
}

/// `GET /api/v1/rollouts[?cluster=c&namespace=a,b]` → `{"rollouts": [summary…]}`. Both
/// parameters are optional and repeatable (or comma-separated); all when absent.
async fn list_rollouts(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(pairs) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let mut namespaces = vec![];
    let mut clusters = vec![];
    for (key, value) in &pairs {
        match key.as_str() {
            "namespace" => namespaces.extend(parse_namespaces(Some(value))?),
            "cluster" => clusters.push(value.as_str()),
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown query parameter {other:?}: expected `cluster` or `namespace`"
                )));
            }
        }
    }
    let clusters = parse_clusters(clusters)?;
    let body = state.store.list_json(&ListFilter {
        clusters,
        namespaces,
        readable: readable(&state, &identity).await,
    });
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `GET /api/v1/namespaces/{namespace}/rollouts/{name}`: the detail, when one cluster is
/// configured ([`resolve_cluster`]).
async fn get_rollout(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    rollout_detail(&state, &identity, None, namespace, name).await
}

/// `GET /api/v1/clusters/{cluster}/namespaces/{namespace}/rollouts/{name}` → the full detail.
async fn get_cluster_rollout(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path((cluster, namespace, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    rollout_detail(&state, &identity, Some(&cluster), namespace, name).await
}

async fn rollout_detail(
    state: &AppState,
    identity: &Identity,
    cluster: Option<&str>,
    namespace: String,
    name: String,
) -> Result<Response, ApiError> {
    names::check_key(&namespace, &name)?;
    let cluster = resolve_cluster(state, cluster)?;
    // Decided on the namespace alone, before looking: a 403 says nothing about existence.
    check_readable(state, identity, &cluster, &namespace).await?;
    let key = RolloutKey::new(cluster, namespace, name);
    match state.store.detail(&key).1 {
        Some(detail) => Ok(Json(detail).into_response()),
        None => Err(not_found(key)),
    }
}

fn not_found(key: RolloutKey) -> ApiError {
    ApiError::RolloutNotFound {
        cluster: key.cluster.to_string(),
        namespace: key.namespace,
        name: key.name,
    }
}

/// `GET /api/v1/namespaces` → namespaces that hold rollouts, and the watched scope (only
/// those the person may read).
async fn list_namespaces(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
) -> Response {
    let visible = visible(&state, &identity).await;
    let keep = |list: Vec<String>| -> Vec<String> {
        list.into_iter().filter(|n| visible.contains(n)).collect()
    };
    Json(json!({
        "namespaces": keep(state.store.namespaces()),
        "watched": keep(state.store.health().namespaces),
    }))
    .into_response()
}

/// `GET /api/v1/whoami` → `{user, groups, authMode, readOnly, sessionExpiresInSeconds,
/// clusters: [{name, signedIn}]}` (`signedIn` false only with `--auth token`, on a cluster
/// that did not accept the token).
async fn whoami(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
) -> Response {
    let session_expires_in = identity.session.as_ref().map(|s| {
        s.expires
            .saturating_duration_since(std::time::Instant::now())
            .as_secs()
    });
    Json(json!({
        "user": identity.user,
        "groups": identity.groups,
        "authMode": state.auth.mode,
        "readOnly": state.settings.read_only,
        "sessionExpiresInSeconds": session_expires_in,
        "clusters": state
            .store
            .cluster_names()
            .iter()
            .map(|c| json!({"name": c.as_str(), "signedIn": state.auth.signed_in(&identity, c)}))
            .collect::<Vec<_>>(),
    }))
    .into_response()
}

/// `GET /api/v1/namespaces/{namespace}/rollouts/{name}/permissions`: as below, when one
/// cluster is configured.
async fn permissions(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    rollout_permissions(&state, &identity, None, namespace, name).await
}

/// `GET /api/v1/clusters/{cluster}/namespaces/{namespace}/rollouts/{name}/permissions` →
/// `{"actions": {"promote": true, ...}, "reasons": {"abort": "..."}}`.
async fn cluster_permissions(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path((cluster, namespace, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    rollout_permissions(&state, &identity, Some(&cluster), namespace, name).await
}

async fn rollout_permissions(
    state: &AppState,
    identity: &Identity,
    cluster: Option<&str>,
    namespace: String,
    name: String,
) -> Result<Response, ApiError> {
    names::check_key(&namespace, &name)?;
    let cluster = resolve_cluster(state, cluster)?;
    check_readable(state, identity, &cluster, &namespace).await?;
    let key = RolloutKey::new(cluster, namespace, name);
    // Only the spec's workloadRef matters here: no need to build the detail view.
    let Some(rollout) = state.store.rollout(&key) else {
        return Err(not_found(key));
    };
    let read_only = if state.settings.read_only || state.actions.is_none() {
        Some("this dashboard is read-only: actions are disabled")
    } else {
        None
    };
    let workload = rollout.spec.workload_ref.as_ref().map(|w| {
        let group = w.api_version.split_once('/').map_or("", |(g, _)| g);
        (group.to_owned(), w.kind.clone())
    });
    let permissions = state
        .auth
        .permissions(
            identity,
            &key.cluster,
            &key.namespace,
            workload.as_ref().map(|(g, k)| (g.as_str(), k.as_str())),
            read_only,
        )
        .await;
    Ok(Json(permissions).into_response())
}

/// `GET /api/v1/status` → source health and server settings, as this user may see them
/// ([`super::status`]).
async fn status(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
) -> Response {
    Json(super::status::status_json(&state, &identity).await).into_response()
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 once every cluster has synced once or reports a definite problem,
/// and at least one is current ([`crate::store::Store::ready`]); else 503 with the reason.
/// The body's first line is `ready` or the reason; then one line per cluster
/// (`cluster NAME: STATE[: problem]`).
pub async fn readyz(State(state): State<AppState>) -> Response {
    let health = state.store.health();
    let clusters: String = state
        .store
        .cluster_statuses()
        .iter()
        .map(|c| match &c.problem {
            Some(p) => format!("\ncluster {}: {}: {}", c.name, c.state, p.message),
            None => format!("\ncluster {}: {}", c.name, c.state),
        })
        .collect();
    if state.store.ready() {
        (StatusCode::OK, format!("ready{clusters}")).into_response()
    } else {
        let reason = match &health.problem {
            Some(p) => format!("{}: {}", p.code, p.message),
            None => {
                let pending: Vec<&str> = health
                    .kinds
                    .iter()
                    .filter(|(_, k)| !k.synced)
                    .map(|(kind, _)| kind.as_str())
                    .collect();
                format!("waiting for the first list of {}", pending.join(", "))
            }
        };
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{reason}{clusters}"),
        )
            .into_response()
    }
}
