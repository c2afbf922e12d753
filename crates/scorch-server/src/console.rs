//! The Orchestration console on port 82. Until the console lands this serves one page that
//! says where the web service is.

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use tokio_util::sync::CancellationToken;

/// The console's page; `web_service` is the URL browsers use to reach the web service.
pub fn router(web_service: &str) -> Router {
    let page = Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>scorch console</title></head>\
         <body><h1>scorch</h1><p>The Orchestration console arrives in a coming release.</p>\
         <p>The REST web service is at <a href=\"{0}/openapi.json\">{0}</a>.</p></body></html>",
        html_escape(web_service)
    ));
    Router::new().route("/", get(move || async move { page.clone() }))
}

pub async fn serve(
    listener: impl Into<crate::listener::Listener>,
    web_service: &str,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener.into(), router(web_service))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
