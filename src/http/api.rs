//! JSON API handlers. They read only the shared store, never the API server.

use axum::extract::DefaultBodyLimit;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::config::is_dns_label;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::RolloutKey;

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
        .route("/v1/namespaces", get(list_namespaces))
        .route("/v1/status", get(status))
        .route("/v1/stream", get(super::ws::stream))
        .fallback(unknown_endpoint)
}

async fn unknown_endpoint(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::UnknownEndpoint(uri.path().to_owned())
}

/// Query of the list endpoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only rollouts of these namespaces (comma-separated); all when absent.
    namespace: Option<String>,
}

/// Parses a comma-separated namespace filter, rejecting names that cannot exist.
pub fn parse_namespaces(raw: Option<&str>) -> Result<Vec<String>, ApiError> {
    let Some(raw) = raw else { return Ok(vec![]) };
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|ns| {
            if is_dns_label(ns) {
                Ok(ns.to_owned())
            } else {
                Err(ApiError::BadRequest(format!("invalid namespace {ns:?}")))
            }
        })
        .collect()
}

/// `GET /api/v1/rollouts[?namespace=a,b]` → `{"rollouts": [summary…]}`.
async fn list_rollouts(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let namespaces = parse_namespaces(query.namespace.as_deref())?;
    let (_, rollouts) = state.store.summaries(&namespaces);
    Ok(Json(json!({ "rollouts": rollouts })).into_response())
}

/// `GET /api/v1/namespaces/{namespace}/rollouts/{name}` → the full detail.
async fn get_rollout(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let key = RolloutKey::new(namespace, name);
    match state.store.detail(&key).1 {
        Some(detail) => Ok(Json(detail).into_response()),
        None => Err(ApiError::RolloutNotFound {
            namespace: key.namespace,
            name: key.name,
        }),
    }
}

/// `GET /api/v1/namespaces` → namespaces that hold rollouts, and the watched scope.
async fn list_namespaces(State(state): State<AppState>) -> Response {
    Json(json!({
        "namespaces": state.store.namespaces(),
        "watched": state.store.health().namespaces,
    }))
    .into_response()
}

/// `GET /api/v1/status` → source health and server settings.
async fn status(State(state): State<AppState>) -> Response {
    let health = state.store.health();
    Json(json!({
        "ready": health.ready(),
        "health": health,
        "version": state.settings.version,
        "readOnly": state.settings.read_only,
        "source": state.settings.source,
        "objects": state.store.object_counts(),
    }))
    .into_response()
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 once every watch has synced and no blocking problem exists, else 503
/// with the reason.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let health = state.store.health();
    if health.ready() {
        (StatusCode::OK, "ready").into_response()
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
        (StatusCode::SERVICE_UNAVAILABLE, reason).into_response()
    }
}
