//! The `scorch` client commands, run as the real binary against a management server, a web
//! service and a runbook server started in this test process on loopback ports, on a SQLite
//! file in a temporary directory.

use crate::support::Run;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use scorch_server::api::AppState;
use scorch_server::auth::{new_token, token_hash};
use scorch_server::plans::Plans;
use scorch_server::runbook_server::{self, RunbookServerOptions};
use scorch_server::serve::HttpLimits;
use scorch_server::{management, web};
use scorch_store::{SqliteStore, Store};
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

const INVALID: &str = "format: 1
runbook: Broken
activities:
  - id: start
    type: no_such_activity
";

const SLOW: &str = "format: 1
runbook: Slow
activities:
  - id: wait
    type: run_program
    properties: { program: sleep, arguments: [\"30\"] }
";

struct Servers {
    management: String,
    web: String,
    admin: String,
    dir: TempDir,
    stop: CancellationToken,
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn listener() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

impl Servers {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(&format!("sqlite:{}", dir.path().join("scorch.db").display()))
            .await
            .unwrap();
        let store: Arc<dyn Store> = Arc::new(sqlite);
        store.create_user("admin", None, true).await.unwrap();
        let admin = new_token();
        store.create_token("admin", &token_hash(&admin), "test").await.unwrap();
        let plans = Arc::new(Plans::new(Arc::new(scorch_activities::standard())));
        let state = AppState::new(store.clone(), plans.clone());
        let secrets = state.secrets.clone();
        let stop = CancellationToken::new();
        let (m, management) = listener().await;
        tokio::spawn(management::serve(m, state.clone(), HttpLimits::default(), stop.clone()));
        let (w, web) = listener().await;
        tokio::spawn(web::serve(w, state, Vec::new(), HttpLimits::default(), stop.clone()));
        let mut opts = RunbookServerOptions::new("rb-test");
        opts.heartbeat = Duration::from_millis(200);
        opts.poll = Duration::from_millis(200);
        opts.engine.working_dir = dir.path().to_path_buf();
        // Encrypted variables are opened with the key the web service sealed them with.
        opts.secrets = Some(secrets);
        tokio::spawn(runbook_server::run(store, plans, opts, stop.clone()));
        Self {
            management,
            web,
            admin,
            dir,
            stop,
        }
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Runs `scorch` with this deployment's URLs and `token`.
    async fn scorch_as(&self, token: &str, args: &[&str], stdin: Option<&str>) -> Run {
        let mut all = vec![
            "--management",
            &self.management,
            "--web-service",
            &self.web,
            "--token",
            token,
        ];
        all.extend_from_slice(args);
        run(&all, stdin, self.dir.path()).await
    }

    async fn scorch(&self, args: &[&str]) -> Run {
        self.scorch_as(&self.admin, args, None).await
    }
}

/// The real binary, without any SCORCH_* setting from the environment.
async fn run(args: &[&str], stdin: Option<&str>, dir: &Path) -> Run {
    let mut cmd = tokio::process::Command::from(crate::support::scorch_command(dir));
    cmd.args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        std::process::Stdio::piped()
    } else {
        std::process::Stdio::null()
    });
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(text.as_bytes()).await.unwrap();
    }
    child.wait_with_output().await.unwrap().into()
}

fn hello() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello.runbook.yaml")
}

fn failing() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/failure-links.runbook.yaml")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_list_and_pull() {
    let s = Servers::start().await;
    let file = hello();
    let file = file.to_str().unwrap();
    let pushed = s.scorch(&["runbook", "push", file, "--folder", "ops"]).await.ok();
    assert!(
        pushed.stdout.contains("pushed ops/Hello version 1"),
        "{}",
        pushed.stdout
    );
    let pushed = s.scorch(&["runbook", "push", file, "--folder", "ops"]).await.ok();
    assert!(pushed.stdout.contains("version 2"), "{}", pushed.stdout);

    let list = s.scorch(&["runbook", "list"]).await.ok();
    let row = list
        .stdout
        .lines()
        .find(|l| l.starts_with("ops/Hello"))
        .unwrap_or_else(|| panic!("{}", list.stdout));
    assert!(row.split_whitespace().nth(1) == Some("2"), "{row}");
    let list = s.scorch(&["runbook", "list", "--folder", "finance"]).await.ok();
    assert_eq!(list.stdout.lines().count(), 1, "only the header: {}", list.stdout);

    let pulled = s.scorch(&["runbook", "pull", "ops/Hello"]).await.ok();
    assert_eq!(pulled.stdout, std::fs::read_to_string(hello()).unwrap());
    let out = s.dir.path().join("v1.yaml");
    s.scorch(&[
        "runbook",
        "pull",
        "ops/Hello",
        "--version",
        "1",
        "-o",
        out.to_str().unwrap(),
    ])
    .await
    .ok();
    assert_eq!(
        std::fs::read_to_string(out).unwrap(),
        std::fs::read_to_string(hello()).unwrap()
    );
    let missing = s.scorch(&["runbook", "pull", "ops/Nothing"]).await;
    assert_eq!(missing.code, Some(1));
    assert!(missing.stderr.contains("'ops/Nothing' not found"), "{}", missing.stderr);

    s.scorch(&["folder", "create", "finance/q1"]).await.ok();
    let folders = s.scorch(&["folder", "list"]).await.ok();
    assert!(
        folders.stdout.contains("/finance/q1") && folders.stdout.contains("/ops"),
        "{}",
        folders.stdout
    );
    s.scorch(&["folder", "delete", "finance/q1"]).await.ok();
    let busy = s.scorch(&["folder", "delete", "ops"]).await;
    assert_eq!(busy.code, Some(1));
    assert!(busy.stderr.contains("(conflict)"), "{}", busy.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_file_is_reported_by_line_before_any_network_call() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.runbook.yaml");
    std::fs::write(&file, INVALID).unwrap();
    let file = file.to_str().unwrap();
    // Nothing listens at the management URL: the push must not even try it.
    let run = run(
        &["--management", "http://127.0.0.1:9", "runbook", "push", file],
        None,
        dir.path(),
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("{file}:5:")), "{}", run.stderr);
    assert!(run.stderr.contains("no_such_activity"), "{}", run.stderr);
    assert!(!run.stderr.contains("cannot reach"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checked_out_runbook_is_locked_for_others() {
    let s = Servers::start().await;
    let file = hello();
    let file = file.to_str().unwrap();
    s.scorch(&["runbook", "push", file]).await.ok();
    let mut tokens = Vec::new();
    for user in ["alice", "bob"] {
        s.scorch(&["user", "create", user]).await.ok();
        let granted = s.scorch(&["user", "grant", user, "/", "author"]).await.ok();
        assert!(granted.stdout.contains("/:author"), "{}", granted.stdout);
        let token = s.scorch(&["token", "create", user, "--label", "test"]).await.ok();
        tokens.push(token.stdout.trim().to_string());
    }
    let (alice, bob) = (&tokens[0], &tokens[1]);
    let out = s.scorch_as(alice, &["runbook", "checkout", "Hello"], None).await.ok();
    assert!(out.stdout.contains("checked out Hello"), "{}", out.stdout);
    let list = s.scorch(&["runbook", "list"]).await.ok();
    assert!(list.stdout.contains("alice"), "{}", list.stdout);

    let refused = s.scorch_as(bob, &["runbook", "push", file], None).await;
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("alice") && refused.stderr.contains("(conflict)"),
        "{}",
        refused.stderr
    );
    let refused = s.scorch_as(bob, &["runbook", "checkout", "Hello"], None).await;
    assert_eq!(refused.code, Some(1));

    let checked_in = s.scorch_as(alice, &["runbook", "checkin", file], None).await.ok();
    assert!(
        checked_in.stdout.contains("checked in Hello version 2"),
        "{}",
        checked_in.stdout
    );
    s.scorch_as(bob, &["runbook", "push", file], None).await.ok();
    s.scorch_as(bob, &["runbook", "checkout", "Hello"], None).await.ok();
    let released = s.scorch(&["runbook", "undo-checkout", "Hello", "--force"]).await.ok();
    assert!(
        released.stdout.contains("was checked out by bob"),
        "{}",
        released.stdout
    );

    let viewer_token = {
        s.scorch(&["user", "create", "vera"]).await.ok();
        s.scorch(&["user", "grant", "vera", "/", "viewer"]).await.ok();
        s.scorch(&["token", "create", "vera"])
            .await
            .ok()
            .stdout
            .trim()
            .to_string()
    };
    let refused = s.scorch_as(&viewer_token, &["runbook", "push", file], None).await;
    assert_eq!(refused.code, Some(1));
    assert!(refused.stderr.contains("(forbidden)"), "{}", refused.stderr);
    let users = s.scorch(&["user", "list"]).await.ok();
    assert!(
        users.stdout.contains("vera") && users.stdout.contains("/:viewer"),
        "{}",
        users.stdout
    );
    let audit = s.scorch(&["audit", "--limit", "100"]).await.ok();
    assert!(
        audit.stdout.contains("runbook.check_out") && audit.stdout.contains("grant.set"),
        "{}",
        audit.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_and_counters() {
    let s = Servers::start().await;
    s.scorch(&["var", "set", "smtp_host", "mail.example.com"]).await.ok();
    let got = s.scorch(&["var", "get", "smtp_host"]).await.ok();
    assert_eq!(got.stdout, "mail.example.com\n");
    s.scorch_as(
        &s.admin,
        &["var", "set", "db_password", "-", "--encrypted"],
        Some("hunter2-secret\n"),
    )
    .await
    .ok();
    let got = s.scorch(&["var", "get", "db_password"]).await.ok();
    assert!(
        !got.stdout.contains("hunter2") && !got.stderr.contains("hunter2"),
        "{}{}",
        got.stdout,
        got.stderr
    );
    assert!(got.stderr.contains("encrypted"), "{}", got.stderr);
    let list = s.scorch(&["var", "list"]).await.ok();
    assert!(
        !list.stdout.contains("hunter2") && list.stdout.contains("(encrypted)"),
        "{}",
        list.stdout
    );
    assert!(list.stdout.contains("mail.example.com"), "{}", list.stdout);
    s.scorch(&["var", "delete", "smtp_host"]).await.ok();
    let gone = s.scorch(&["var", "get", "smtp_host"]).await;
    assert_eq!(gone.code, Some(1));
    assert!(gone.stderr.contains("(not_found)"), "{}", gone.stderr);

    s.scorch(&["counter", "set", "tickets", "-3"]).await.ok();
    assert_eq!(s.scorch(&["counter", "get", "tickets"]).await.ok().stdout, "-3\n");
    let list = s.scorch(&["counter", "list"]).await.ok();
    assert!(list.stdout.contains("tickets"), "{}", list.stdout);
    s.scorch(&["counter", "delete", "tickets"]).await.ok();
}

/// Computer groups through the CLI, and a runbook whose `host` names one: one run per host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn computer_groups_run_an_activity_once_per_host() {
    let s = Servers::start().await;
    let set = s
        .scorch(&["group", "set", "Local", "127.0.0.1", "localhost"])
        .await
        .ok();
    assert_eq!(set.stdout, "set Local (2 hosts)\n");
    assert_eq!(
        s.scorch(&["group", "get", "Local"]).await.ok().stdout,
        "127.0.0.1\nlocalhost\n"
    );
    let list = s.scorch(&["group", "list"]).await.ok();
    assert!(list.stdout.contains("127.0.0.1 localhost"), "{}", list.stdout);
    let bad = s.scorch(&["group", "set", "Bad", "web 1"]).await;
    assert_eq!(bad.code, Some(2), "a refused request: {}", bad.stderr);
    assert!(bad.stderr.contains("holds a space"), "{}", bad.stderr);

    // A TCP listener both hosts reach: the handshake completes from its backlog.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let file = s.dir.path().join("ping.runbook.yaml");
    std::fs::write(
        &file,
        format!(
            "format: 1\nrunbook: Ping Group\nactivities:\n  - id: ping\n    type: get_computer_status\n    \
             properties: {{ host: \"{{{{ group.Local }}}}\", port: {port} }}\n"
        ),
    )
    .unwrap();
    s.scorch(&["runbook", "push", file.to_str().unwrap()]).await.ok();
    let done = s.scorch(&["job", "start", "Ping Group", "--wait", "--json"]).await.ok();
    let doc: Value = serde_json::from_str(&done.stdout).unwrap();
    assert_eq!(doc["status"], "success", "{doc}");
    let text = doc.to_string();
    assert!(
        text.contains("\"localhost\"") && text.contains("\"127.0.0.1\""),
        "{doc}"
    );

    s.scorch(&["group", "delete", "Local"]).await.ok();
    let gone = s.scorch(&["job", "start", "Ping Group", "--wait", "--json"]).await;
    assert!(
        gone.stdout.contains("no computer group named 'Local'"),
        "{}{}",
        gone.stdout,
        gone.stderr
    );
}

/// Schedules through the CLI: flags make the definition, `get` prints YAML that `--file` takes
/// back, a definition the server refuses exits 2 naming the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_are_set_from_flags_or_a_file() {
    let s = Servers::start().await;
    let set = s
        .scorch(&[
            "schedule",
            "set",
            "Office",
            "--days-of-week",
            "mon,fri",
            "--hours",
            "08:00-12:00",
            "--hours",
            "14:00-18:00",
            "--exception",
            "2026-12-25=deny",
            "--timezone",
            "Europe/Paris",
        ])
        .await
        .ok();
    assert_eq!(
        set.stdout,
        "set Office: mon,fri, 08:00-12:00,14:00-18:00, Europe/Paris, 1 exception\n"
    );
    let yaml = s.scorch(&["schedule", "get", "Office"]).await.ok().stdout;
    assert!(yaml.contains("- date: \"2026-12-25\"\n    rule: deny\n"), "{yaml}");
    let json = s.scorch(&["schedule", "get", "Office", "--json"]).await.ok().stdout;
    let office: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(office["hours"], serde_json::json!(["08:00-12:00", "14:00-18:00"]));

    let file = s.dir.path().join("office.yaml");
    std::fs::write(&file, &yaml).unwrap();
    s.scorch(&["schedule", "set", "Copy", "--file", file.to_str().unwrap()])
        .await
        .ok();
    let copy = s.scorch(&["schedule", "get", "Copy", "--json"]).await.ok().stdout;
    assert_eq!(serde_json::from_str::<Value>(&copy).unwrap(), office);
    let list = s.scorch(&["schedule", "list"]).await.ok().stdout;
    assert!(list.contains("Copy") && list.contains("Office"), "{list}");

    std::fs::write(&file, "days_of_wek: [mon]\n").unwrap();
    let bad = s
        .scorch(&["schedule", "set", "Bad", "--file", file.to_str().unwrap()])
        .await;
    assert_eq!(bad.code, Some(2), "a refused definition: {}", bad.stderr);
    assert!(bad.stderr.contains("days_of_wek"), "{}", bad.stderr);

    s.scorch(&["schedule", "delete", "Copy"]).await.ok();
    let gone = s.scorch(&["schedule", "get", "Copy"]).await;
    assert_eq!(gone.code, Some(1));
    assert!(gone.stderr.contains("(not_found)"), "{}", gone.stderr);
}

/// The tour's web-service runbook: scorch's own web service called with the administrator's
/// token from an encrypted variable. The call succeeds, and the token is in no answer about it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bearer_token_from_an_encrypted_variable_is_in_no_record() {
    let s = Servers::start().await;
    s.scorch_as(
        &s.admin,
        &["var", "set", "ApiToken", "-", "--encrypted"],
        Some(&format!("{}\n", s.admin)),
    )
    .await
    .ok();
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/call-web-service.runbook.yaml");
    s.scorch(&["runbook", "push", example.to_str().unwrap()]).await.ok();
    let url = format!("Url={}/api/v1/runbook-servers", s.web);
    let done = s
        .scorch(&[
            "job",
            "start",
            "Call A Web Service",
            "--wait",
            "--json",
            "--param",
            &url,
            "--param",
            "Path=$.items[*].name",
        ])
        .await
        .ok();
    let doc: Value = serde_json::from_str(&done.stdout).unwrap();
    assert_eq!(doc["status"], "success", "{doc}");
    assert!(
        doc["returns"]["Found"]
            .as_str()
            .unwrap()
            .starts_with("rb-test (HTTP 200"),
        "{doc}"
    );
    let list = s
        .scorch(&["instance", "list", "--runbook", "Call A Web Service", "--json"])
        .await
        .ok();
    let id = serde_json::from_str::<Value>(&list.stdout).unwrap()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let shown = s.scorch(&["instance", "show", &id, "--json"]).await.ok();
    let jobs = s.scorch(&["job", "list", "--json"]).await.ok();
    let audit = s.scorch(&["audit", "--limit", "100"]).await.ok();
    for (what, text) in [
        ("the outcome", &done.stdout),
        ("the instance", &shown.stdout),
        ("the jobs", &jobs.stdout),
        ("the audit", &audit.stdout),
    ] {
        assert!(!text.contains(&s.admin), "the token is in {what}: {text}");
    }
}

/// `send_platform_event` runs are the instance's events on the web service, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_events_are_listed_on_their_instance() {
    let s = Servers::start().await;
    let file = s.dir.path().join("events.runbook.yaml");
    std::fs::write(
        &file,
        "format: 1\nrunbook: Events\nactivities:\n  \
         - { id: warn, type: send_platform_event, properties: { severity: warning, summary: Disk low, details: \"/var at 95%\" } }\n  \
         - { id: note, type: send_platform_event, properties: { summary: Cleaned up } }\n  \
         - { id: other, type: generate_random_text, properties: { length: 4 } }\n\
         links:\n  - { from: warn, to: note }\n  - { from: note, to: other }\n",
    )
    .unwrap();
    s.scorch(&["runbook", "push", file.to_str().unwrap()]).await.ok();
    s.scorch(&["job", "start", "Events", "--wait"]).await.ok();
    let list = s
        .scorch(&["instance", "list", "--runbook", "Events", "--json"])
        .await
        .ok();
    let list: Value = serde_json::from_str(&list.stdout).unwrap();
    let id = list["items"][0]["id"].as_str().unwrap().to_string();
    let events: Value = reqwest::Client::new()
        .get(format!("{}/api/v1/instances/{}/events", s.web, &id[id.len() - 8..]))
        .bearer_auth(&s.admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = events["items"].as_array().unwrap();
    let summaries: Vec<(&str, &str)> = items
        .iter()
        .map(|e| (e["severity"].as_str().unwrap(), e["summary"].as_str().unwrap()))
        .collect();
    assert_eq!(
        summaries,
        [("warning", "Disk low"), ("information", "Cleaned up")],
        "{events}"
    );
    assert_eq!(items[0]["details"], "/var at 95%");
    assert_eq!(items[0]["activity_id"], "warn");
    assert_eq!(events["instance_id"], id.as_str());
    let anonymous = reqwest::get(format!("{}/api/v1/instances/{id}/events", s.web))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

/// The document without what differs between two runs (times, durations, temporary paths).
fn shape(doc: &Value) -> Value {
    let mut doc = doc.clone();
    for run in doc["activities"].as_array_mut().into_iter().flatten() {
        let run = run.as_object_mut().unwrap();
        for key in ["started_at", "ended_at", "duration_ms"] {
            assert!(run.contains_key(key), "{key} missing from {run:?}");
            run.remove(key);
        }
    }
    doc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_start_wait_json_prints_the_testers_document() {
    let s = Servers::start().await;
    let file = hello();
    let file = file.to_str().unwrap();
    s.scorch(&["runbook", "push", file, "--folder", "ops"]).await.ok();
    let args = ["--param", "Who=operator", "--param", "Times=3"];
    let remote = s
        .scorch(&[&["job", "start", "ops/Hello", "--wait", "--json"][..], &args].concat())
        .await
        .ok();
    let tester = run(
        &[&["runbook", "test", file, "--json"][..], &args].concat(),
        None,
        s.dir.path(),
    )
    .await
    .ok();
    let remote: Value = serde_json::from_str(&remote.stdout).unwrap();
    let tester: Value = serde_json::from_str(&tester.stdout).unwrap();
    assert_eq!(shape(&remote), shape(&tester));
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&remote), keys(&tester), "the same fields in the same order");
    assert_eq!(remote["status"], "success");

    // Without --json: the outcome for people; a failed instance exits 1, like the tester.
    let people = s
        .scorch(&[&["job", "start", "ops/Hello", "--wait"][..], &args].concat())
        .await
        .ok();
    assert!(
        people.stdout.contains("completed: success") && people.stdout.contains("Greeting ="),
        "{}",
        people.stdout
    );
    s.scorch(&["runbook", "push", failing().to_str().unwrap()]).await.ok();
    let failed = s
        .scorch(&["job", "start", "Handle A Failure", "--wait", "--json"])
        .await;
    let name: Value = serde_json::from_str(&failed.stdout).unwrap_or(Value::Null);
    assert_eq!(
        (failed.code, name["status"].as_str()),
        (Some(1), Some("failed")),
        "{}{}",
        failed.stdout,
        failed.stderr
    );

    let bad = s
        .scorch(&["job", "start", "ops/Hello", "--param", "Times=many", "--wait"])
        .await;
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    assert!(
        bad.stderr.contains("Times") && bad.stderr.contains("(invalid_parameters)"),
        "{}",
        bad.stderr
    );
    let missing = s.scorch(&["job", "start", "ops/Nothing"]).await;
    assert_eq!(missing.code, Some(1));
    assert!(missing.stderr.contains("(not_found)"), "{}", missing.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_are_listed_shown_and_canceled() {
    let s = Servers::start().await;
    let slow = s.file("slow.runbook.yaml", SLOW);
    s.scorch(&["runbook", "push", slow.to_str().unwrap()]).await.ok();
    let started = s.scorch(&["job", "start", "Slow", "--json"]).await.ok();
    let job: Value = serde_json::from_str(&started.stdout).unwrap();
    let id = job["id"].as_str().unwrap().to_string();

    // Wait (with a deadline) until a runbook server runs it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let shown: Value = serde_json::from_str(&s.scorch(&["job", "show", &id, "--json"]).await.ok().stdout).unwrap();
        if shown["status"] == "running" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never ran: {shown}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let list = s.scorch(&["job", "list", "--runbook", "Slow"]).await.ok();
    assert!(
        list.stdout.contains(&id) && list.stdout.contains("running"),
        "{}",
        list.stdout
    );
    let list = s.scorch(&["job", "list", "--status", "completed"]).await.ok();
    assert!(!list.stdout.contains(&id), "{}", list.stdout);

    let canceled = s.scorch(&["job", "cancel", &id]).await.ok();
    assert!(canceled.stdout.contains(&id), "{}", canceled.stdout);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let shown = s.scorch(&["job", "show", &id]).await.ok();
        if shown.stdout.contains("status     canceled") {
            assert!(shown.stdout.contains("runbook    Slow"), "{}", shown.stdout);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never canceled: {}",
            shown.stdout
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let again = s.scorch(&["job", "cancel", &id]).await;
    assert_eq!(again.code, Some(1));
    assert!(again.stderr.contains("(job_finished)"), "{}", again.stderr);

    let purge = s.scorch(&["purge", "--keep-last", "0", "--dry-run"]).await.ok();
    assert!(purge.stdout.contains("would delete"), "{}", purge.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_with_a_password_prints_a_token() {
    let s = Servers::start().await;
    s.scorch_as(
        &s.admin,
        &["user", "create", "carol", "--password-stdin"],
        Some("correct horse battery\n"),
    )
    .await
    .ok();
    let dir = s.dir.path();
    let login = run(
        &["--management", &s.management, "login", "carol", "--password-stdin"],
        Some("correct horse battery\n"),
        dir,
    )
    .await
    .ok();
    let token = login.stdout.trim();
    assert!(token.starts_with("sct_"), "{}", login.stdout);
    s.scorch_as(token, &["var", "list"], None).await.ok();
    let wrong = run(
        &["--management", &s.management, "login", "carol", "--password-stdin"],
        Some("nope nope nope\n"),
        dir,
    )
    .await;
    assert_eq!(wrong.code, Some(1));
    assert!(
        wrong
            .stderr
            .contains("unknown user or wrong password (unauthenticated)"),
        "{}",
        wrong.stderr
    );
    let tokens = s.scorch(&["token", "list", "carol"]).await.ok();
    assert!(
        tokens.stdout.contains("session") && !tokens.stdout.contains(token),
        "{}",
        tokens.stdout
    );
    let id = tokens
        .stdout
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    s.scorch(&["token", "revoke", &id]).await.ok();
    let revoked = s.scorch_as(token, &["var", "list"], None).await;
    assert_eq!(revoked.code, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_and_a_server_that_is_down_give_one_clear_line() {
    let s = Servers::start().await;
    let bad = s.scorch_as("sct_wrong", &["runbook", "list"], None).await;
    assert_eq!(bad.code, Some(1));
    assert_eq!(
        bad.stderr.trim(),
        "scorch: the token is unknown or revoked (unauthenticated)"
    );
    let none = run(&["--management", &s.management, "var", "list"], None, s.dir.path()).await;
    assert_eq!(none.code, Some(1));
    assert!(none.stderr.contains("SCORCH_TOKEN"), "{}", none.stderr);
    let bad = s.scorch_as("sct_wrong", &["job", "list"], None).await;
    assert_eq!(bad.code, Some(1));
    assert!(bad.stderr.contains("(unauthenticated)"), "{}", bad.stderr);

    // A port nothing listens on.
    let (l, down) = listener().await;
    drop(l);
    let run_down = run(
        &["--management", &down, "--token", "x", "runbook", "list"],
        None,
        s.dir.path(),
    )
    .await;
    assert_eq!(run_down.code, Some(1));
    assert_eq!(
        run_down.stderr.trim(),
        format!(
            "scorch: cannot reach the management server at {down}: connection refused (start it, or pass --management)"
        )
    );
    let run_down = run(
        &["--web-service", &down, "--token", "x", "job", "list"],
        None,
        s.dir.path(),
    )
    .await;
    assert!(
        run_down.stderr.contains("cannot reach the web service") && run_down.stderr.contains("--web-service"),
        "{}",
        run_down.stderr
    );
    let bad_url = run(&["--management", "localhost:8135", "var", "list"], None, s.dir.path()).await;
    assert_eq!(bad_url.code, Some(2), "{}", bad_url.stderr);
}

/// A runbook whose one activity, `Print`, runs `script` with bash.
fn printing(name: &str, script: &str) -> String {
    let script = serde_json::to_string(script).unwrap();
    format!(
        "format: 1\nrunbook: {name}\nactivities:\n  - id: print\n    name: Print\n    type: run_script\n    properties: {{ script: {script} }}\n"
    )
}

/// Starts `runbook` and returns the job's id.
async fn start_job(s: &Servers, runbook: &str) -> String {
    let started = s.scorch(&["job", "start", runbook, "--json"]).await.ok();
    let job: Value = serde_json::from_str(&started.stdout).unwrap();
    job["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_watch_streams_output_while_the_job_runs_and_exits_like_start_wait() {
    use tokio::io::AsyncBufReadExt;
    let s = Servers::start().await;
    let go_on = s.dir.path().join("go-on");
    let script = format!(
        "echo 'first line'; echo 'to stderr' >&2; while [ ! -f '{}' ]; do sleep 0.05; done; printf 'last line'",
        go_on.display()
    );
    let file = s.file("printer.runbook.yaml", &printing("Printer", &script));
    s.scorch(&["runbook", "push", file.to_str().unwrap()]).await.ok();
    let id = start_job(&s, "Printer").await;

    let mut watch = tokio::process::Command::from(crate::support::scorch_command(s.dir.path()));
    watch
        .args(["--web-service", &s.web, "--token", &s.admin, "job", "watch", &id])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = watch.spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut errors = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    // The script waits for the file: these lines come while it runs.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !seen.contains(&"[Print] stderr: to stderr".to_string())
        || !seen.contains(&"[Print] stdout: first line".to_string())
    {
        let Some(line) = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("no live output from `job watch`; saw {seen:?}"))
            .unwrap()
        else {
            panic!(
                "`job watch` ended early; saw {seen:?}, stderr {:?}",
                errors.next_line().await
            );
        };
        seen.push(line);
    }
    assert_eq!(seen[0], "[Print] started", "{seen:?}");
    assert!(!go_on.exists());
    std::fs::write(&go_on, "").unwrap();
    while let Some(line) = tokio::time::timeout_at(deadline, lines.next_line())
        .await
        .unwrap()
        .unwrap()
    {
        seen.push(line);
    }
    let status = tokio::time::timeout_at(deadline, child.wait()).await.unwrap().unwrap();
    assert_eq!(status.code(), Some(0), "{seen:?}");
    let rest = &seen[seen.len() - 3..];
    assert_eq!(rest[0], "[Print] stdout: last line", "{seen:?}");
    assert!(rest[1].starts_with("[Print] success"), "{seen:?}");
    assert_eq!(rest[2], format!("job {id} completed: success"));

    // A finished job is shown whole; a failed one exits 1, like `job start --wait`.
    let again = s.scorch(&["job", "watch", &id]).await.ok();
    assert!(
        again.stdout.contains("[Print] stdout: first line\n"),
        "{}",
        again.stdout
    );
    let file = s.file(
        "failing.runbook.yaml",
        &printing("Failing", "echo 'about to fail'; echo 'it broke' >&2; exit 3"),
    );
    s.scorch(&["runbook", "push", file.to_str().unwrap()]).await.ok();
    let failing = start_job(&s, "Failing").await;
    let watched = s.scorch(&["job", "watch", &failing]).await;
    assert_eq!(watched.code, Some(1), "{}", watched.stderr);
    for line in [
        "[Print] stdout: about to fail",
        "[Print] stderr: it broke",
        "[Print] failed",
        "failed: failed",
    ] {
        assert!(watched.stdout.contains(line), "{line}: {}", watched.stdout);
    }
    let missing = s
        .scorch(&["job", "watch", "0190aaaa-0000-7000-8000-000000000000"])
        .await;
    assert_eq!(missing.code, Some(1));
    assert!(missing.stderr.contains("(not_found)"), "{}", missing.stderr);
}

const BREAKS: &str = "format: 1
runbook: Breaks
folder: Ops
activities:
  - id: start
    name: Start
    type: initialize_data
    properties:
      parameters:
        - { name: Disk, type: string }
  - id: check
    name: Check disk
    type: run_program
    properties: { program: sh, arguments: [\"-c\", \"echo '{{ start.Disk }} full' >&2; exit 3\"] }
links:
  - { from: start, to: check }
";

/// The last 8 hex digits of an id, as the console shows it.
fn tail(id: &str) -> String {
    id.replace('-', "")[24..].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_is_shown_by_its_short_id_and_run_again() {
    let s = Servers::start().await;
    let breaks = s.file("breaks.runbook.yaml", BREAKS);
    s.scorch(&["runbook", "push", breaks.to_str().unwrap()]).await.ok();
    let failed = s
        .scorch(&["job", "start", "Ops/Breaks", "--param", "Disk=/var", "--wait"])
        .await;
    assert_eq!(failed.code, Some(1), "{failed:?}");
    let jobs: Value = serde_json::from_str(&s.scorch(&["job", "list", "--json"]).await.ok().stdout).unwrap();
    let id = jobs["items"][0]["id"].as_str().unwrap().to_string();

    // Where it failed first, then every run with its status and error.
    let shown = s.scorch(&["job", "show", &tail(&id)]).await.ok().stdout;
    let failed_at = shown
        .find("failed at Check disk: ")
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(failed_at < shown.find("instance").unwrap(), "{shown}");
    assert!(shown.contains("/var full"), "{shown}");
    assert!(shown.contains("runbook    Ops/Breaks (version 1)"), "{shown}");
    let start_row = shown.lines().find(|l| l.contains("Start")).unwrap();
    assert!(start_row.trim_start().starts_with("success"), "{shown}");
    let check_row = shown
        .lines()
        .find(|l| l.contains("Check disk") && !l.contains("failed at"))
        .unwrap();
    assert!(
        check_row.trim_start().starts_with("failed") && check_row.contains("full"),
        "{shown}"
    );
    // --json: the web service's job with its instances and their activity runs.
    let doc: Value = serde_json::from_str(&s.scorch(&["job", "show", &id[..32], "--json"]).await.ok().stdout).unwrap();
    assert_eq!(
        (doc["id"].as_str(), doc["status"].as_str()),
        (Some(id.as_str()), Some("failed"))
    );
    let instance = &doc["instances"][0];
    assert_eq!(instance["status"], "failed", "{doc}");
    let runs = instance["activities"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{doc}");
    assert_eq!(
        (runs[1]["name"].as_str(), runs[1]["status"].as_str()),
        (Some("Check disk"), Some("failed"))
    );
    assert!(runs[1]["error"].as_str().unwrap().contains("/var full"), "{doc}");

    // Instances: listed by job, runbook and status; shown by short id.
    let instance_id = instance["id"].as_str().unwrap().to_string();
    for filter in [
        vec!["--job", &id[..32]],
        vec!["--runbook", "Ops/Breaks"],
        vec!["--status", "failed"],
    ] {
        let mut args = vec!["instance", "list"];
        args.extend(filter);
        let listed = s.scorch(&args).await.ok().stdout;
        assert!(
            listed.contains(&instance_id) && listed.contains("Ops/Breaks"),
            "{listed}"
        );
    }
    let none = s.scorch(&["instance", "list", "--status", "success"]).await.ok().stdout;
    assert!(!none.contains(&instance_id), "{none}");
    let shown = s.scorch(&["instance", "show", &tail(&instance_id)]).await.ok().stdout;
    assert!(
        shown.contains("failed at Check disk: ") && shown.contains("Start"),
        "{shown}"
    );
    let doc: Value = serde_json::from_str(
        &s.scorch(&["instance", "show", &tail(&instance_id), "--json"])
            .await
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(doc["activities"].as_array().map(Vec::len), Some(2), "{doc}");

    // Fixed in version 2, then run again with the same parameters: it says which version ran.
    let fixed = s.file("breaks.runbook.yaml", &BREAKS.replace("full' >&2; exit 3", "ok'"));
    s.scorch(&["runbook", "push", fixed.to_str().unwrap()]).await.ok();
    let again = s.scorch(&["job", "rerun", &tail(&id), "--wait"]).await.ok().stdout;
    assert!(
        again.contains(&format!("started job {id} (Ops/Breaks version 2) again as job ")),
        "{again}"
    );
    assert!(again.contains("success  Check disk"), "{again}");
    let rerun: Value = serde_json::from_str(&s.scorch(&["job", "rerun", &id, "--json"]).await.ok().stdout).unwrap();
    assert_eq!(
        (rerun["version"].as_i64(), &rerun["parameters"]),
        (Some(2), &serde_json::json!({ "Disk": "/var" }))
    );

    // Jobs started together share their first digits: ambiguous, each candidate listed.
    let ambiguous = s.scorch(&["job", "show", &id[..4]]).await;
    assert_eq!(ambiguous.code, Some(1), "{ambiguous:?}");
    assert!(ambiguous.stderr.contains("(ambiguous_id)"), "{}", ambiguous.stderr);
    assert!(
        ambiguous
            .stderr
            .lines()
            .any(|l| l.contains(&id) && l.contains("Ops/Breaks  created ")),
        "{}",
        ambiguous.stderr
    );
    for bad in ["xyz", "12"] {
        let refused = s.scorch(&["job", "rerun", bad]).await;
        assert_eq!(refused.code, Some(2), "{refused:?}");
        assert!(refused.stderr.contains("last 8 hex digits"), "{}", refused.stderr);
    }
    let unknown = s.scorch(&["instance", "show", "0000000000"]).await;
    assert_eq!(unknown.code, Some(1), "{unknown:?}");
    assert!(unknown.stderr.contains("(not_found)"), "{}", unknown.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_on_a_missing_folder_is_refused_with_the_nearest() {
    let s = Servers::start().await;
    s.scorch(&["user", "create", "alice"]).await.ok();
    s.scorch(&["folder", "create", "Operations/Web"]).await.ok();
    let refused = s.scorch(&["user", "grant", "alice", "Operation", "viewer"]).await;
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert_eq!(
        refused.stderr.trim(),
        "scorch: folder 'Operation' does not exist (did you mean 'Operations' or 'Operations/Web'?); \
         create it with `scorch folder create Operation`, then grant again (not_found)"
    );
    s.scorch(&["user", "grant", "alice", "Operations", "viewer"]).await.ok();
    s.scorch(&["user", "grant", "alice", "/", "viewer"]).await.ok();
}

/// A pseudo-terminal: the master this test types on and reads the screen from, and the
/// terminal end the command gets as its standard input.
#[cfg(unix)]
fn pseudo_terminal() -> (std::fs::File, std::fs::File) {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("a pseudo-terminal");
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let path = ptsname(&master, Vec::new()).unwrap().into_string().unwrap();
    let terminal = std::fs::OpenOptions::new().read(true).write(true).open(path).unwrap();
    (master.into(), terminal)
}

/// Whether the terminal behind `master` echoes what is typed (on Linux a master's settings are
/// its terminal's).
#[cfg(unix)]
fn echoes(master: &std::fs::File) -> bool {
    let term = rustix::termios::tcgetattr(master).expect("the terminal's settings");
    term.local_modes.contains(rustix::termios::LocalModes::ECHO)
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_typed_on_a_terminal_is_prompted_for_and_not_echoed() {
    use std::io::{Read, Write};
    let s = Servers::start().await;
    s.scorch_as(
        &s.admin,
        &["user", "create", "carol", "--password-stdin"],
        Some("correct horse battery\n"),
    )
    .await
    .ok();
    let (mut master, terminal) = pseudo_terminal();
    assert!(echoes(&master), "a new terminal echoes");
    let mut cmd = crate::support::scorch_command(s.dir.path());
    cmd.args(["--management", &s.management, "login", "carol", "--password-stdin"])
        .stdin(terminal)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    drop(cmd); // the test's copy of the terminal end: the screen ends when the command does
    // Typed once the command has turned echo off, as a person types after the prompt.
    crate::support::eventually("the prompt to turn echo off", Duration::from_secs(30), || {
        let off = !echoes(&master);
        async move { off.then_some(()) }
    })
    .await;
    master.write_all(b"correct horse battery\n").unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let login: Run = out.into();
    let login = login.ok();
    assert!(login.stdout.trim().starts_with("sct_"), "{login:?}");
    assert!(login.stderr.starts_with("Password: "), "{login:?}");
    assert!(echoes(&master), "echo is back on after the password");
    // The screen shows nothing of the password.
    let mut screen = Vec::new();
    let _ = master.read_to_end(&mut screen); // ends with EIO once the terminal has no process
    let screen = String::from_utf8_lossy(&screen);
    assert!(!screen.contains("horse"), "echoed: {screen:?}");
}
