//! The store contract: every test body here takes an `Arc<dyn Store>` and runs against both
//! backends, SQLite (a new file in a temporary directory) and PostgreSQL (a new database, dropped
//! when the test ends, pass or fail). `contract!` makes one `#[tokio::test]` per backend and body,
//! named `<module>::sqlite::<body>` and `<module>::postgres::<body>`.
//!
//! What one backend alone promises is tested in `sqlite_only` and `postgres_only`.
//!
//! PostgreSQL is reached at `postgres://postgres@127.0.0.1:5432/postgres` (override with
//! `SCORCH_TEST_POSTGRES`); the tests create and drop `scorch_test_<random>` databases there.

mod backends;
mod changes;
mod claims;
mod job_path;
mod jobs;
mod journal;
mod monitors;
mod output;
mod postgres_only;
mod resume;
mod retention;
mod runbooks;
mod settings;
mod sqlite_only;
mod users;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use scorch_activity::{Row, Status};
use scorch_engine::{InstanceEnd, InstanceStart, InstanceStatus, RunRecord, RunState};
use scorch_store::{ActivitySpec, Claim, Job, JobStatus, NewJob, ParameterSpec, SaveRunbook, Store};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// One `#[tokio::test]` per backend for each contract body named.
macro_rules! contract {
    ($($body:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $body() {
                    let backend = crate::backends::sqlite().await;
                    super::$body(backend.store.clone()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $body() {
                    let Some(backend) = crate::backends::postgres().await else { return };
                    super::$body(backend.store.clone()).await;
                }
            )*
        }
    };
}
pub(crate) use contract;

/// The last 8 hex digits of an id, as the console shows it.
fn tail(id: Uuid) -> String {
    id.simple().to_string()[24..].to_string()
}

/// A lease long enough never to expire during a test, unless the test lets it.
pub const LEASE: Duration = Duration::from_secs(60);
/// Servers count as alive when they heartbeated this recently.
pub const ALIVE: Duration = Duration::from_secs(60);
/// How long a test waits for something that should happen at once.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A runbook definition as the management server stores it, with extra top-level keys.
pub fn definition(name: &str, extra: Value) -> Value {
    let mut definition = json!({
        "format": 1,
        "runbook": name,
        "activities": [{ "id": "init", "type": "initialize_data" }],
    });
    if let (Some(map), Value::Object(extra)) = (definition.as_object_mut(), extra) {
        map.extend(extra);
    }
    definition
}

/// Saves a small runbook (one parameter, one activity) with `extra` definition keys; returns its id.
pub async fn runbook(store: &Arc<dyn Store>, folder: &str, name: &str, extra: Value) -> Uuid {
    let definition = definition(name, extra);
    store
        .save_runbook(SaveRunbook {
            id: None,
            folder,
            name,
            definition: &definition,
            source: "format: 1\n",
            parameters: vec![ParameterSpec {
                id: None,
                name: "Computer".into(),
                type_name: "string".into(),
                default: None,
            }],
            activities: vec![ActivitySpec {
                id: None,
                key: "init".into(),
                name: "Initialize Data".into(),
                type_name: "initialize_data".into(),
            }],
            author: "tester",
        })
        .await
        .expect("save a runbook")
        .0
}

/// A pending job of the runbook's latest version.
pub async fn job(store: &Arc<dyn Store>, runbook_id: Uuid) -> Job {
    let parameters = Map::new();
    store
        .create_job(NewJob {
            runbook_id,
            version: None,
            parameters: &parameters,
            created_by: "tester",
            parent_job: None,
            awaited: false,
        })
        .await
        .expect("create a job")
}

/// Ends a claimed job's instance (`status`, no return data) and the job (completed), as the
/// runbook server `server` that claimed it would.
pub async fn complete(store: &Arc<dyn Store>, claim: &Claim, server: &str, status: InstanceStatus) {
    let end = InstanceEnd {
        instance_id: claim.instance_id,
        status,
        returns: Map::new(),
        ended_at: now(),
        problems: Vec::new(),
    };
    store
        .finish_instance_and_job(&end, claim.job.id, server, JobStatus::Completed)
        .await
        .unwrap();
}

/// A claim by `server` that must find a job.
pub async fn claim(store: &Arc<dyn Store>, server: &str) -> Claim {
    store
        .claim_job(server, LEASE, ALIVE)
        .await
        .expect("claim")
        .unwrap_or_else(|| panic!("{server} found no job to claim"))
}

/// Now, to the microsecond: the precision the store keeps.
pub fn now() -> Timestamp {
    Timestamp::from_microsecond(Timestamp::now().as_microsecond()).expect("a valid time")
}

pub fn instance_start(claim: &Claim, server: &str) -> InstanceStart {
    let mut parameters = Row::new();
    parameters.insert("Computer".into(), json!("web01"));
    InstanceStart {
        instance_id: claim.instance_id,
        job_id: claim.job.id,
        runbook_id: claim.job.runbook_id,
        runbook_name: claim.runbook.name.clone(),
        server: server.into(),
        parameters,
        started_at: now(),
    }
}

/// A finished run publishing one row of three small fields.
pub fn finished_run(instance_id: Uuid, seq: u64) -> RunRecord {
    let mut row = Row::new();
    row.insert("Computer".into(), json!("web01"));
    row.insert("Exit Code".into(), json!(0));
    row.insert("Output".into(), json!("done"));
    let started_at = now();
    RunRecord {
        instance_id,
        seq,
        key: 0xdead_beef_0000_0000 | seq,
        activity_id: Arc::from(format!("step{seq}")),
        activity_name: Arc::from(format!("Step {seq}")),
        attempt: 1,
        state: RunState::Finished(Status::Success),
        error: String::new(),
        error_kind: None,
        started_at,
        ended_at: Some(started_at),
        rows: Arc::new(vec![row]),
        truncated: false,
    }
}

/// Polls `check` until it gives a value, failing the test after [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
