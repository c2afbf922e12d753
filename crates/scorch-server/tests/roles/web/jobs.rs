//! Starting, waiting for, following and canceling jobs through the API.

use std::time::Duration;

use scorch_store::prelude::*;
use scorch_store::{JobFilter, Role};
use serde_json::json;

use super::{Web, greeter, sleeper};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_that_waits_answers_with_the_outcome_and_return_data() {
    let web = Web::start().await;
    let id = web.push(&greeter("Ops/Web")).await;
    let op = web.user("otto", false, &[("Ops", Role::Operator)]).await;
    let start = json!({"runbook_path": "Ops/Web/Greeter", "parameters": {"Who": "Ann", "Times": "3"}, "wait": true});
    let (status, job) = web.post("/api/v1/jobs", &op, &start).await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["status"], "completed");
    assert_eq!(job["runbook_id"], id.to_string());
    assert_eq!(job["created_by"], "otto");
    assert_eq!(
        job["parameters"],
        json!({"Who": "Ann", "Times": 3}),
        "parameters are typed"
    );
    let result = &job["result"];
    assert_eq!(result["runbook"], "Greeter");
    assert_eq!(result["status"], "success");
    assert_eq!(result["returns"], json!({"Greeting": "Hello, Ann x3"}));
    let activities: Vec<_> = result["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    assert_eq!(activities, ["init", "reply"]);
    assert_eq!(result["activities"][0]["status"], "success");
    assert!(result["activities"][0]["duration_ms"].is_i64());

    // The same job, read back.
    let job_id = job["id"].as_str().unwrap();
    let instance_id = job["instance_id"].as_str().unwrap();
    let (status, read) = web.get(&format!("/api/v1/jobs/{job_id}"), &op).await;
    assert_eq!(status, 200);
    assert_eq!(read["status"], "completed");
    assert!(read.get("result").is_none(), "only a waiting start carries the result");
    let (_, instances) = web.get(&format!("/api/v1/instances?job_id={job_id}"), &op).await;
    assert_eq!(instances["items"][0]["id"], instance_id);
    assert_eq!(instances["items"][0]["returns"], json!({"Greeting": "Hello, Ann x3"}));
    let (_, instance) = web.get(&format!("/api/v1/instances/{instance_id}"), &op).await;
    assert_eq!(instance["status"], "success");
    assert_eq!(instance["server"], "rb-test");
    let (_, runs) = web
        .get(&format!("/api/v1/instances/{instance_id}/activities"), &op)
        .await;
    assert_eq!(runs["items"], result["activities"]);
    assert_eq!(runs["items"][0]["published"]["Who"], "Ann", "published data is there");

    // Filters and pages.
    let (_, page) = web.get("/api/v1/jobs?status=completed&limit=1", &op).await;
    assert_eq!(page["items"][0]["id"], job_id);
    assert_eq!(page["next_offset"], 1);
    let (_, none) = web.get("/api/v1/jobs?status=failed", &op).await;
    assert_eq!(none["items"], json!([]));
    let (_, none) = web.get("/api/v1/jobs?since=2999-01-01T00:00:00Z", &op).await;
    assert_eq!(none["items"], json!([]));
    let (_, some) = web
        .get(&format!("/api/v1/instances?runbook_id={id}&status=success"), &op)
        .await;
    assert_eq!(some["items"].as_array().unwrap().len(), 1);
    let (_, servers) = web.get("/api/v1/runbook-servers", &op).await;
    assert_eq!(servers["items"][0]["name"], "rb-test");
    assert_eq!(servers["items"][0]["max_instances"], 50);
    assert_eq!(servers["items"][0]["alive"], true, "{servers}");

    // The start is audited with the caller as actor.
    let audit = web.sqlite.audit_log(10, 0).await.unwrap();
    let entry = audit
        .iter()
        .find(|e| e.action == "job.start")
        .expect("an audit record of the start");
    assert_eq!(entry.actor, "otto");
    assert_eq!(entry.object_id.map(|u| u.to_string()).as_deref(), Some(job_id));
    web.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_without_wait_is_created_and_runs() {
    let web = Web::start().await;
    let id = web.push(&greeter("Ops")).await;
    let op = web.user("otto", false, &[("Ops", Role::Operator)]).await;
    // A checked-out runbook still runs its latest checked-in version.
    web.sqlite.check_out(id, "someone").await.unwrap();
    let (status, job) = web
        .post(
            "/api/v1/jobs",
            &op,
            &json!({"runbook_id": id.to_string(), "parameters": {"Who": "B"}}),
        )
        .await;
    assert_eq!(status, 201, "{job}");
    assert_eq!(job["version"], 1);
    let path = format!("/api/v1/jobs/{}", job["id"].as_str().unwrap());
    let done = web
        .poll(&path, &op, Duration::from_secs(20), |j| j["status"] == "completed")
        .await;
    assert!(done["ended_at"].is_string(), "{done}");
    web.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canceling_a_running_job_stops_it_and_kills_its_process() {
    let web = Web::start().await;
    let pid_file = web.dir.path().join("sleep.pid");
    web.push(&sleeper("Ops", &pid_file)).await;
    let op = web.user("otto", false, &[("Ops", Role::Operator)]).await;
    let viewer = web.user("vera", false, &[("Ops", Role::Viewer)]).await;

    // A wait that times out answers 202 with the job still running.
    let start = json!({"runbook_path": "Ops/Sleeper", "wait": true, "timeout_ms": 300});
    let (status, job) = web.post("/api/v1/jobs", &op, &start).await;
    assert_eq!(status, 202, "{job}");
    assert!(job["status"] == "pending" || job["status"] == "running", "{job}");
    let job_id = job["id"].as_str().unwrap().to_string();
    let pid = wait_for_pid(&pid_file).await;
    assert!(alive(pid), "the program runs");

    let cancel = format!("/api/v1/jobs/{job_id}/cancel");
    let (status, body) = web.post(&cancel, &viewer, &json!({})).await;
    assert_eq!(status, 403, "a viewer cannot cancel: {body}");
    let (status, body) = web.post(&cancel, &op, &json!({})).await;
    assert_eq!(status, 200, "{body}");
    let path = format!("/api/v1/jobs/{job_id}");
    let ended = web
        .poll(&path, &op, Duration::from_secs(20), |j| j["status"] != "running")
        .await;
    assert_eq!(ended["status"], "canceled", "{ended}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while alive(pid) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "process {pid} still runs after the cancel"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let instance = ended["instance_id"].as_str().unwrap();
    let (_, instance) = web.get(&format!("/api/v1/instances/{instance}"), &op).await;
    assert_eq!(instance["status"], "canceled");

    // A finished job cannot be canceled.
    let (status, body) = web.post(&cancel, &op, &json!({})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "job_finished");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot change the job status to canceled")
    );

    let audit = web.sqlite.audit_log(10, 0).await.unwrap();
    let actions: Vec<_> = audit.iter().map(|e| (e.action.as_str(), e.actor.as_str())).collect();
    assert!(actions.contains(&("job.cancel", "otto")), "{actions:?}");
    let jobs = web
        .sqlite
        .list_jobs(&JobFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    web.stop().await;
}

async fn wait_for_pid(file: &std::path::Path) -> u32 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(pid) = std::fs::read_to_string(file).ok().and_then(|t| t.trim().parse().ok()) {
            return pid;
        }
        assert!(tokio::time::Instant::now() < deadline, "the program never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether the process runs (a zombie, killed but not yet reaped, does not count).
#[cfg(unix)]
fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"));
    if let Ok(stat) = stat {
        return !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'));
    }
    if std::path::Path::new("/proc/self").exists() {
        return false;
    }
    std::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_right_after_a_check_in_elsewhere_runs_the_new_version() {
    let web = Web::start().await;
    web.push(&greeter("Ops")).await;
    let op = web.user("otto", false, &[("Ops", Role::Operator)]).await;
    let start = |parameters| json!({"runbook_path": "Ops/Greeter", "parameters": parameters, "wait": true});
    let (status, first) = web.post("/api/v1/jobs", &op, &start(json!({"Who": "Ann"}))).await;
    assert_eq!(status, 200, "{first}");

    // Another process on the same database (which cannot tell this one) checks in a version
    // with a new required parameter, while the web service still keeps the runbook's lookup.
    let url = format!("sqlite:{}", web.dir.path().join("scorch.db").display());
    let elsewhere = scorch_store::SqliteStore::open(&url).await.unwrap();
    let newer = greeter("Ops")
        .replace(
            "        - { name: Times, type: integer, default: 1 }",
            "        - { name: Times, type: integer, default: 1 }\n        - { name: Mood, type: string }",
        )
        .replace("x{{ init.Times }}", "x{{ init.Times }} ({{ init.Mood }})");
    let registry = scorch_activities::standard();
    let plan = scorch_model::compile(
        &scorch_model::load(&newer).unwrap(),
        &scorch_engine::RegistryCatalog(&registry),
    )
    .unwrap();
    elsewhere.save_plan(&plan, &newer, "author").await.unwrap();

    // Parameters of the new version: checked against it, and it runs.
    let (status, second) = web
        .post("/api/v1/jobs", &op, &start(json!({"Who": "Ann", "Mood": "glad"})))
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["version"], 2);
    assert_eq!(second["result"]["returns"], json!({"Greeting": "Hello, Ann x1 (glad)"}));
    // The first version's parameters no longer fit.
    let (status, third) = web.post("/api/v1/jobs", &op, &start(json!({"Who": "Ann"}))).await;
    assert_eq!(
        (status, third["error"]["code"].as_str()),
        (400, Some("invalid_parameters")),
        "{third}"
    );
}

/// An instance that failed outside its activities (a link condition that cannot be evaluated)
/// says why, in the waited start's answer and on the instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_failed_by_a_link_says_why() {
    let web = Web::start().await;
    web.push(
        r#"format: 1
runbook: Bad Gate
folder: Ops
activities:
  - id: src
    type: initialize_data
    properties:
      parameters:
        - { name: Word, type: string, default: "apple" }
  - id: gated
    type: run_program
    properties: { program: "true" }
links:
  - { from: src, to: gated, include: [ { data: src.Word, op: lt, value: "5" } ] }
"#,
    )
    .await;
    let op = web.user("otto", false, &[("Ops", Role::Operator)]).await;
    let start = json!({"runbook_path": "Ops/Bad Gate", "wait": true});
    let (status, job) = web.post("/api/v1/jobs", &op, &start).await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(
        (job["status"].as_str(), job["result"]["status"].as_str()),
        (Some("failed"), Some("failed"))
    );
    let said = job["result"]["problems"].to_string();
    assert!(said.contains("src -> gated"), "{job}");
    let instance_id = job["instance_id"].as_str().unwrap();
    let (_, instance) = web.get(&format!("/api/v1/instances/{instance_id}"), &op).await;
    assert_eq!(instance["problems"], job["result"]["problems"], "{instance}");
    web.stop().await;
}
