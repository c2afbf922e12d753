//! The Orchestration console in a real headless Chromium (chromedriver + fantoccini), against
//! the real `scorch up` (every role in one process, SQLite in a temporary directory).
//!
//! One deployment and one browser serve every step: users, folders and runbooks are set up
//! through the CLI and the management API, then each step drives the console as one person.
//! Steps run one after another, each as its own task, so that one failing does not hide the
//! others; the test fails at the end listing the failed steps. Screenshots of the main pages go
//! to `target/console-screenshots/` (`CARGO_TARGET_DIR` honoured).
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them).

mod browser;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::{Fleet, Proc, free_port, peer_missing, scorch_command, send};
use browser::{Browser, WAIT, screenshot_dir, tid};
use fantoccini::key::Key;
use reqwest::Method;
use serde_json::{Value, json};

/// Passwords of the people the steps sign in as.
const OLIVIA_PASSWORD: &str = "olivia-operates-42";
const VICTOR_PASSWORD: &str = "victor-views-42";

/// Five activities, four links; string, integer and boolean parameters. `gate` waits (at most
/// about 30 s) for the file `GATE` to exist, so that a job can be watched while it runs.
fn deploy_runbook(gate: &Path) -> String {
    format!(
        r#"format: 1
runbook: Deploy Service
description: Rolls a service out (the console's end-to-end test).
returns:
  - {{ name: Message, type: string }}
activities:
  - id: init
    name: Initialize Data
    type: initialize_data
    properties:
      parameters:
        - {{ name: Service, type: string }}
        - {{ name: Replicas, type: integer, default: 2 }}
        - {{ name: Canary, type: boolean, default: false }}
  - id: gate
    name: Wait for the gate
    type: run_program
    properties:
      program: sh
      arguments: ["-c", "i=0; while [ ! -e '{gate}' ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done"]
  - id: check
    name: Check the replicas
    type: compare_values
    properties: {{ kind: number, left: "{{{{ init.Replicas }}}}", op: ge, right: "1" }}
  - id: announce
    name: Announce
    type: run_program
    properties:
      program: echo
      arguments: ["deploying {{{{ init.Service }}}} x{{{{ init.Replicas }}}} canary={{{{ init.Canary }}}}"]
  - id: result
    name: Return the message
    type: return_data
    properties: {{ values: {{ Message: "{{{{ announce.stdout }}}}" }} }}
links:
  - {{ from: init, to: gate }}
  - {{ from: gate, to: check }}
  - {{ from: gate, to: announce }}
  - {{ from: announce, to: result }}
"#,
        gate = gate.display()
    )
}

/// Its second activity fails (exit code 3, the reason on stderr); the third never runs.
const BROKEN_RUNBOOK: &str = r#"format: 1
runbook: Broken Backup
description: Fails on purpose.
activities:
  - id: prepare
    name: Prepare
    type: run_program
    properties: { program: echo, arguments: ["ready"] }
  - id: backup
    name: Back up
    type: run_program
    properties:
      program: sh
      arguments: ["-c", "echo 'backup volume /srv/backup is full' >&2; exit 3"]
  - id: report
    name: Report
    type: run_program
    properties: { program: echo, arguments: ["done"] }
links:
  - { from: prepare, to: backup }
  - { from: backup, to: report }
"#;

const PAYROLL_RUNBOOK: &str = r#"format: 1
runbook: Payroll Export
activities:
  - id: export
    type: run_program
    properties: { program: echo, arguments: ["exported"] }
"#;

/// One activity that sleeps a minute: a job that stays running until it is canceled.
const SOAK_RUNBOOK: &str = r#"format: 1
runbook: Soak Test
description: Sleeps a minute (the console's cancel test).
activities:
  - id: soak
    name: Sleep a minute
    type: run_program
    properties: { program: sleep, arguments: ["60"] }
"#;

/// One activity looping twenty times (its exit condition never holds): a long list of runs.
const POLL_RUNBOOK: &str = r#"format: 1
runbook: Poll Often
activities:
  - id: poll
    name: Poll
    type: run_program
    properties: { program: echo, arguments: ["polled"] }
    loop:
      max_attempts: 20
      exit_when:
        - { data: poll.stdout, op: equals, value: never }
"#;

/// What every step shares.
struct Ctx {
    fleet: Fleet,
    browser: Browser,
    gate: PathBuf,
    deploy_id: String,
    broken_id: String,
    payroll_id: String,
    soak_id: String,
    poll_id: String,
    /// Tokens of olivia (operator on Ops), victor (viewer on Ops), nora (operator on Finance),
    /// ursula (granted nothing).
    olivia: String,
    victor: String,
    nora: String,
    ursula: String,
}

impl Ctx {
    fn admin(&self) -> &str {
        &self.fleet.admin
    }

    /// A request to the web service as `token`.
    async fn api(&self, token: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .fleet
            .http
            .request(method, format!("{}{path}", self.fleet.web))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(request).await
    }

    /// Whether the web service answers right now (for failure messages): how two requests
    /// as the administrator fare, with a 5 s limit each.
    async fn probe(&self) -> String {
        let mut out = Vec::new();
        for path in ["/health", "/api/v1/runbooks?limit=1"] {
            let started = Instant::now();
            let request = self
                .fleet
                .http
                .get(format!("{}{path}", self.fleet.web))
                .bearer_auth(self.admin())
                .timeout(Duration::from_secs(5))
                .send();
            let answer = match request.await {
                Ok(r) => format!("HTTP {}", r.status().as_u16()),
                Err(e) => format!("no answer ({e})"),
            };
            out.push(format!("GET {path}: {answer} in {} ms", started.elapsed().as_millis()));
        }
        if let Some(n) = connections_to(&self.fleet.web) {
            out.push(format!("{n} connections open to it"));
        }
        out.join("; ")
    }

    /// The `items` of a list the web service answers the administrator at `path`.
    async fn items(&self, path: &str) -> Vec<Value> {
        let (status, body) = self.api(self.admin(), Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        body["items"].as_array().cloned().expect("items")
    }

    /// The ids of the jobs of runbook `id`, as the administrator sees them.
    async fn job_ids(&self, runbook: &str) -> BTreeSet<String> {
        let jobs = self
            .items(&format!("/api/v1/jobs?runbook_id={runbook}&limit=500"))
            .await;
        jobs.iter()
            .filter_map(|j| j["id"].as_str().map(str::to_string))
            .collect()
    }

    /// A fresh page signed in with `token` (put where the console keeps it), on the runbooks
    /// page.
    async fn signed_in(&self, token: &str) {
        let b = &self.browser;
        b.load("/signin").await;
        b.js("window.localStorage.clear();", vec![]).await;
        b.store_token(token).await;
        b.load("/runbooks").await;
        b.ready("runbooks").await;
    }

    /// Signs in from a fresh sign-in page with a user's password, as a person does, and waits
    /// for the runbooks page.
    async fn sign_in_with_password(&self, user: &str, password: &str) {
        let b = &self.browser;
        self.signed_out().await;
        b.fill(&tid("signin-user"), user).await;
        b.fill(&tid("signin-password"), password).await;
        b.forget_ready().await;
        b.click(&tid("signin-submit")).await;
        b.ready("runbooks").await;
    }

    /// A fresh sign-in page with nothing stored.
    async fn signed_out(&self) {
        let b = &self.browser;
        b.load("/signin").await;
        b.js("window.localStorage.clear();", vec![]).await;
        b.load("/signin").await;
        b.ready("signin").await;
    }
}

/// How many TCP connections to `url`'s port are established on this machine (the browser's,
/// and any of this test's client's), from `ss` (iproute2) when it is there.
fn connections_to(url: &str) -> Option<usize> {
    let port = url.rsplit(':').next()?;
    let ss = std::process::Command::new("ss")
        .args(["-tnH", "state", "established", "dst", &format!("127.0.0.1:{port}")])
        .output()
        .ok()?;
    ss.status
        .success()
        .then(|| String::from_utf8_lossy(&ss.stdout).lines().count())
}

/// Creates `name` with `password` through the CLI (`scorch user create --password-stdin`).
async fn create_user(fleet: &Fleet, name: &str, password: &str) {
    let mut cmd = scorch_command(fleet.dir.path());
    cmd.args([
        "--management",
        &fleet.management,
        "--token",
        &fleet.admin,
        "user",
        "create",
        name,
        "--password-stdin",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let password = password.to_string();
    let out = tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().expect("run scorch user create");
        let mut stdin = child.stdin.take().expect("its stdin");
        writeln!(stdin, "{password}").expect("write the password");
        drop(stdin);
        child.wait_with_output().expect("wait for scorch user create")
    })
    .await
    .expect("the command's thread");
    assert!(
        out.status.success(),
        "scorch user create {name}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A new token of `user`, through the CLI (`scorch token create`).
async fn create_token(fleet: &Fleet, user: &str) -> String {
    let run = fleet
        .scorch(&["token", "create", user, "--label", "console-e2e"])
        .await
        .ok();
    run.stdout.trim().to_string()
}

async fn setup() -> Ctx {
    let mut fleet = Fleet::sqlite();
    let (web, console, management) = (free_port(), free_port(), free_port());
    fleet.web = format!("http://127.0.0.1:{web}");
    fleet.management = format!("http://127.0.0.1:{management}");
    let args: Vec<String> = [
        "up",
        "--data-dir",
        &fleet.path("data").display().to_string(),
        "--bind",
        "127.0.0.1",
        "--admin-token",
        &fleet.admin,
        "--web-port",
        &web.to_string(),
        "--console-port",
        &console.to_string(),
        "--management-port",
        &management.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let proc = Proc::spawn("up", fleet.dir.path(), &args);
    fleet.procs.push(proc);
    let console = format!("http://127.0.0.1:{console}");
    fleet.wait_healthy("up", &format!("{}/health", fleet.management)).await;
    fleet.wait_healthy("up", &format!("{}/health", fleet.web)).await;
    fleet.wait_healthy("up", &format!("{console}/")).await;

    // People: an operator and a viewer on Ops (with passwords), an operator on Finance only.
    create_user(&fleet, "olivia", OLIVIA_PASSWORD).await;
    create_user(&fleet, "victor", VICTOR_PASSWORD).await;
    fleet.scorch(&["user", "create", "nora"]).await.ok();
    fleet.scorch(&["user", "create", "ursula"]).await.ok();
    fleet.scorch(&["folder", "create", "Ops"]).await;
    fleet.scorch(&["folder", "create", "Ops/Nightly"]).await;
    fleet.scorch(&["folder", "create", "Finance"]).await;
    fleet.scorch(&["user", "grant", "olivia", "Ops", "operator"]).await.ok();
    fleet.scorch(&["user", "grant", "victor", "Ops", "viewer"]).await.ok();
    fleet
        .scorch(&["user", "grant", "nora", "Finance", "operator"])
        .await
        .ok();

    let gate = fleet.path("gate");
    fleet.push("deploy.runbook.yaml", &deploy_runbook(&gate), "Ops").await;
    fleet.push("broken.runbook.yaml", BROKEN_RUNBOOK, "Ops/Nightly").await;
    fleet.push("payroll.runbook.yaml", PAYROLL_RUNBOOK, "Finance").await;
    fleet.push("soak.runbook.yaml", SOAK_RUNBOOK, "Ops").await;
    fleet.push("poll.runbook.yaml", POLL_RUNBOOK, "Ops").await;

    // Settings for the settings page.
    let r = fleet
        .mgmt(Method::PUT, "/api/v1/variables/DeployTarget")
        .json(&json!({ "value": "prod-eu" }))
        .send()
        .await
        .expect("set a variable");
    assert!(r.status().is_success(), "set a variable: {}", r.status());
    let r = fleet
        .mgmt(Method::PUT, "/api/v1/counters/Deployments")
        .json(&json!({ "value": 7 }))
        .send()
        .await
        .expect("set a counter");
    assert!(r.status().is_success(), "set a counter: {}", r.status());

    let (olivia, victor, nora, ursula) = (
        create_token(&fleet, "olivia").await,
        create_token(&fleet, "victor").await,
        create_token(&fleet, "nora").await,
        create_token(&fleet, "ursula").await,
    );

    let (status, body) = fleet.get("/api/v1/runbooks?limit=500").await;
    assert_eq!(status, 200, "{body}");
    let id_of = |name: &str| {
        body["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|r| r["name"] == name)
            .and_then(|r| r["id"].as_str())
            .unwrap_or_else(|| panic!("runbook {name} not listed: {body}"))
            .to_string()
    };
    let (deploy_id, broken_id, payroll_id) = (id_of("Deploy Service"), id_of("Broken Backup"), id_of("Payroll Export"));
    let (soak_id, poll_id) = (id_of("Soak Test"), id_of("Poll Often"));

    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let shots = screenshot_dir(&workspace);
    // Failure screenshots of an earlier run would mislead.
    for entry in std::fs::read_dir(&shots).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with("FAILED") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let browser = Browser::start(&console, &shots).await;
    Ctx {
        fleet,
        browser,
        gate,
        deploy_id,
        broken_id,
        payroll_id,
        soak_id,
        poll_id,
        olivia,
        victor,
        nora,
        ursula,
    }
}

// ---- the steps ----

/// A wrong password shows `signin-error` and stores no token.
async fn bad_password_shows_an_error(cx: Arc<Ctx>) {
    let b = &cx.browser;
    cx.signed_out().await;
    b.screenshot("signin").await;
    b.fill(&tid("signin-user"), "olivia").await;
    b.fill(&tid("signin-password"), "not-her-password").await;
    b.click(&tid("signin-submit")).await;
    b.wait_text(&tid("signin-error")).await;
    assert_eq!(b.stored_token().await, None, "a failed sign-in stored a token");
    assert!(!b.exists(&tid("whoami")).await, "signed in with a wrong password");
}

/// User and password: the runbooks page, who is signed in, and only Ops's runbooks.
async fn password_sign_in(cx: Arc<Ctx>) {
    let b = &cx.browser;
    cx.sign_in_with_password("olivia", OLIVIA_PASSWORD).await;
    let whoami = b.text(&tid("whoami")).await;
    assert!(whoami.contains("olivia"), "whoami shows {whoami:?}");
    assert!(
        b.stored_token().await.is_some(),
        "no token in localStorage['scorch.token']"
    );
    let rows = b.attrs(&tid("runbook-row"), "data-id").await;
    assert!(rows.contains(&cx.deploy_id), "Deploy Service not listed: {rows:?}");
    assert!(
        rows.contains(&cx.broken_id),
        "Broken Backup (Ops/Nightly) not listed: {rows:?}"
    );
    assert!(
        !rows.contains(&cx.payroll_id),
        "olivia sees Finance's runbook: {rows:?}"
    );
    let folders = b.attrs(&tid("folder-item"), "data-path").await;
    assert!(folders.iter().any(|f| f == "Ops"), "folder tree: {folders:?}");
    assert!(
        !folders.iter().any(|f| f.starts_with("Finance")),
        "olivia sees Finance: {folders:?}"
    );
    b.screenshot("runbooks").await;
}

/// Opening a runbook from the list: its name, a node per activity, an edge per link, its
/// parameters.
async fn runbook_graph(cx: Arc<Ctx>) {
    let b = &cx.browser;
    cx.signed_in(&cx.olivia).await;
    b.forget_ready().await;
    b.click(&format!("{}[data-id=\"{}\"] a", tid("runbook-row"), cx.deploy_id))
        .await;
    b.ready("runbook").await;
    assert_eq!(b.text(&tid("runbook-name")).await, "Deploy Service");
    b.wait_for(&format!("{} svg, svg{}", tid("runbook-graph"), tid("runbook-graph")))
        .await;
    let nodes: BTreeSet<String> = b.attrs(&tid("graph-node"), "data-activity").await.into_iter().collect();
    let expected: BTreeSet<String> = ["init", "gate", "check", "announce", "result"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(nodes, expected, "graph nodes");
    assert_eq!(b.count(&tid("graph-node")).await, 5, "one node per activity");
    assert_eq!(b.count(&tid("graph-edge")).await, 4, "one edge per link");
    let params = b.text(&tid("runbook-parameters")).await;
    for name in ["Service", "Replicas", "Canary"] {
        assert!(params.contains(name), "parameters show {params:?}");
    }
    let description = b.text(&tid("runbook-description")).await;
    assert!(
        description.contains("Rolls a service out"),
        "description: {description:?}"
    );
    b.screenshot("runbook-graph").await;

    // A box opens its activity's definition; a link there leads on to the next activity.
    let details = |id: &str| format!("{}[data-activity=\"{id}\"]", tid("activity-details"));
    b.click(&format!("{}[data-activity=\"gate\"]", tid("graph-node"))).await;
    b.wait_for(&details("gate")).await;
    let name = b.text(&tid("activity-details-name")).await;
    assert!(name.starts_with("Wait for the gate"), "the details name {name:?}");
    assert_eq!(b.text(&tid("activity-details-type")).await, "run_program");
    let properties = b.text(&tid("activity-properties")).await;
    assert!(
        properties.contains("program") && properties.contains("sh") && properties.contains("arguments"),
        "the gate's properties show {properties:?}"
    );
    let after = b.text(&tid("activity-links-in")).await;
    assert!(after.contains("Initialize Data"), "the gate runs after {after:?}");
    let then = b.texts(&format!("{} button", tid("activity-links-out"))).await;
    assert_eq!(then, ["Check the replicas", "Announce"], "the gate's links out");
    b.click(&format!("{} li:last-child button", tid("activity-links-out")))
        .await;
    b.wait_for(&details("announce")).await;
    let hash = b.js("return location.hash;", vec![]).await;
    assert!(
        hash.as_str().is_some_and(|h| h.ends_with("activity=announce")),
        "the chosen activity is not in the address: {hash}"
    );
    b.screenshot("runbook-activity").await;
    b.click(&tid("activity-details-close")).await;
    b.wait_gone(&tid("activity-details")).await;
}

/// The start form: a bad integer shows `param-error` and starts nothing; good values start a
/// job whose row goes to `completed` live (no reload); its instance shows the published value.
async fn start_and_watch(cx: Arc<Ctx>) {
    let b = &cx.browser;
    let _ = std::fs::remove_file(&cx.gate);
    cx.signed_in(&cx.olivia).await;
    b.go(&format!("/runbooks/{}", cx.deploy_id)).await;
    b.ready("runbook").await;
    let before = cx.job_ids(&cx.deploy_id).await;

    b.click(&tid("start-button")).await;
    b.wait_for(&tid("start-form")).await;
    b.wait_for(&tid("param-Service")).await;
    b.wait_for(&tid("param-Replicas")).await;
    b.wait_for(&tid("param-Canary")).await;
    b.screenshot("start-form").await;

    b.fill(&tid("param-Service"), "checkout-api").await;
    b.fill(&tid("param-Replicas"), "2.5").await;
    b.click(&tid("start-submit")).await;
    b.wait_text(&tid("param-error")).await;
    // Give a start that should not happen time to reach the server, then look.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(cx.job_ids(&cx.deploy_id).await, before, "a bad integer started a job");

    b.fill(&tid("param-Replicas"), "3").await;
    b.fill(&tid("param-Canary"), "true").await;
    b.click(&tid("start-submit")).await;
    let deadline = Instant::now() + WAIT;
    let job = loop {
        let now = cx.job_ids(&cx.deploy_id).await;
        let new: Vec<String> = now.difference(&before).cloned().collect();
        match new.len() {
            0 => {}
            1 => break new[0].clone(),
            _ => panic!("one submit started {} jobs: {new:?}", new.len()),
        }
        if Instant::now() >= deadline {
            b.fail("the start form started no job").await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // The console goes to the job's instance as soon as a runbook server has made it, and the
    // instance's runs and status change there live as the job goes on.
    let instance = b
        .wait_js(
            "the new job's instance page",
            WAIT,
            "const m = /^#\\/instances\\/([^/?]+)$/.exec(location.hash); \
             return m && document.body.dataset.ready === 'instance' ? decodeURIComponent(m[1]) : null;",
            vec![],
        )
        .await;
    let instance = instance.as_str().expect("an instance id").to_string();
    let (_, listed) = cx
        .api(
            cx.admin(),
            Method::GET,
            &format!("/api/v1/instances?job_id={job}"),
            None,
        )
        .await;
    assert_eq!(
        listed["items"][0]["id"],
        instance.as_str(),
        "the page is not the job's instance: {listed}"
    );
    let started = b.text(&tid("start-notice")).await;
    assert!(
        started.ends_with("started (version 1)."),
        "start-notice says {started:?}"
    );
    let run = |id: &str| format!("{}[data-activity=\"{id}\"]", tid("activity-run"));
    b.wait_js(
        "the gate's run, running, on a running instance",
        WAIT,
        "const r = document.querySelector(arguments[0]); const s = document.querySelector(arguments[1]); \
         return !!r && r.dataset.status === 'running' && !!s && s.textContent.trim() === 'running';",
        vec![json!(run("gate")), json!(tid("instance-status"))],
    )
    .await;
    assert!(!b.exists(&run("announce")).await, "announce ran before the gate opened");
    // A mark that a reload would wipe; then open the gate and watch the runs.
    b.js("window.__consoleE2eMark = 'still-here';", vec![]).await;
    std::fs::write(&cx.gate, "open").expect("open the gate");
    let outcome = b
        .wait_js(
            "the instance to succeed, its announce run shown, without a reload",
            WAIT,
            "if (window.__consoleE2eMark !== 'still-here') return 'reloaded'; \
             const r = document.querySelector(arguments[0]); const s = document.querySelector(arguments[1]); \
             return r && r.dataset.status === 'success' && s && s.textContent.trim() === 'success' ? 'success' : null;",
            vec![json!(run("announce")), json!(tid("instance-status"))],
        )
        .await;
    assert_eq!(outcome, "success", "the page reloaded instead of updating live");
    let row = format!("{}[data-id=\"{job}\"]", tid("job-row"));
    let (_, detail) = cx
        .api(cx.admin(), Method::GET, &format!("/api/v1/jobs/{job}"), None)
        .await;
    assert_eq!(detail["status"], "completed", "{detail}");
    assert_eq!(detail["parameters"]["Service"], "checkout-api", "{detail}");

    // Jobs page: the row, then the job, then its instance.
    b.go("/jobs").await;
    b.ready("jobs").await;
    b.wait_js(
        "the job on the jobs page, completed",
        WAIT,
        "const r = document.querySelector(arguments[0]); return !!r && r.dataset.status === 'completed';",
        vec![json!(row)],
    )
    .await;
    b.screenshot("jobs").await;
    b.forget_ready().await;
    b.click(&format!("{row} a")).await;
    b.ready("job").await;
    let status = b.text(&tid("job-status")).await;
    assert!(
        status.to_lowercase().contains("completed"),
        "job-status shows {status:?}"
    );
    b.screenshot("job").await;
    b.forget_ready().await;
    b.click(&tid("instance-link")).await;
    b.ready("instance").await;
    let status = b.text(&tid("instance-status")).await;
    assert!(
        status.to_lowercase().contains("success"),
        "instance-status shows {status:?}"
    );
    let published = b
        .text(&format!(
            "{}[data-activity=\"announce\"] {}",
            tid("activity-run"),
            tid("published-data")
        ))
        .await;
    assert!(
        published.contains("deploying checkout-api x3 canary=true"),
        "announce published {published:?}"
    );
    let node = |id: &str| format!("{}[data-activity=\"{id}\"]", tid("graph-node"));
    for id in ["init", "gate", "check", "announce", "result"] {
        let status = b.attrs(&node(id), "data-status").await;
        assert_eq!(
            status,
            vec!["success".to_string()],
            "graph node {id} on the instance page"
        );
    }
    b.screenshot("instance-success").await;
}

/// A failed instance: its status, the failing activity's error, node statuses, the failure
/// summary above the graph, and where it failed in the jobs and instances lists.
async fn failed_instance(cx: Arc<Ctx>) {
    let b = &cx.browser;
    let body = json!({ "runbook_id": cx.broken_id, "wait": true });
    let (status, job) = cx.api(&cx.olivia, Method::POST, "/api/v1/jobs", Some(body)).await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["status"], "failed", "{job}");
    let instance = job["instance_id"].as_str().expect("an instance id").to_string();

    cx.signed_in(&cx.olivia).await;
    b.go(&format!("/instances/{instance}")).await;
    b.ready("instance").await;
    let status = b.text(&tid("instance-status")).await;
    assert!(
        status.to_lowercase().contains("failed"),
        "instance-status shows {status:?}"
    );
    let run = |id: &str| format!("{}[data-activity=\"{id}\"]", tid("activity-run"));
    assert_eq!(b.attrs(&run("backup"), "data-status").await, vec!["failed".to_string()]);
    assert_eq!(
        b.attrs(&run("prepare"), "data-status").await,
        vec!["success".to_string()]
    );
    let error = b.text(&format!("{} {}", run("backup"), tid("activity-error"))).await;
    assert!(
        error.contains("backup volume /srv/backup is full"),
        "activity-error shows {error:?}"
    );
    let node = |id: &str| format!("{}[data-activity=\"{id}\"]", tid("graph-node"));
    assert_eq!(b.count(&tid("graph-node")).await, 3, "one node per activity");
    assert_eq!(
        b.attrs(&node("backup"), "data-status").await,
        vec!["failed".to_string()]
    );
    assert_eq!(
        b.attrs(&node("prepare"), "data-status").await,
        vec!["success".to_string()]
    );
    let report = b.attrs(&node("report"), "data-status").await;
    assert!(
        !report.iter().any(|s| s == "success" || s == "failed"),
        "report never ran, but its node says {report:?}"
    );

    // Where it failed, first: the activity, its type, the error and its kind, before the graph.
    let summary = format!("{}[data-activity=\"backup\"]", tid("failure-summary"));
    b.wait_for(&summary).await;
    assert_eq!(b.text(&tid("failure-activity")).await, "Back up");
    assert_eq!(b.text(&tid("failure-type")).await, "run program");
    let error = b.text(&tid("failure-error")).await;
    assert!(
        error.contains("backup volume /srv/backup is full"),
        "failure-error shows {error:?}"
    );
    assert!(b.exists(&tid("failure-kind")).await, "the failure's kind is not shown");
    let first = b
        .js(
            "const s = document.querySelector(arguments[0]), g = document.querySelector(arguments[1]); \
             return !!s && !!g && !!(s.compareDocumentPosition(g) & Node.DOCUMENT_POSITION_FOLLOWING);",
            vec![json!(tid("failure-summary")), json!(tid("runbook-graph"))],
        )
        .await;
    assert_eq!(first, true, "the failure summary is not above the graph");
    let link = b.attrs(&tid("failure-activity-link"), "href").await;
    assert_eq!(
        link,
        [format!("#/runbooks/{}?activity=backup", cx.broken_id)],
        "the link to the failing activity's definition"
    );
    b.screenshot("instance-failure").await;

    // The lists say where a failed one failed.
    let failed_at = |kind: &str, id: &str| format!("{}[data-id=\"{id}\"] {}", tid(kind), tid("failed-activity"));
    let job_id = job["id"].as_str().expect("a job id");
    for (route, kind, id) in [
        ("/jobs?status=failed", "job-row", job_id),
        ("/instances?status=failed", "instance-row", instance.as_str()),
    ] {
        b.go(route).await;
        let at = b.text(&failed_at(kind, id)).await;
        assert!(
            at.contains("Back up") && at.contains("backup volume /srv/backup is full"),
            "{route} says the failure was {at:?}"
        );
        b.screenshot(&format!("{kind}s-failed-at")).await;
    }
}

/// Run again on a failed job's page: the runbook's latest version with the job's parameters,
/// "Started version N again", and the new job's instance page.
async fn run_again(cx: Arc<Ctx>) {
    let b = &cx.browser;
    let body = json!({ "runbook_id": cx.broken_id, "wait": true });
    let (status, job) = cx.api(&cx.olivia, Method::POST, "/api/v1/jobs", Some(body)).await;
    assert_eq!(status, 200, "{job}");
    let (job, old) = (
        job["id"].as_str().unwrap_or_default(),
        job["instance_id"].as_str().unwrap_or_default(),
    );
    let before = cx.job_ids(&cx.broken_id).await;

    // A viewer is not offered it.
    cx.signed_in(&cx.victor).await;
    b.go(&format!("/jobs/{job}")).await;
    b.ready("job").await;
    b.wait_js(
        "the job page to name its runbook, Broken Backup",
        WAIT,
        "return Array.from(document.querySelectorAll(arguments[0])).some(a => a.textContent.trim() === 'Broken Backup');",
        vec![json!(format!("a[href=\"#/runbooks/{}\"]", cx.broken_id))],
    )
    .await;
    assert!(!b.exists(&tid("rerun-button")).await, "a viewer is offered Run again");

    cx.signed_in(&cx.olivia).await;
    b.go(&format!("/jobs/{job}")).await;
    b.ready("job").await;
    b.click(&tid("rerun-button")).await;
    let instance = b
        .wait_js(
            "the new job's instance page (or the console's error)",
            WAIT,
            "const e = document.querySelector(arguments[1]); if (e) return 'error: ' + e.textContent; \
             const m = /^#\\/instances\\/([^/?]+)$/.exec(location.hash); \
             return m && m[1] !== arguments[0] && document.body.dataset.ready === 'instance' ? m[1] : null;",
            vec![json!(old), json!(tid("rerun-error"))],
        )
        .await;
    let said = instance.as_str().unwrap_or_default();
    assert!(!said.starts_with("error: "), "Run again failed: {said}");
    let new: Vec<String> = cx.job_ids(&cx.broken_id).await.difference(&before).cloned().collect();
    assert_eq!(new.len(), 1, "Run again started {new:?}");
    let (_, listed) = cx
        .api(
            cx.admin(),
            Method::GET,
            &format!("/api/v1/instances?job_id={}", new[0]),
            None,
        )
        .await;
    assert_eq!(
        listed["items"][0]["id"], instance,
        "the page is not the new job's instance: {listed}"
    );
    let started = b.text(&tid("start-notice")).await;
    assert!(
        started.starts_with("Started version 1 again"),
        "start-notice says {started:?}"
    );
    b.wait_for(&tid("failure-summary")).await;
    // The new instance has failed too: it offers Run again in turn.
    b.wait_for(&tid("rerun-button")).await;
}

/// Twenty runs of one looping activity: the first and last five shown, the rest behind a button.
async fn long_run_list_collapses(cx: Arc<Ctx>) {
    let b = &cx.browser;
    let body = json!({ "runbook_id": cx.poll_id, "wait": true });
    let (status, job) = cx.api(&cx.olivia, Method::POST, "/api/v1/jobs", Some(body)).await;
    assert_eq!(status, 200, "{job}");
    let instance = job["instance_id"].as_str().expect("an instance id");
    let (_, runs) = cx
        .api(
            cx.admin(),
            Method::GET,
            &format!("/api/v1/instances/{instance}/activities"),
            None,
        )
        .await;
    assert_eq!(runs["items"].as_array().map(Vec::len), Some(20), "{runs}");

    cx.signed_in(&cx.olivia).await;
    b.go(&format!("/instances/{instance}")).await;
    b.ready("instance").await;
    assert_eq!(
        b.count(&tid("activity-run")).await,
        10,
        "a collapsed list shows ten runs"
    );
    let hidden = b.text(&tid("runs-hidden")).await;
    assert!(hidden.starts_with("10 runs hidden"), "runs-hidden says {hidden:?}");
    let indexes = b.texts(&format!("{} .run-index", tid("activity-run"))).await;
    assert_eq!(indexes.first().map(String::as_str), Some("1"), "{indexes:?}");
    assert_eq!(indexes.last().map(String::as_str), Some("20"), "{indexes:?}");
    b.screenshot("instance-runs-collapsed").await;
    b.click(&tid("runs-show-more")).await;
    b.wait_count(&tid("activity-run"), 20).await;
    assert!(
        !b.exists(&tid("runs-show-more")).await,
        "nothing left to show, but the button stays"
    );
}

/// Someone granted nothing is told so, and how to get access, not that there are no runbooks.
async fn no_access_is_explained(cx: Arc<Ctx>) {
    let b = &cx.browser;
    cx.signed_in(&cx.ursula).await;
    let told = b.text(&tid("no-access")).await;
    assert!(
        told.contains("You have no access to any folder yet")
            && told.contains("scorch user grant ursula FOLDER viewer"),
        "no-access says {told:?}"
    );
    assert!(!b.exists(&tid("runbook-row")).await, "ursula sees runbooks");
    b.screenshot("runbooks-no-access").await;
}

/// A running job's page offers Cancel to an operator, not to a viewer; clicking it turns
/// `job-status` to `canceled` in place (no reload), and the web service agrees.
async fn cancel_a_running_job(cx: Arc<Ctx>) {
    let b = &cx.browser;
    let body = json!({ "runbook_id": cx.soak_id });
    let (status, job) = cx.api(&cx.olivia, Method::POST, "/api/v1/jobs", Some(body)).await;
    assert_eq!(status, 201, "{job}");
    let job = job["id"].as_str().expect("a job id").to_string();
    // Running, not merely pending: a pending job is canceled without its runbook server.
    let deadline = Instant::now() + WAIT;
    loop {
        let (_, detail) = cx
            .api(cx.admin(), Method::GET, &format!("/api/v1/jobs/{job}"), None)
            .await;
        if detail["status"] == "running" {
            break;
        }
        assert!(
            detail["status"] == "pending" && Instant::now() < deadline,
            "the soak job did not start running: {detail}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The viewer: the job, its runbook's name (so the console knows what the viewer may do),
    // and no Cancel.
    let runbook_link = format!("a[href=\"#/runbooks/{}\"]", cx.soak_id);
    cx.signed_in(&cx.victor).await;
    b.go(&format!("/jobs/{job}")).await;
    b.ready("job").await;
    b.wait_js(
        "the job page to name its runbook, Soak Test",
        WAIT,
        "return Array.from(document.querySelectorAll(arguments[0])).some(a => a.textContent.trim() === 'Soak Test');",
        vec![json!(runbook_link)],
    )
    .await;
    assert_eq!(b.text(&tid("job-status")).await, "running");
    assert!(!b.exists(&tid("cancel-button")).await, "a viewer is offered Cancel");
    let (status, answer) = cx
        .api(&cx.victor, Method::POST, &format!("/api/v1/jobs/{job}/cancel"), None)
        .await;
    assert_eq!(status, 403, "a viewer canceled a job: {answer}");

    // The operator cancels it.
    cx.signed_in(&cx.olivia).await;
    b.go(&format!("/jobs/{job}")).await;
    b.ready("job").await;
    b.wait_for(&tid("cancel-button")).await;
    assert_eq!(b.text(&tid("job-status")).await, "running");
    b.js("window.__consoleE2eMark = 'still-here';", vec![]).await;
    b.click(&tid("cancel-button")).await;
    let outcome = b
        .wait_js(
            "job-status to become canceled without a reload",
            WAIT,
            "if (window.__consoleE2eMark !== 'still-here') return 'reloaded'; \
             const s = document.querySelector(arguments[0]); \
             return s && s.textContent.trim() === 'canceled' ? 'canceled' : null;",
            vec![json!(tid("job-status"))],
        )
        .await;
    assert_eq!(outcome, "canceled", "the page reloaded instead of updating live");
    b.wait_gone(&tid("cancel-button")).await;
    b.screenshot("job-canceled").await;
    let (_, detail) = cx
        .api(cx.admin(), Method::GET, &format!("/api/v1/jobs/{job}"), None)
        .await;
    assert_eq!(detail["status"], "canceled", "{detail}");
    assert!(!detail["ended_at"].is_null(), "a canceled job without an end: {detail}");
    // Its instance ends too (the sleep is stopped, not left to run its minute).
    let deadline = Instant::now() + WAIT;
    loop {
        let (_, list) = cx
            .api(
                cx.admin(),
                Method::GET,
                &format!("/api/v1/instances?job_id={job}"),
                None,
            )
            .await;
        let statuses: Vec<&str> = list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["status"].as_str())
            .collect();
        if statuses == ["canceled"] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the canceled job's instance did not end canceled: {list}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `(id, status)` of every instance `query` lists, as the administrator sees them.
async fn instances_of(cx: &Ctx, query: &str) -> BTreeSet<(String, String)> {
    let instances = cx.items(&format!("/api/v1/instances?limit=50&{query}")).await;
    instances
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap_or_default().to_string(),
                i["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// `(data-id, data-status)` of every `instance-row` on the page.
const INSTANCE_ROWS: &str =
    "return Array.from(document.querySelectorAll(arguments[0]), r => [r.dataset.id, r.dataset.status]);";

/// Waits until the page's instance rows are exactly `want` (and not empty), and that the page
/// was not reloaded meanwhile.
async fn wait_instance_rows(b: &Browser, what: &str, want: &BTreeSet<(String, String)>) {
    assert!(!want.is_empty(), "{what}: the web service lists no instance");
    let want: Vec<Value> = want.iter().map(|(id, s)| json!([id, s])).collect();
    b.wait_js(
        what,
        WAIT,
        &format!(
            "const rows = (() => {{ {INSTANCE_ROWS} }})().map(r => r.join(' ')).sort(); \
             const want = arguments[1].map(r => r.join(' ')).sort(); \
             return rows.length === want.length && rows.every((r, i) => r === want[i]);"
        ),
        vec![json!(tid("instance-row")), json!(want)],
    )
    .await;
}

/// The instances list: reached from the header, every instance with its status (a new one
/// appears live), filtered by status, and opened from a runbook for that runbook alone.
async fn instances_list(cx: Arc<Ctx>) {
    let b = &cx.browser;
    cx.signed_in(cx.admin()).await;
    b.forget_ready().await;
    b.click(&tid("nav-instances")).await;
    b.ready("instances").await;
    let all = instances_of(&cx, "").await;
    wait_instance_rows(b, "the instance rows to be the web service's", &all).await;

    // A new instance shows up without a reload (a failed one: the status filter below has
    // one to show whatever the other steps did).
    b.js("window.__consoleE2eMark = 'still-here';", vec![]).await;
    let body = json!({ "runbook_id": cx.broken_id, "wait": true });
    let (status, job) = cx.api(cx.admin(), Method::POST, "/api/v1/jobs", Some(body)).await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["status"], "failed", "{job}");
    let instance = job["instance_id"].as_str().expect("an instance id").to_string();
    let outcome = b
        .wait_js(
            "the new instance's row, failed, without a reload",
            WAIT,
            "if (window.__consoleE2eMark !== 'still-here') return 'reloaded'; \
             const r = document.querySelector(arguments[0]); \
             return r && r.dataset.status === 'failed' ? 'shown' : null;",
            vec![json!(format!("{}[data-id=\"{instance}\"]", tid("instance-row")))],
        )
        .await;
    assert_eq!(outcome, "shown", "the page reloaded instead of updating live");
    b.screenshot("instances").await;

    // Only the failed ones.
    b.forget_ready().await;
    b.fill(&tid("instances-status"), "failed").await;
    b.ready("instances").await;
    let failed = instances_of(&cx, "status=failed").await;
    assert!(
        failed.iter().all(|(_, s)| s == "failed"),
        "the web service's failed instances: {failed:?}"
    );
    wait_instance_rows(b, "only the failed instances", &failed).await;
    let hash = b.js("return location.hash;", vec![]).await;
    assert!(
        hash.as_str().unwrap_or_default().contains("status=failed"),
        "the filter is not in the route: {hash}"
    );
    b.screenshot("instances-failed").await;

    // From a runbook: its instances only.
    b.go(&format!("/runbooks/{}", cx.broken_id)).await;
    b.ready("runbook").await;
    b.forget_ready().await;
    b.click(&tid("runbook-instances-link")).await;
    b.ready("instances").await;
    let hash = b.js("return location.hash;", vec![]).await;
    let hash = hash.as_str().unwrap_or_default();
    assert!(
        hash.contains(&format!("runbook_id={}", cx.broken_id)) && !hash.contains("status="),
        "the runbook's instances link leads to {hash}"
    );
    let broken = instances_of(&cx, &format!("runbook_id={}", cx.broken_id)).await;
    wait_instance_rows(b, "only Broken Backup's instances", &broken).await;
    let status = b
        .js(
            "const s = document.querySelector(arguments[0]); return s ? s.value : null;",
            vec![json!(tid("instances-status"))],
        )
        .await;
    assert_eq!(status, "", "the status filter after following the runbook's link");
    let chosen = b
        .wait_js(
            "the runbook filter to name Broken Backup",
            WAIT,
            "const c = document.getElementById('instances-runbook'); \
             return c && c.textContent.trim() === 'Broken Backup' ? c.textContent.trim() : null;",
            vec![],
        )
        .await;
    assert_eq!(chosen, "Broken Backup");
}

/// The runbook page at phone width still shows its name and graph.
async fn phone_width(cx: Arc<Ctx>) {
    let b = &cx.browser;
    cx.signed_in(&cx.olivia).await;
    b.emulate_phone(390, 844).await;
    b.load(&format!("/runbooks/{}", cx.deploy_id)).await;
    let shown = async {
        b.ready("runbook").await;
        assert_eq!(b.text(&tid("runbook-name")).await, "Deploy Service");
        assert_eq!(b.count(&tid("graph-node")).await, 5);
        assert!(b.exists(&tid("start-button")).await, "no start button at phone width");
        b.screenshot("runbook-phone").await;
        let overflow = b
            .js(
                "return document.documentElement.scrollWidth - window.innerWidth;",
                vec![],
            )
            .await;
        if overflow.as_f64().unwrap_or(0.0) > 1.0 {
            eprintln!("note: at 390 px the runbook page is {overflow} px wider than the screen");
        }
    };
    shown.await;
    b.stop_emulating().await;
}

/// Signing out forgets the token and shows the sign-in page.
async fn sign_out(cx: Arc<Ctx>) {
    let b = &cx.browser;
    // A session of its own (signing out ends it), not the token the other steps share.
    cx.sign_in_with_password("olivia", OLIVIA_PASSWORD).await;
    let session = b.stored_token().await.expect("a session token in localStorage");
    let (status, _) = cx.api(&session, Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 200, "the session's token does not work before signing out");

    b.forget_ready().await;
    b.click(&tid("signout")).await;
    b.ready("signin").await;
    b.wait_for(&tid("signin-user")).await;
    assert!(!b.exists(&tid("whoami")).await, "whoami still shows after signing out");
    assert_eq!(
        b.stored_token().await,
        None,
        "the token is still stored after signing out"
    );
    let (status, _) = cx.api(&session, Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 401, "the session's token still works after signing out");
    // And a page that needs a session sends one back to sign in.
    b.load("/runbooks").await;
    b.ready("signin").await;
}

/// A viewer on Ops sees the runbook, but no start button.
async fn viewer_cannot_start(cx: Arc<Ctx>) {
    let b = &cx.browser;
    cx.sign_in_with_password("victor", VICTOR_PASSWORD).await;
    let rows = b.attrs(&tid("runbook-row"), "data-id").await;
    assert!(
        rows.contains(&cx.deploy_id),
        "the viewer does not see Deploy Service: {rows:?}"
    );
    b.forget_ready().await;
    b.click(&format!("{}[data-id=\"{}\"] a", tid("runbook-row"), cx.deploy_id))
        .await;
    b.ready("runbook").await;
    assert_eq!(b.text(&tid("runbook-name")).await, "Deploy Service");
    b.wait_for(&tid("graph-node")).await;
    assert!(
        !b.exists(&tid("start-button")).await,
        "a viewer is offered the start button"
    );
    // And the web service agrees.
    let body = json!({ "runbook_id": cx.deploy_id });
    let (status, answer) = cx.api(&cx.victor, Method::POST, "/api/v1/jobs", Some(body)).await;
    assert_eq!(status, 403, "a viewer started a job: {answer}");
}

/// A token signs in; a user without the Ops folder sees neither its runbooks nor a runbook of
/// it opened by its address.
async fn token_sign_in_and_folder_scope(cx: Arc<Ctx>) {
    let b = &cx.browser;
    cx.signed_out().await;
    b.fill(&tid("signin-token"), &cx.nora).await;
    b.forget_ready().await;
    b.click(&tid("signin-token-submit")).await;
    b.ready("runbooks").await;
    let whoami = b.text(&tid("whoami")).await;
    assert!(whoami.contains("nora"), "whoami shows {whoami:?}");
    let rows = b.attrs(&tid("runbook-row"), "data-id").await;
    assert!(
        rows.contains(&cx.payroll_id),
        "nora does not see Payroll Export: {rows:?}"
    );
    assert!(
        !rows.contains(&cx.deploy_id),
        "nora sees Ops's Deploy Service: {rows:?}"
    );
    assert!(
        !rows.contains(&cx.broken_id),
        "nora sees Ops/Nightly's Broken Backup: {rows:?}"
    );
    let folders = b.attrs(&tid("folder-item"), "data-path").await;
    assert!(
        !folders.iter().any(|f| f.starts_with("Ops")),
        "nora sees Ops: {folders:?}"
    );

    // By its address: whatever the console says, not the runbook.
    b.go(&format!("/runbooks/{}", cx.deploy_id)).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let settled = b
            .js(
                "return document.body.dataset.ready === 'runbook' || \
                 /not found|no such|not exist|cannot|can't|forbidden/i.test(document.body.innerText);",
                vec![],
            )
            .await;
        if settled == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let names = b.texts(&tid("runbook-name")).await;
    assert!(
        !names.iter().any(|n| n.contains("Deploy Service")),
        "nora opened Deploy Service"
    );
    assert!(
        !b.exists(&tid("start-button")).await,
        "nora is offered a start button for Ops"
    );
}

/// The administrator (token sign-in): every folder, search, and the servers, settings and
/// audit pages.
async fn admin_pages(cx: Arc<Ctx>) {
    let b = &cx.browser;
    cx.signed_out().await;
    b.fill(&tid("signin-token"), cx.admin()).await;
    b.forget_ready().await;
    b.click(&tid("signin-token-submit")).await;
    b.ready("runbooks").await;
    let rows = b.attrs(&tid("runbook-row"), "data-id").await;
    for id in [&cx.deploy_id, &cx.broken_id, &cx.payroll_id] {
        assert!(rows.contains(id), "the administrator does not see {id}: {rows:?}");
    }
    b.wait_for(&tid("folder-tree")).await;

    b.fill(&tid("runbook-search"), "Payroll").await;
    b.wait_js(
        "the search to leave only Payroll Export",
        WAIT,
        "const rows = Array.from(document.querySelectorAll(arguments[0]), r => r.dataset.id); \
         return rows.length === 1 && rows[0] === arguments[1];",
        vec![json!(tid("runbook-row")), json!(cx.payroll_id)],
    )
    .await;

    b.forget_ready().await;
    b.click(&tid("nav-servers")).await;
    b.ready("servers").await;
    b.wait_for(&tid("server-row")).await;
    b.screenshot("servers").await;

    b.forget_ready().await;
    b.click(&tid("nav-settings")).await;
    b.ready("settings").await;
    let variables = b.texts(&tid("variable-row")).await;
    assert!(
        variables.iter().any(|v| v.contains("DeployTarget")),
        "variables: {variables:?}"
    );
    let counters = b.texts(&tid("counter-row")).await;
    assert!(
        counters.iter().any(|c| c.contains("Deployments") && c.contains('7')),
        "counters: {counters:?}"
    );
    b.screenshot("settings").await;

    b.forget_ready().await;
    b.click(&tid("nav-audit")).await;
    b.ready("audit").await;
    b.wait_for(&tid("audit-row")).await;
    b.screenshot("audit").await;
    // Filtered on the server: olivia's job starts, then a text no record holds.
    b.fill(&tid("audit-actor"), "olivia").await;
    b.fill(&tid("audit-action"), "job.").await;
    b.forget_ready().await;
    b.click(&tid("audit-apply")).await;
    b.ready("audit").await;
    let who = b.attrs(&tid("audit-row"), "data-actor").await;
    let what = b.attrs(&tid("audit-row"), "data-action").await;
    assert!(
        !who.is_empty() && who.iter().all(|w| w == "olivia"),
        "filtered by olivia: {who:?}"
    );
    assert!(what.iter().all(|a| a.starts_with("job.")), "filtered by job.: {what:?}");
    let details = b.text(&format!("{} td[data-label=Details]", tid("audit-row"))).await;
    assert!(
        details.contains("runbook_id") && details.contains("Ops/") && !details.contains('{'),
        "details shown as {details:?}"
    );
    b.fill(&tid("audit-text"), "no-record-holds-this").await;
    b.forget_ready().await;
    b.click(&tid("audit-apply")).await;
    b.ready("audit").await;
    assert_eq!(b.count(&tid("audit-row")).await, 0, "a text no record holds matched");
    b.forget_ready().await;
    b.click(&tid("audit-clear")).await;
    b.ready("audit").await;
    b.wait_for(&tid("audit-row")).await;

    b.forget_ready().await;
    b.click(&tid("nav-jobs")).await;
    b.ready("jobs").await;
    b.forget_ready().await;
    b.click(&tid("nav-runbooks")).await;
    b.ready("runbooks").await;
}

/// The settings page as the administrator: adds a counter, a computer group, a plain and an encrypted variable
/// through its forms, edits the counter and deletes the plain variable; the encrypted value is
/// never on the page, and the web service agrees. Others see the page read-only.
async fn admin_edits_settings(cx: Arc<Ctx>) {
    const COUNTER: &str = "E2eReleases";
    const PLAIN: &str = "E2eRegion";
    const SECRET: &str = "E2eApiKey";
    const SECRET_VALUE: &str = "e2e-secret-4f9c1d";
    let b = &cx.browser;
    let row = |kind: &str, name: &str| format!("{}[data-name=\"{name}\"]", tid(&format!("{kind}-row")));
    let add = |kind: &str, what: &str| {
        format!(
            "form[aria-label=\"Add or replace a {kind}\"] {}",
            tid(&format!("{kind}-{what}"))
        )
    };
    let secret_shown = "return document.documentElement.outerHTML.includes(arguments[0]) || \
                        document.body.innerText.includes(arguments[0]);";

    cx.signed_in(cx.admin()).await;
    b.forget_ready().await;
    b.click(&tid("nav-settings")).await;
    b.ready("settings").await;

    b.fill(&add("counter", "name"), COUNTER).await;
    b.fill(&add("counter", "value"), "41").await;
    b.click(&add("counter", "save")).await;
    b.wait_js(
        "the new counter's row, 41",
        WAIT,
        "const v = document.querySelector(arguments[0] + ' td[data-label=Value]'); \
         return !!v && v.textContent.trim() === '41';",
        vec![json!(row("counter", COUNTER))],
    )
    .await;

    // A computer group: hosts typed with spaces and commas, stored as a list.
    b.fill(&add("group", "name"), "E2eWebTier").await;
    b.fill(&add("group", "value"), "web1, web2 10.0.0.3").await;
    b.click(&add("group", "save")).await;
    b.wait_js(
        "the new group's row",
        WAIT,
        "const v = document.querySelector(arguments[0] + ' td[data-label=Value]'); \
         return !!v && v.textContent.trim() === 'web1 web2 10.0.0.3';",
        vec![json!(row("group", "E2eWebTier"))],
    )
    .await;
    let groups = Value::from(cx.items("/api/v1/groups").await);
    assert!(
        groups
            .as_array()
            .into_iter()
            .flatten()
            .any(|g| g["name"] == "E2eWebTier" && g["hosts"] == json!(["web1", "web2", "10.0.0.3"])),
        "{groups}"
    );

    b.fill(&add("variable", "name"), PLAIN).await;
    b.fill(&add("variable", "value"), "eu-west-3").await;
    b.click(&add("variable", "save")).await;
    b.wait_js(
        "the plain variable's row",
        WAIT,
        "const r = document.querySelector(arguments[0]); return !!r && r.textContent.includes('eu-west-3');",
        vec![json!(row("variable", PLAIN))],
    )
    .await;

    b.fill(&add("variable", "name"), SECRET).await;
    b.fill(&add("variable", "encrypted"), "true").await;
    b.fill(&add("variable", "value"), SECRET_VALUE).await;
    b.click(&add("variable", "save")).await;
    b.wait_for(&row("variable", SECRET)).await;
    let shown = b.text(&row("variable", SECRET)).await;
    assert!(
        shown.contains("••••••") && shown.contains("encrypted"),
        "the encrypted variable's row shows {shown:?}"
    );
    // The add form is cleared once saved, so the value is nowhere in the document.
    assert_eq!(
        b.js(secret_shown, vec![json!(SECRET_VALUE)]).await,
        false,
        "the encrypted value is on the page"
    );
    let typed = b
        .js(
            "return Array.from(document.querySelectorAll('input')).some(i => i.value === arguments[0]);",
            vec![json!(SECRET_VALUE)],
        )
        .await;
    assert_eq!(typed, false, "an input still holds the encrypted value");

    // Edit the counter in its row.
    b.click(&format!("{} {}", row("counter", COUNTER), tid("counter-edit")))
        .await;
    let editing = format!("{} {}", row("counter", COUNTER), tid("counter-value"));
    b.fill(&editing, "42").await;
    b.click(&format!("{} form button[type=\"submit\"]", row("counter", COUNTER)))
        .await;
    b.wait_js(
        "the counter's row to show 42, no longer editing",
        WAIT,
        "const r = document.querySelector(arguments[0]); \
         const v = r && r.querySelector('td[data-label=Value]'); \
         return !!v && !r.querySelector('form') && v.textContent.trim() === '42';",
        vec![json!(row("counter", COUNTER))],
    )
    .await;

    // Delete the plain variable (asked to confirm first).
    b.click(&format!("{} {}", row("variable", PLAIN), tid("variable-delete")))
        .await;
    assert!(
        b.exists(&row("variable", PLAIN)).await,
        "the variable went before the delete was confirmed"
    );
    b.click(&format!(
        "{} {}",
        row("variable", PLAIN),
        tid("variable-confirm-delete")
    ))
    .await;
    b.wait_gone(&row("variable", PLAIN)).await;
    assert!(
        b.exists(&row("variable", "DeployTarget")).await,
        "DeployTarget went with {PLAIN}"
    );
    b.screenshot("settings-edited").await;

    // The web service agrees.
    let counters = Value::from(cx.items("/api/v1/counters").await);
    let counter = |name: &str| {
        counters
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["name"] == name)
            .cloned()
    };
    assert_eq!(
        counter(COUNTER).map(|c| c["value"].clone()),
        Some(json!(42)),
        "{counters}"
    );
    assert_eq!(
        counter("Deployments").map(|c| c["value"].clone()),
        Some(json!(7)),
        "{counters}"
    );
    let variables = Value::from(cx.items("/api/v1/variables").await);
    let variable = |name: &str| {
        variables
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["name"] == name)
            .cloned()
    };
    assert!(variable(PLAIN).is_none(), "{PLAIN} is still there: {variables}");
    let secret = variable(SECRET).unwrap_or_else(|| panic!("{SECRET} is not there: {variables}"));
    assert_eq!(secret["encrypted"], true, "{secret}");
    assert!(
        secret["value"].is_null(),
        "the encrypted value left the server: {secret}"
    );
    assert_eq!(
        variable("DeployTarget").map(|v| v["value"].clone()),
        Some(json!("prod-eu")),
        "{variables}"
    );

    // An operator and a viewer: the same settings, nothing to change them with.
    for (who, token) in [("olivia", &cx.olivia), ("victor", &cx.victor)] {
        cx.signed_in(token).await;
        b.go("/settings").await;
        b.ready("settings").await;
        b.wait_for(&row("counter", COUNTER)).await;
        b.wait_for(&row("variable", SECRET)).await;
        let counter = b.text(&row("counter", COUNTER)).await;
        assert!(counter.contains("42"), "{who} sees {COUNTER} as {counter:?}");
        for id in [
            "counter-edit",
            "counter-delete",
            "counter-name",
            "counter-value",
            "counter-save",
            "group-save",
            "variable-edit",
            "variable-delete",
            "variable-name",
            "variable-value",
            "variable-encrypted",
            "variable-save",
        ] {
            assert!(!b.exists(&tid(id)).await, "{who} is offered {id} on the settings page");
        }
        assert_eq!(b.count("form").await, 0, "{who} is offered a form on the settings page");
        assert_eq!(
            b.js(secret_shown, vec![json!(SECRET_VALUE)]).await,
            false,
            "{who} sees the encrypted value"
        );
        let (status, answer) = cx
            .api(
                token,
                Method::PUT,
                &format!("/api/v1/counters/{COUNTER}"),
                Some(json!({ "value": 1 })),
            )
            .await;
        assert_eq!(status, 403, "{who} changed a counter: {answer}");
    }
}

/// Signing in with the keyboard alone: type the user, Tab to the password, type it, Enter.
async fn keyboard_sign_in(cx: Arc<Ctx>) {
    let b = &cx.browser;
    cx.signed_out().await;
    b.click(&tid("signin-user")).await;
    assert_eq!(
        b.focused().await,
        "signin-user",
        "clicking the user field does not focus it"
    );
    b.press_keys("olivia").await;
    b.press_keys(&char::from(Key::Tab).to_string()).await;
    assert_eq!(b.focused().await, "signin-password", "Tab from the user field");
    b.press_keys(OLIVIA_PASSWORD).await;
    b.forget_ready().await;
    b.press_keys(&char::from(Key::Enter).to_string()).await;
    b.ready("runbooks").await;
    let whoami = b.text(&tid("whoami")).await;
    assert!(whoami.contains("olivia"), "whoami shows {whoami:?}");
    let token = b.stored_token().await.expect("a session token in localStorage");
    let (status, me) = cx.api(&token, Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["name"], "olivia", "{me}");
}

/// Leaving the console for another page and coming back, again and again, as people do with
/// links and Back, in a Chromium as shipped (its back/forward cache on: it keeps pages it may
/// restore, with their open connections). The console must load each time: a browser opens at
/// most six connections to one host, and each page holds one for its event stream.
async fn leaving_and_coming_back(cx: Arc<Ctx>) {
    let b = Browser::start_as_shipped(&cx.browser.base, &cx.browser.shots).await;
    b.load("/signin").await;
    b.store_token(&cx.olivia).await;
    for round in 1..=8 {
        b.load("/runbooks").await;
        let deadline = Instant::now() + WAIT;
        while b.js("return document.body.dataset.ready || '';", vec![]).await != "runbooks" {
            if Instant::now() >= deadline {
                let open = connections_to(&cx.fleet.web).map_or("?".into(), |n| n.to_string());
                b.fail(&format!(
                    "coming back to the console the {round}th time, the runbooks page was not ready in {WAIT:?}; \
                     {open} connections are open to the web service (a browser opens at most six to one host, \
                     and every page the back/forward cache keeps holds its event stream)"
                ))
                .await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    b.close().await;
}

type Step = fn(Arc<Ctx>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// A running script's output appears in the instance page's live-output panel while it runs
/// (stderr marked), and what it prints later arrives without a reload.
async fn live_output(cx: Arc<Ctx>) {
    let b = &cx.browser;
    let gate = cx.fleet.path("live-gate");
    let runbook = format!(
        "format: 1\nrunbook: Live Printer\nactivities:\n  - id: print\n    name: Print\n    type: run_script\n    \
         properties:\n      script: |\n        echo 'line one'; echo 'a warning' >&2\n        \
         i=0; while [ ! -e '{}' ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done\n        echo 'line two'\n",
        gate.display()
    );
    cx.fleet.push("live.runbook.yaml", &runbook, "Ops").await.ok();
    let body = json!({ "runbook_path": "Ops/Live Printer" });
    let (status, job) = cx.api(&cx.olivia, Method::POST, "/api/v1/jobs", Some(body)).await;
    assert_eq!(status, 201, "{job}");
    let job = job["id"].as_str().expect("a job id").to_string();
    let deadline = Instant::now() + WAIT;
    let instance = loop {
        let (_, detail) = cx
            .api(&cx.olivia, Method::GET, &format!("/api/v1/jobs/{job}"), None)
            .await;
        if let Some(id) = detail["instance_id"].as_str() {
            break id.to_string();
        }
        assert!(Instant::now() < deadline, "the job never got an instance: {detail}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    cx.signed_in(&cx.olivia).await;
    b.go(&format!("/instances/{instance}")).await;
    b.ready("instance").await;
    let panel = format!("{}[data-activity=\"print\"]", tid("live-output"));
    let text = "const p = document.querySelector(arguments[0] + ' pre'); return p ? p.textContent : null;";
    b.wait_js(
        "the first lines in the live-output panel",
        WAIT,
        &format!("const t = (() => {{ {text} }})(); return t && t.includes('line one') && t.includes('a warning') ? t : null;"),
        vec![json!(panel)],
    )
    .await;
    let (_, detail) = cx
        .api(&cx.olivia, Method::GET, &format!("/api/v1/jobs/{job}"), None)
        .await;
    assert_eq!(
        detail["status"], "running",
        "the panel showed the output while the script ran"
    );
    let stderr = b.text(&format!("{panel} pre .stderr")).await;
    assert_eq!(stderr.trim(), "a warning");
    b.screenshot("live-output").await;
    std::fs::write(&gate, "open").expect("open the gate");
    let shown = b
        .wait_js(
            "the last line, live",
            WAIT,
            &format!("const t = (() => {{ {text} }})(); return t && t.includes('line two') ? t : null;"),
            vec![json!(panel)],
        )
        .await;
    let mut lines: Vec<&str> = shown.as_str().unwrap_or_default().lines().collect();
    lines.sort();
    assert_eq!(lines, ["a warning", "line one", "line two"], "{shown}");
}

macro_rules! steps {
    ($($name:ident),* $(,)?) => {
        [$((stringify!($name), (|cx| Box::pin($name(cx))) as Step)),*]
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_browser() {
    if let Err(hint) = browser::installed() {
        return peer_missing("Chromium and ChromeDriver", hint);
    }
    let began = Instant::now();
    let cx = Arc::new(setup().await);
    eprintln!("set up in {:.1} s", began.elapsed().as_secs_f64());
    let steps = steps![
        bad_password_shows_an_error,
        password_sign_in,
        runbook_graph,
        start_and_watch,
        failed_instance,
        run_again,
        long_run_list_collapses,
        no_access_is_explained,
        cancel_a_running_job,
        instances_list,
        phone_width,
        sign_out,
        viewer_cannot_start,
        token_sign_in_and_folder_scope,
        admin_pages,
        admin_edits_settings,
        keyboard_sign_in,
        leaving_and_coming_back,
        live_output,
    ];
    let mut failed = Vec::new();
    for (name, step) in steps {
        let started = Instant::now();
        let outcome = tokio::spawn(step(cx.clone())).await;
        let took = started.elapsed().as_secs_f64();
        match outcome {
            Ok(()) => eprintln!("ok     {name} ({took:.1} s)"),
            Err(e) => {
                // The panic message went to stderr already; keep the failure's screenshot.
                let shot = cx.browser.shots.join("FAILED.png");
                if shot.exists() {
                    let _ = std::fs::rename(&shot, cx.browser.shots.join(format!("FAILED-{name}.png")));
                }
                eprintln!("FAILED {name} ({took:.1} s): {e}");
                eprintln!("       the web service now: {}", cx.probe().await);
                failed.push(name);
            }
        }
    }
    eprintln!(
        "console steps done in {:.1} s; screenshots in {}",
        began.elapsed().as_secs_f64(),
        cx.browser.shots.display()
    );
    let cx = Arc::into_inner(cx).expect("no step holds the context any more");
    let Ctx { fleet, browser, .. } = cx;
    browser.close().await;
    assert!(failed.is_empty(), "failed steps: {failed:?}\n{}", fleet.logs());
}
