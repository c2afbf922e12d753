//! The runbook server on a real SQLite file: jobs run to their end, queued ones as slots free up,
//! a drained server hands its instances back to be resumed, and a crashed server's work is taken over when its leases expire.

use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use scorch_engine::RegistryCatalog;
use scorch_model::{compile, load};
use scorch_server::jobs::JobWaiters;
use scorch_server::plans::Plans;
use scorch_server::runbook_server::{self, RunbookServerOptions};
use scorch_store::prelude::*;
use scorch_store::{JobStatus, NewJob, SqliteStore};
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

struct Fixture {
    dir: TempDir,
    sqlite: SqliteStore,
    store: Arc<dyn Store>,
    plans: Arc<Plans>,
}

impl Fixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(&format!("sqlite:{}", dir.path().join("scorch.db").display()))
            .await
            .unwrap();
        let store: Arc<dyn Store> = Arc::new(sqlite.clone());
        let plans = Arc::new(Plans::new(Arc::new(scorch_activities::standard())));
        Self {
            dir,
            sqlite,
            store,
            plans,
        }
    }

    /// Checks in a runbook and returns its id.
    async fn push(&self, yaml: &str) -> Uuid {
        let loaded = load(yaml).unwrap();
        let plan = compile(&loaded, &RegistryCatalog(self.plans.registry())).unwrap();
        self.sqlite.save_plan(&plan, yaml, "test").await.unwrap().0
    }

    async fn job(&self, runbook_id: Uuid, params: serde_json::Value) -> Uuid {
        let params = params.as_object().cloned().unwrap_or_default();
        let job = NewJob {
            runbook_id,
            version: None,
            parameters: &params,
            created_by: "test",
            parent_job: None,
            awaited: false,
        };
        self.store.create_job(job).await.unwrap().id
    }

    fn server(&self, name: &str, lease: Duration) -> (CancellationToken, JoinHandle<()>) {
        self.server_polling(name, lease, Duration::from_millis(100))
    }

    /// A runbook server that heartbeats and polls for work every `poll`.
    fn server_polling(&self, name: &str, lease: Duration, poll: Duration) -> (CancellationToken, JoinHandle<()>) {
        let mut opts = RunbookServerOptions::new(name);
        opts.heartbeat = poll;
        opts.lease = lease;
        opts.poll = poll;
        opts.engine.working_dir = self.dir.path().to_path_buf();
        let stop = CancellationToken::new();
        let task = tokio::spawn(runbook_server::run(
            self.store.clone(),
            self.plans.clone(),
            opts,
            stop.clone(),
        ));
        (stop, task)
    }

    async fn finished(&self, job: Uuid) -> scorch_store::Job {
        let job = JobWaiters::start(self.store.clone())
            .wait(job, Duration::from_secs(30))
            .await
            .unwrap();
        assert!(scorch_server::jobs::is_final(job.status), "job still {:?}", job.status);
        job
    }
}

const HELLO: &str = "
format: 1
runbook: Hello
returns: [ { name: Message, type: string } ]
activities:
  - id: init
    type: initialize_data
    properties: { parameters: [ { name: Who, type: string, default: world } ] }
  - { id: reply, type: return_data, properties: { values: { Message: 'Hello {{ init.Who }}' } } }
links: [ { from: init, to: reply } ]
";

#[tokio::test]
async fn a_job_runs_to_its_end_with_its_return_data() {
    let f = Fixture::new().await;
    let runbook = f.push(HELLO).await;
    let (stop, task) = f.server("rb1", Duration::from_secs(10));
    let job = f.job(runbook, serde_json::json!({"Who": "fleet"})).await;
    let done = f.finished(job).await;
    assert_eq!(done.status, JobStatus::Completed);
    let instance = f.store.instance(done.instance_id.unwrap()).await.unwrap();
    assert_eq!(instance.returns["Message"], "Hello fleet");
    assert_eq!(instance.server, "rb1");
    stop.cancel();
    task.await.unwrap();
}

/// An instance whose end cannot be recorded is handed back and resumed (here, by the same
/// server), not left running under the server's renewed lease.
#[tokio::test]
async fn a_job_whose_end_is_refused_is_handed_back_and_resumed() {
    let mut f = Fixture::new().await;
    let flaky = Arc::new(crate::web::flaky::FlakyStore {
        inner: f.store.clone(),
        down: Default::default(),
        refuse_ends: AtomicU32::new(1),
        stall_output: Default::default(),
    });
    f.store = flaky.clone();
    let runbook = f.push(HELLO).await;
    let (stop, task) = f.server("rb1", Duration::from_secs(10));
    let job = f.job(runbook, serde_json::json!({"Who": "again"})).await;
    let done = f.finished(job).await;
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(
        flaky.refuse_ends.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "one end was refused"
    );
    let instance = f.store.instance(done.instance_id.unwrap()).await.unwrap();
    assert_eq!(instance.returns["Message"], "Hello again");
    stop.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn queued_jobs_start_as_slots_free_up_without_waiting_for_the_poll() {
    let f = Fixture::new().await;
    let runbook = f
        .push(
            "
format: 1
runbook: One at a time
concurrency: 1
activities:
  - { id: nap, type: run_script, properties: { language: sh, script: 'sleep 0.2' } }
",
        )
        .await;
    // Neither the poll nor a heartbeat comes while the jobs run: the server hears of the jobs
    // as they are created, and each end frees the slot the next one waits for.
    let (stop, task) = f.server_polling("rb1", Duration::from_secs(600), Duration::from_secs(300));
    let mut jobs = Vec::new();
    for _ in 0..3 {
        jobs.push(f.job(runbook, serde_json::json!({})).await);
    }
    for job in jobs {
        assert_eq!(f.finished(job).await.status, JobStatus::Completed);
    }
    stop.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn invoke_runbook_starts_a_child_job_and_waits_for_its_return_data() {
    let f = Fixture::new().await;
    f.push(HELLO).await;
    let parent = f
        .push(
            "
format: 1
runbook: Parent
returns: [ { name: Child, type: string } ]
activities:
  - { id: call, type: invoke_runbook, properties: { runbook: Hello, parameters: { Who: child } } }
  - { id: ret, type: return_data, properties: { values: { Child: '{{ call.Message }} ({{ call.child_status }})' } } }
links: [ { from: call, to: ret } ]
",
        )
        .await;
    let (stop, task) = f.server("rb1", Duration::from_secs(10));
    let job = f.job(parent, serde_json::json!({})).await;
    let done = f.finished(job).await;
    assert_eq!(done.status, JobStatus::Completed);
    let instance = f.store.instance(done.instance_id.unwrap()).await.unwrap();
    assert_eq!(instance.returns["Child"], "Hello child (success)");
    stop.cancel();
    task.await.unwrap();
}

const SLOW_LOOP: &str = "
format: 1
runbook: Slow Loop
activities:
  - id: poll
    type: append_line
    properties: { file: polls.log, text: poll }
    loop: { delay: DELAY, max_attempts: 3, exit_when: [ { status: [failed] } ] }
";

#[tokio::test]
async fn a_drained_server_hands_its_instance_back_and_another_resumes_it() {
    let f = Fixture::new().await;
    let runbook = f.push(&SLOW_LOOP.replace("DELAY", "300ms")).await;
    let (stop, task) = f.server("rb1", Duration::from_secs(30));
    let job = f.job(runbook, serde_json::json!({})).await;
    let log = f.dir.path().join("polls.log");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(&log).unwrap_or_default().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the first attempt never ran");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.cancel();
    task.await.unwrap();
    let handed_back = f.store.job(job).await.unwrap();
    assert_eq!(handed_back.claimed_by, None, "released for another server");
    let (stop2, task2) = f.server("rb2", Duration::from_secs(30));
    let done = f.finished(job).await;
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "poll\npoll\npoll\n",
        "three attempts in all, none twice"
    );
    stop2.cancel();
    task2.await.unwrap();
}

#[tokio::test]
async fn a_crashed_servers_job_is_taken_over_when_its_lease_expires() {
    let f = Fixture::new().await;
    let runbook = f.push(&SLOW_LOOP.replace("DELAY", "500ms")).await;
    let (_stop, crashed) = f.server("rb1", Duration::from_millis(600));
    let job = f.job(runbook, serde_json::json!({})).await;
    let log = f.dir.path().join("polls.log");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(&log).unwrap_or_default().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the first attempt never ran");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A crash: the task and everything it runs vanish, nothing is handed back.
    crashed.abort();
    let _ = crashed.await;
    let (stop2, task2) = f.server("rb2", Duration::from_secs(30));
    let done = f.finished(job).await;
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.claimed_by.as_deref(), Some("rb2"));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "poll\npoll\npoll\n");
    stop2.cancel();
    task2.await.unwrap();
}

#[tokio::test]
async fn encrypted_variables_reach_activities_in_clear_and_records_masked() {
    let f = Fixture::new().await;
    let secrets = std::sync::Arc::new(
        scorch_server::secrets::SecretBox::from_hex(&scorch_server::secrets::SecretBox::generate_key()).unwrap(),
    );
    f.store
        .set_variable("ApiKey", &secrets.seal("s3cret-value"), true)
        .await
        .unwrap();
    let runbook = f
        .push(
            "
format: 1
runbook: Uses A Secret
activities:
  - { id: use, type: append_line, properties: { file: key.txt, text: 'key={{ var.ApiKey }}' } }
",
        )
        .await;
    let mut opts = RunbookServerOptions::new("rb1");
    opts.poll = Duration::from_millis(100);
    opts.engine.working_dir = f.dir.path().to_path_buf();
    opts.secrets = Some(secrets);
    let stop = CancellationToken::new();
    let task = tokio::spawn(runbook_server::run(
        f.store.clone(),
        f.plans.clone(),
        opts,
        stop.clone(),
    ));
    let job = f.job(runbook, serde_json::json!({})).await;
    let done = f.finished(job).await;
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(
        std::fs::read_to_string(f.dir.path().join("key.txt")).unwrap(),
        "key=s3cret-value\n"
    );
    let runs = f.store.activity_runs(done.instance_id.unwrap()).await.unwrap();
    assert!(!format!("{runs:?}").contains("s3cret-value"), "records stay masked");
    stop.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn retention_keeps_each_runbooks_own_rule_or_the_default() {
    let f = Fixture::new().await;
    let own = f
        .push(&HELLO.replace("runbook: Hello", "runbook: Own Rule\nretention: { keep_last: 2 }"))
        .await;
    let default = f.push(HELLO).await;
    let (stop, task) = f.server("rb1", Duration::from_secs(10));
    for runbook in [own, default] {
        for _ in 0..4 {
            let job = f.job(runbook, serde_json::json!({})).await;
            f.finished(job).await;
        }
    }
    let rule = scorch_model::def::Retention {
        keep_last: Some(3),
        keep_days: None,
    };
    assert_eq!(scorch_server::retention::purge(&f.store, rule).await.unwrap(), 2 + 1);
    let kept = |runbook_id| {
        let filter = scorch_store::InstanceFilter {
            runbook_id: Some(runbook_id),
            ..Default::default()
        };
        let store = f.store.clone();
        async move { store.list_instances(&filter).await.unwrap().len() }
    };
    assert_eq!((kept(own).await, kept(default).await), (2, 3));
    stop.cancel();
    task.await.unwrap();
}
