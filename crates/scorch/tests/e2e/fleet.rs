//! End-to-end tests of the distributed system (issue 3): processes of the real `scorch` binary
//! on loopback ports, a fresh PostgreSQL database per test (SQLite in a temporary directory for
//! `scorch up`), the runbooks pushed through the CLI and the jobs started through the REST API.
//! Nothing is synchronised by sleeping: every wait polls with a deadline.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::support::{Fleet, Proc, eventually, is_final, run_scorch, send};
use reqwest::Method;
use serde_json::{Value, json};

const JOBS: usize = 200;
/// The steps of the fleet runbook that append `<job_id> <step>` to the log.
const LOGGED_STEPS: [&str; 3] = ["a", "b", "c"];

/// Three appends around a non-idempotent pause; up to 200 instances at once.
fn fleet_runbook(log: &str) -> String {
    format!(
        r#"format: 1
runbook: Fleet
concurrency: 200
activities:
  - id: a
    type: append_line
    properties: {{ file: "{log}", text: "{{{{ runbook.job_id }}}} a" }}
  - id: pause
    type: run_program
    properties: {{ program: sleep, arguments: ["0.3"] }}
  - id: b
    type: append_line
    properties: {{ file: "{log}", text: "{{{{ runbook.job_id }}}} b" }}
  - id: c
    type: append_line
    properties: {{ file: "{log}", text: "{{{{ runbook.job_id }}}} c" }}
links:
  - {{ from: a, to: pause }}
  - {{ from: pause, to: b }}
  - {{ from: b, to: c }}
"#
    )
}

fn items(body: &Value) -> Vec<Value> {
    body["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fleet_survives_a_runbook_server_killed_mid_run() {
    let began = Instant::now();
    let Some(mut fleet) = Fleet::postgres() else { return };
    fleet.start_management().await;
    fleet.start_web().await;
    fleet.start_runbook_server("rb1", 50);
    fleet.start_runbook_server("rb2", 50);
    fleet.wait_servers_alive(&["rb1", "rb2"]).await;

    let log = fleet.path("steps.log");
    let pushed = fleet
        .push("fleet.runbook.yaml", &fleet_runbook(&log.display().to_string()), "ops")
        .await;
    assert!(
        pushed.stdout.contains("pushed ops/Fleet version 1"),
        "{}",
        pushed.stdout
    );

    // 200 starts from 4 concurrent clients; meanwhile, kill rb1 once it runs ten of them.
    let posters = fleet.start_jobs("ops/Fleet", JOBS, 4);
    fleet.wait_running_on("rb1", 10).await;
    fleet.proc("rb1").kill9();
    let killed_at = Instant::now();

    // rb1 is gone: what it still held is exactly its unfinished jobs now.
    let held: BTreeSet<String> = fleet
        .all_jobs("")
        .await
        .into_iter()
        .filter(|j| j["claimed_by"] == "rb1" && !is_final(j["status"].as_str().unwrap_or("")))
        .map(|j| j["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!held.is_empty(), "rb1 held no unfinished job when it was killed");

    let mut ids = Vec::new();
    for poster in posters {
        ids.extend(poster.await.expect("a posting task"));
    }
    assert_eq!(ids.len(), JOBS);
    let ids: BTreeSet<String> = ids.into_iter().collect();
    assert_eq!(ids.len(), JOBS, "every start made its own job");

    // Its leases expire (10 s) and rb2 resumes them: every job ends.
    let what = format!("after rb1 was killed (it held {})", held.len());
    let jobs = fleet
        .all_jobs_final(JOBS, Duration::from_secs(45), &what, |j| {
            let id = j["id"].as_str().unwrap_or_default();
            let was = match held.contains(id) {
                true => "held by rb1 at the kill",
                false => "not held by rb1",
            };
            format!("{id}: {} on {} ({was})", j["status"], j["claimed_by"])
        })
        .await;
    let all_final = killed_at.elapsed();
    let found: BTreeSet<String> = jobs.keys().cloned().collect();
    assert_eq!(
        found, ids,
        "the jobs listed are exactly the jobs started: none lost, none extra"
    );

    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    for job in jobs.values() {
        *by_status
            .entry(job["status"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert!(
        by_status.keys().all(|s| s == "completed" || s == "failed"),
        "every job completed or failed: {by_status:?}"
    );
    for id in &held {
        assert_eq!(
            jobs[id]["claimed_by"], "rb2",
            "rb2 finished job {id}, which rb1 held: {}",
            jobs[id]
        );
    }

    // The log: no (job, step) twice, only known jobs and steps; every completed job has all three.
    let text = std::fs::read_to_string(&log).expect("the step log");
    let mut lines: BTreeMap<(String, String), usize> = BTreeMap::new();
    for line in text.lines() {
        let (job, step) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("a log line '<job> <step>': {line:?}"));
        assert!(ids.contains(job), "a line of an unknown job: {line:?}");
        assert!(LOGGED_STEPS.contains(&step), "a line of an unknown step: {line:?}");
        *lines.entry((job.to_string(), step.to_string())).or_default() += 1;
    }
    let twice: Vec<_> = lines.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "steps that ran twice: {twice:?}");
    for (id, job) in &jobs {
        if job["status"] == "completed" {
            for step in LOGGED_STEPS {
                assert!(
                    lines.contains_key(&(id.clone(), step.to_string())),
                    "completed job {id} has no '{step}' line"
                );
            }
        }
    }

    // A failed job failed only because a non-idempotent activity was running on rb1 when it
    // died: exactly one failed run, with the error `interrupted`, and only among rb1's jobs.
    // In the held jobs, no activity attempt was recorded twice.
    for (id, job) in &jobs {
        let failed = job["status"] == "failed";
        if !failed && !held.contains(id) {
            continue;
        }
        assert!(
            !failed || held.contains(id),
            "job {id} failed but rb1 did not hold it: {job}"
        );
        let instance = job["instance_id"]
            .as_str()
            .unwrap_or_else(|| panic!("job {id} has no instance: {job}"));
        let (status, runs) = fleet.get(&format!("/api/v1/instances/{instance}/activities")).await;
        assert_eq!(status, 200, "{runs}");
        let runs = items(&runs);
        let mut seen = BTreeSet::new();
        for run in &runs {
            let key = (run["id"].to_string(), run["attempt"].to_string());
            assert!(seen.insert(key), "job {id}: an activity run recorded twice: {runs:?}");
        }
        if failed {
            let errors: Vec<&Value> = runs
                .iter()
                .filter(|r| r["status"] == "failed")
                .map(|r| &r["error"])
                .collect();
            assert_eq!(
                errors,
                [&json!("interrupted")],
                "job {id} failed otherwise than by an interrupted activity: {runs:?}"
            );
        }
    }
    eprintln!(
        "fleet: {JOBS} jobs, rb1 held {} when killed, all final {:?} after the kill, {by_status:?}, test {:?}",
        held.len(),
        all_final,
        began.elapsed()
    );
}

const HELLO: &str = "format: 1
runbook: Hello
activities:
  - id: init
    type: initialize_data
";

/// A request to `url` with `token` (none when `None`).
async fn call(fleet: &Fleet, method: Method, url: String, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let mut request = fleet.http.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    send(request).await
}

/// Creates `user` with a token and `role` on `folder`, through the management API; its token.
async fn user_with_grant(fleet: &Fleet, user: &str, folder: &str, role: &str) -> String {
    let (status, body) = send(fleet.mgmt(Method::POST, "/api/v1/users").json(&json!({ "name": user }))).await;
    assert_eq!(status, 201, "create user {user}: {body}");
    let (status, body) = send(
        fleet
            .mgmt(Method::POST, &format!("/api/v1/users/{user}/tokens"))
            .json(&json!({ "label": "e2e" })),
    )
    .await;
    assert_eq!(status, 201, "create a token for {user}: {body}");
    let token = body["token"].as_str().expect("the token").to_string();
    let grant = json!({ "user": user, "folder": folder, "role": role });
    let (status, body) = send(fleet.mgmt(Method::PUT, "/api/v1/grants").json(&grant)).await;
    assert!((200..300).contains(&status), "grant {grant}: {status} {body}");
    token
}

fn paths(list: &Value) -> Vec<String> {
    items(list)
        .iter()
        .filter_map(|r| r["path"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_over_http() {
    let Some(mut fleet) = Fleet::postgres() else { return };
    fleet.start_management().await;
    fleet.start_web().await;
    fleet.push("hello.runbook.yaml", HELLO, "ops").await;
    fleet
        .push("other.runbook.yaml", &HELLO.replace("Hello", "Other"), "finance")
        .await;
    let (web, mgmt) = (fleet.web.clone(), fleet.management.clone());

    // No token (or a wrong one): 401 everywhere but /health.
    for (method, url) in [
        (Method::GET, format!("{web}/api/v1/runbooks")),
        (Method::GET, format!("{web}/api/v1/jobs")),
        (Method::POST, format!("{web}/api/v1/jobs")),
        (Method::GET, format!("{web}/api/v1/runbook-servers")),
        (Method::GET, format!("{mgmt}/api/v1/runbooks")),
        (Method::GET, format!("{mgmt}/api/v1/users")),
        (Method::PUT, format!("{mgmt}/api/v1/grants")),
    ] {
        let body = (method == Method::POST || method == Method::PUT).then(|| json!({ "runbook_path": "ops/Hello" }));
        let (status, answer) = call(&fleet, method.clone(), url.clone(), None, body.clone()).await;
        assert_eq!(status, 401, "{method} {url} without a token: {answer}");
        assert_eq!(answer["error"]["code"], "unauthenticated", "{answer}");
        let (status, answer) = call(&fleet, method.clone(), url.clone(), Some("sct_not_a_token"), body).await;
        assert_eq!(status, 401, "{method} {url} with an unknown token: {answer}");
    }
    for url in [format!("{web}/health"), format!("{mgmt}/health")] {
        let (status, answer) = call(&fleet, Method::GET, url.clone(), None, None).await;
        assert_eq!(status, 200, "{url} needs no token: {answer}");
    }

    let viewer = user_with_grant(&fleet, "vera", "ops", "viewer").await;
    let outsider = user_with_grant(&fleet, "otto", "finance", "operator").await;
    let (status, job) = fleet
        .post("/api/v1/jobs", &json!({ "runbook_path": "ops/Hello" }))
        .await;
    assert_eq!(status, 201, "the admin starts a job: {job}");
    let job_id = job["id"].as_str().unwrap().to_string();
    let (_, list) = fleet.get("/api/v1/runbooks").await;
    let hello_id = items(&list)
        .iter()
        .find(|r| r["path"] == "ops/Hello")
        .and_then(|r| r["id"].as_str())
        .unwrap_or_else(|| panic!("ops/Hello in {list}"))
        .to_string();

    // The viewer sees the runbook and its job, but cannot start or cancel.
    let (status, list) = call(
        &fleet,
        Method::GET,
        format!("{web}/api/v1/runbooks"),
        Some(&viewer),
        None,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(paths(&list), ["ops/Hello"], "the viewer sees only ops: {list}");
    let url = format!("{web}/api/v1/runbooks/{hello_id}");
    let (status, answer) = call(&fleet, Method::GET, url, Some(&viewer), None).await;
    assert_eq!(status, 200, "{answer}");
    let url = format!("{web}/api/v1/jobs/{job_id}");
    let (status, answer) = call(&fleet, Method::GET, url, Some(&viewer), None).await;
    assert_eq!(status, 200, "the viewer reads the job: {answer}");
    let start = json!({ "runbook_path": "ops/Hello" });
    let url = format!("{web}/api/v1/jobs");
    let (status, answer) = call(&fleet, Method::POST, url, Some(&viewer), Some(start.clone())).await;
    assert_eq!(status, 403, "a viewer cannot start: {answer}");
    assert_eq!(answer["error"]["code"], "forbidden", "{answer}");
    let url = format!("{web}/api/v1/jobs/{job_id}/cancel");
    let (status, answer) = call(&fleet, Method::POST, url, Some(&viewer), None).await;
    assert_eq!(status, 403, "a viewer cannot cancel: {answer}");
    let url = format!("{mgmt}/api/v1/users");
    let (status, answer) = call(&fleet, Method::GET, url, Some(&viewer), None).await;
    assert_eq!(status, 403, "a viewer does not manage users: {answer}");
    let cli = fleet.scorch_as(&viewer, &["job", "start", "ops/Hello"]).await;
    assert_ne!(cli.code, Some(0), "the CLI refuses the viewer's start too: {cli:?}");

    // The outsider (operator on finance only) does not see ops at all: 404 and absent.
    let (status, list) = call(
        &fleet,
        Method::GET,
        format!("{web}/api/v1/runbooks"),
        Some(&outsider),
        None,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        paths(&list),
        ["finance/Other"],
        "the outsider sees only finance: {list}"
    );
    let url = format!("{web}/api/v1/runbooks/{hello_id}");
    let (status, answer) = call(&fleet, Method::GET, url, Some(&outsider), None).await;
    assert_eq!(status, 404, "{answer}");
    let url = format!("{web}/api/v1/jobs");
    let (status, answer) = call(&fleet, Method::POST, url, Some(&outsider), Some(start)).await;
    assert_eq!(status, 404, "the outsider cannot start what it cannot see: {answer}");
    let url = format!("{web}/api/v1/jobs/{job_id}");
    let (status, answer) = call(&fleet, Method::GET, url, Some(&outsider), None).await;
    assert_eq!(status, 404, "{answer}");
    let url = format!("{web}/api/v1/jobs");
    let (status, list) = call(&fleet, Method::GET, url.clone(), Some(&outsider), None).await;
    assert_eq!(status, 200, "{list}");
    assert!(items(&list).is_empty(), "the outsider lists no job of ops: {list}");
    let url = format!("{mgmt}/api/v1/runbooks");
    let (status, list) = call(&fleet, Method::GET, url, Some(&outsider), None).await;
    assert_eq!(status, 200, "{list}");
    assert!(
        !list.to_string().contains("Hello"),
        "nor on the management server: {list}"
    );
    // ... while its own folder works.
    let other = json!({ "runbook_path": "finance/Other" });
    let url = format!("{web}/api/v1/jobs");
    let (status, answer) = call(&fleet, Method::POST, url, Some(&outsider), Some(other)).await;
    assert_eq!(status, 201, "an operator starts in its folder: {answer}");

    // Nothing the refused requests asked for was stored.
    let jobs = fleet.all_jobs("").await;
    assert_eq!(jobs.len(), 2, "only the admin's and the outsider's jobs: {jobs:?}");
}

const TYPED: &str = "format: 1
runbook: Typed
activities:
  - id: init
    type: initialize_data
    properties:
      parameters:
        - { name: Count, type: integer }
        - { name: Flag, type: boolean, default: false }
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_nothing_is_stored() {
    let Some(mut fleet) = Fleet::postgres() else { return };
    fleet.start_management().await;
    fleet.start_web().await;
    fleet.push("typed.runbook.yaml", TYPED, "ops").await;
    let jobs_url = format!("{}/api/v1/jobs", fleet.web);
    let raw = |body: String| {
        fleet
            .http
            .post(&jobs_url)
            .bearer_auth(&fleet.admin)
            .header("content-type", "application/json")
            .body(body)
    };

    let (status, answer) = send(raw(r#"{"runbook_path": "ops/Typed", "parameters": {"#.into())).await;
    assert_eq!(status, 400, "malformed JSON: {answer}");
    assert_eq!(answer["error"]["code"], "bad_request", "{answer}");

    for (parameters, name) in [
        (json!({ "Count": "many" }), "Count"),
        (json!({ "Count": 3, "Flag": "perhaps" }), "Flag"),
        (json!({}), "Count"),
    ] {
        let start = json!({ "runbook_path": "ops/Typed", "parameters": parameters });
        let (status, answer) = fleet.post("/api/v1/jobs", &start).await;
        assert_eq!(status, 400, "{start}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_parameters", "{answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(name), "the message names {name}: {answer}");
    }

    let (status, answer) = fleet
        .post("/api/v1/jobs", &json!({ "runbook_path": "ops/Nothing" }))
        .await;
    assert_eq!(status, 404, "unknown runbook: {answer}");
    assert_eq!(answer["error"]["code"], "not_found", "{answer}");
    let unknown_id = json!({ "runbook_id": uuid::Uuid::new_v4().to_string() });
    let (status, answer) = fleet.post("/api/v1/jobs", &unknown_id).await;
    assert_eq!(status, 404, "unknown runbook id: {answer}");
    let start = json!({ "runbook_path": "ops/Typed", "parameters": { "Count": 1 }, "colour": "red" });
    let (status, answer) = fleet.post("/api/v1/jobs", &start).await;
    assert_eq!(status, 400, "an unknown field: {answer}");
    let (status, answer) = send(
        fleet
            .http
            .post(&jobs_url)
            .bearer_auth(&fleet.admin)
            .body(r#"{"runbook_path": "ops/Typed", "parameters": {"Count": 1}}"#),
    )
    .await;
    assert_eq!(status, 415, "no JSON content type: {answer}");

    let pad = "x".repeat(1024 * 1024 + 1024);
    let big = json!({ "runbook_path": "ops/Typed", "parameters": { "Count": 1, "Pad": pad } }).to_string();
    let (status, answer) = send(raw(big.clone())).await;
    assert_eq!(status, 413, "a body over 1 MiB: {answer}");
    assert_eq!(answer["error"]["code"], "body_too_large", "{answer}");
    let source = format!("{TYPED}description: \"{pad}\"\n");
    let check_in = fleet
        .mgmt(Method::POST, "/api/v1/runbooks")
        .json(&json!({ "source": source, "folder": "ops" }));
    let (status, answer) = send(check_in).await;
    assert_eq!(status, 413, "a check-in over 1 MiB: {answer}");

    // Nothing was stored: no job, no instance, still one version of the runbook.
    let (status, jobs) = fleet.get("/api/v1/jobs").await;
    assert_eq!(status, 200, "{jobs}");
    assert!(items(&jobs).is_empty(), "no job was created: {jobs}");
    let (status, instances) = fleet.get("/api/v1/instances").await;
    assert_eq!(status, 200, "{instances}");
    assert!(items(&instances).is_empty(), "no instance was created: {instances}");
    let (_, runbooks) = fleet.get("/api/v1/runbooks").await;
    let versions: Vec<Value> = items(&runbooks).iter().map(|r| r["latest_version"].clone()).collect();
    assert_eq!(versions, [json!(1)], "{runbooks}");

    // The same start, well formed, is taken.
    let good = json!({ "runbook_path": "ops/Typed", "parameters": { "Count": "3", "Flag": true } });
    let (status, answer) = fleet.post("/api/v1/jobs", &good).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(fleet.all_jobs("").await.len(), 1);
}

const QUICK: &str = "format: 1
runbook: Quick
returns:
  - { name: Said, type: string }
activities:
  - id: init
    type: initialize_data
  - id: say
    type: run_program
    properties: { program: echo, arguments: [\"back\"] }
  - id: done
    type: return_data
    properties: { values: { Said: \"{{ say.stdout }}\" } }
links:
  - { from: init, to: say }
  - { from: say, to: done }
";

/// Starts ops/Quick and waits for its outcome in one request.
async fn run_quick(fleet: &Fleet) -> (u16, Value) {
    let start = json!({ "runbook_path": "ops/Quick", "wait": true, "timeout_ms": 20_000 });
    fleet.post("/api/v1/jobs", &start).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_down_then_back() {
    let Some(mut fleet) = Fleet::postgres() else { return };
    fleet.start_management().await;
    fleet.start_web().await;
    fleet.start_runbook_server("rb1", 50);
    fleet.wait_servers_alive(&["rb1"]).await;
    fleet.push("quick.runbook.yaml", QUICK, "ops").await;
    let (status, job) = run_quick(&fleet).await;
    assert_eq!((status, &job["status"]), (200, &json!("completed")), "before: {job}");

    // The database goes away (the server stays up for the other tests).
    let name = fleet.db.as_ref().unwrap().name.clone();
    let db = fleet.db.as_ref().unwrap();
    db.admin_sql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"));
    db.admin_sql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ));
    let down_at = Instant::now();
    let (web_health, mgmt_health) = (format!("{}/health", fleet.web), format!("{}/health", fleet.management));
    let health = |url: String| {
        let http = fleet.http.clone();
        async move { send(http.get(url)).await }
    };
    let answer = eventually(
        "the web service's /health to say 503",
        Duration::from_secs(20),
        || async {
            let (status, body) = health(web_health.clone()).await;
            (status == 503).then_some(body)
        },
    )
    .await;
    assert_eq!(answer["database"], "unavailable", "{answer}");
    eventually(
        "the management server's /health to say 503",
        Duration::from_secs(20),
        || async { (health(mgmt_health.clone()).await.0 == 503).then_some(()) },
    )
    .await;
    let (status, answer) = fleet
        .post("/api/v1/jobs", &json!({ "runbook_path": "ops/Quick" }))
        .await;
    assert_eq!(status, 503, "a start while the database is down: {answer}");
    assert_eq!(answer["error"]["code"], "database_unavailable", "{answer}");

    // For several heartbeats, every process keeps running and answering.
    while down_at.elapsed() < Duration::from_secs(7) {
        for proc in &mut fleet.procs {
            assert!(
                proc.is_running(),
                "{} died without its database\n{}",
                proc.name,
                proc.log_text()
            );
        }
        assert_eq!(health(web_health.clone()).await.0, 503);
        assert_eq!(health(mgmt_health.clone()).await.0, 503);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Back: health recovers and work resumes.
    fleet
        .db
        .as_ref()
        .unwrap()
        .admin_sql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"));
    let back_at = Instant::now();
    for url in [&web_health, &mgmt_health] {
        eventually(&format!("{url} to say 200 again"), Duration::from_secs(30), || async {
            (health(url.clone()).await.0 == 200).then_some(())
        })
        .await;
    }
    let healthy_after = back_at.elapsed();
    fleet.wait_servers_alive(&["rb1"]).await;
    // A job started now is run to its end ...
    let (status, job) = fleet
        .post("/api/v1/jobs", &json!({ "runbook_path": "ops/Quick" }))
        .await;
    assert_eq!(status, 201, "a start after the database came back: {job}");
    let id = job["id"].as_str().unwrap().to_string();
    let started_after = back_at.elapsed();
    let deadline = Instant::now() + Duration::from_secs(20);
    let job = loop {
        let (status, job) = fleet.get(&format!("/api/v1/jobs/{id}")).await;
        if status == 200 && is_final(job["status"].as_str().unwrap_or("")) {
            break job;
        }
        assert!(
            Instant::now() < deadline,
            "the job started {:?} after the database came back (health 200 again, rb1 alive) did not end in 20 s: {job}\n{}",
            started_after,
            fleet.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(job["status"], "completed", "{job}\n{}", fleet.logs());
    let resumed_after = back_at.elapsed();
    // ... and a start that waits gets its outcome.
    let (status, job) = run_quick(&fleet).await;
    assert_eq!(
        (status, &job["status"]),
        (200, &json!("completed")),
        "a start with wait after the database came back: {job}\n{}",
        fleet.logs()
    );
    assert_eq!(job["result"]["returns"]["Said"], "back", "{job}");
    for proc in &mut fleet.procs {
        assert!(proc.is_running(), "{} is still the same process", proc.name);
    }
    eprintln!(
        "database back: healthy after {healthy_after:?}, a job completed {resumed_after:?} after, a waited one {:?} after",
        back_at.elapsed()
    );
}

/// Four attempts half a second apart, each appending a line.
fn looper(log: &str) -> String {
    format!(
        r#"format: 1
runbook: Looper
activities:
  - id: tick
    type: append_line
    properties: {{ file: "{log}", text: "tick {{{{ runbook.job_id }}}}" }}
    loop:
      delay: 500ms
      max_attempts: 4
      exit_when:
        - {{ data: tick.attempt, op: ge, value: 4 }}
"#
    )
}

fn line_count(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path).map(|t| t.lines().count()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_resumes_on_next_start() {
    let mut fleet = Fleet::sqlite();
    fleet.start_up("up1").await;
    let log = fleet.path("ticks.log");
    fleet
        .push("looper.runbook.yaml", &looper(&log.display().to_string()), "ops")
        .await;
    let (status, job) = fleet
        .post("/api/v1/jobs", &json!({ "runbook_path": "ops/Looper" }))
        .await;
    assert_eq!(status, 201, "{job}");
    let id = job["id"].as_str().unwrap().to_string();

    eventually("the first attempt's line", Duration::from_secs(20), || async {
        (line_count(&log) >= 1).then_some(())
    })
    .await;
    fleet.proc("up1").sigterm();
    let stopped = fleet.proc("up1").wait_exit(Duration::from_secs(30)).await;
    assert_eq!(stopped.code(), Some(0), "a graceful stop exits 0\n{}", fleet.logs());
    let before = line_count(&log);
    assert!(before < 4, "the job was still running when stopped ({before} lines)");

    fleet.start_up("up2").await;
    let job = eventually("the job to end after the restart", Duration::from_secs(30), || async {
        let (status, job) = fleet.get(&format!("/api/v1/jobs/{id}")).await;
        (status == 200 && is_final(job["status"].as_str().unwrap_or(""))).then_some(job)
    })
    .await;
    assert_eq!(job["status"], "completed", "{job}\n{}", fleet.logs());
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 4, "exactly four attempts' lines: {text:?}");
    assert!(text.lines().all(|l| l == format!("tick {id}")), "{text:?}");
    let instance = job["instance_id"].as_str().unwrap();
    let (_, runs) = fleet.get(&format!("/api/v1/instances/{instance}/activities")).await;
    let attempts: Vec<Value> = items(&runs).iter().map(|r| r["attempt"].clone()).collect();
    assert_eq!(attempts, [json!(1), json!(2), json!(3), json!(4)], "{runs}");
    eprintln!("graceful stop: {before} line(s) before the stop, 4 after the restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ports_table_and_bind_errors() {
    let dir = tempfile::tempdir().unwrap();
    let table = run_scorch(dir.path(), &["ports", "--web-port", "8081"]).await.ok();
    let web_row = table
        .stdout
        .lines()
        .find(|l| l.contains("REST web service"))
        .unwrap_or_else(|| panic!("no web service row: {}", table.stdout));
    assert!(
        web_row.contains("| 8081 |") && web_row.contains("--web-port"),
        "{web_row}"
    );
    assert!(table.stdout.contains("| 8135 |"), "{}", table.stdout);
    assert!(table.stdout.contains("| 82 |"), "{}", table.stdout);
    // The database this command was given, said so; activity rows only for what this build has.
    let table = run_scorch(dir.path(), &["ports", "--data-dir", "/srv/scorch"])
        .await
        .ok();
    assert!(
        table
            .stdout
            .contains("/srv/scorch/scorch.db (the data directory this command was given"),
        "{}",
        table.stdout
    );
    let activities = table.stdout.lines().find(|l| l.contains("targeted computers")).unwrap();
    assert!(
        activities.contains("run_program and run_script") && activities.contains("run_ssh_command: SSH 22"),
        "{activities}"
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let data = dir.path().join("data").display().to_string();
    for (role, flag) in [
        ("web-service", "--web-port"),
        ("management-server", "--management-port"),
    ] {
        let args: Vec<String> = [
            role,
            "--bind",
            "127.0.0.1",
            flag,
            &port.to_string(),
            "--data-dir",
            &data,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut proc = Proc::spawn(role, dir.path(), &args);
        let status = proc.wait_exit(Duration::from_secs(20)).await;
        assert!(
            !status.success(),
            "{role} on a port in use must fail\n{}",
            proc.log_text()
        );
        let output = std::fs::read_to_string(dir.path().join(format!("{role}.log"))).unwrap();
        let lines: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line: {output:?}");
        let line = lines[0];
        assert!(
            line.contains(&format!("port {port}")) && line.contains("in use") && line.contains(flag),
            "{line}"
        );
    }
    drop(taken);
}

/// The roles of a fleet are started together (a service manager, a compose file) on a new
/// database: each of them comes up, whichever creates the first administrator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_processes_start_together_on_a_new_database() {
    let Some(mut fleet) = Fleet::postgres() else { return };
    fleet.launch_management();
    fleet.launch_web();
    fleet.start_runbook_server("rb1", 50);
    let (management, web) = (format!("{}/health", fleet.management), format!("{}/health", fleet.web));
    fleet.wait_healthy("management", &management).await;
    fleet.wait_healthy("web", &web).await;
    fleet.wait_servers_alive(&["rb1"]).await;
    for proc in &mut fleet.procs {
        assert!(proc.is_running(), "{} exited\n{}", proc.name, proc.log_text());
    }
    let (status, users) = send(fleet.mgmt(Method::GET, "/api/v1/users")).await;
    assert_eq!(status, 200, "{users}");
    let names: Vec<&str> = users
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u["name"].as_str())
        .collect();
    assert_eq!(names, ["admin"], "one administrator: {users}");
    fleet.push("quick.runbook.yaml", QUICK, "ops").await;
    let (status, job) = run_quick(&fleet).await;
    assert_eq!((status, &job["status"]), (200, &json!("completed")), "{job}");
}

/// 500 increments a job, one job on each of two runbook servers at once: the counter ends at
/// exactly 1000 (each increment is one atomic statement on PostgreSQL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_stay_exact_across_runbook_servers() {
    let Some(mut fleet) = Fleet::postgres() else { return };
    fleet.start_management().await;
    fleet.start_web().await;
    // One job at a time each: while one server holds the first job, the second goes to the other.
    fleet.start_runbook_server("rb1", 1);
    fleet.start_runbook_server("rb2", 1);
    fleet.wait_servers_alive(&["rb1", "rb2"]).await;
    let (status, body) = send(
        fleet
            .mgmt(Method::PUT, "/api/v1/counters/Hits")
            .json(&json!({ "value": 0 })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let numbers: Vec<String> = (0..500).map(|i| i.to_string()).collect();
    // Each job waits for the go file, so both increment at the same time.
    let go = fleet.path("go");
    let runbook = format!(
        "format: 1\nrunbook: Bump\nconcurrency: 2\nactivities:\n  - id: wait\n    type: run_program\n    \
         properties: {{ program: sh, arguments: [\"-c\", \"while [ ! -e '{}' ]; do sleep 0.05; done\"] }}\n  \
         - id: rows\n    type: query_json\n    properties: {{ json: \"[{}]\", path: \"$[*]\" }}\n  \
         - id: bump\n    type: modify_counter\n    properties: {{ counter: Hits, action: increment }}\n\
         links:\n  - {{ from: wait, to: rows }}\n  - {{ from: rows, to: bump }}\n",
        go.display(),
        numbers.join(",")
    );
    fleet.push("bump.runbook.yaml", &runbook, "ops").await;
    for _ in 0..2 {
        let (status, job) = fleet.post("/api/v1/jobs", &json!({ "runbook_path": "ops/Bump" })).await;
        assert_eq!(status, 201, "{job}");
    }
    fleet.wait_running_on("rb1", 1).await;
    fleet.wait_running_on("rb2", 1).await;
    std::fs::write(&go, "").unwrap();
    let jobs = fleet
        .all_jobs_final(2, Duration::from_secs(120), "bumping", |j| j.to_string())
        .await;
    assert!(jobs.values().all(|j| j["status"] == "completed"), "{jobs:#?}");
    let (status, counter) = send(fleet.mgmt(Method::GET, "/api/v1/counters/Hits")).await;
    assert_eq!((status, &counter["value"]), (200, &json!(1000)), "{counter}");
}
