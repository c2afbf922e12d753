//! Monitor runbooks through the real binary: webhooks answered as the contract says, each call
//! one instance; a monitor job that stays running until canceled.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Fleet, eventually, send};

const ON_DEPLOY: &str = r#"format: 1
runbook: On Deploy
returns:
  - { name: Body, type: string }
activities:
  - id: hook
    type: monitor_webhook
    properties: { hook: deployed, token: "{{ var.HookToken }}", max_body: 1KiB }
  - id: out
    type: return_data
    properties: { values: { Body: "{{ hook.body }}" } }
links:
  - { from: hook, to: out }
"#;

/// Calls the hook with `token` (none: no Authorization header) and `body`.
async fn call(fleet: &Fleet, hook: &str, token: Option<&str>, body: String) -> (u16, Value) {
    let mut request = fleet
        .http
        .post(format!("{}/api/v1/hooks/{hook}?env=prod", fleet.web))
        .header("content-type", "text/plain")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    send(request).await
}

/// The instances of job `job`, once `count` of them have ended.
async fn ended_instances(fleet: &Fleet, job: &str, count: usize) -> Vec<Value> {
    eventually("the webhook's instances to end", Duration::from_secs(60), || async {
        let (status, body) = fleet.get(&format!("/api/v1/instances?job_id={job}&limit=500")).await;
        assert_eq!(status, 200, "{body}");
        let items = body["items"].as_array().cloned().unwrap_or_default();
        let ended = items.iter().filter(|i| i["status"] != "running").count();
        (ended >= count).then_some(items)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_starts_one_instance_per_authorized_call() {
    let mut fleet = Fleet::sqlite();
    fleet.start_up("up").await;
    let (status, _) = send(
        fleet
            .http
            .put(format!("{}/api/v1/variables/HookToken", fleet.web))
            .bearer_auth(&fleet.admin)
            .json(&json!({ "value": "hook-s3cret", "encrypted": true })),
    )
    .await;
    assert_eq!(status, 200);
    fleet.push("on-deploy.runbook.yaml", ON_DEPLOY, "").await;

    assert_eq!(call(&fleet, "nobody-listens", Some("x"), "a".into()).await.0, 404);
    // Known, but no job runs it yet: the token is checked first, then the job.
    assert_eq!(call(&fleet, "deployed", Some("wrong"), "a".into()).await.0, 401);
    let (status, body) = call(&fleet, "deployed", Some("hook-s3cret"), "a".into()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );

    let (status, job) = fleet
        .post("/api/v1/jobs", &json!({ "runbook_path": "On Deploy" }))
        .await;
    assert_eq!(status, 201, "{job}");
    let job_id = job["id"].as_str().unwrap().to_string();
    eventually("the monitor job to run", Duration::from_secs(30), || async {
        let (_, job) = fleet.get(&format!("/api/v1/jobs/{job_id}")).await;
        (job["status"] == "running").then_some(())
    })
    .await;

    assert_eq!(call(&fleet, "deployed", None, "a".into()).await.0, 401);
    assert_eq!(
        call(&fleet, "deployed", Some("hook-s3cret-not"), "a".into()).await.0,
        401
    );
    let (status, body) = call(&fleet, "deployed", Some("hook-s3cret"), "x".repeat(2048)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("payload_too_large")),
        "{body}"
    );
    let (_, triggers) = fleet.get(&format!("/api/v1/jobs/{job_id}/triggers")).await;
    assert_eq!(triggers["items"], json!([]), "a refused call records nothing");

    // Concurrent calls: each is one trigger and one instance, with its own body.
    let calls: Vec<_> = (0..20)
        .map(|n| {
            let (http, url) = (fleet.http.clone(), format!("{}/api/v1/hooks/deployed", fleet.web));
            tokio::spawn(async move { send(http.post(url).bearer_auth("hook-s3cret").body(format!("call {n}"))).await })
        })
        .collect();
    let mut accepted = HashSet::new();
    for call in calls {
        let (status, body) = call.await.unwrap();
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["job_id"], job_id.as_str());
        accepted.insert(body["instance_id"].as_str().unwrap().to_string());
    }
    assert_eq!(accepted.len(), 20);
    let instances = ended_instances(&fleet, &job_id, 20).await;
    assert_eq!(instances.len(), 20, "{instances:#?}");
    let mut bodies = HashSet::new();
    for instance in &instances {
        assert!(accepted.contains(instance["id"].as_str().unwrap()), "{instance}");
        assert_eq!(instance["status"], "success", "{instance}");
        let body = instance["returns"]["Body"].as_str().unwrap().to_string();
        bodies.insert(body);
    }
    assert_eq!(bodies, (0..20).map(|n| format!("call {n}")).collect::<HashSet<_>>());
    // The published data of the webhook holds the call, never its token.
    let one = instances[0]["id"].as_str().unwrap();
    let (_, runs) = fleet.get(&format!("/api/v1/instances/{one}/activities")).await;
    let text = runs.to_string();
    assert!(text.contains("remote_addr"), "{text}");
    assert!(!text.contains("hook-s3cret"), "{text}");
    let (_, job) = fleet.get(&format!("/api/v1/jobs/{job_id}")).await;
    assert_eq!(job["status"], "running", "a monitor job runs on: {job}");

    let (status, _) = fleet.post(&format!("/api/v1/jobs/{job_id}/cancel"), &json!({})).await;
    assert_eq!(status, 200);
    eventually("the monitor job to end canceled", Duration::from_secs(30), || async {
        let (_, job) = fleet.get(&format!("/api/v1/jobs/{job_id}")).await;
        (job["status"] == "canceled").then_some(())
    })
    .await;
    assert_eq!(
        call(&fleet, "deployed", Some("hook-s3cret"), "late".into()).await.0,
        409
    );
    let logs = fleet.logs();
    assert!(!logs.contains("hook-s3cret"), "{logs}");
}
