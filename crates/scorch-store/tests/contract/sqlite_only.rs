//! What only the SQLite backend promises: one file in WAL mode (or memory) that reopens with what
//! was acknowledged, clear errors for a bad path or URL, a journal that stays small on disk, and
//! changes broadcast in this process before the call that made them returns.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use scorch_activity::{Row, Status};
use scorch_engine::{InstanceEnd, InstanceStart, InstanceStatus, JournalError, RunState};
use scorch_store::prelude::*;
use scorch_store::{Change, JobStatus, SaveRunbook, SqliteStore, StoreError};
use serde_json::{Map, json};
use tempfile::TempDir;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::TryRecvError;
use uuid::Uuid;

use crate::{finished_run, job, now, runbook};

/// A store on a new file; keep `dir` alive as long as the file is used.
struct SqliteDb {
    dir: TempDir,
    store: Arc<dyn Store>,
}

impl SqliteDb {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = SqliteStore::open(&url(&dir)).await.expect("open a new database");
        SqliteDb {
            dir,
            store: Arc::new(store),
        }
    }

    async fn reopen(&self) -> SqliteStore {
        SqliteStore::open(&url(&self.dir)).await.expect("reopen the database")
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("scorch.db")
    }

    /// A runbook with one pending job; returns (runbook id, job id).
    async fn job(&self) -> (Uuid, Uuid) {
        let runbook = runbook(&self.store, "Tests", "Journal", json!({})).await;
        (runbook, job(&self.store, runbook).await.id)
    }
}

fn url(dir: &TempDir) -> String {
    format!("sqlite:{}", dir.path().join("scorch.db").display())
}

/// An instance of `job_id` starting now, on rb-1, not claimed first (the journal does not ask).
fn instance_start(runbook_id: Uuid, job_id: Uuid) -> InstanceStart {
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

#[tokio::test]
async fn a_new_file_is_migrated_and_reopens_cleanly() {
    let db = SqliteDb::new().await;
    let folder = db.store.ensure_folder("Operations/Web").await.unwrap();
    let reopened = db.reopen().await;
    assert_eq!(reopened.ensure_folder("/Operations/Web/").await.unwrap(), folder);
    // The file is in WAL mode: bytes 18 and 19 of the header are the read and write versions, 2 for WAL.
    let header = std::fs::read(db.path()).unwrap();
    assert_eq!(&header[18..20], &[2, 2]);
}

#[tokio::test]
async fn an_in_memory_database_works() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open("sqlite::memory:").await.unwrap());
    let definition = json!({ "format": 1 });
    let save = SaveRunbook {
        id: None,
        folder: "",
        name: "Memory",
        definition: &definition,
        source: "",
        parameters: Vec::new(),
        activities: Vec::new(),
        author: "tester",
    };
    let (runbook, _) = store.save_runbook(save).await.unwrap();
    let job = job(&store, runbook).await.id;
    let journal = store.journal();
    let start = instance_start(runbook, job);
    journal.instance_started(&start).await.unwrap();
    journal.run_finished(&finished_run(start.instance_id, 0)).await.unwrap();
    assert_eq!(journal.runs(start.instance_id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_unwritable_path_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // A regular file where a directory should be: unwritable even for root.
    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, b"").unwrap();
    let path = blocker.join("scorch.db");
    match SqliteStore::open(&format!("sqlite:{}", path.display())).await {
        Err(err @ StoreError::Unavailable(_)) => {
            let message = err.to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(message.contains("unable to open database file"), "{message}");
        }
        other => panic!("expected Unavailable, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn other_urls_are_invalid() {
    for url in ["postgres://localhost/scorch", "sqlite:", "scorch.db"] {
        match SqliteStore::open(url).await {
            Err(StoreError::Invalid(message)) => assert!(message.contains("sqlite:PATH"), "{message}"),
            other => panic!("{url}: expected Invalid, got {:?}", other.map(|_| ())),
        }
    }
}

/// The changes already sent, in order. Each store call sends its change before it returns, so
/// nothing needs waiting for.
fn sent(changes: &mut Receiver<Change>) -> Vec<Change> {
    let mut out = Vec::new();
    loop {
        match changes.try_recv() {
            Ok(change) => out.push(change),
            Err(TryRecvError::Empty) => return out,
            Err(err) => panic!("{err}"),
        }
    }
}

fn job_change(id: Uuid, runbook_id: Uuid, status: JobStatus) -> Change {
    Change::Job { id, runbook_id, status }
}

#[tokio::test]
async fn job_changes_are_sent_after_they_commit() {
    const LEASE: Duration = Duration::from_secs(60);
    let db = SqliteDb::new().await;
    let runbook = runbook(&db.store, "", "Changes", json!({})).await;
    // Nobody listening yet: changes go nowhere, harmlessly.
    let unheard = job(&db.store, runbook).await.id;
    db.store.cancel_job(unheard).await.unwrap();

    let mut changes = db.store.subscribe();
    let id = job(&db.store, runbook).await.id;
    assert_eq!(sent(&mut changes), [job_change(id, runbook, JobStatus::Pending)]);
    db.store.claim_job("rb-1", LEASE, LEASE).await.unwrap().unwrap();
    assert_eq!(sent(&mut changes), [job_change(id, runbook, JobStatus::Running)]);
    db.store.cancel_job(id).await.unwrap();
    assert_eq!(sent(&mut changes), [job_change(id, runbook, JobStatus::Running)]);
    db.store.release_job(id, "rb-1").await.unwrap();
    assert_eq!(sent(&mut changes), [job_change(id, runbook, JobStatus::Running)]);
    db.store.claim_job("rb-2", LEASE, LEASE).await.unwrap().unwrap();
    assert_eq!(sent(&mut changes), [job_change(id, runbook, JobStatus::Running)]);
    db.store.finish_job(id, "rb-2", JobStatus::Canceled).await.unwrap();
    assert_eq!(sent(&mut changes), [job_change(id, runbook, JobStatus::Canceled)]);

    let pending = job(&db.store, runbook).await.id;
    db.store.cancel_job(pending).await.unwrap();
    assert_eq!(
        sent(&mut changes),
        [
            job_change(pending, runbook, JobStatus::Pending),
            job_change(pending, runbook, JobStatus::Canceled)
        ]
    );

    // Refused changes send nothing.
    assert!(db.store.cancel_job(pending).await.is_err());
    assert!(
        db.store
            .finish_job(pending, "rb-2", JobStatus::Completed)
            .await
            .is_err()
    );
    assert!(db.store.claim_job("rb-1", LEASE, LEASE).await.unwrap().is_none());
    assert_eq!(sent(&mut changes), []);
}

#[tokio::test]
async fn journal_writes_are_sent_after_their_group_commits() {
    let db = SqliteDb::new().await;
    let (runbook, job_id) = db.job().await;
    let journal = db.store.journal();
    let mut changes = db.store.subscribe();
    let start = instance_start(runbook, job_id);
    journal.instance_started(&start).await.unwrap();
    let mut running = finished_run(start.instance_id, 0);
    running.state = RunState::Running;
    running.ended_at = None;
    journal.run_started(&running).await.unwrap();
    journal.run_finished(&finished_run(start.instance_id, 0)).await.unwrap();
    // A rejected record (an unknown instance) sends nothing.
    assert!(journal.run_finished(&finished_run(Uuid::now_v7(), 0)).await.is_err());
    let end = InstanceEnd {
        instance_id: start.instance_id,
        status: InstanceStatus::Warning,
        returns: Map::new(),
        ended_at: now(),
        problems: Vec::new(),
    };
    journal.instance_finished(&end).await.unwrap();

    let run = |state| Change::ActivityRun {
        instance_id: start.instance_id,
        seq: 0,
        activity_id: "step0".into(),
        state,
    };
    let instance = |status| Change::Instance {
        id: start.instance_id,
        job_id,
        status,
    };
    assert_eq!(
        sent(&mut changes),
        [
            instance(InstanceStatus::Running),
            run(RunState::Running),
            run(RunState::Finished(Status::Success)),
            instance(InstanceStatus::Warning),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_are_all_acknowledged_and_kept() {
    const WRITERS: u64 = 64;
    const RUNS: u64 = 20;
    let db = SqliteDb::new().await;
    let (runbook, job) = db.job().await;
    let journal = db.store.journal();
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let journal = journal.clone();
        let start = instance_start(runbook, job);
        tasks.push(tokio::spawn(async move {
            journal.instance_started(&start).await?;
            for seq in 0..RUNS {
                journal.run_finished(&finished_run(start.instance_id, seq)).await?;
            }
            Ok::<_, JournalError>(start.instance_id)
        }));
    }
    // One record that breaks a constraint travels in the same batches without harming the others.
    let stray = Uuid::now_v7();
    assert_eq!(
        journal.run_finished(&finished_run(stray, 0)).await,
        Err(JournalError::NotFound(stray))
    );
    let mut instances = Vec::new();
    for task in tasks {
        instances.push(task.await.unwrap().unwrap());
    }
    drop(journal);
    drop(db.store);

    let reopened = SqliteStore::open(&url(&db.dir)).await.unwrap();
    let journal = reopened.journal();
    for instance in instances {
        let runs = journal.runs(instance).await.unwrap();
        assert_eq!(
            runs.iter().map(|r| r.seq).collect::<Vec<_>>(),
            (0..RUNS).collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn acknowledged_records_survive_closing_the_store() {
    let db = SqliteDb::new().await;
    let (runbook, job) = db.job().await;
    let start = instance_start(runbook, job);
    let runs: Vec<_> = (0..5).map(|seq| finished_run(start.instance_id, seq)).collect();
    {
        let journal = db.store.journal();
        journal.instance_started(&start).await.unwrap();
        for run in &runs {
            journal.run_finished(run).await.unwrap();
        }
    }
    let SqliteDb { dir, store } = db;
    drop(store);

    let reopened = SqliteStore::open(&url(&dir)).await.unwrap();
    assert_eq!(reopened.journal().runs(start.instance_id).await.unwrap(), runs);
    assert_eq!(
        reopened.instance(start.instance_id).await.unwrap().status,
        InstanceStatus::Running
    );
}

/// The journal's footprint: a 10-activity runbook whose runs publish three small fields must
/// cost under 600 bytes of database per run, indexes and the instance and job rows included.
#[tokio::test]
async fn a_journaled_run_takes_under_600_bytes() {
    const INSTANCES: u64 = 200;
    const RUNS: u64 = 10;
    let db = SqliteDb::new().await;
    let (runbook, _) = db.job().await;
    db.store.checkpoint().await.unwrap();
    let before = std::fs::metadata(db.path()).unwrap().len();

    let journal = db.store.journal();
    let mut tasks = Vec::new();
    for _ in 0..INSTANCES {
        let (journal, store) = (journal.clone(), db.store.clone());
        tasks.push(tokio::spawn(async move {
            let job = job(&store, runbook).await.id;
            let start = instance_start(runbook, job);
            journal.instance_started(&start).await.unwrap();
            for seq in 0..RUNS {
                journal
                    .run_finished(&finished_run(start.instance_id, seq))
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    db.store.checkpoint().await.unwrap();
    let per_run = (std::fs::metadata(db.path()).unwrap().len() - before) / (INSTANCES * RUNS);
    assert!(per_run < 600, "{per_run} bytes per run");
}
