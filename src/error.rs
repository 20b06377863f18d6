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
    #[error("rollout {namespace}/{name} not found")]
    RolloutNotFound { namespace: String, name: String },
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
            ApiError::UnknownEndpoint(_) | ApiError::RolloutNotFound { .. } => {
                StatusCode::NOT_FOUND
            }
            ApiError::BadRequest(_) | ApiError::InvalidName(_) => StatusCode::BAD_REQUEST,
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
        if let ApiError::InvalidName(err) = &self {
            body["error"]["details"] = json!({"field": err.field(), "rule": err.rule_id()});
        }
        if status.is_server_error() {
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
