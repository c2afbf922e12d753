//! Bad input, limits, health, the audit trail and purge.

use reqwest::{Method, StatusCode};
use scorch_store::Role;
use serde_json::json;

use super::{Mgmt, code, message};

#[tokio::test]
async fn an_oversized_body_is_413_and_nothing_is_stored() {
    let m = Mgmt::start().await;
    let huge = format!(
        "format: 1\nrunbook: Huge\n# {}\nactivities: []\n",
        "x".repeat(2 * 1024 * 1024)
    );
    let (status, answer) = m.push(&m.admin, &huge, None).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
        "{answer}"
    );
    let (_, list) = m.get("/api/v1/runbooks", &m.admin).await;
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn malformed_requests_get_clear_4xx_answers() {
    let m = Mgmt::start().await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/runbooks", m.url))
        .bearer_auth(&m.admin)
        .header("content-type", "application/json")
        .body("{ not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(code(&answer), "bad_request");

    let (status, answer) = m.post("/api/v1/runbooks", &m.admin, json!({ "source": 7 })).await;
    assert_eq!((status, code(&answer)), (StatusCode::BAD_REQUEST, "bad_request"));
    let (status, answer) = m.get("/api/v1/audit?limit=lots", &m.admin).await;
    assert_eq!((status, code(&answer)), (StatusCode::BAD_REQUEST, "bad_request"));
    let (status, answer) = m.get("/api/v1/nothing-here", &m.admin).await;
    assert_eq!((status, code(&answer)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, answer) = m.call(Method::GET, "/api/v1/variables", Some("garbage"), None).await;
    assert_eq!((status, code(&answer)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let (status, answer) = m.call(Method::GET, "/api/v1/folders", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(message(&answer).contains("Bearer"), "{answer}");
}

#[tokio::test]
async fn health_needs_no_token() {
    let m = Mgmt::start().await;
    let (status, health) = m.call(Method::GET, "/health", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["database"], "ok");
}

#[tokio::test]
async fn audit_and_purge_are_for_administrators() {
    let m = Mgmt::start().await;
    let author = m.user("otto", &[("", Role::Author)]).await;
    let (status, _) = m.get("/api/v1/audit", &author).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = m
        .post("/api/v1/purge", &author, json!({ "keep_last": 1, "dry_run": true }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, answer) = m.post("/api/v1/purge", &m.admin, json!({ "dry_run": true })).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::BAD_REQUEST, "bad_request"),
        "a rule is needed"
    );
    let (status, purged) = m
        .post("/api/v1/purge", &m.admin, json!({ "keep_last": 5, "dry_run": true }))
        .await;
    assert_eq!(status, StatusCode::OK, "{purged}");
    assert_eq!(purged, json!({ "instances": 0, "dry_run": true }));
    let (status, purged) = m
        .post(
            "/api/v1/purge",
            &m.admin,
            json!({ "older_than_days": 30, "dry_run": false }),
        )
        .await;
    assert_eq!((status, purged["instances"].as_u64()), (StatusCode::OK, Some(0)));
    let (status, _) = m
        .post(
            "/api/v1/purge",
            &m.admin,
            json!({ "keep_last": 1, "runbook_id": uuid::Uuid::nil() }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, page) = m.get("/api/v1/audit?limit=1&offset=0", &m.admin).await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["action"], "instances.purge");
    assert_eq!(page[0]["actor"], "admin");
}
