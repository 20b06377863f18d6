//! The single-page app: the HTML shell (an askama template with the runtime settings and a
//! per-response CSP nonce) and the embedded, content-hashed bundle from `static/`.
//!
//! Debug builds read `static/` from disk at run time (rebuild the web bundle and refresh);
//! release builds embed it. `static/manifest.json`, written by the web build, names the
//! hashed entry files.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use rust_embed::RustEmbed;
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(RustEmbed)]
#[folder = "static/"]
#[exclude = ".gitkeep"]
struct Bundle;

/// `static/manifest.json`: the entry files of the bundle.
#[derive(Debug, Deserialize)]
struct Manifest {
    js: String,
    css: Option<String>,
}

fn manifest() -> Option<Manifest> {
    let file = Bundle::get("manifest.json")?;
    serde_json::from_slice(&file.data).ok()
}

#[derive(Template)]
#[template(path = "index.html")]
struct Shell {
    base_href: String,
    nonce: String,
    /// Runtime settings as JSON, with `<`, `>` and `&` escaped so it cannot close the tag.
    config_json: String,
    js: Option<String>,
    css: Option<String>,
}

fn nonce() -> String {
    let mut bytes = [0u8; 16];
    // A failing OS RNG leaves zeros; the CSP still forbids inline script without the nonce.
    if getrandom::fill(&mut bytes).is_err() {
        tracing::warn!("OS random generator failed; CSP nonce is not random");
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Escapes JSON for embedding inside `<script type="application/json">`.
fn script_safe_json(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// `GET /` (and every client-side route): the HTML shell, never cached.
pub async fn shell(State(state): State<AppState>) -> Response {
    let settings = &state.settings;
    let manifest = manifest();
    let nonce = nonce();
    let config = json!({
        "basePath": settings.base_path,
        "version": settings.version,
        "readOnly": settings.read_only,
        "source": settings.source,
    });
    let page = Shell {
        base_href: format!("{}/", settings.base_path),
        nonce: nonce.clone(),
        config_json: script_safe_json(&config),
        js: manifest.as_ref().map(|m| m.js.clone()),
        css: manifest.and_then(|m| m.css),
    };
    let html = match page.render() {
        Ok(html) => html,
        Err(err) => {
            tracing::error!(%err, "shell template failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response();
        }
    };
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
         base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    );
    let mut response = Html(html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// Paths that are client-side routes get the shell; paths that look like files (a dot in
/// the last segment) and are not in the bundle get a 404.
pub async fn spa_fallback(state: State<AppState>, uri: Uri) -> Response {
    let last = uri.path().rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    shell(state).await
}

/// `GET /assets/{*path}`: a file of the bundle. Hashed names are cached forever.
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    if path
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        || path.contains('\\')
    {
        return ApiError::UnknownEndpoint(format!("assets/{path}")).into_response();
    }
    let Some(file) = Bundle::get(&format!("assets/{path}")) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let etag = format!(
        "\"{}\"",
        file.metadata
            .sha256_hash()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mime = file.metadata.mimetype().to_owned();
    let mut response = file.data.into_owned().into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_json_cannot_close_the_script_tag() {
        let out = script_safe_json(&json!({"x": "</script><script>alert(1)</script>&"}));
        assert!(!out.contains('<') && !out.contains('>') && !out.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back["x"], "</script><script>alert(1)</script>&");
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(nonce(), nonce());
        assert_eq!(nonce().len(), 32);
    }
}
