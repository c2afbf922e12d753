//! The one writer, with group commit: the handle callers queue writes on, and the [`Write`]
//! contract every write of the job path implements.
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
//!
//! Here: the handle and its connection; the thread's loop ([`group_commit`]), a batch's
//! transaction ([`batch`]), a write refused alone ([`fallback`]), the engine's journal
//! ([`journal`]) and its records ([`records`]), and the records nobody waits for
//! ([`handed_over`]).

mod batch;
mod fallback;
mod group_commit;
pub(super) mod handed_over;
pub(super) mod journal;
pub(super) mod records;
#[cfg(test)]
mod tests;

use std::thread;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use sqlx::sqlite::SqliteConnectOptions;
use tokio::sync::{mpsc, oneshot};

use super::changes::Changes;
use crate::{Change, StoreError};
pub(super) use fallback::refusal;

/// Writes waiting for the writer; callers wait for room beyond this (backpressure).
const QUEUE: usize = 8192;
/// Writes committed in one transaction at most, so one commit never holds the lock for long.
pub(super) const MAX_BATCH: usize = 2048;
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
    pub(super) sender: mpsc::Sender<Box<dyn Queued>>,
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
            .spawn(move || group_commit::write_loop(conn, receiver, changes))
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

pub(super) struct Pending<W: Write> {
    pub(super) write: W,
    pub(super) outcome: Option<Result<W::Output, W::Error>>,
    pub(super) ack: oneshot::Sender<Result<W::Output, W::Error>>,
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
