//! The routes the console needs beside the operations: sign-in and sign-out, who is signed in,
//! folders, versions, whether a runbook may be started, global settings and the audit trail.

use reqwest::Method;
use scorch_server::auth::hash_password;
use scorch_store::Role;
use scorch_store::prelude::*;
use serde_json::json;
use uuid::Uuid;

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

    let month_end = json!({ "days_of_month": "last", "hours": ["20:00-23:00"] });
    let (status, body) = super::json(
        put("/api/v1/schedules/MonthEnd", &admin, month_end.clone())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = super::json(
        put("/api/v1/schedules/Bad", &admin, json!({ "hour": [] }))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("bad_request")),
        "{body}"
    );
    let (_, schedules) = web.get("/api/v1/schedules", &viewer).await;
    assert_eq!(
        schedules,
        json!({ "items": [{ "name": "MonthEnd", "definition": month_end }] })
    );
    let (_, one) = web.get("/api/v1/schedules/MonthEnd", &viewer).await;
    assert_eq!(one["definition"], month_end);
    let refused = web
        .request(Method::GET, "/api/v1/schedules", None)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let gone = web
        .request(Method::DELETE, "/api/v1/schedules/MonthEnd", Some(&viewer))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 403);
    let gone = web
        .request(Method::DELETE, "/api/v1/schedules/MonthEnd", Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);

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

/// Fails at its second activity, with an error (the last line of stderr) longer than a list shows.
fn failing(folder: &str) -> String {
    format!(
        r#"format: 1
runbook: Failing
folder: {folder}
activities:
  - id: init
    type: initialize_data
  - id: break
    name: Break it
    type: run_program
    properties:
      program: sh
      arguments: ["-c", "printf 'an earlier line\n%0300d\n' 0 >&2; exit 3"]
links:
  - {{ from: init, to: break }}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_say_where_a_failed_one_failed() {
    let web = Web::start().await;
    let failing = web.push(&failing("Ops")).await;
    let greeter = web.push(&greeter("Ops")).await;
    let viewer = web.user("vera", false, &[("Ops", Role::Viewer)]).await;
    let operator = web.user("otto", false, &[("Ops", Role::Operator)]).await;
    let start = |id: Uuid, parameters| json!({ "runbook_id": id, "parameters": parameters, "wait": true });
    let (status, failed) = web.post("/api/v1/jobs", &operator, &start(failing, json!({}))).await;
    assert_eq!((status, failed["status"].as_str()), (200, Some("failed")), "{failed}");
    let (status, passed) = web
        .post("/api/v1/jobs", &operator, &start(greeter, json!({ "Who": "x" })))
        .await;
    assert_eq!(
        (status, passed["status"].as_str()),
        (200, Some("completed")),
        "{passed}"
    );

    let (status, jobs) = web.get("/api/v1/jobs", &viewer).await;
    assert_eq!(status, 200, "{jobs}");
    let (status, instances) = web.get("/api/v1/instances", &viewer).await;
    assert_eq!(status, 200, "{instances}");
    for (list, failed_id, passed_id) in [
        (&jobs, &failed["id"], &passed["id"]),
        (&instances, &failed["instance_id"], &passed["instance_id"]),
    ] {
        let item = |id: &serde_json::Value| {
            list["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| &i["id"] == id)
                .cloned()
                .unwrap_or_else(|| panic!("{id} is not listed: {list}"))
        };
        let at = &item(failed_id)["failed_activity"];
        assert_eq!((&at["id"], &at["name"]), (&json!("break"), &json!("Break it")), "{at}");
        let error = at["error"].as_str().unwrap();
        assert!(
            error.starts_with("000") && !error.contains('\n'),
            "not the failure's error: {error:?}"
        );
        assert_eq!(
            error.chars().count(),
            201,
            "not cut to 200 characters and an ellipsis: {error:?}"
        );
        assert!(error.ends_with('…'), "{error:?}");
        assert!(item(passed_id).get("failed_activity").is_none(), "{list}");
    }
    // One read answers the job and, for the console's summary, the full error is in the runs.
    let (_, single) = web
        .get(&format!("/api/v1/jobs/{}", failed["id"].as_str().unwrap()), &viewer)
        .await;
    assert!(single.get("failed_activity").is_none(), "{single}");
    web.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_filters_on_the_server() {
    let web = Web::start().await;
    let ops = web.push(&greeter("Ops")).await;
    let finance = web.push(&greeter("Finance")).await;
    let admin = web.user("ada", true, &[]).await;
    let viewer = web.user("vera", false, &[("Ops", Role::Operator)]).await;
    for (id, token) in [(ops, &viewer), (finance, &admin), (ops, &admin)] {
        let (status, body) = web
            .post(
                "/api/v1/jobs",
                token,
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
    let seen = |body: &serde_json::Value| -> Vec<(String, String)> {
        body["items"]
            .as_array()
            .unwrap_or_else(|| panic!("no items: {body}"))
            .iter()
            .map(|e| {
                let on = e["detail"]["runbook"]
                    .as_str()
                    .or(e["detail"]["name"].as_str())
                    .unwrap_or_default();
                (
                    format!("{} {}", e["actor"].as_str().unwrap(), e["action"].as_str().unwrap()),
                    on.to_string(),
                )
            })
            .collect()
    };
    let pair = |who: &str, on: &str| (who.to_string(), on.to_string());

    let (_, body) = web.get("/api/v1/audit?actor=vera", &admin).await;
    assert_eq!(seen(&body), [pair("vera job.start", "Ops/Greeter")]);
    let (_, body) = web.get("/api/v1/audit?action=job.", &admin).await;
    assert_eq!(seen(&body).len(), 3, "{body}");
    let (_, body) = web.get("/api/v1/audit?action=counter.set&actor=ada", &admin).await;
    assert_eq!(seen(&body), [pair("ada counter.set", "Runs")]);
    // Text: case-insensitive, in the detail; LIKE's wildcards are taken literally.
    let (_, body) = web.get("/api/v1/audit?text=FINANCE%2Fgreet", &admin).await;
    assert_eq!(seen(&body), [pair("ada job.start", "Finance/Greeter")]);
    let (_, body) = web.get("/api/v1/audit?text=%25", &admin).await;
    assert_eq!(seen(&body), Vec::<(String, String)>::new());
    // A time range.
    let (_, body) = web.get("/api/v1/audit?until=2000-01-01T00:00:00Z", &admin).await;
    assert_eq!(seen(&body).len(), 0, "{body}");
    let (_, body) = web
        .get("/api/v1/audit?since=2000-01-01T00:00:00Z&limit=2", &admin)
        .await;
    assert_eq!((seen(&body).len(), &body["next_offset"]), (2, &json!(2)), "{body}");
    // Someone else's filter still shows only what they may see.
    let (_, body) = web.get("/api/v1/audit?action=job.start", &viewer).await;
    assert_eq!(
        seen(&body),
        [
            pair("ada job.start", "Ops/Greeter"),
            pair("vera job.start", "Ops/Greeter")
        ]
    );

    let long = "x".repeat(201);
    for (query, why) in [
        ("since=yesterday", "since: 'yesterday' is not an RFC 3339 date-time"),
        (&format!("text={long}"), "text: 201 characters is more than the 200"),
        ("who=ada", "unknown field"),
    ] {
        let (status, body) = web.get(&format!("/api/v1/audit?{query}"), &admin).await;
        assert_eq!(status, 400, "{query}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(why), "{query}: {message}");
    }
    web.stop().await;
}
