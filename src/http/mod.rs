//! The HTTP surface: JSON API, WebSocket stream, health probes, and the single-page app,
//! all under the configured base path.

pub mod actions;
pub mod api;
pub mod assets;
pub mod ws;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::state::AppState;

/// Builds the whole application router; testable without a socket.
pub fn app(state: AppState) -> Router {
    let base = state.settings.base_path.clone();
    let probes = Router::new()
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz));
    let inner = Router::new()
        .nest("/api", api::router())
        .route("/assets/{*path}", get(assets::asset))
        .route("/", get(assets::shell))
        .fallback(assets::spa_fallback)
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        // Probes sit outside the trace layer so they do not flood the logs.
        .merge(probes);
    let router = if base.is_empty() {
        inner
    } else {
        let target = format!("{base}/");
        Router::new()
            .route("/", get(move || async move { Redirect::to(&target) }))
            .nest(&base, inner)
            .fallback(not_under_base_path)
    };
    security_headers(router).with_state(state)
}

async fn not_under_base_path() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

/// Headers every response carries. The shell sets its own nonce-based CSP; this one covers
/// JSON and assets.
fn security_headers<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    let fixed: [(HeaderName, &'static str); 4] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ];
    fixed.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    })
}
