//! The HTTP surface: JSON API, WebSocket stream, health probes, and the single-page app,
//! all under the configured base path.

pub mod access;
pub mod actions;
pub mod api;
pub mod assets;
pub mod identity;
pub mod serve;
pub mod signin;
pub mod status;
pub mod tls;
pub mod ws;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::auth::AuthMode;
use crate::state::AppState;

/// Largest request body on any route (actions have their own, smaller limit).
pub const MAX_REQUEST_BODY: usize = 64 * 1024;

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
                        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
                        crate::metrics::render(&state.metrics, &state.store),
                    )
                },
            ),
        );
    // Everything that needs an identity; the sign-in page and the public bundle do not.
    let protected = Router::new()
        .nest("/api", api::router())
        .route("/", get(assets::shell))
        .fallback(assets::spa_fallback)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            identity::require_identity,
        ));
    let mut public = Router::new().route("/assets/{*path}", get(assets::asset));
    if state.auth.mode == AuthMode::Token {
        public = public.merge(signin::router());
    }
    let inner = protected
        .merge(public)
        .layer(CompressionLayer::new())
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::extract::Request| {
                let request_id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                tracing::info_span!(
                    "request",
                    method = %req.method(),
                    uri = %req.uri(),
                    request_id,
                    user = tracing::field::Empty,
                )
            }),
        )
        // Probes sit outside the trace layer so they do not flood the logs.
        .merge(probes);
    let router = if base.is_empty() {
        inner
    } else {
        let target = format!("{base}/");
        Router::new()
            .route("/", get(move || async move { Redirect::to(&target) }))
            // NB: a nested "/" only matches "{base}" itself; "{base}/" (what the base href
            // and every reload of the list page ask for) needs its own route.
            .route(&format!("{base}/"), get(assets::shell))
            .nest(&base, inner)
            .fallback(not_under_base_path)
    };
    let guard_state = state.clone();
    let router = if state.settings.tls {
        router.layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ))
    } else {
        router
    };
    let api_prefix = format!("{base}/api");
    security_headers(router)
        .layer(axum::middleware::from_fn(move |req, next| {
            host_guard(guard_state.clone(), req, next)
        }))
        .layer(RequestBodyLimitLayer::new(MAX_REQUEST_BODY))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        // Outermost, so that every answer under /api (the 401 of the identity check, the
        // 413 of the body limit, the 421 of the host check) carries it.
        .layer(axum::middleware::from_fn(move |req, next| {
            no_store_api(api_prefix.clone(), req, next)
        }))
        .with_state(state)
}

/// `Cache-Control: no-store` on every answer under `/api`: they are per user in proxy and
/// token modes (and live data in every mode), so no browser or shared cache may keep them.
async fn no_store_api(
    api_prefix: String,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = req.uri().path();
    let api = path
        .strip_prefix(api_prefix.as_str())
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    let mut response = next.run(req).await;
    if api {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Removes client-sent `Impersonate-*` headers, then refuses requests whose `Host` is not
/// allowed: loopback names while we listen on loopback only, else the `--allowed-host`
/// names when set. A DNS-rebinding page (evil.example resolving to us) then cannot read
/// the API. Probes are exempt (kubelet and Prometheus use the pod IP).
async fn host_guard(
    state: AppState,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    crate::auth::strip_impersonation(req.headers_mut());
    let settings = &state.settings;
    let path = req.uri().path();
    let probe = path
        .strip_prefix(settings.base_path.as_str())
        .is_some_and(|p| matches!(p, "/healthz" | "/readyz" | "/metrics"));
    if !probe {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        if !host_allowed(settings.loopback_only, &settings.allowed_hosts, host) {
            let message = if settings.allowed_hosts.is_empty() {
                "this dashboard listens on loopback and only answers to localhost, 127.0.0.1 or [::1]"
                    .to_owned()
            } else {
                format!(
                    "this dashboard only answers to {} (--allowed-host)",
                    settings.allowed_hosts.join(", ")
                )
            };
            return (
                StatusCode::MISDIRECTED_REQUEST,
                axum::Json(serde_json::json!({"error": {
                    "code": "hostNotAllowed",
                    "message": message,
                }})),
            )
                .into_response();
        }
    }
    next.run(req).await
}

/// Whether a `Host` header value is accepted.
pub fn host_allowed(loopback_only: bool, allowed: &[String], host: &str) -> bool {
    if loopback_only && is_loopback_host(host) {
        return true;
    }
    if allowed.is_empty() {
        return !loopback_only;
    }
    let host = host.to_ascii_lowercase();
    let name = if host.starts_with('[') {
        host.split_inclusive(']')
            .next()
            .unwrap_or_default()
            .to_owned()
    } else {
        host.rsplit_once(':')
            .map_or(host.as_str(), |(name, _)| name)
            .to_owned()
    };
    allowed.iter().any(|a| *a == host || *a == name)
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
    use super::{host_allowed, is_loopback_host};

    #[test]
    fn allowed_hosts() {
        let list = vec!["dash.example".to_owned(), "other.example:8443".to_owned()];
        assert!(host_allowed(false, &list, "dash.example"));
        assert!(host_allowed(false, &list, "DASH.example:443"));
        assert!(host_allowed(false, &list, "other.example:8443"));
        assert!(!host_allowed(false, &list, "other.example:9000"));
        assert!(!host_allowed(false, &list, "evil.example"));
        assert!(!host_allowed(false, &list, "127.0.0.1:3100"));
        assert!(host_allowed(true, &list, "127.0.0.1:3100"));
        assert!(host_allowed(false, &[], "anything"));
        assert!(!host_allowed(true, &[], "evil.example"));
    }

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
