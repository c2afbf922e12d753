//! Malformed requests: clear 4xx answers in the error shape, nothing stored.

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, ORIGIN};
use scorch_server::api::MAX_BODY_BYTES;
use scorch_store::prelude::*;
use scorch_store::{JobFilter, Role};
use serde_json::json;

use super::{CONSOLE, Web, greeter};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_clear_4xx_and_store_nothing() {
    let web = Web::start().await;
    let id = web.push(&greeter("Ops")).await;
    let op = web.user("otto", false, &[("Ops", Role::Operator)]).await;
    let post_raw = |body: Vec<u8>| {
        web.request(Method::POST, "/api/v1/jobs", Some(&op))
            .header(CONTENT_TYPE, "application/json")
            .body(body)
    };

    let (status, body) = super::json(post_raw(b"{\"runbook_id\": ".to_vec()).send().await.unwrap()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");

    let (status, body) = super::json(post_raw(vec![b' '; MAX_BODY_BYTES + 10]).send().await.unwrap()).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "body_too_large");

    let (status, body) = web
        .post(
            "/api/v1/jobs",
            &op,
            &json!({"runbook_id": id.to_string(), "paramters": {}}),
        )
        .await;
    assert_eq!(status, 400, "an unknown field is refused: {body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("paramters"),
        "{body}"
    );

    let start = json!({"runbook_id": id.to_string(), "parameters": {"Who": "x", "Times": "three", "Extra": 1}});
    let (status, body) = web.post("/api/v1/jobs", &op, &start).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_parameters");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("'Times'") && message.contains("not an integer"),
        "{message}"
    );
    assert!(
        message.contains("unknown parameter 'Extra'"),
        "every problem is named: {message}"
    );

    let (status, body) = web
        .post("/api/v1/jobs", &op, &json!({"runbook_id": id.to_string()}))
        .await;
    assert_eq!(status, 400, "a required parameter is missing: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("'Who'"), "{body}");

    for unknown in [
        json!({"runbook_id": uuid::Uuid::now_v7().to_string()}),
        json!({"runbook_path": "Ops/Nope"}),
    ] {
        let (status, body) = web.post("/api/v1/jobs", &op, &unknown).await;
        assert_eq!(status, 404, "{unknown}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    for ambiguous in [
        json!({}),
        json!({"runbook_id": id.to_string(), "runbook_path": "Ops/Greeter"}),
    ] {
        let (status, body) = web.post("/api/v1/jobs", &op, &ambiguous).await;
        assert_eq!(status, 400, "{ambiguous}: {body}");
    }
    let (status, body) = web.post("/api/v1/jobs", &op, &json!({"runbook_id": "nope"})).await;
    assert_eq!(status, 400, "{body}");
    let start = json!({"runbook_path": "Ops/Greeter", "parameters": {"Who": "x"}, "wait": true, "timeout_ms": 300_001});
    let (status, body) = web.post("/api/v1/jobs", &op, &start).await;
    assert_eq!(status, 400, "{body}");

    let jobs = web
        .sqlite
        .list_jobs(&JobFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(jobs.is_empty(), "no refused start stored a job: {jobs:?}");

    for path in [
        "/api/v1/jobs?status=done",
        "/api/v1/jobs?limit=501",
        "/api/v1/jobs?since=yesterday",
        "/api/v1/instances?job_id=x",
    ] {
        let (status, body) = web.get(path, &op).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{path}");
    }
    let (status, body) = web.get("/api/v1/nothing-here", &op).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    let (status, body) = super::json(
        web.request(Method::DELETE, "/api/v1/jobs", Some(&op))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 405, "{body}");
    assert_eq!(body["error"]["code"], "method_not_allowed");
    web.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allows_exactly_the_console_origins() {
    let web = Web::start().await;
    let preflight = |origin: &str| {
        web.request(Method::OPTIONS, "/api/v1/jobs", None)
            .header(ORIGIN, origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
    };
    for origin in [CONSOLE, "http://127.0.0.1:8282"] {
        let answer = preflight(origin).send().await.unwrap();
        assert!(answer.status().is_success(), "{origin}: {}", answer.status());
        assert_eq!(answer.headers()["access-control-allow-origin"], origin);
        let headers = answer.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_lowercase();
        assert!(headers.contains("authorization"), "{headers}");
    }
    let answer = preflight("http://evil.example").send().await.unwrap();
    assert!(
        answer.headers().get("access-control-allow-origin").is_none(),
        "{:?}",
        answer.headers()
    );
    let answer = web
        .request(Method::GET, "/health", None)
        .header(ORIGIN, CONSOLE)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["access-control-allow-origin"], CONSOLE);
    let answer = web
        .request(Method::GET, "/health", None)
        .header(ORIGIN, "http://evil.example")
        .send()
        .await
        .unwrap();
    assert!(answer.headers().get("access-control-allow-origin").is_none());
    web.stop().await;
}
