//! The identity middleware: who is asking, resolved once per request by [`crate::auth`], or
//! 401 (in token mode, page loads go to the sign-in page instead).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::{AuthMode, Identity, Unauthenticated};
use crate::state::AppState;

/// Middleware: attaches the [`Identity`] or answers 401 (token mode: the sign-in page for
/// page loads).
pub async fn require_identity(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let auth = &state.auth;
    let identified = match auth.identify(req.headers(), peer) {
        // After a re-check the session may carry other groups: read it again.
        Ok(Identity {
            session: Some(session),
            ..
        }) => {
            if auth.revalidate(&session).await {
                auth.session_identity(&session)
                    .ok_or(Unauthenticated::NoSession)
            } else {
                Err(Unauthenticated::NoSession)
            }
        }
        other => other,
    };
    match identified {
        Ok(identity) => {
            if auth.mode != AuthMode::None {
                tracing::Span::current().record("user", identity.user.as_str());
            }
            req.extensions_mut().insert(identity);
            next.run(req).await
        }
        Err(err) => {
            let page_load = req.method() == Method::GET && !req.uri().path().starts_with("/api/");
            if auth.mode == AuthMode::Token && page_load {
                Redirect::to(&format!("{}/auth/sign-in", state.settings.base_path)).into_response()
            } else {
                if auth.mode == AuthMode::Proxy {
                    tracing::warn!(peer = ?peer, %err, "request without a valid proxy identity");
                }
                err.into_response()
            }
        }
    }
}
