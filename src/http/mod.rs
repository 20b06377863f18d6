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
        .route("/readyz", get(api::readyz))
        .route(
            "/metrics",
            get(
                |axum::extract::State(state): axum::extract::State<AppState>| async move {
                    (
                        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                        crate::metrics::render(&state),
                    )
                },
            ),
        );
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
    let guard_state = state.clone();
    security_headers(router)
        .layer(axum::middleware::from_fn(move |req, next| {
            host_guard(guard_state.clone(), req, next)
        }))
        .with_state(state)
}

/// Refuses requests whose `Host` is not a loopback name while we listen on loopback only:
/// a DNS-rebinding page (evil.example resolving to 127.0.0.1) then cannot read the API.
async fn host_guard(
    state: AppState,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if state.settings.loopback_only {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        if !is_loopback_host(host) {
            return (
                StatusCode::MISDIRECTED_REQUEST,
                axum::Json(serde_json::json!({"error": {
                    "code": "hostNotAllowed",
                    "message": "this dashboard listens on loopback and only answers to localhost, 127.0.0.1 or [::1]"
                }})),
            )
                .into_response();
        }
    }
    next.run(req).await
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
pub fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn loopback_hosts() {
        for ok in [
            "localhost",
            "localhost:3100",
            "127.0.0.1:3100",
            "127.1.2.3",
            "[::1]:80",
            "[::1]",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "",
            "evil.example",
            "evil.example:3100",
            "10.0.0.1:3100",
            "localhost.evil.example",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }
}
