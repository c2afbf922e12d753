//! Integration tests of the SQLite store, each on its own database file in a fresh temporary
//! directory.

mod authoring;
mod changes;
mod claims;
mod journal;
mod operations;
mod resume;
mod retention;
mod runbooks;
mod schema;
mod settings;
mod users;

use std::path::PathBuf;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use scorch_activity::{Row, Status};
use scorch_engine::{InstanceStart, RunRecord, RunState};
use scorch_store::{ActivitySpec, Job, NewJob, ParameterSpec, SaveRunbook, ServerRegistration, SqliteStore, Store};
use serde_json::{Map, Value, json};
use sqlx::SqlitePool;
use tempfile::TempDir;
use uuid::Uuid;

/// A store on a new file; keep `dir` alive as long as the file is used.
pub struct TestDb {
    pub dir: TempDir,
    pub store: SqliteStore,
}

impl TestDb {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = SqliteStore::open(&url(&dir)).await.expect("open a new database");
        TestDb { dir, store }
    }

    pub async fn reopen(&self) -> SqliteStore {
        SqliteStore::open(&url(&self.dir)).await.expect("reopen the database")
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("scorch.db")
    }

    /// Saves a small runbook in `folder` and returns its id.
    pub async fn runbook(&self, folder: &str, name: &str) -> Uuid {
        self.runbook_with(folder, name, json!({})).await
    }

    /// Saves a small runbook whose definition also has the keys of `extra` (`concurrency`,
    /// `runbook_servers`, `description`...) and returns its id.
    pub async fn runbook_with(&self, folder: &str, name: &str, extra: Value) -> Uuid {
        let mut definition =
            json!({ "format": 1, "runbook": name, "activities": [{ "id": "init", "type": "initialize_data" }] });
        if let (Some(definition), Value::Object(extra)) = (definition.as_object_mut(), extra) {
            definition.extend(extra);
        }
        let save = SaveRunbook {
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
        };
        self.store.save_runbook(save).await.expect("save runbook").0
    }

    /// Registers a runbook server (alive: registering is a heartbeat).
    pub async fn server(&self, name: &str) {
        let server = ServerRegistration {
            name: name.into(),
            host: "127.0.0.1".into(),
            max_instances: 50,
            packs: Vec::new(),
        };
        self.store.register_server(&server).await.expect("register server");
    }

    /// Makes a runbook server look dead: its last heartbeat an hour ago.
    pub async fn kill(&self, server: &str) {
        let old = (Timestamp::now() - SignedDuration::from_hours(1)).as_microsecond();
        let pool = SqlitePool::connect(&url(&self.dir)).await.expect("a second connection");
        let done = sqlx::query("UPDATE runbook_servers SET heartbeat_at = ? WHERE name = ?")
            .bind(old)
            .bind(server)
            .execute(&pool)
            .await
            .expect("age the heartbeat");
        assert_eq!(done.rows_affected(), 1, "runbook server {server} is registered");
        pool.close().await;
    }

    /// A runbook with one pending job; returns (runbook id, job id).
    pub async fn job(&self) -> (Uuid, Uuid) {
        let runbook = self.runbook("Tests", "Journal").await;
        (runbook, self.create_job(runbook).await.id)
    }

    /// A pending job for the latest version of `runbook`, without parameters.
    pub async fn create_job(&self, runbook: Uuid) -> Job {
        create_job(&self.store, runbook).await
    }
}

/// A pending job for the latest version of `runbook`, without parameters.
pub async fn create_job(store: &impl Store, runbook_id: Uuid) -> Job {
    let job = NewJob {
        runbook_id,
        version: None,
        parameters: &Map::new(),
        created_by: "tester",
        parent_job: None,
        awaited: false,
    };
    store.create_job(job).await.expect("create job")
}

pub fn url(dir: &TempDir) -> String {
    format!("sqlite:{}", dir.path().join("scorch.db").display())
}

pub fn instance_start(runbook_id: Uuid, job_id: Uuid) -> InstanceStart {
    let mut parameters = Row::new();
    parameters.insert("Computer".into(), json!("web01"));
    InstanceStart {
        instance_id: Uuid::now_v7(),
        job_id,
        runbook_id,
        runbook_name: "Journal".into(),
        server: "rb-1".into(),
        parameters,
        started_at: now(),
    }
}

/// Now, to the microsecond: the precision the store keeps.
pub fn now() -> Timestamp {
    Timestamp::from_microsecond(Timestamp::now().as_microsecond()).expect("a valid time")
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
