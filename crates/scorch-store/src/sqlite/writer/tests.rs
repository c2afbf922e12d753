//! The writer's tests: relaxed batches, a refused record, and records nobody waits for.

use rusqlite::Connection;
use scorch_activity::Status;
use scorch_engine::{InstanceStart, JournalError, RunRecord, RunState};
use serde_json::{Map, json};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::records::{RunRow, StartRow};
use super::{Pending, Queued, Relaxed, Write, Writer};
use crate::prelude::*;
use crate::sqlite::changes::Changes;
use crate::{NewJob, SaveRunbook, SqliteStore, StoreError};

type Acked<W> = oneshot::Receiver<Result<<W as Write>::Output, <W as Write>::Error>>;

/// Reads the connection's `synchronous` setting as its batch commits (FULL is 2, NORMAL 1).
struct Synchronous;

impl Write for Synchronous {
    type Output = i64;
    type Error = StoreError;

    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Result<i64, StoreError>> {
        Ok(Ok(conn.query_row("PRAGMA synchronous", [], |row| row.get(0))?))
    }
}

#[tokio::test]
async fn only_batches_of_relaxed_writes_commit_without_a_sync() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::SqliteStore::open(&format!("sqlite:{}", dir.path().join("w.db").display()))
        .await
        .unwrap();
    assert_eq!(store.writer.submit(Relaxed(Synchronous)).await, Ok(1));
    let (relaxed, relaxed_ack) = queue(Relaxed(Synchronous));
    let (durable, durable_ack) = queue(Synchronous);
    commit(&store.writer, vec![relaxed, durable]).await;
    assert_eq!((relaxed_ack.await.unwrap(), durable_ack.await.unwrap()), (Ok(2), Ok(2)));
    assert_eq!(store.writer.submit(Synchronous).await, Ok(2));
    assert_eq!(store.writer.submit(Relaxed(Synchronous)).await, Ok(1));
}

/// `write` as the writer queues it, and where its acknowledgement arrives.
fn queue<W: Write>(write: W) -> (Box<dyn Queued>, Acked<W>) {
    let (ack, acked) = oneshot::channel();
    let queued = Box::new(Pending {
        write,
        outcome: None,
        ack,
    });
    (queued, acked)
}

/// Writes `batch` as one batch through `writer` and acknowledges its writes.
async fn commit(writer: &Writer, batch: Vec<Box<dyn Queued>>) {
    let _ = writer.sender.send(Box::new(Batch(batch))).await;
}

/// Writes queued as one: what the writer does with whatever it finds queued together.
struct Batch(Vec<Box<dyn Queued>>);

impl Queued for Batch {
    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        self.0.iter_mut().try_for_each(|write| write.apply(conn))
    }

    fn relaxed(&self) -> bool {
        self.0.iter().all(|write| write.relaxed())
    }

    fn committed(self: Box<Self>, changes: &Changes) {
        self.0.into_iter().for_each(|write| write.committed(changes));
    }

    fn failed(self: Box<Self>, err: StoreError) {
        self.0.into_iter().for_each(|write| write.failed(err.clone()));
    }
}

// The journal's records.

fn run(instance_id: Uuid) -> RunRow {
    RunRow::new(&crate::test_records::running(instance_id, 0)).unwrap()
}

/// A runbook and a pending job of it in `store`: (runbook, job).
async fn job_of_a_runbook(store: &SqliteStore) -> (Uuid, Uuid) {
    let definition = json!({ "format": 1 });
    let save = SaveRunbook {
        id: None,
        folder: "",
        name: "Batch",
        definition: &definition,
        source: "",
        parameters: Vec::new(),
        activities: Vec::new(),
        author: "tester",
    };
    let (runbook_id, version) = store.save_runbook(save).await.unwrap();
    let job = NewJob {
        runbook_id,
        version: Some(version),
        parameters: &Map::new(),
        created_by: "tester",
        parent_job: None,
        awaited: false,
    };
    (runbook_id, store.create_job(job).await.unwrap().id)
}

/// An idempotent run's finish is not waited for; when it cannot be written, the instance's
/// later records are refused (the engine stops it there) until the instance starts again,
/// and other instances go on.
#[tokio::test]
async fn a_handed_over_record_that_failed_refuses_its_instance_until_it_starts_again() {
    let store = SqliteStore::open("sqlite::memory:").await.unwrap();
    let (runbook_id, job_id) = job_of_a_runbook(&store).await;
    let journal = store.journal();
    let start = |instance_id| InstanceStart {
        instance_id,
        job_id,
        runbook_id,
        runbook_name: "Batch".into(),
        server: "rb-1".into(),
        parameters: Map::new(),
        started_at: jiff::Timestamp::now(),
    };
    let finished = |instance_id, seq| RunRecord {
        state: RunState::Finished(Status::Success),
        ended_at: Some(jiff::Timestamp::now()),
        ..crate::test_records::running(instance_id, seq)
    };
    let (lost, other) = (Uuid::now_v7(), Uuid::now_v7());
    journal.instance_started(&start(other)).await.unwrap();
    // Not started: its run's finish cannot be written, but nobody waits for it.
    journal.idempotent_run_finished(&finished(lost, 0)).await.unwrap();
    let refused = journal.run_finished(&finished(lost, 1)).await;
    assert!(
        matches!(&refused, Err(JournalError::Unavailable(why)) if why.contains("an earlier record of it was not written")),
        "{refused:?}"
    );
    journal.run_finished(&finished(other, 0)).await.unwrap();
    journal.instance_started(&start(lost)).await.unwrap();
    journal.run_finished(&finished(lost, 1)).await.unwrap();
    let seqs = |runs: Vec<RunRecord>| runs.iter().map(|r| r.seq).collect::<Vec<_>>();
    assert_eq!(seqs(journal.runs(lost).await.unwrap()), [1]);
    assert_eq!(seqs(journal.runs(other).await.unwrap()), [0]);
}

#[tokio::test]
async fn a_rejected_record_does_not_fail_its_batch() {
    let store = SqliteStore::open("sqlite::memory:").await.unwrap();
    let (runbook_id, job_id) = job_of_a_runbook(&store).await;
    let (instance_id, stray) = (Uuid::now_v7(), Uuid::now_v7());
    let start = StartRow {
        instance_id,
        job_id,
        runbook_id,
        server: "rb-1".into(),
        parameters: "{}".into(),
        started_at: 0,
    };
    let (started, started_ack) = queue(start);
    let (stray_run, stray_ack) = queue(run(stray));
    let (good_run, good_ack) = queue(run(instance_id));

    commit(&store.writer, vec![started, stray_run, good_run]).await;
    let outcomes = [started_ack.await, stray_ack.await, good_ack.await].map(Result::unwrap);
    assert_eq!(outcomes, [Ok(()), Err(JournalError::NotFound(stray)), Ok(())]);
    let runs = store.journal().runs(instance_id).await.unwrap();
    assert_eq!(
        (runs.len(), runs[0].key, runs[0].state),
        (1, u64::MAX, RunState::Running)
    );
}
