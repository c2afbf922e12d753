//! The Orchestration console on port 82: the static web app in the repository's `console/`
//! folder, embedded into the binary at build time (debug builds read the folder from disk, so
//! the app can be edited without rebuilding), and `/config.json`, which tells the app where the
//! web service is. The browser calls the web service itself, cross-origin (CORS), as the
//! seed's port table has it.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rust_embed::RustEmbed;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::serve::HttpLimits;

#[derive(RustEmbed)]
#[folder = "../../console/"]
#[include = "*.html"]
#[include = "*.css"]
#[include = "*.js"]
#[include = "*.svg"]
#[include = "*.png"]
struct Assets;

/// Where the console is and where the web service is, as browsers reach them.
#[derive(Debug, Clone)]
pub struct ConsoleUrls {
    pub console: String,
    pub web_service: String,
}

struct Site {
    config: String,
    /// The Content-Security-Policy of every answer: only this origin's scripts and styles, the
    /// one inline import map by its hash, and calls to the web service.
    policy: HeaderValue,
}

/// The console's routes.
pub fn router(urls: &ConsoleUrls) -> Router {
    let config = json!({ "web_service_url": urls.web_service, "console_url": urls.console }).to_string();
    let policy = format!(
        "default-src 'self'; script-src 'self' '{}'; connect-src 'self' {}; style-src 'self'; img-src 'self' data:; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        import_map_hash(),
        origin(&urls.web_service)
    );
    let site = Site {
        config,
        policy: HeaderValue::from_str(&policy).unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'")),
    };
    Router::new()
        .route("/", get(index))
        .route("/config.json", get(config_json))
        .route("/{*path}", get(asset))
        .with_state(Arc::new(site))
}

/// Serves the console on `listener` within `limits` until `shutdown` (then lets requests in
/// flight finish).
pub async fn serve(
    listener: impl Into<crate::listener::Listener>,
    urls: &ConsoleUrls,
    limits: HttpLimits,
    shutdown: CancellationToken,
) {
    crate::serve::serve(listener.into(), router(urls), limits, shutdown).await;
}

async fn index(State(site): State<Arc<Site>>, headers: HeaderMap) -> Response {
    file(&site, "index.html", &headers)
}

async fn config_json(State(site): State<Arc<Site>>) -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        site.config.clone(),
    )
        .into_response();
    secure(&site, &mut response);
    response
}

async fn asset(State(site): State<Arc<Site>>, Path(path): Path<String>, headers: HeaderMap) -> Response {
    file(&site, &path, &headers)
}

/// An embedded file, revalidated by its content hash (ETag) so a reload costs one small
/// request per file.
fn file(site: &Site, path: &str, headers: &HeaderMap) -> Response {
    let Some(found) = Assets::get(path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let etag = format!("\"{}\"", hex::encode(&found.metadata.sha256_hash()[..16]));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type(path))], found.data.into_owned()).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    secure(site, &mut response);
    response
}

fn secure(site: &Site, response: &mut Response) {
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, site.policy.clone());
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// The CSP source of index.html's one inline script, its import map (the page's bare module
/// names, which modules outside this origin's files cannot declare).
fn import_map_hash() -> String {
    let page = Assets::get("index.html")
        .map(|f| f.data.into_owned())
        .unwrap_or_default();
    let page = String::from_utf8_lossy(&page);
    let body = page
        .split_once("<script type=\"importmap\">")
        .and_then(|(_, rest)| rest.split_once("</script>"))
        .map_or("", |(body, _)| body);
    format!("sha256-{}", STANDARD.encode(Sha256::digest(body.as_bytes())))
}

/// `scheme://host:port` of a URL (what CSP and CORS compare).
pub fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{authority}")
}
