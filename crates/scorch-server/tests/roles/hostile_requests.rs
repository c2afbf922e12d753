//! Requests a hostile or careless client sends to the web service and the management server:
//! every error answer carries the API's error shape, pages and names have bounds, and grants
//! are revoked the way the API documents.

use crate::support::{Roles, exchange, request};
use scorch_server::api::{MAX_HEADER_BYTES, MAX_URI_BYTES};
use scorch_server::serve::HttpLimits;
use scorch_store::NewAudit;
use serde_json::{Value, json};

#[tokio::test]
async fn heads_over_the_limits_are_refused_in_the_error_shape() {
    let roles = Roles::start(HttpLimits::default()).await;
    for role in roles.both() {
        let long_target = format!("/health?{}", "q".repeat(MAX_URI_BYTES));
        let answer = exchange(role, &request("GET", &long_target, None, None)).await;
        assert_eq!((answer.status, answer.code()), (414, "uri_too_long".into()), "{answer}");

        let big_header = format!(
            "GET /health HTTP/1.1\r\nHost: scorch\r\nConnection: close\r\nX-Padding: {}\r\n\r\n",
            "p".repeat(MAX_HEADER_BYTES)
        );
        let answer = exchange(role, big_header.as_bytes()).await;
        assert_eq!(
            (answer.status, answer.code()),
            (431, "headers_too_large".into()),
            "{answer}"
        );

        let answer = exchange(role, &request("GET", "/health", None, None)).await;
        assert_eq!(answer.status, 200, "heads within the limits are served: {answer}");
    }
    roles.stop().await;
}

#[tokio::test]
async fn errors_axum_answers_itself_are_in_the_error_shape() {
    let roles = Roles::start(HttpLimits::default()).await;
    let admin = Some(roles.admin.as_str());
    for role in roles.both() {
        let answer = exchange(role, &request("PATCH", "/health", None, None)).await;
        assert_eq!(
            (answer.status, answer.code()),
            (405, "method_not_allowed".into()),
            "{answer}"
        );
        assert!(
            answer.header("allow").is_some(),
            "the allowed methods are still named: {answer}"
        );

        // A path segment that is not UTF-8 once decoded: axum's path rejection, in plain text.
        let body = json!({ "value": 1 });
        let answer = exchange(role, &request("PUT", "/api/v1/counters/%ff", admin, Some(&body))).await;
        assert_eq!((answer.status, answer.code()), (400, "bad_request".into()), "{answer}");

        // Characters in a Content-Type that the JSON extractor cannot read.
        for content_type in [&b"application/json\xff"[..], b"application/\tjson"] {
            let head = [
                &b"POST /api/v1/session HTTP/1.1\r\nHost: scorch\r\nConnection: close\r\nContent-Length: 2\r\nContent-Type: "[..],
                content_type,
                b"\r\n\r\n{}",
            ]
            .concat();
            let answer = exchange(role, &head).await;
            assert_eq!(
                (answer.status, answer.code()),
                (415, "unsupported_media_type".into()),
                "{answer}"
            );
        }
    }
    roles.stop().await;
}

#[tokio::test]
async fn the_management_servers_audit_pages_are_capped_like_the_web_services() {
    let roles = Roles::start(HttpLimits::default()).await;
    for _ in 0..501 {
        let entry = NewAudit {
            actor: "admin",
            action: "test.record",
            object_type: "test",
            object_id: None,
            detail: &json!({}),
        };
        roles.store.audit(entry).await.unwrap();
    }
    let admin = Some(roles.admin.as_str());
    let answer = exchange(
        roles.management,
        &request("GET", "/api/v1/audit?limit=100000", admin, None),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer}");
    assert_eq!(
        answer.json().as_array().map(Vec::len),
        Some(500),
        "at most a page of 500"
    );
    let answer = exchange(roles.web, &request("GET", "/api/v1/audit?limit=501", admin, None)).await;
    assert_eq!((answer.status, answer.code()), (400, "bad_request".into()), "{answer}");
    roles.stop().await;
}

#[tokio::test]
async fn grants_are_revoked_with_the_documented_body_or_the_query_string() {
    let roles = Roles::start(HttpLimits::default()).await;
    roles.store.create_user("otto", None, false).await.unwrap();
    roles.store.ensure_folder("Ops").await.unwrap();
    let admin = Some(roles.admin.as_str());
    let grants = |answer: &crate::support::Answer| answer.json()["grants"].as_array().map(Vec::len);
    for revoke in [
        request(
            "DELETE",
            "/api/v1/grants",
            admin,
            Some(&json!({ "user": "otto", "folder": "Ops" })),
        ),
        request("DELETE", "/api/v1/grants?user=otto&folder=Ops", admin, None),
    ] {
        let grant = json!({ "user": "otto", "folder": "Ops", "role": "operator" });
        let answer = exchange(roles.management, &request("PUT", "/api/v1/grants", admin, Some(&grant))).await;
        assert_eq!((answer.status, grants(&answer)), (200, Some(1)), "{answer}");
        let answer = exchange(roles.management, &revoke).await;
        assert_eq!((answer.status, grants(&answer)), (200, Some(0)), "{answer}");
    }
    roles.stop().await;
}

/// A name longer than any a route accepts: a 400 that names the field and does not repeat it.
fn refused_naming(answer: &crate::support::Answer, field: &str) {
    assert_eq!((answer.status, answer.code()), (400, "bad_request".into()), "{answer}");
    let message = answer.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains(field), "the message names {field}: {message}");
    assert!(message.len() < 300, "the name is not repeated: {message}");
}

#[tokio::test]
async fn over_long_names_are_refused_naming_the_field() {
    let roles = Roles::start(HttpLimits::default()).await;
    let admin = Some(roles.admin.as_str());
    let long = "n".repeat(200_000);
    let in_path = "n".repeat(129);
    let management = roles.management;

    let new_user = json!({ "name": long });
    refused_naming(
        &exchange(management, &request("POST", "/api/v1/users", admin, Some(&new_user))).await,
        "user name",
    );
    for (method, path, field) in [
        ("GET", format!("/api/v1/users/{in_path}"), "user name"),
        ("DELETE", format!("/api/v1/users/{in_path}"), "user name"),
        ("GET", format!("/api/v1/users/{in_path}/tokens"), "user name"),
        ("GET", format!("/api/v1/variables/{in_path}"), "variable name"),
        ("DELETE", format!("/api/v1/counters/{in_path}"), "counter name"),
    ] {
        refused_naming(&exchange(management, &request(method, &path, admin, None)).await, field);
    }
    let value = json!({ "value": 1 });
    for role in roles.both() {
        let path = format!("/api/v1/counters/{in_path}");
        refused_naming(
            &exchange(role, &request("PUT", &path, admin, Some(&value))).await,
            "counter name",
        );
        let login = json!({ "user": long, "password": "irrelevant" });
        refused_naming(
            &exchange(role, &request("POST", "/api/v1/session", None, Some(&login))).await,
            "user name",
        );
    }
    let grant = json!({ "user": long, "folder": "Ops", "role": "viewer" });
    refused_naming(
        &exchange(management, &request("PUT", "/api/v1/grants", admin, Some(&grant))).await,
        "user name",
    );

    let source = format!("format: 1\nrunbook: {long}\nactivities:\n  - {{ id: start, type: initialize_data }}\n");
    let check_in = json!({ "source": source });
    let answer = exchange(management, &request("POST", "/api/v1/runbooks", admin, Some(&check_in))).await;
    assert_eq!(
        (answer.status, answer.code()),
        (400, "invalid_runbook".into()),
        "{answer}"
    );
    let diagnostics: Vec<Value> = answer.json()["error"]["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        diagnostics
            .iter()
            .any(|d| d.as_str().is_some_and(|d| d.contains("runbook") && d.len() < 300)),
        "a diagnostic names the runbook's name without repeating it: {answer}"
    );
    roles.stop().await;
}

/// What hyper cannot read as a request (it answers before any of scorch's code sees it) is
/// answered in the error shape too: a Content-Type or a path with a control character, a bad
/// Content-Length, an unknown HTTP version.
#[tokio::test]
async fn heads_hyper_cannot_read_are_answered_in_the_error_shape() {
    let roles = Roles::start(HttpLimits::default()).await;
    let heads: [&[u8]; 4] = [
        b"POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\x01\r\nContent-Length: 2\r\n\r\n{}",
        b"GET /hea\x01lth HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n",
    ];
    for role in roles.both() {
        for head in heads {
            let answer = exchange(role, head).await;
            assert_eq!((answer.status, answer.code()), (400, "bad_request".into()), "{answer}");
            assert_eq!(answer.header("connection"), Some("close"), "{answer}");
        }
        let answer = exchange(role, &request("GET", "/health", None, None)).await;
        assert_eq!(answer.status, 200, "a readable head is served as before: {answer}");
    }
    roles.stop().await;
}
