//! The OpenAPI document: served, and its committed copy (`docs/openapi.json`) current.
//! `UPDATE_EXPECT=1 cargo test -p scorch-server --test web openapi` rewrites the copy.

use std::path::PathBuf;

use scorch_server::web;

use super::Web;

#[test]
#[allow(clippy::disallowed_methods, reason = "UPDATE_EXPECT rewrites the committed document")]
fn committed_openapi_document_is_current() {
    let generated = web::openapi_json();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run UPDATE_EXPECT=1 cargo test -p scorch-server --test web openapi"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_served_and_describes_every_route() {
    let web = Web::start().await;
    let token = web.user("root", true, &[]).await;
    let (status, doc) = web.get("/openapi.json", &token).await;
    assert_eq!(status, 200);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    for path in [
        "/health",
        "/openapi.json",
        "/api/v1/runbooks",
        "/api/v1/runbooks/{id}",
        "/api/v1/jobs",
        "/api/v1/jobs/{id}",
        "/api/v1/jobs/{id}/cancel",
        "/api/v1/instances",
        "/api/v1/instances/{id}",
        "/api/v1/instances/{id}/activities",
        "/api/v1/runbook-servers",
        "/api/v1/events",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert_eq!(
        doc["paths"]["/health"]["get"]["security"],
        serde_json::json!([{}]),
        "/health needs no token"
    );
    web.stop().await;
}
