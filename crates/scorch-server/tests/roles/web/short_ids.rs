//! Jobs and instances by short ids (the last 8 hex digits the console shows, or a unique prefix),
//! and running a job again with its runbook's latest version.

use scorch_store::Role;
use serde_json::{Value, json};

use super::{Web, greeter};

fn tail(id: &str) -> String {
    id.replace('-', "")[24..].to_string()
}

/// Starts `Greeter` in `folder` as `token` for `who`; the job.
async fn start(web: &Web, token: &str, folder: &str, who: &str) -> Value {
    let body = json!({ "runbook_path": format!("{folder}/Greeter"), "parameters": { "Who": who }, "wait": true });
    let (status, job) = web.post("/api/v1/jobs", token, &body).await;
    assert_eq!(status, 200, "{job}");
    job
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_and_instances_answer_to_short_ids_among_what_the_caller_sees() {
    let web = Web::start().await;
    web.push(&greeter("Ops")).await;
    web.push(&greeter("Finance")).await;
    let admin = web.user("root", true, &[]).await;
    let op = web.user("otto", false, &[("Ops", Role::Operator)]).await;
    let (a, b) = (start(&web, &op, "Ops", "A").await, start(&web, &op, "Ops", "B").await);
    let hidden = start(&web, &admin, "Finance", "C").await;
    let id = |job: &Value| job["id"].as_str().unwrap().to_string();

    for job in [&a, &b] {
        for short in [tail(&id(job)), id(job)[..32].to_string(), id(job).to_uppercase()] {
            let (status, found) = web.get(&format!("/api/v1/jobs/{short}"), &op).await;
            assert_eq!(
                (status, found["id"].as_str()),
                (200, Some(id(job).as_str())),
                "{short}: {found}"
            );
        }
        let instance = job["instance_id"].as_str().unwrap();
        let (status, found) = web.get(&format!("/api/v1/instances/{}", tail(instance)), &op).await;
        assert_eq!(
            (status, found["job_id"].as_str()),
            (200, Some(id(job).as_str())),
            "{found}"
        );
        let (status, runs) = web
            .get(&format!("/api/v1/instances/{}/activities", tail(instance)), &op)
            .await;
        assert_eq!((status, runs["instance_id"].as_str()), (200, Some(instance)), "{runs}");
    }
    // Jobs started together share their first digits (UUID v7): ambiguous, listing the ones the
    // caller may see, newest first, each with its runbook and time.
    let shared = &id(&a)[..4];
    let (status, refused) = web.get(&format!("/api/v1/jobs/{shared}"), &op).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("ambiguous_id")),
        "{refused}"
    );
    let candidates = refused["error"]["candidates"].as_array().unwrap();
    let listed: Vec<&str> = candidates.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [id(&b), id(&a)]);
    assert_eq!(candidates[0]["runbook"], "Ops/Greeter");
    assert!(candidates[0]["created_at"].is_string(), "{refused}");
    let (_, refused) = web.get(&format!("/api/v1/jobs/{shared}"), &admin).await;
    assert_eq!(refused["error"]["candidates"].as_array().unwrap().len(), 3, "{refused}");
    let (status, _) = web.get(&format!("/api/v1/instances/{shared}"), &op).await;
    assert_eq!(status, 409);

    // What the caller may not see does not exist for it, short or full.
    for short in [tail(&id(&hidden)), id(&hidden)] {
        let (status, missing) = web.get(&format!("/api/v1/jobs/{short}"), &op).await;
        assert_eq!(
            (status, missing["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{missing}"
        );
    }
    let mut unknown = tail(&id(&a));
    unknown.replace_range(..1, if unknown.starts_with('0') { "1" } else { "0" });
    let (status, _) = web.get(&format!("/api/v1/jobs/{unknown}"), &admin).await;
    assert_eq!(status, 404);
    for bad in ["abc", "not-an-id", "0123456789abcdef0123456789abcdef0"] {
        let (status, refused) = web.get(&format!("/api/v1/jobs/{bad}"), &admin).await;
        assert_eq!(status, 400, "{bad}: {refused}");
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains("last 8 hex digits"),
            "{refused}"
        );
    }
    web.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_starts_the_latest_version_with_the_jobs_parameters() {
    let web = Web::start().await;
    web.push(&greeter("Ops")).await;
    let op = web.user("otto", false, &[("Ops", Role::Operator)]).await;
    let viewer = web.user("vera", false, &[("Ops", Role::Viewer)]).await;
    let first = start(&web, &op, "Ops", "Ada").await;
    let first_id = first["id"].as_str().unwrap();
    assert_eq!(first["version"], 1);
    // Version 2 greets differently.
    web.push(&greeter("Ops").replace("Hello,", "Hi,")).await;

    let path = format!("/api/v1/jobs/{}/rerun", tail(first_id));
    let bare = web
        .request(reqwest::Method::POST, &path, Some(&op))
        .send()
        .await
        .unwrap();
    let (status, again) = super::json(bare).await;
    assert_eq!(status, 201, "no body: answered at once: {again}");
    assert_eq!(again["version"], 2, "{again}");
    assert_eq!(again["parameters"], first["parameters"]);
    assert_eq!(again["runbook_id"], first["runbook_id"]);
    assert_ne!(again["id"], first["id"]);
    let (status, waited) = web.post(&path, &op, &json!({ "wait": true })).await;
    assert_eq!(status, 200, "{waited}");
    assert_eq!(waited["result"]["returns"]["Greeting"], "Hi, Ada x1");

    let (_, audit) = web.get("/api/v1/audit?limit=10", &op).await;
    let reruns: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "job.rerun")
        .collect();
    assert_eq!(reruns.len(), 2, "{audit}");
    assert_eq!(reruns[0]["detail"]["rerun_of"], first_id);
    assert_eq!(reruns[0]["detail"]["version"], 2);
    assert_eq!(reruns[0]["object_id"], waited["id"]);

    let (status, refused) = web.post(&path, &viewer, &json!({})).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{refused}"
    );
    let (status, refused) = web.post(&path, &op, &json!({ "wait": "yes" })).await;
    assert_eq!(status, 400, "{refused}");
    let (status, _) = web
        .post(
            "/api/v1/jobs/00000000-0000-7000-8000-000000000000/rerun",
            &op,
            &json!({}),
        )
        .await;
    assert_eq!(status, 404);
    // Parameters the latest version no longer takes: refused, saying which.
    web.push(
        &greeter("Ops")
            .replace("{ name: Who, type: string }", "{ name: Whom, type: string }")
            .replace("init.Who ", "init.Whom "),
    )
    .await;
    let (status, refused) = web.post(&path, &op, &json!({})).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (400, Some("invalid_parameters")),
        "{refused}"
    );
    assert!(
        refused["error"]["message"].as_str().unwrap().contains("'Who'"),
        "{refused}"
    );
    web.stop().await;
}
