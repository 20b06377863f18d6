//! Errors answered over HTTP, mapped once to a status and a JSON body
//! `{"error": {"code": …, "message": …}}`.

use axum::Json;
use axum::http::StatusCode;
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
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
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
        if status.is_server_error() {
            tracing::error!(code = self.code(), error = %self, "request failed");
        }
        (status, Json(body)).into_response()
    }
}
