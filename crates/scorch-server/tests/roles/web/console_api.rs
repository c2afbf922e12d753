//! The routes the console needs beside the operations: sign-in and sign-out, who is signed in,
//! folders, versions, whether a runbook may be started, global settings and the audit trail.

use reqwest::Method;
use scorch_server::auth::hash_password;
use scorch_store::Role;
use scorch_store::prelude::*;
use serde_json::json;

use super::{CONSOLE, Web, greeter};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_and_out_with_a_password() {
    let web = Web::start().await;
    let phc = hash_password("correct horse").unwrap();
    web.sqlite.create_user("olga", Some(&phc), false).await.unwrap();
    web.sqlite.grant("olga", "Ops", Role::Operator).await.unwrap();

    let sign_in = |user: &str, password: &str| {
        web.request(Method::POST, "/api/v1/session", None)
            .json(&json!({ "user": user, "password": password }))
            .send()
    };
    for (user, password) in [("olga", "wrong password"), ("nobody", "correct horse")] {
        let (status, body) = super::json(sign_in(user, password).await.unwrap()).await;
        assert_eq!(status, 401, "{user}: {body}");
        assert_eq!(body["error"]["message"], "unknown user or wrong password");
    }
    let (status, body) = super::json(sign_in("olga", "correct horse").await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_string();

    let (status, me) = web.get("/api/v1/me", &token).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        me,
        json!({ "name": "olga", "admin": false, "grants": [{ "folder": "Ops", "role": "operator" }] })
    );

    let out = web
        .request(Method::DELETE, "/api/v1/session", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let (status, body) = web.get("/api/v1/me", &token).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthenticated")));
    web.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folders_versions_and_who_may_start() {
    let web = Web::start().await;
    let id = web.push(&greeter("Ops/Web")).await;
    web.push(&greeter("Ops/Web")).await;
    web.push(&greeter("Finance")).await;
    web.sqlite.ensure_folder("Ops/Empty").await.unwrap();
    let admin = web.user("ada", true, &[]).await;
    let viewer = web.user("vera", false, &[("Ops/Web", Role::Viewer)]).await;
    let operator = web.user("otto", false, &[("Ops", Role::Operator)]).await;

    let (_, all) = web.get("/api/v1/folders", &admin).await;
    let paths: Vec<_> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].clone())
        .collect();
    assert_eq!(paths, ["Finance", "Ops", "Ops/Empty", "Ops/Web"]);
    // The viewer sees its folder and the folders above it, nothing beside it.
    let (_, some) = web.get("/api/v1/folders", &viewer).await;
    assert_eq!(some, json!({ "items": [{ "path": "Ops" }, { "path": "Ops/Web" }] }));

    let (status, versions) = web.get(&format!("/api/v1/runbooks/{id}/versions"), &viewer).await;
    assert_eq!(status, 200, "{versions}");
    let numbers: Vec<_> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].clone())
        .collect();
    assert_eq!(numbers, [2, 1]);
    assert_eq!(versions["items"][0]["created_by"], "author");

    let (_, runbook) = web.get(&format!("/api/v1/runbooks/{id}"), &viewer).await;
    assert_eq!(runbook["can_start"], false);
    let (_, runbook) = web.get(&format!("/api/v1/runbooks/{id}"), &operator).await;
    assert_eq!(runbook["can_start"], true);

    let outsider = web.user("eve", false, &[("Finance", Role::Admin)]).await;
    let (status, _) = web.get(&format!("/api/v1/runbooks/{id}/versions"), &outsider).await;
    assert_eq!(status, 404);
    web.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_read_by_all_changed_by_admins() {
    let web = Web::start().await;
    let admin = web.user("ada", true, &[]).await;
    let viewer = web.user("vera", false, &[("Ops", Role::Viewer)]).await;

    let put = |path: &str, token: &str, body: serde_json::Value| {
        web.request(Method::PUT, path, Some(token)).json(&body).send()
    };
    let (status, body) = super::json(
        put(
            "/api/v1/variables/Password",
            &admin,
            json!({ "value": "hunter2", "encrypted": true }),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.to_string().contains("hunter2"));
    put("/api/v1/variables/Region", &admin, json!({ "value": "eu-west" }))
        .await
        .unwrap();
    put("/api/v1/counters/Runs", &admin, json!({ "value": 7 }))
        .await
        .unwrap();

    let (status, vars) = web.get("/api/v1/variables", &viewer).await;
    assert_eq!(status, 200, "{vars}");
    assert_eq!(
        vars,
        json!({ "items": [
            { "name": "Password", "encrypted": true },
            { "name": "Region", "value": "eu-west", "encrypted": false },
        ] })
    );
    let (_, counters) = web.get("/api/v1/counters", &viewer).await;
    assert_eq!(
        counters,
        json!({ "items": [{ "name": "Runs", "value": 7, "default": 7 }] })
    );

    let (status, body) = super::json(
        put("/api/v1/counters/Runs", &viewer, json!({ "value": 1 }))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")));
    let gone = web
        .request(Method::DELETE, "/api/v1/variables/Region", Some(&viewer))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 403);
    let gone = web
        .request(Method::DELETE, "/api/v1/variables/Region", Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
    web.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_shows_each_user_what_it_may_see() {
    let web = Web::start().await;
    let ops = web.push(&greeter("Ops")).await;
    let finance = web.push(&greeter("Finance")).await;
    let admin = web.user("ada", true, &[]).await;
    let viewer = web.user("vera", false, &[("Ops", Role::Viewer)]).await;
    for id in [ops, finance] {
        let (status, body) = web
            .post(
                "/api/v1/jobs",
                &admin,
                &json!({ "runbook_id": id, "parameters": { "Who": "x" } }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    web.request(Method::PUT, "/api/v1/counters/Runs", Some(&admin))
        .json(&json!({ "value": 1 }))
        .send()
        .await
        .unwrap();

    let (status, all) = web.get("/api/v1/audit", &admin).await;
    assert_eq!(status, 200, "{all}");
    let actions: Vec<_> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].clone())
        .collect();
    assert_eq!(actions, ["counter.set", "job.start", "job.start"], "newest first");

    let (_, some) = web.get("/api/v1/audit", &viewer).await;
    let seen: Vec<_> = some["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].clone(), e["detail"]["runbook"].clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (json!("counter.set"), json!(null)),
            (json!("job.start"), json!("Ops/Greeter"))
        ]
    );

    let (_, page) = web.get("/api/v1/audit?limit=1&offset=1", &admin).await;
    assert_eq!(
        (page["items"].as_array().unwrap().len(), &page["next_offset"]),
        (1, &json!(2))
    );
    web.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_may_change_settings_across_origins() {
    let web = Web::start().await;
    let preflight = web
        .request(Method::OPTIONS, "/api/v1/variables/Region", None)
        .header("Origin", CONSOLE)
        .header("Access-Control-Request-Method", "PUT")
        .header("Access-Control-Request-Headers", "authorization, content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    let methods = preflight.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(methods.contains("PUT") && methods.contains("DELETE"), "{methods}");
    web.stop().await;
}
