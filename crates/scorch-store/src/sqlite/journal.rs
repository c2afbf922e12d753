//! The engine's journal, with group commit.
//!
//! Callers encode their record, hand it to one writer task and wait for its acknowledgement.
//! The writer takes everything queued (up to [`MAX_BATCH`]) into one transaction, commits it
//! with one fsync, then acknowledges every waiter: durability costs one fsync per batch, not per
//! record, and the more instances run at once the larger the batches grow. Once a batch has
//! committed, the writer tells the store's subscribers what changed (instances started and
//! finished, activity runs), before it acknowledges the records.

use std::sync::Arc;

use async_trait::async_trait;
use scorch_activity::{Row, Status};
use scorch_engine::{InstanceEnd, InstanceStart, InstanceStatus, Journal, JournalError, RunRecord, RunState};
use sqlx::error::ErrorKind;
use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{Connection, Row as _};
use tokio::sync::{broadcast, mpsc, oneshot};
use uuid::Uuid;

use super::{from_json, micros, timestamp, to_json};
use crate::{Change, StoreError};

/// Records waiting for the writer; callers wait for room beyond this (backpressure).
const QUEUE: usize = 8192;
/// Records committed in one transaction at most, so one commit never holds the lock for long.
const MAX_BATCH: usize = 2048;

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
    "UPDATE instances SET status = ?, returns = ?, ended_at = ? WHERE uuid = ? RETURNING job_id";

const SELECT_RUNS: &str = "SELECT seq, run_key, activity_id, activity_name, attempt, state, error, started_at,
         ended_at, published, truncated
     FROM activity_runs WHERE instance_id = (SELECT id FROM instances WHERE uuid = ?) ORDER BY seq";

/// The journal on SQLite. Obtained from [`Store::journal`](crate::Store::journal).
#[derive(Debug)]
pub struct SqliteJournal {
    sender: mpsc::Sender<Request>,
    pool: SqlitePool,
}

struct Request {
    write: Write,
    ack: oneshot::Sender<Result<(), JournalError>>,
}

/// A record encoded by its caller (JSON included), so the writer only binds and executes.
enum Write {
    InstanceStarted(StartRow),
    Run(RunRow),
    InstanceFinished(EndRow),
}

struct StartRow {
    instance_id: Uuid,
    job_id: Uuid,
    runbook_id: Uuid,
    server: String,
    parameters: String,
    started_at: i64,
}

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

struct EndRow {
    instance_id: Uuid,
    status: InstanceStatus,
    returns: Option<String>,
    ended_at: i64,
}

impl SqliteJournal {
    /// Starts the writer task on `writer`, a connection of its own; reads go through `pool`, and
    /// committed changes go to `changes`.
    pub(super) fn start(writer: SqliteConnection, pool: SqlitePool, changes: broadcast::Sender<Change>) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_loop(writer, receiver, changes));
        SqliteJournal { sender, pool }
    }

    async fn submit(&self, write: Write) -> Result<(), JournalError> {
        let stopped = || JournalError::Unavailable("the journal writer has stopped".into());
        let (ack, acked) = oneshot::channel();
        self.sender.send(Request { write, ack }).await.map_err(|_| stopped())?;
        acked.await.map_err(|_| stopped())?
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
        self.submit(Write::InstanceStarted(row)).await
    }

    async fn run_started(&self, run: &RunRecord) -> Result<(), JournalError> {
        self.submit(Write::Run(RunRow::new(run)?)).await
    }

    async fn run_finished(&self, run: &RunRecord) -> Result<(), JournalError> {
        self.submit(Write::Run(RunRow::new(run)?)).await
    }

    async fn instance_finished(&self, end: &InstanceEnd) -> Result<(), JournalError> {
        let row = EndRow {
            instance_id: end.instance_id,
            status: end.status,
            returns: if end.returns.is_empty() {
                None
            } else {
                Some(to_json(&end.returns)?)
            },
            ended_at: micros(end.ended_at),
        };
        self.submit(Write::InstanceFinished(row)).await
    }

    async fn runs(&self, instance_id: Uuid) -> Result<Vec<RunRecord>, JournalError> {
        read_runs(&self.pool, instance_id)
            .await?
            .ok_or(JournalError::NotFound(instance_id))
    }
}

/// The runs of an instance in `seq` order, or `None` when the instance is unknown.
pub(super) async fn read_runs(pool: &SqlitePool, instance_id: Uuid) -> Result<Option<Vec<RunRecord>>, StoreError> {
    let rows = sqlx::query(SELECT_RUNS).bind(instance_id).fetch_all(pool).await?;
    if rows.is_empty() {
        let known = sqlx::query("SELECT 1 FROM instances WHERE uuid = ?")
            .bind(instance_id)
            .fetch_optional(pool)
            .await?;
        if known.is_none() {
            return Ok(None);
        }
    }
    let runs = rows
        .iter()
        .map(|row| decode_run(instance_id, row))
        .collect::<Result<_, _>>()?;
    Ok(Some(runs))
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
        _ => return Err(StoreError::Invalid(format!("stored run state {code} is unknown"))),
    })
}

fn decode_run(instance_id: Uuid, row: &SqliteRow) -> Result<RunRecord, StoreError> {
    let activity_id: Arc<str> = row.try_get::<String, _>("activity_id")?.into();
    let activity_name = match row.try_get::<Option<String>, _>("activity_name")? {
        Some(name) => name.into(),
        None => activity_id.clone(),
    };
    let rows: Vec<Row> = match row.try_get::<Option<String>, _>("published")? {
        Some(text) => from_json(&text, "published data")?,
        None => Vec::new(),
    };
    Ok(RunRecord {
        instance_id,
        seq: row.try_get::<i64, _>("seq")? as u64,
        key: row.try_get::<i64, _>("run_key")? as u64,
        activity_id,
        activity_name,
        attempt: u32::try_from(row.try_get::<i64, _>("attempt")?)
            .map_err(|_| StoreError::Invalid("stored attempt is out of range".into()))?,
        state: run_state(row.try_get("state")?)?,
        error: row.try_get::<Option<String>, _>("error")?.unwrap_or_default(),
        started_at: timestamp(row.try_get("started_at")?)?,
        ended_at: row.try_get::<Option<i64>, _>("ended_at")?.map(timestamp).transpose()?,
        rows: Arc::new(rows),
        truncated: row.try_get("truncated")?,
    })
}

async fn write_loop(
    mut conn: SqliteConnection,
    mut receiver: mpsc::Receiver<Request>,
    changes: broadcast::Sender<Change>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // A waiter that gave up (its task was cancelled) has dropped its receiver: nothing to tell.
        match write_batch(&mut conn, &batch).await {
            Ok(outcomes) => {
                // Committed: tell subscribers (if any) first, so that a caller who gets its
                // acknowledgement finds its change already sent.
                let listening = changes.receiver_count() > 0;
                for (request, outcome) in batch.drain(..).zip(outcomes) {
                    if listening
                        && let Ok(job_id) = outcome
                        && let Some(change) = request.write.change(job_id)
                    {
                        let _ = changes.send(change);
                    }
                    let _ = request.ack.send(outcome.map(|_| ()));
                }
            }
            Err(err) => {
                let err = JournalError::from(StoreError::from(err));
                for request in batch.drain(..) {
                    let _ = request.ack.send(Err(err.clone()));
                }
            }
        }
    }
}

/// Writes `batch` in one transaction. A record that breaks a constraint is rejected alone (SQLite
/// undoes just that statement); any other error fails, and rolls back, the whole batch. Each
/// outcome of a finished instance carries its job's id.
async fn write_batch(conn: &mut SqliteConnection, batch: &[Request]) -> Result<Vec<Applied>, sqlx::Error> {
    // IMMEDIATE takes the write lock up front, waiting (busy timeout) for other writers.
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for request in batch {
        outcomes.push(request.write.apply(&mut tx).await?);
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// A record's outcome: for a finished instance, its job's id (for the change it makes).
type Applied = Result<Option<Uuid>, JournalError>;

impl Write {
    async fn apply(&self, conn: &mut SqliteConnection) -> Result<Applied, sqlx::Error> {
        // Some(job id, if read back) when a row was written, None when the instance is unknown.
        let done: Result<Option<Option<Uuid>>, sqlx::Error> = match self {
            Write::InstanceStarted(start) => sqlx::query(UPSERT_INSTANCE)
                .bind(start.instance_id)
                .bind(start.job_id)
                .bind(start.runbook_id)
                .bind(start.server.as_str())
                .bind(start.parameters.as_str())
                .bind(start.started_at)
                .execute(&mut *conn)
                .await
                .map(|done| (done.rows_affected() > 0).then_some(None)),
            Write::Run(run) => sqlx::query(UPSERT_RUN)
                .bind(run.instance_id)
                .bind(run.seq)
                .bind(run.key)
                .bind(run.activity_id.clone())
                .bind(run.activity_name.clone())
                .bind(run.attempt)
                .bind(run.state)
                .bind(run.error.as_deref())
                .bind(run.started_at)
                .bind(run.ended_at)
                .bind(run.published.as_deref())
                .bind(run.truncated)
                .execute(&mut *conn)
                .await
                .map(|done| (done.rows_affected() > 0).then_some(None)),
            Write::InstanceFinished(end) => sqlx::query_scalar(FINISH_INSTANCE)
                .bind(end.status.as_str())
                .bind(end.returns.as_deref())
                .bind(end.ended_at)
                .bind(end.instance_id)
                .fetch_optional(&mut *conn)
                .await
                .map(|job_id: Option<Uuid>| job_id.map(Some)),
        };
        match done {
            Ok(None) => Ok(Err(JournalError::NotFound(self.instance_id()))),
            Ok(Some(job_id)) => Ok(Ok(job_id)),
            Err(sqlx::Error::Database(db)) if db.kind() != ErrorKind::Other => Ok(Err(self.rejected(db.kind()))),
            Err(err) => Err(err),
        }
    }

    /// The change this record made, once committed.
    fn change(&self, job_id: Option<Uuid>) -> Option<Change> {
        Some(match self {
            Write::InstanceStarted(start) => Change::Instance {
                id: start.instance_id,
                job_id: start.job_id,
                status: InstanceStatus::Running,
            },
            Write::Run(run) => Change::ActivityRun {
                instance_id: run.instance_id,
                seq: run.seq as u64,
                activity_id: run.activity_id.to_string(),
                state: run_state(run.state).ok()?,
            },
            Write::InstanceFinished(end) => Change::Instance {
                id: end.instance_id,
                job_id: job_id?,
                status: end.status,
            },
        })
    }

    fn instance_id(&self) -> Uuid {
        match self {
            Write::InstanceStarted(start) => start.instance_id,
            Write::Run(run) => run.instance_id,
            Write::InstanceFinished(end) => end.instance_id,
        }
    }

    fn rejected(&self, kind: ErrorKind) -> JournalError {
        match (self, kind) {
            (Write::InstanceStarted(start), ErrorKind::ForeignKeyViolation) => JournalError::Unavailable(format!(
                "instance {}: job {} or runbook {} is not in the store (create the job before starting it)",
                start.instance_id, start.job_id, start.runbook_id
            )),
            (Write::Run(run), ErrorKind::NotNullViolation) => JournalError::NotFound(run.instance_id),
            _ => JournalError::Unavailable(format!(
                "instance {}: the record breaks a constraint",
                self.instance_id()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use serde_json::{Map, json};

    use super::*;
    use crate::{NewJob, SaveRunbook, SqliteStore, Store};

    fn request(write: Write) -> Request {
        Request {
            write,
            ack: oneshot::channel().0,
        }
    }

    fn run(instance_id: Uuid) -> Write {
        let record = RunRecord {
            instance_id,
            seq: 0,
            key: u64::MAX,
            activity_id: Arc::from("init"),
            activity_name: Arc::from("init"),
            attempt: 1,
            state: RunState::Running,
            error: String::new(),
            started_at: Timestamp::now(),
            ended_at: None,
            rows: Arc::new(Vec::new()),
            truncated: false,
        };
        Write::Run(RunRow::new(&record).unwrap())
    }

    #[tokio::test]
    async fn a_rejected_record_does_not_fail_its_batch() {
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
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
        };
        let job_id = store.create_job(job).await.unwrap().id;
        let (instance_id, stray) = (Uuid::now_v7(), Uuid::now_v7());
        let start = StartRow {
            instance_id,
            job_id,
            runbook_id,
            server: "rb-1".into(),
            parameters: "{}".into(),
            started_at: 0,
        };
        let batch = [
            request(Write::InstanceStarted(start)),
            request(run(stray)),
            request(run(instance_id)),
        ];

        let mut conn = store.pool.acquire().await.unwrap();
        let outcomes = write_batch(&mut conn, &batch).await.unwrap();
        assert_eq!(outcomes, vec![Ok(None), Err(JournalError::NotFound(stray)), Ok(None)]);
        let runs = store.journal().runs(instance_id).await.unwrap();
        assert_eq!(
            (runs.len(), runs[0].key, runs[0].state),
            (1, u64::MAX, RunState::Running)
        );
    }
}
