//! Authentication and folder permissions.

use reqwest::Method;
use scorch_store::prelude::*;
use scorch_store::{JobFilter, Role};
use serde_json::json;

use super::{Web, greeter};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_but_health_needs_a_token() {
    let web = Web::start().await;
    let id = uuid::Uuid::now_v7();
    let routes = [
        (Method::GET, "/openapi.json".to_string()),
        (Method::GET, "/api/v1/runbooks".to_string()),
        (Method::GET, format!("/api/v1/runbooks/{id}")),
        (Method::GET, "/api/v1/jobs".to_string()),
        (Method::POST, "/api/v1/jobs".to_string()),
        (Method::GET, format!("/api/v1/jobs/{id}")),
        (Method::POST, format!("/api/v1/jobs/{id}/cancel")),
        (Method::GET, "/api/v1/instances".to_string()),
        (Method::GET, format!("/api/v1/instances/{id}")),
        (Method::GET, format!("/api/v1/instances/{id}/activities")),
        (Method::GET, "/api/v1/runbook-servers".to_string()),
        (Method::GET, "/api/v1/events".to_string()),
        (Method::DELETE, "/api/v1/session".to_string()),
        (Method::GET, "/api/v1/me".to_string()),
        (Method::GET, "/api/v1/folders".to_string()),
        (Method::GET, format!("/api/v1/runbooks/{id}/versions")),
        (Method::GET, "/api/v1/variables".to_string()),
        (Method::PUT, "/api/v1/variables/x".to_string()),
        (Method::DELETE, "/api/v1/variables/x".to_string()),
        (Method::GET, "/api/v1/counters".to_string()),
        (Method::PUT, "/api/v1/counters/x".to_string()),
        (Method::DELETE, "/api/v1/counters/x".to_string()),
        (Method::GET, "/api/v1/audit".to_string()),
    ];
    for (method, path) in &routes {
        for token in [None, Some("sct_not-a-real-token")] {
            let request = web
                .request(method.clone(), path, token)
                .json(&json!({"runbook_path": "X"}));
            let (status, body) = super::json(request.send().await.unwrap()).await;
            assert_eq!(status, 401, "{method} {path} with {token:?}: {body}");
            assert_eq!(body["error"]["code"], "unauthenticated", "{method} {path}: {body}");
        }
    }
    let health = web.request(Method::GET, "/health", None).send().await.unwrap();
    assert_eq!(health.status(), 200);
    web.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_lists_and_reads_but_cannot_start() {
    let web = Web::start().await;
    let id = web.push(&greeter("Ops")).await;
    let viewer = web.user("vera", false, &[("Ops", Role::Viewer)]).await;
    let (status, list) = web.get("/api/v1/runbooks", &viewer).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"][0]["path"], "Ops/Greeter");
    let (status, runbook) = web.get(&format!("/api/v1/runbooks/{id}"), &viewer).await;
    assert_eq!(status, 200, "{runbook}");
    assert_eq!(runbook["parameters"][0]["name"], "Who");
    let (status, body) = web
        .post("/api/v1/jobs", &viewer, &json!({"runbook_id": id.to_string()}))
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("operator"),
        "{body}"
    );
    let jobs = web
        .sqlite
        .list_jobs(&JobFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(jobs.is_empty(), "a refused start stores nothing: {jobs:?}");
    web.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_the_folder_does_not_see_its_runbooks_jobs_or_instances() {
    let web = Web::start().await;
    let hidden = web.push(&greeter("Ops")).await;
    let shown = web.push(&greeter("Other")).await;
    let admin = web.user("root", true, &[]).await;
    let outsider = web.user("olga", false, &[("Other", Role::Operator)]).await;
    let (status, done) = web
        .post(
            "/api/v1/jobs",
            &admin,
            &json!({"runbook_path": "Ops/Greeter", "parameters": {"Who": "a"}, "wait": true}),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    let job = done["id"].as_str().unwrap();
    let instance = done["instance_id"].as_str().unwrap();

    let (status, list) = web.get("/api/v1/runbooks", &outsider).await;
    assert_eq!(status, 200);
    let paths: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["Other/Greeter"]);
    for path in [
        format!("/api/v1/runbooks/{hidden}"),
        format!("/api/v1/jobs/{job}"),
        format!("/api/v1/instances/{instance}"),
        format!("/api/v1/instances/{instance}/activities"),
    ] {
        let (status, body) = web.get(&path, &outsider).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    for start in [
        json!({"runbook_id": hidden.to_string()}),
        json!({"runbook_path": "Ops/Greeter"}),
    ] {
        let (status, body) = web.post("/api/v1/jobs", &outsider, &start).await;
        assert_eq!(status, 404, "{start}: {body}");
    }
    let (status, body) = web
        .post(&format!("/api/v1/jobs/{job}/cancel"), &outsider, &json!({}))
        .await;
    assert_eq!(status, 404, "{body}");
    for path in [
        "/api/v1/jobs",
        "/api/v1/instances",
        &format!("/api/v1/jobs?runbook_id={hidden}"),
    ] {
        let (status, body) = web.get(path, &outsider).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["items"], json!([]), "{path}");
    }
    // What it can see, it sees.
    let (status, mine) = web
        .post(
            "/api/v1/jobs",
            &outsider,
            &json!({"runbook_id": shown.to_string(), "parameters": {"Who": "b"}}),
        )
        .await;
    assert_eq!(status, 201, "{mine}");
    let (_, jobs) = web.get("/api/v1/jobs", &outsider).await;
    let ids: Vec<_> = jobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].clone())
        .collect();
    assert_eq!(ids, [mine["id"].clone()]);
    // An administrator sees both.
    let (_, jobs) = web.get("/api/v1/jobs", &admin).await;
    assert_eq!(jobs["items"].as_array().unwrap().len(), 2, "{jobs}");
    web.stop().await;
}
