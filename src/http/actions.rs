//! `POST /api/v1/clusters/{cluster}/namespaces/{namespace}/rollouts/{name}/{action}` (and
//! `/api/v1/namespaces/…` when one cluster is configured): rollout actions, sent to that
//! cluster; refused with 503 `clusterUnavailable` while its data is not current.
//!
//! Every write must carry `Content-Type: application/json` and the anti-CSRF header
//! `X-Rollouts-Dashboard: 1` (a cross-site form or `fetch` without CORS cannot set it), and
//! a browser `Origin`, when present, must match the `Host`. The body says what the person
//! saw (`seen`) so that a stale view gets 409 and nothing is written.
//!
//! With `--auth proxy|token` the write is sent to Kubernetes as the person (impersonation,
//! or their own token), so the cluster's RBAC decides and its audit log names them; the
//! actor in our logs and Events is that person too. Writes are rate-limited per person.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::actions::{Action, ActionError, SeenState, execute_in};
use crate::auth::{AuthMode, Identity};
use crate::error::ApiError;
use crate::health::ClusterState;
use crate::state::{ActionBackend, AppState};

/// Header every write must carry (anti-CSRF).
pub const CSRF_HEADER: &str = "x-rollouts-dashboard";

/// Largest accepted action body.
pub const MAX_BODY: usize = 16 * 1024;

/// Handles one action request of the path without a cluster (when one is configured).
pub async fn post_action(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path((namespace, name, action)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    act(
        state, identity, None, namespace, name, action, headers, body,
    )
    .await
}

/// Handles one action request: `POST
/// /api/v1/clusters/{cluster}/namespaces/{namespace}/rollouts/{name}/{action}`.
pub async fn post_cluster_action(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Path((cluster, namespace, name, action)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    act(
        state,
        identity,
        Some(cluster),
        namespace,
        name,
        action,
        headers,
        body,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn act(
    state: AppState,
    identity: Identity,
    cluster: Option<String>,
    namespace: String,
    name: String,
    action: String,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // First: nothing else may see a namespace or name Kubernetes would refuse (the kube
    // client puts them into the request path unencoded).
    crate::names::check_key(&namespace, &name)?;
    let cluster = super::access::resolve_cluster(&state, cluster.as_deref())?;
    if state.settings.read_only {
        return Err(ApiError::ReadOnly(
            "this dashboard is read-only: actions are disabled".into(),
        ));
    }
    check_write_headers(&headers)?;
    // With `--auth token`, only to a cluster that accepted the person's token.
    if !state.auth.signed_in(&identity, &cluster) {
        return Err(ApiError::NotSignedIn {
            cluster: cluster.to_string(),
        });
    }
    // Only to a cluster whose data is current: the person decided on what it showed.
    if let Some(cluster_state) = state.store.cluster_state(&cluster)
        && cluster_state != ClusterState::Synced
    {
        return Err(ApiError::ClusterUnavailable {
            cluster: cluster.to_string(),
            state: cluster_state,
        });
    }
    if let Err(wait) = state.auth.take_write(&identity.user) {
        tracing::warn!(user = %identity.user, "write rate limit reached");
        let mut response = ApiError::Action {
            status: 429,
            code: "rateLimited",
            message: format!(
                "too many changes: at most {} per minute; retry in {} s",
                state.auth.writes_per_minute(),
                wait.as_secs()
            ),
            details: None,
        }
        .into_response();
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(response);
    }
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?
    };
    if !body.is_object() {
        return Err(ApiError::BadRequest(
            "the body must be a JSON object".into(),
        ));
    }
    // `seen` is ours; the rest of the body holds the action's own fields.
    let mut body = body;
    let seen: SeenState = match body.as_object_mut().and_then(|b| b.remove("seen")) {
        Some(seen) => serde_json::from_value(seen)
            .map_err(|e| ApiError::BadRequest(format!("invalid \"seen\": {e}")))?,
        None => SeenState::default(),
    };
    let action_name = action;
    let action = match Action::from_request(&action_name, &body, jiff::Timestamp::now()) {
        Ok(action) => action,
        Err(e) => {
            // Never a label from the request: unbounded label values would explode the series.
            state.metrics.count_action("invalid", e.code());
            return Err(action_error(ActionError::Plan(e)));
        }
    };
    let actor = actor_of(&identity, state.auth.mode);
    let actor = actor.as_str();
    tracing::info!(user = %identity.user, groups = ?identity.groups, %cluster, %namespace, %name, action = %action_name, "action requested");
    let result = match state.actions.as_ref().and_then(|a| a.of(&cluster)) {
        Some(ActionBackend::Kube(backend)) => {
            let user_backend = state
                .auth
                .backend_for(&identity, &cluster)
                .map_err(|message| ApiError::Action {
                    status: StatusCode::UNAUTHORIZED.as_u16(),
                    code: "unauthenticated",
                    message,
                    details: None,
                })?;
            let backend = user_backend.as_ref().unwrap_or(backend);
            execute_in(&cluster, backend, &namespace, &name, &action, &seen, actor).await
        }
        Some(ActionBackend::Demo(backend)) => {
            execute_in(&cluster, backend, &namespace, &name, &action, &seen, actor).await
        }
        None => {
            return Err(ApiError::ReadOnly(
                "this source cannot be changed: actions are disabled".into(),
            ));
        }
    };
    state.metrics.count_action(
        action.name(),
        match &result {
            Ok(_) => "ok",
            Err(e) => e.code(),
        },
    );
    let outcome = result.map_err(action_error)?;
    Ok(Json(json!({
        "message": outcome.message,
        "changed": outcome.changed,
        "patches": outcome.patches,
        "attempts": outcome.attempts,
        "resourceVersion": outcome.rollout.pointer("/metadata/resourceVersion"),
    }))
    .into_response())
}

/// The actor named in logs and Events.
fn actor_of(identity: &Identity, mode: AuthMode) -> String {
    match mode {
        AuthMode::None => identity.user.clone(),
        AuthMode::Proxy => format!("{} (via --auth proxy)", identity.user),
        AuthMode::Token => format!("{} (via --auth token)", identity.user),
    }
}

fn action_error(err: ActionError) -> ApiError {
    let details = match &err {
        ActionError::Stale(stale) => Some(json!({"changes": stale.changes})),
        _ => None,
    };
    ApiError::Action {
        status: err.status(),
        code: err.code(),
        message: err.to_string(),
        details,
    }
}

/// Writes need a JSON content type, the anti-CSRF header, and a same-origin `Origin`.
pub fn check_write_headers(headers: &HeaderMap) -> Result<(), ApiError> {
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
    if !json_type {
        return Err(ApiError::BadRequest(
            "writes must be sent with Content-Type: application/json".into(),
        ));
    }
    if headers.get(CSRF_HEADER).is_none() {
        return Err(ApiError::Forbidden(format!(
            "writes must carry the {CSRF_HEADER} header (cross-site request protection)"
        )));
    }
    check_same_origin(headers)
}

/// A browser's `Origin`, when sent, must name the host the request was sent to.
pub fn check_same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or_default();
    if !host.is_empty() && origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "cross-origin request refused: origin {origin:?} does not match host {host:?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn writes_need_json_csrf_header_and_same_origin() {
        let ok = headers(&[
            ("content-type", "application/json; charset=utf-8"),
            ("x-rollouts-dashboard", "1"),
            ("host", "127.0.0.1:3100"),
            ("origin", "http://127.0.0.1:3100"),
        ]);
        assert!(check_write_headers(&ok).is_ok());
        let mut form = ok.clone();
        form.insert(
            "content-type",
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        assert!(matches!(
            check_write_headers(&form),
            Err(ApiError::BadRequest(_))
        ));
        let mut no_csrf = ok.clone();
        no_csrf.remove("x-rollouts-dashboard");
        assert!(matches!(
            check_write_headers(&no_csrf),
            Err(ApiError::Forbidden(_))
        ));
        let mut evil = ok.clone();
        evil.insert("origin", "http://evil.example".parse().unwrap());
        assert!(matches!(
            check_write_headers(&evil),
            Err(ApiError::Forbidden(_))
        ));
        // Non-browser clients (curl) send no Origin.
        let mut curl = ok;
        curl.remove("origin");
        assert!(check_write_headers(&curl).is_ok());
    }
}
