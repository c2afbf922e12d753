//! The group-commit writer: the engine's journal, and the other writes of the job path.
//!
//! Callers encode their record, hand it to one writer task and wait for its acknowledgement (an
//! instance's start and an idempotent run's finish are not waited for: see
//! [`PgJournal::hand_over`]). The
//! writer takes everything queued (up to [`MAX_BATCH`]) and writes it in one transaction with one
//! multi-row statement per kind of record (`UNNEST` over arrays: a batch of a thousand runs is
//! one statement), then acknowledges every waiter after the commit. Each statement announces what
//! it writes (`pg_notify`, packed up to 8000 bytes a message: one message per statement as a
//! rule), so the changes go out exactly when the batch commits.
//!
//! Besides the journal's records, the writer takes the job path's other writes, as SQLite's writer
//! does: new jobs with their audit records (one statement, however many jobs), and instance ends
//! with their jobs' ends (`finish_instance_and_job`: one statement with the other instance ends).
//! Every commit with a `NOTIFY` takes a lock that serializes such commits across the database, so
//! fewer, larger commits are what lets the fleet start and finish more jobs per second.
//!
//! The most common batches, runs of instances the writer already knows, or new jobs, or an
//! instance's end with its job's, are a single statement (write and notify in one, no
//! BEGIN/COMMIT): one round trip per batch.
//!
//! PostgreSQL aborts a whole transaction on an error, where SQLite undoes one statement: a batch
//! that the database refuses is written again one record per transaction, so only the record at
//! fault is refused. Records of an instance the store does not know are found beforehand and
//! answered `NotFound` without failing their batch.
//!
//! Here: the handle callers queue on ([`PgJournal`]) and what the writer remembers; the records
//! ([`records`]), the engine's journal on them ([`journal`]), the task's loop ([`group_commit`]),
//! a batch as statements ([`batch`], [`statements`]), a refused batch written again record by
//! record ([`fallback`]), and the records nobody waits for ([`handed_over`]).

mod batch;
mod fallback;
mod group_commit;
mod handed_over;
mod journal;
mod records;
mod statements;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use scorch_engine::{InstanceEnd, JournalError};
use sqlx::postgres::PgPool;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::StoreError;
pub(super) use records::{AuditRow, JobEnd, NewJobRow};
use records::{Created, EndRow, Outcome, Reply, Request, Write};

/// Records waiting for the writer; callers wait for room beyond this (backpressure).
const QUEUE: usize = 8192;
/// Records written in one transaction at most.
pub(super) const MAX_BATCH: usize = 2048;
/// Instances whose internal key the writer remembers; it starts over when full.
const KNOWN_INSTANCES: usize = 65_536;

/// The journal on PostgreSQL. Obtained from [`JobPath::journal`](crate::JobPath::journal).
#[derive(Debug)]
pub struct PgJournal {
    sender: mpsc::Sender<Request>,
    pool: PgPool,
}

impl PgJournal {
    /// Starts the writer task; it takes connections from `pool`, as do reads.
    pub(super) fn start(pool: PgPool) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(group_commit::write_loop(pool.clone(), receiver));
        PgJournal { sender, pool }
    }

    async fn submit(&self, write: Write) -> Outcome {
        let (ack, acked) = oneshot::channel();
        self.sender
            .send(Request { write, ack: Some(ack) })
            .await
            .map_err(|_| writer_stopped())?;
        acked.await.map_err(|_| writer_stopped())?
    }

    /// Queues a record the `Journal` contract lets go unflushed (an instance's start, an
    /// idempotent run's finish) without waiting for it to be written: the engine goes on while the
    /// writer commits it with the instance's next records, usually in one batch. Order is kept (one
    /// queue, written in order), and if such a record fails, the writer refuses the instance's
    /// later records until it starts again, so the engine stops the instance where it would have
    /// stopped had it waited, and a resume runs the unrecorded runs again.
    async fn hand_over(&self, write: Write) -> Result<(), JournalError> {
        self.sender
            .send(Request { write, ack: None })
            .await
            .map_err(|_| writer_stopped())
    }

    /// Returns once every record queued before has been written (or refused): what a job handed
    /// back must wait for, so that whoever resumes its instance reads them all.
    pub(super) async fn barrier(&self) -> Result<(), JournalError> {
        self.submit(Write::Barrier).await.map(drop)
    }

    /// Creates a job (and its audit record) in the writer's next commit.
    pub(super) async fn create_job(&self, job: NewJobRow) -> Result<Created, StoreError> {
        match self.submit(Write::CreateJob(job)).await? {
            Reply::Created(created) => created,
            other => Err(StoreError::Invalid(format!(
                "the writer answered {other:?} for a new job"
            ))),
        }
    }

    /// Records an instance's end and ends its job in the writer's next commit; false when the
    /// server does not hold the job (whose end is then not recorded; the instance's is).
    pub(super) async fn finish(&self, end: &InstanceEnd, job: JobEnd) -> Result<bool, StoreError> {
        match self.submit(Write::Finished(EndRow::new(end)?, job)).await? {
            Reply::Finished(held) => Ok(held),
            other => Err(StoreError::Invalid(format!("the writer answered {other:?} for an end"))),
        }
    }
}

pub(super) fn writer_stopped() -> JournalError {
    JournalError::Unavailable("the journal writer has stopped".into())
}

/// Instances the writer has written or looked up: uuid -> internal key.
#[derive(Default)]
pub(super) struct Known {
    pub(super) instances: HashMap<Uuid, i64>,
}

impl Known {
    pub(super) fn insert(&mut self, uuid: Uuid, id: i64) {
        if self.instances.len() >= KNOWN_INSTANCES {
            self.instances.clear();
        }
        self.instances.insert(uuid, id);
    }
}
