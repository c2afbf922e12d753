//! The engine's journal: its records go through the store's [`Writer`] (group commit: one
//! transaction and one fsync per batch, every caller acknowledged after the commit, subscribers
//! told what changed first), except that the engine does not wait for an instance's start or an
//! idempotent run's finish (see [`handed_over`](super::handed_over)); resumes read through the pool.

use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use scorch_activity::{Row, Status};
use scorch_engine::{InstanceEnd, InstanceStart, InstanceStatus, Journal, JournalError, RunRecord, RunState};
use sqlx::error::ErrorKind;
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use uuid::Uuid;

use super::columns::Columns;
use super::handed_over::{Broken, Kind, Record};
use super::writer::{Relaxed, Write, Writer, refusal};
use super::{from_json, micros, timestamp, to_json};
use crate::{Change, StoreError};

const UPSERT_INSTANCE: &str = "INSERT INTO instances (uuid, job_id, runbook_id, server, status, parameters, started_at)
     VALUES (?, ?, ?, ?, 'running', ?, ?)
     ON CONFLICT (uuid) DO UPDATE SET server = excluded.server, status = 'running', ended_at = NULL";

// run_started and run_finished share this upsert, so a finish record replaces its start record.
// The run's instance is found by UUID inside the statement: an unknown instance leaves
// instance_id NULL, which the NOT NULL constraint turns into a per-record rejection.
const UPSERT_RUN: &str = "INSERT INTO activity_runs (instance_id, seq, run_key, activity_id, activity_name, attempt,
         state, error, started_at, ended_at, published, truncated)
     VALUES ((SELECT id FROM instances WHERE uuid = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (instance_id, seq) DO UPDATE SET run_key = excluded.run_key, activity_id = excluded.activity_id,
         activity_name = excluded.activity_name, attempt = excluded.attempt, state = excluded.state,
         error = excluded.error, started_at = excluded.started_at, ended_at = excluded.ended_at,
         published = excluded.published, truncated = excluded.truncated";

const FINISH_INSTANCE: &str =
    "UPDATE instances SET status = ?, returns = ?, ended_at = ?, problems = ? WHERE uuid = ? RETURNING job_id";

pub(super) const SELECT_RUNS: &str =
    "SELECT seq, run_key, activity_id, activity_name, attempt, state, error, started_at,
         ended_at, published, truncated
     FROM activity_runs WHERE instance_id = (SELECT id FROM instances WHERE uuid = ?) ORDER BY seq";

/// The journal on SQLite. Obtained from [`Store::journal`](crate::Store::journal).
#[derive(Debug)]
pub struct SqliteJournal {
    writer: Writer,
    pool: SqlitePool,
    /// Instances whose handed-over records were not written.
    broken: Broken,
}

/// An instance started (or resumed).
struct StartRow {
    instance_id: Uuid,
    job_id: Uuid,
    runbook_id: Uuid,
    server: String,
    parameters: String,
    started_at: i64,
}

/// A run started or finished (the same upsert).
struct RunRow {
    instance_id: Uuid,
    seq: i64,
    key: i64,
    activity_id: Arc<str>,
    activity_name: Option<Arc<str>>,
    attempt: i64,
    state: i64,
    error: Option<String>,
    started_at: i64,
    ended_at: Option<i64>,
    published: Option<String>,
    truncated: bool,
}

/// An instance ended. Its output is the instance's job.
pub(super) struct EndRow {
    instance_id: Uuid,
    status: InstanceStatus,
    returns: Option<String>,
    ended_at: i64,
    problems: Option<String>,
}

impl SqliteJournal {
    /// Records go through `writer`; reads through `pool`.
    pub(super) fn new(writer: Writer, pool: SqlitePool) -> Self {
        SqliteJournal {
            writer,
            pool,
            broken: Broken::default(),
        }
    }

    /// `write` as a record of `instance`: refused while one of the instance's handed-over
    /// records is not written (every record of an instance goes through this).
    pub(super) fn record<W>(&self, instance: Uuid, kind: Kind, write: W) -> Record<W> {
        Record {
            instance,
            kind,
            write,
            broken: self.broken.clone(),
        }
    }
}

#[async_trait]
impl Journal for SqliteJournal {
    async fn instance_started(&self, start: &InstanceStart) -> Result<(), JournalError> {
        let row = StartRow {
            instance_id: start.instance_id,
            job_id: start.job_id,
            runbook_id: start.runbook_id,
            server: start.server.clone(),
            parameters: to_json(&start.parameters)?,
            started_at: micros(start.started_at),
        };
        // Not waited for, and committed without a sync (see `Journal`).
        let record = self.record(start.instance_id, Kind::Start, Relaxed(row));
        self.writer.hand_over(record).await
    }

    async fn run_started(&self, run: &RunRecord) -> Result<(), JournalError> {
        let record = self.record(run.instance_id, Kind::Awaited, RunRow::new(run)?);
        self.writer.submit(record).await
    }

    async fn run_finished(&self, run: &RunRecord) -> Result<(), JournalError> {
        let record = self.record(run.instance_id, Kind::Awaited, RunRow::new(run)?);
        self.writer.submit(record).await
    }

    async fn idempotent_run_finished(&self, run: &RunRecord) -> Result<(), JournalError> {
        // Not waited for, and committed without a sync (see `Journal`).
        let record = self.record(run.instance_id, Kind::HandedOver, Relaxed(RunRow::new(run)?));
        self.writer.hand_over(record).await
    }

    async fn instance_finished(&self, end: &InstanceEnd) -> Result<(), JournalError> {
        let record = self.record(end.instance_id, Kind::Awaited, EndRow::new(end)?);
        self.writer.submit(record).await.map(|_job| ())
    }

    async fn runs(&self, instance_id: Uuid) -> Result<Vec<RunRecord>, JournalError> {
        read_runs(&self.pool, instance_id)
            .await?
            .ok_or(JournalError::NotFound(instance_id))
    }
}

/// The runs of an instance in `seq` order, or `None` when the instance is unknown.
pub(super) async fn read_runs(pool: &SqlitePool, instance_id: Uuid) -> Result<Option<Vec<RunRecord>>, StoreError> {
    let mut conn = pool.acquire().await?;
    let runs = runs_in(&mut conn, instance_id).await?;
    if runs.is_empty() {
        let known = sqlx::query("SELECT 1 FROM instances WHERE uuid = ?")
            .bind(instance_id)
            .fetch_optional(&mut *conn)
            .await?;
        if known.is_none() {
            return Ok(None);
        }
    }
    Ok(Some(runs))
}

/// The runs of an instance in `seq` order (none when the instance is unknown).
pub(super) async fn runs_in(conn: &mut SqliteConnection, instance_id: Uuid) -> Result<Vec<RunRecord>, StoreError> {
    let rows = sqlx::query(SELECT_RUNS).bind(instance_id).fetch_all(&mut *conn).await?;
    rows.iter().map(|row| decode_run(instance_id, row)).collect()
}

impl EndRow {
    pub(super) fn new(end: &InstanceEnd) -> Result<Self, StoreError> {
        Ok(EndRow {
            instance_id: end.instance_id,
            status: end.status,
            returns: if end.returns.is_empty() {
                None
            } else {
                Some(to_json(&end.returns)?)
            },
            ended_at: micros(end.ended_at),
            problems: match end.problems.is_empty() {
                true => None,
                false => Some(to_json(&end.problems)?),
            },
        })
    }
}

impl RunRow {
    fn new(run: &RunRecord) -> Result<Self, StoreError> {
        Ok(RunRow {
            instance_id: run.instance_id,
            // Stored as the same 64 bits: SQLite integers are signed.
            seq: run.seq as i64,
            key: run.key as i64,
            activity_id: run.activity_id.clone(),
            activity_name: (run.activity_name != run.activity_id).then(|| run.activity_name.clone()),
            attempt: run.attempt.into(),
            state: state_code(run.state),
            error: (!run.error.is_empty()).then(|| run.error.clone()),
            started_at: micros(run.started_at),
            ended_at: run.ended_at.map(micros),
            published: if run.rows.is_empty() {
                None
            } else {
                Some(to_json(&*run.rows)?)
            },
            truncated: run.truncated,
        })
    }
}

fn state_code(state: RunState) -> i64 {
    match state {
        RunState::Running => 0,
        RunState::Finished(Status::Success) => 1,
        RunState::Finished(Status::Warning) => 2,
        RunState::Finished(Status::Failed) => 3,
    }
}

fn run_state(code: i64) -> Result<RunState, StoreError> {
    Ok(match code {
        0 => RunState::Running,
        1 => RunState::Finished(Status::Success),
        2 => RunState::Finished(Status::Warning),
        3 => RunState::Finished(Status::Failed),
        _ => return Err(StoreError::Corrupt(format!("stored run state {code} is unknown"))),
    })
}

pub(super) fn decode_run(instance_id: Uuid, row: &impl Columns) -> Result<RunRecord, StoreError> {
    let activity_id: Arc<str> = row.column::<String>("activity_id")?.into();
    let activity_name = match row.column::<Option<String>>("activity_name")? {
        Some(name) => name.into(),
        None => activity_id.clone(),
    };
    let rows: Vec<Row> = match row.column::<Option<String>>("published")? {
        Some(text) => from_json(&text, "published data")?,
        None => Vec::new(),
    };
    Ok(RunRecord {
        instance_id,
        seq: row.column::<i64>("seq")? as u64,
        key: row.column::<i64>("run_key")? as u64,
        activity_id,
        activity_name,
        attempt: u32::try_from(row.column::<i64>("attempt")?)
            .map_err(|_| StoreError::Corrupt("stored attempt is out of range".into()))?,
        state: run_state(row.column("state")?)?,
        error: row.column::<Option<String>>("error")?.unwrap_or_default(),
        // Not stored yet: a resume treats a failure it reads back as final.
        error_kind: None,
        started_at: timestamp(row.column("started_at")?)?,
        ended_at: row.column::<Option<i64>>("ended_at")?.map(timestamp).transpose()?,
        rows: Arc::new(rows),
        truncated: row.column("truncated")?,
    })
}

impl Write for StartRow {
    type Output = ();
    type Error = JournalError;

    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Result<(), JournalError>> {
        let done = conn.prepare_cached(UPSERT_INSTANCE)?.execute(params![
            self.instance_id,
            self.job_id,
            self.runbook_id,
            self.server,
            self.parameters,
            self.started_at,
        ]);
        match done {
            Ok(rows) if rows > 0 => Ok(Ok(())),
            Ok(_) => Ok(Err(JournalError::NotFound(self.instance_id))),
            Err(err) => refusal(err, |kind| match kind {
                ErrorKind::ForeignKeyViolation => JournalError::Unavailable(format!(
                    "instance {}: job {} or runbook {} is not in the store (create the job before starting it)",
                    self.instance_id, self.job_id, self.runbook_id
                )),
                _ => broke_a_constraint(self.instance_id),
            }),
        }
    }

    fn changes(&self, _: &(), send: &mut dyn FnMut(Change)) {
        send(Change::Instance {
            id: self.instance_id,
            job_id: self.job_id,
            status: InstanceStatus::Running,
        });
    }
}

impl Write for RunRow {
    type Output = ();
    type Error = JournalError;

    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Result<(), JournalError>> {
        let done = conn.prepare_cached(UPSERT_RUN)?.execute(params![
            self.instance_id,
            self.seq,
            self.key,
            &*self.activity_id,
            self.activity_name.as_deref(),
            self.attempt,
            self.state,
            self.error,
            self.started_at,
            self.ended_at,
            self.published,
            self.truncated,
        ]);
        match done {
            Ok(rows) if rows > 0 => Ok(Ok(())),
            Ok(_) => Ok(Err(JournalError::NotFound(self.instance_id))),
            // The instance is unknown: its id came out NULL.
            Err(err) => refusal(err, |kind| match kind {
                ErrorKind::NotNullViolation => JournalError::NotFound(self.instance_id),
                _ => broke_a_constraint(self.instance_id),
            }),
        }
    }

    fn changes(&self, _: &(), send: &mut dyn FnMut(Change)) {
        if let Ok(state) = run_state(self.state) {
            send(Change::ActivityRun {
                instance_id: self.instance_id,
                seq: self.seq as u64,
                activity_id: self.activity_id.to_string(),
                state,
            });
        }
    }
}

impl Write for EndRow {
    type Output = Uuid;
    type Error = JournalError;

    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Result<Uuid, JournalError>> {
        let job_id = conn
            .prepare_cached(FINISH_INSTANCE)?
            .query_row(
                params![
                    self.status.as_str(),
                    self.returns,
                    self.ended_at,
                    self.problems,
                    self.instance_id
                ],
                |row| row.get(0),
            )
            .optional();
        match job_id {
            Ok(Some(job_id)) => Ok(Ok(job_id)),
            Ok(None) => Ok(Err(JournalError::NotFound(self.instance_id))),
            Err(err) => refusal(err, |_| broke_a_constraint(self.instance_id)),
        }
    }

    fn changes(&self, job_id: &Uuid, send: &mut dyn FnMut(Change)) {
        send(Change::Instance {
            id: self.instance_id,
            job_id: *job_id,
            status: self.status,
        });
    }
}

fn broke_a_constraint(instance_id: Uuid) -> JournalError {
    JournalError::Unavailable(format!("instance {instance_id}: the record breaks a constraint"))
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, json};

    use super::*;
    use crate::sqlite::writer::tests::{commit, queue};
    use crate::{NewJob, SaveRunbook, SqliteStore, Store};
    use scorch_engine::InstanceStart;

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
}
