//! The one writer, with group commit.
//!
//! SQLite lets one connection write at a time, and a writer that finds the database locked sleeps
//! (a millisecond, then longer) before it tries again. So every write of the job path (journal
//! records, job creation, claims, job ends, audit records, heartbeats) goes through one
//! connection, owned by one thread: callers encode a [`Write`], queue it and wait for its
//! acknowledgement (or, for the journal records the engine does not wait for, only queue it:
//! [`Writer::hand_over`]). The thread takes everything queued (up to [`MAX_BATCH`]) into one
//! transaction and commits it with one fsync, then tells the store's subscribers what changed and
//! acknowledges every caller: durability costs one fsync per batch, not per write, and the busier
//! the store, the larger the batches.
//!
//! A batch made only of writes whose loss a resume repairs (instance starts, idempotent runs'
//! finishes, claims) or that no answer names before a durable write (jobs created for a start that
//! waits for their end; see [`Write::relaxed`]) commits without the fsync; the next durable commit
//! syncs the write-ahead log up to it, so it covers them.
//!
//! The thread drives its connection with rusqlite, so a statement is a function call rather than
//! a round trip to a connection's worker thread (sqlx's way, which the pool's readers keep): a
//! batch costs one wake-up of this thread, however many statements it holds.

use std::thread;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use sqlx::error::ErrorKind;
use sqlx::sqlite::SqliteConnectOptions;
use tokio::sync::{mpsc, oneshot};

use super::Changes;
use crate::{Change, StoreError};

/// Writes waiting for the writer; callers wait for room beyond this (backpressure).
const QUEUE: usize = 8192;
/// Writes committed in one transaction at most, so one commit never holds the lock for long.
const MAX_BATCH: usize = 2048;
/// Prepared statements the writer keeps (it runs a dozen different ones).
const STATEMENTS: usize = 64;

/// One write, encoded by its caller (JSON included) so that the writer only binds and executes.
pub(super) trait Write: Send + 'static {
    /// What the caller gets back once the write is committed.
    type Output: Send + 'static;
    /// Why the write was refused (or its batch failed).
    type Error: From<StoreError> + Send + 'static;

    /// Runs the write on the writer's connection, inside the batch's transaction. `Ok(Err(..))`
    /// refuses this write alone (SQLite undoes just the statement that broke a constraint);
    /// `Err(..)` fails, and rolls back, the whole batch.
    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Result<Self::Output, Self::Error>>;

    /// Hands the changes the committed write made to `send`, for the store's subscribers.
    fn changes(&self, _output: &Self::Output, _send: &mut dyn FnMut(Change)) {}

    /// Whether the write may be acknowledged once committed, before it reaches the disk: a
    /// record the journal contract lets wait for the next durable commit
    /// (`scorch_engine::Journal`), or a claim (lost in a crash, its job is simply claimed again).
    fn relaxed(&self) -> bool {
        false
    }

    /// Its batch failed as a whole (and was rolled back), with `err`; called before the caller is
    /// told.
    fn failed(&self, _err: &StoreError) {}
}

/// `W`, acknowledged once committed (see [`Write::relaxed`]).
pub(super) struct Relaxed<W>(pub W);

impl<W: Write> Write for Relaxed<W> {
    type Output = W::Output;
    type Error = W::Error;

    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Result<W::Output, W::Error>> {
        self.0.apply(conn)
    }

    fn changes(&self, output: &W::Output, send: &mut dyn FnMut(Change)) {
        self.0.changes(output, send)
    }

    fn relaxed(&self) -> bool {
        true
    }

    fn failed(&self, err: &StoreError) {
        self.0.failed(err)
    }
}

/// Whether a failed statement broke a constraint (refusing its write alone, with what `refuse`
/// makes of the constraint's kind) rather than failing (which fails the batch).
pub(super) fn refusal<T, E>(
    err: rusqlite::Error,
    refuse: impl FnOnce(ErrorKind) -> E,
) -> rusqlite::Result<Result<T, E>> {
    use rusqlite::ffi;
    match &err {
        rusqlite::Error::SqliteFailure(failure, _) if failure.code == rusqlite::ErrorCode::ConstraintViolation => {
            let kind = match failure.extended_code {
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
                ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => ErrorKind::UniqueViolation,
                ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
                _ => ErrorKind::Other,
            };
            Ok(Err(refuse(kind)))
        }
        _ => Err(err),
    }
}

/// A failed batch as callers see it: the database's short cause, never SQL.
pub(super) fn store_error(err: rusqlite::Error) -> StoreError {
    match err {
        rusqlite::Error::SqliteFailure(failure, message) => {
            StoreError::Unavailable(message.unwrap_or_else(|| failure.to_string()))
        }
        rusqlite::Error::FromSqlConversionFailure(..) | rusqlite::Error::InvalidColumnType(..) => {
            StoreError::Corrupt(err.to_string())
        }
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// The handle callers queue writes on; cheap to clone. The thread ends once every handle is gone.
#[derive(Debug, Clone)]
pub(super) struct Writer {
    sender: mpsc::Sender<Box<dyn Queued>>,
}

impl Writer {
    /// Opens the writer's own connection to the database `options` opens (already migrated) and
    /// starts its thread; committed changes go to `changes`. An error is the cause, in words.
    pub fn start(
        options: &SqliteConnectOptions,
        in_memory: bool,
        busy_timeout: Duration,
        changes: Changes,
    ) -> Result<Self, String> {
        let conn = open(options, in_memory, busy_timeout).map_err(|e| match store_error(e) {
            StoreError::Unavailable(cause) | StoreError::Invalid(cause) => cause,
            other => other.to_string(),
        })?;
        let (sender, receiver) = mpsc::channel(QUEUE);
        thread::Builder::new()
            .name("scorch-sqlite-writer".into())
            .spawn(move || write_loop(conn, receiver, changes))
            .map_err(|e| format!("cannot start the database writer: {e}"))?;
        Ok(Writer { sender })
    }

    /// Queues `write` and waits until it is committed (or refused).
    pub async fn submit<W: Write>(&self, write: W) -> Result<W::Output, W::Error> {
        let acked = self.queue(write).await?;
        acked.await.map_err(|_| stopped())?
    }

    /// Queues `write` without waiting for it to be written: its outcome reaches no one, so a
    /// write whose failure matters must act on it itself (see `handed_over::Record`).
    pub async fn hand_over<W: Write>(&self, write: W) -> Result<(), W::Error> {
        self.queue(write).await.map(drop)
    }

    async fn queue<W: Write>(&self, write: W) -> Result<oneshot::Receiver<Result<W::Output, W::Error>>, W::Error> {
        let (ack, acked) = oneshot::channel();
        let queued = Box::new(Pending {
            write,
            outcome: None,
            ack,
        });
        self.sender.send(queued).await.map_err(|_| stopped())?;
        Ok(acked)
    }
}

fn stopped<E: From<StoreError>>() -> E {
    E::from(StoreError::Unavailable("the database writer has stopped".into()))
}

/// The connection, set up as sqlx sets up the pool's (`synchronous=FULL`, foreign keys, busy
/// timeout); the file is already in WAL mode, which persists.
pub(super) fn open(
    options: &SqliteConnectOptions,
    in_memory: bool,
    busy_timeout: Duration,
) -> rusqlite::Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if in_memory {
        // sqlx's shared-cache memory database, by the name it made up.
        flags |= OpenFlags::SQLITE_OPEN_MEMORY | OpenFlags::SQLITE_OPEN_SHARED_CACHE;
    }
    let conn = Connection::open_with_flags(options.get_filename(), flags)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(busy_timeout)?;
    conn.set_prepared_statement_cache_capacity(STATEMENTS);
    Ok(conn)
}

/// A queued write, its type erased.
pub(super) trait Queued: Send {
    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<()>;
    fn relaxed(&self) -> bool;
    /// The batch committed: tell subscribers what changed, then the caller.
    fn committed(self: Box<Self>, changes: &Changes);
    /// The batch failed.
    fn failed(self: Box<Self>, err: StoreError);
}

struct Pending<W: Write> {
    write: W,
    outcome: Option<Result<W::Output, W::Error>>,
    ack: oneshot::Sender<Result<W::Output, W::Error>>,
}

impl<W: Write> Queued for Pending<W> {
    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        self.outcome = Some(self.write.apply(conn)?);
        Ok(())
    }

    fn relaxed(&self) -> bool {
        self.write.relaxed()
    }

    fn committed(self: Box<Self>, changes: &Changes) {
        let outcome = self
            .outcome
            .unwrap_or_else(|| Err(StoreError::Unavailable("the write was not applied".into()).into()));
        // Sent before the acknowledgement, so that a caller finds its change already sent.
        if let Ok(output) = &outcome {
            self.write.changes(output, &mut |change| changes.send(change));
        }
        // A caller that gave up (its task was cancelled) has dropped its receiver: nothing to tell.
        let _ = self.ack.send(outcome);
    }

    fn failed(self: Box<Self>, err: StoreError) {
        self.write.failed(&err);
        let _ = self.ack.send(Err(err.into()));
    }
}

fn write_loop(mut conn: Connection, mut receiver: mpsc::Receiver<Box<dyn Queued>>, changes: Changes) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // The connection's `synchronous` setting: FULL (fsync at commit) unless a batch needs none.
    let mut durable = true;
    while let Some(first) = receiver.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH
            && let Ok(next) = receiver.try_recv()
        {
            batch.push(next);
        }
        let written = set_durable(&conn, &mut durable, batch.iter().any(|write| !write.relaxed()))
            .and_then(|()| write_batch(&mut conn, &mut batch));
        acknowledge(&mut batch, written, &changes);
    }
}

/// Commits from now on sync the write-ahead log (`synchronous=FULL`), or not (`NORMAL`, which in
/// WAL mode syncs it only before a checkpoint).
fn set_durable(conn: &Connection, durable: &mut bool, wanted: bool) -> rusqlite::Result<()> {
    if *durable != wanted {
        conn.pragma_update(None, "synchronous", if wanted { "FULL" } else { "NORMAL" })?;
        *durable = wanted;
    }
    Ok(())
}

/// Writes `batch` in one transaction. A write that breaks a constraint is refused alone; any
/// other error fails the batch (and rolls it back).
fn write_batch(conn: &mut Connection, batch: &mut [Box<dyn Queued>]) -> rusqlite::Result<()> {
    // IMMEDIATE takes the write lock up front, waiting (busy timeout) for other writers.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for write in batch.iter_mut() {
        write.apply(&tx)?;
    }
    tx.commit()
}

fn acknowledge(batch: &mut Vec<Box<dyn Queued>>, written: rusqlite::Result<()>, changes: &Changes) {
    match written {
        Ok(()) => batch.drain(..).for_each(|write| write.committed(changes)),
        Err(err) => {
            let err = store_error(err);
            batch.drain(..).for_each(|write| write.failed(err.clone()));
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

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
    pub fn queue<W: Write>(write: W) -> (Box<dyn Queued>, Acked<W>) {
        let (ack, acked) = oneshot::channel();
        let queued = Box::new(Pending {
            write,
            outcome: None,
            ack,
        });
        (queued, acked)
    }

    /// Writes `batch` as one batch through `writer` and acknowledges its writes.
    pub async fn commit(writer: &Writer, batch: Vec<Box<dyn Queued>>) {
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
}
