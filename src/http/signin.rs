//! `--auth token`: the sign-in page, sign-in and sign-out.
//!
//! A plain HTML form (no script). Cross-site requests are refused three ways: the `Origin`
//! must match the `Host`, the form must carry the value of the `SameSite=Strict` CSRF cookie
//! (double submit), and the session cookie itself is `SameSite=Strict`. The token is checked
//! with a TokenReview and kept only in server memory; the browser gets a random 32-byte
//! session id in an `HttpOnly` cookie.

use std::net::SocketAddr;

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, SameSite};
use cookie::time;
use serde::Deserialize;

use crate::auth::{SESSION_COOKIE, TokenReviewError, constant_time_eq, cookie, random_hex};
use crate::state::AppState;

const CSRF_COOKIE: &str = "rd_csrf";
/// Longest token accepted (service account and OIDC tokens are a few KiB).
const MAX_TOKEN: usize = 12 * 1024;
/// What the sign-in page says when the token cannot be checked (the reason is logged with
/// the request id, which the page quotes).
pub const REVIEW_FAILED: &str =
    "could not check the token with the cluster; try again or ask the dashboard's operator";

/// Routes under `/auth` (token mode only).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/sign-in", get(page).post(sign_in))
        .route("/auth/sign-out", post(sign_out))
}

#[derive(Template)]
#[template(path = "sign-in.html")]
struct SignInPage {
    nonce: String,
    csrf: String,
    error: Option<String>,
    signed_in: Option<String>,
    home: String,
    sign_in: String,
    sign_out: String,
}

#[derive(Deserialize)]
struct SignInForm {
    csrf: String,
    #[serde(default)]
    token: String,
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, `Secure` off plain loopback, scoped to
/// `path`, for `max_age` seconds (0 deletes it).
fn cookie_header(
    state: &AppState,
    name: &str,
    value: &str,
    path: &str,
    max_age: u64,
) -> HeaderValue {
    let cookie = Cookie::build((name.to_owned(), value.to_owned()))
        .path(path.to_owned())
        .max_age(time::Duration::seconds(
            i64::try_from(max_age).unwrap_or(i64::MAX),
        ))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.auth.secure_cookies)
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or(HeaderValue::from_static("invalid=1"))
}

fn render(
    state: &AppState,
    status: StatusCode,
    error: Option<String>,
    signed_in: Option<String>,
    csrf: Option<String>,
) -> Response {
    let base = &state.settings.base_path;
    let nonce = random_hex(16);
    let csrf = csrf.unwrap_or_else(|| random_hex(32));
    let page = SignInPage {
        nonce: nonce.clone(),
        csrf: csrf.clone(),
        error,
        signed_in,
        home: format!("{base}/"),
        sign_in: format!("{base}/auth/sign-in"),
        sign_out: format!("{base}/auth/sign-out"),
    };
    let html = match page.render() {
        Ok(html) => html,
        Err(err) => {
            tracing::error!(%err, "sign-in template failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response();
        }
    };
    let mut response = (status, Html(html)).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(csp) = HeaderValue::from_str(&format!(
        "default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    )) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.append(
        header::SET_COOKIE,
        cookie_header(state, CSRF_COOKIE, &csrf, &format!("{base}/auth"), 3600),
    );
    response
}

/// `GET /auth/sign-in`.
async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let signed_in = state.auth.identify(&headers, None).ok().map(|id| id.user);
    render(
        &state,
        StatusCode::OK,
        None,
        signed_in,
        cookie(&headers, CSRF_COOKIE),
    )
}

/// Same-origin form check: `Origin` (when sent) matches `Host`, and the form carries the
/// CSRF cookie's value.
fn check_form(headers: &HeaderMap, csrf: &str) -> Result<(), String> {
    super::actions::check_same_origin(headers).map_err(|e| e.to_string())?;
    let expected = cookie(headers, CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), csrf.as_bytes()) {
        return Err(
            "the form expired or was sent from another site: reload the page and try again".into(),
        );
    }
    Ok(())
}

/// `POST /auth/sign-in` (form: `csrf`, `token`).
async fn sign_in(State(state): State<AppState>, req: Request) -> Response {
    let headers = req.headers().clone();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    let auth = state.auth.clone();
    if let Err(wait) = auth.take_write(&format!("sign-in:{peer}")) {
        let mut r = (
            StatusCode::TOO_MANY_REQUESTS,
            "too many sign-in attempts; wait and retry",
        )
            .into_response();
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let form = match axum::Form::<SignInForm>::from_request(req, &state).await {
        Ok(axum::Form(form)) => form,
        Err(err) => {
            return render(
                &state,
                StatusCode::BAD_REQUEST,
                Some(format!("bad form: {}", err.body_text())),
                None,
                None,
            );
        }
    };
    if let Err(msg) = check_form(&headers, &form.csrf) {
        return render(&state, StatusCode::FORBIDDEN, Some(msg), None, None);
    }
    let token = form.token.trim().to_owned();
    if token.is_empty()
        || token.len() > MAX_TOKEN
        || token.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return render(
            &state,
            StatusCode::BAD_REQUEST,
            Some("that does not look like a bearer token".into()),
            None,
            Some(form.csrf),
        );
    }
    // Reviewed on every cluster: the session is signed in to those that accept the token.
    let ((username, groups), clusters) = match auth.token_review_clusters(&token).await {
        Ok(Some(owner)) => owner,
        Ok(None) => {
            tracing::warn!(peer, "sign-in refused: token not authenticated");
            return render(
                &state,
                StatusCode::UNAUTHORIZED,
                Some("Kubernetes did not accept this token".into()),
                None,
                Some(form.csrf),
            );
        }
        Err(err) => {
            // The detail (API server address, TLS and network errors) is for the operator's
            // log, not for someone who has not even signed in: they get a reference to quote.
            let request_id = headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            tracing::warn!(%err, request_id, peer, "sign-in: TokenReview failed");
            let status = match err {
                TokenReviewError::NoCluster => StatusCode::SERVICE_UNAVAILABLE,
                TokenReviewError::Failed(_) => StatusCode::BAD_GATEWAY,
            };
            let mut message = REVIEW_FAILED.to_owned();
            if !request_id.is_empty() {
                message.push_str(&format!(" (reference {request_id})"));
            }
            return render(&state, status, Some(message), None, Some(form.csrf));
        }
    };
    tracing::info!(user = %username, ?groups, ?clusters, "signed in");
    let id = auth.create_session_in(username, groups, token, clusters);
    let base = &state.settings.base_path;
    let mut response = Redirect::to(&format!("{base}/")).into_response();
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        cookie_header(
            &state,
            SESSION_COOKIE,
            &id,
            &format!("{base}/"),
            auth.session_ttl.as_secs(),
        ),
    );
    h.append(
        header::SET_COOKIE,
        cookie_header(&state, CSRF_COOKIE, "", &format!("{base}/auth"), 0),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /auth/sign-out`: a form with the CSRF value, or a `fetch` with the anti-CSRF
/// header `X-Rollouts-Dashboard`.
async fn sign_out(State(state): State<AppState>, req: Request) -> Response {
    let headers = req.headers().clone();
    let from_script = headers.contains_key(super::actions::CSRF_HEADER);
    let allowed = if from_script {
        super::actions::check_same_origin(&headers).map_err(|e| e.to_string())
    } else {
        match axum::Form::<SignInForm>::from_request(req, &state).await {
            Ok(axum::Form(form)) => check_form(&headers, &form.csrf),
            Err(err) => Err(err.body_text()),
        }
    };
    if let Err(msg) = allowed {
        return render(&state, StatusCode::FORBIDDEN, Some(msg), None, None);
    }
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        state.auth.end_session(&id);
    }
    let base = &state.settings.base_path;
    let mut response = if from_script {
        StatusCode::NO_CONTENT.into_response()
    } else {
        Redirect::to(&format!("{base}/auth/sign-in")).into_response()
    };
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie_header(&state, SESSION_COOKIE, "", &format!("{base}/"), 0),
    );
    response
}
