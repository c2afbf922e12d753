//! Job results (what a start that waits answers with) read by one thread on a connection of its
//! own. Every waited-for job's end asks for one, and through the pool each cost three statements,
//! each a round trip to a connection's worker thread; here the results asked for meanwhile are
//! read together, in one read transaction (one snapshot), with one wake-up of this thread.

use std::thread;

use rusqlite::{Connection, params};
use sqlx::sqlite::SqliteConnectOptions;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::sql::{SELECT_RUNS, job_columns, select_instances};
use super::writer::{Write, Writer, open, store_error};
use super::{BUSY_TIMEOUT, instances, jobs};
use crate::{JobResult, StoreError};

/// Requests waiting for the reader; callers wait for room beyond this.
const QUEUE: usize = 4096;
/// Results read in one transaction at most, so a snapshot is never held for long.
const MAX_BATCH: usize = 256;

type Answer = Result<JobResult, StoreError>;

/// The handle callers ask through; cheap to clone. The thread ends once every handle is gone.
#[derive(Debug, Clone)]
pub(super) enum ResultReader {
    /// A thread with a connection of its own: a database file in WAL mode, read beside the writer.
    Own(mpsc::Sender<(Uuid, oneshot::Sender<Answer>)>),
    /// Through the writer's connection: the connections of an in-memory database share one
    /// cache whose table locks, held by a reader's transaction, could deadlock with the writer.
    Writer(Writer),
}

impl ResultReader {
    pub(super) fn start(options: &SqliteConnectOptions, in_memory: bool, writer: &Writer) -> Result<Self, String> {
        if in_memory {
            return Ok(ResultReader::Writer(writer.clone()));
        }
        let conn = open(options, in_memory, BUSY_TIMEOUT)
            .and_then(|conn| conn.pragma_update(None, "query_only", "ON").map(|()| conn))
            .map_err(|e| store_error(e).to_string())?;
        let (sender, receiver) = mpsc::channel(QUEUE);
        thread::Builder::new()
            .name("scorch-sqlite-results".into())
            .spawn(move || read_loop(&conn, receiver))
            .map_err(|e| format!("cannot start the job result reader: {e}"))?;
        Ok(ResultReader::Own(sender))
    }

    /// Job `id` with, once it has ended, its instance and the instance's runs.
    pub(super) async fn read(&self, id: Uuid) -> Answer {
        let sender = match self {
            ResultReader::Own(sender) => sender,
            ResultReader::Writer(writer) => return writer.submit(Read(id)).await,
        };
        let stopped = || StoreError::Unavailable("the job result reader has stopped".into());
        let (answer, answered) = oneshot::channel();
        sender.send((id, answer)).await.map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

/// A job result read on the writer's connection, in its batch.
struct Read(Uuid);

impl Write for Read {
    type Output = JobResult;
    type Error = StoreError;

    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Answer> {
        Ok(read(conn, self.0))
    }

    fn relaxed(&self) -> bool {
        true
    }
}

fn read_loop(conn: &Connection, mut receiver: mpsc::Receiver<(Uuid, oneshot::Sender<Answer>)>) {
    while let Some(first) = receiver.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH
            && let Ok(next) = receiver.try_recv()
        {
            batch.push(next);
        }
        let snapshot = conn.execute_batch("BEGIN");
        for (id, answer) in batch {
            let read = match &snapshot {
                Ok(()) => read(conn, id),
                Err(e) => Err(StoreError::Unavailable(format!("cannot read job {id}: {e}"))),
            };
            let _ = answer.send(read);
        }
        if snapshot.is_ok() {
            let _ = conn.execute_batch("COMMIT");
        }
    }
}

fn read(conn: &Connection, id: Uuid) -> Answer {
    let job = all(
        conn,
        concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = ?"),
        id,
        |row| jobs::decode(row),
    )?
    .pop()
    .ok_or_else(|| StoreError::NotFound(format!("job {id}")))?;
    let (instance, runs) = match job.instance_id {
        Some(instance_id) if job.status.is_final() => {
            let instance = all(conn, select_instances!("WHERE uuid = ?"), instance_id, |row| {
                instances::decode(row)
            })?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("instance {instance_id}")))?;
            let runs = all(conn, SELECT_RUNS, instance_id, |row| {
                instances::decode_run(instance_id, row)
            })?;
            (Some(instance), runs)
        }
        _ => (None, Vec::new()),
    };
    Ok(JobResult { job, instance, runs })
}

/// Every row `sql` finds for `key`, decoded.
fn all<T>(
    conn: &Connection,
    sql: &str,
    key: Uuid,
    decode: impl Fn(&rusqlite::Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = conn.prepare_cached(sql).map_err(store_error)?;
    let mut rows = statement.query(params![key]).map_err(store_error)?;
    let mut found = Vec::new();
    while let Some(row) = rows.next().map_err(store_error)? {
        found.push(decode(row)?);
    }
    Ok(found)
}
