//! Errors answered over HTTP, mapped once to a status and a JSON body
//! `{"error": {"code": …, "message": …}}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error the HTTP API answers with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No such API path.
    #[error("no such API endpoint: {0}")]
    UnknownEndpoint(String),
    /// The rollout is not in the cache.
    #[error("rollout {namespace}/{name} not found in cluster {cluster}")]
    RolloutNotFound {
        cluster: String,
        namespace: String,
        name: String,
    },
    /// No cluster of that name is configured.
    #[error("no cluster {0:?} is configured")]
    ClusterNotFound(String),
    /// A path without a cluster while several are configured.
    #[error("several clusters are configured ({}): name one, as in /api/v1/clusters/{{cluster}}/namespaces/…", clusters.join(", "))]
    ClusterRequired { clusters: Vec<String> },
    /// An action on a cluster whose data is not current (unreachable, forbidden, …).
    #[error("cluster {cluster} is {state}: actions on it are disabled until it is synced again")]
    ClusterUnavailable {
        cluster: String,
        state: crate::health::ClusterState,
    },
    /// With `--auth token`: the person's token was not accepted by this cluster.
    #[error("not signed in to cluster {cluster}: the token you signed in with is not valid there")]
    NotSignedIn { cluster: String },
    /// A request the server cannot accept (bad query, body or path).
    #[error("{0}")]
    BadRequest(String),
    /// A namespace or name Kubernetes would refuse (it never reaches a Kubernetes URL).
    #[error(transparent)]
    InvalidName(#[from] crate::names::NameError),
    /// Too many open WebSocket streams for one person (or address).
    #[error("{0}")]
    TooManyStreams(String),
    /// Writes are disabled.
    #[error("{0}")]
    ReadOnly(String),
    /// Refused by a security check (origin, host, CSRF).
    #[error("{0}")]
    Forbidden(String),
    /// The action failed; carries its own status and code.
    #[error("{message}")]
    Action {
        status: u16,
        code: &'static str,
        message: String,
        details: Option<serde_json::Value>,
    },
}

impl ApiError {
    /// HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::UnknownEndpoint(_)
            | ApiError::RolloutNotFound { .. }
            | ApiError::ClusterNotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_)
            | ApiError::InvalidName(_)
            | ApiError::ClusterRequired { .. } => StatusCode::BAD_REQUEST,
            ApiError::ClusterUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NotSignedIn { .. } => StatusCode::UNAUTHORIZED,
            ApiError::TooManyStreams(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::ReadOnly(_) | ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Action { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
            }
        }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::UnknownEndpoint(_) => "notFound",
            ApiError::RolloutNotFound { .. } => "rolloutNotFound",
            ApiError::ClusterNotFound(_) => "clusterNotFound",
            ApiError::ClusterRequired { .. } => "clusterRequired",
            ApiError::ClusterUnavailable { .. } => "clusterUnavailable",
            ApiError::NotSignedIn { .. } => "notSignedIn",
            ApiError::BadRequest(_) => "badRequest",
            // Kept "badRequest" (what clients already handle); `details` says which rule.
            ApiError::InvalidName(_) => "badRequest",
            ApiError::TooManyStreams(_) => "tooManyStreams",
            ApiError::ReadOnly(_) => "readOnly",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::Action { code, .. } => code,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut body = json!({"error": {"code": self.code(), "message": self.to_string()}});
        if let ApiError::Action {
            details: Some(details),
            ..
        } = &self
        {
            body["error"]["details"] = details.clone();
        }
        match &self {
            ApiError::ClusterRequired { clusters } => {
                body["error"]["details"] = json!({ "clusters": clusters });
            }
            ApiError::ClusterUnavailable { cluster, state } => {
                body["error"]["details"] = json!({ "cluster": cluster, "state": state });
            }
            ApiError::NotSignedIn { cluster } | ApiError::ClusterNotFound(cluster) => {
                body["error"]["details"] = json!({ "cluster": cluster });
            }
            _ => {}
        }
        if let ApiError::InvalidName(err) = &self {
            body["error"]["details"] = json!({"field": err.field(), "rule": err.rule_id()});
        }
        // An unavailable cluster is its state, not a fault of ours: no error line each time.
        if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(code = self.code(), error = %self, "request failed");
        }
        // Errors are per user too (401/403 differ by identity): never cached.
        (
            status,
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            Json(body),
        )
            .into_response()
    }
}
