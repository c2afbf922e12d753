//! The engine's journal on SQLite: its records go through the store's [`Writer`] (group commit: one
//! transaction and one fsync per batch, every caller acknowledged after the commit, subscribers
//! told what changed first), except that the engine does not wait for an instance's start or an
//! idempotent run's finish (see [`handed_over`](super::handed_over)); resumes read through the
//! pool.

use async_trait::async_trait;
use scorch_engine::{InstanceEnd, InstanceStart, Journal, JournalError, RunRecord};
use sqlx::sqlite::SqlitePool;
use uuid::Uuid;

use super::super::instances::read_runs;
use super::handed_over::{Broken, Kind, Record};
use super::records::{EndRow, RunRow, StartRow};
use super::{Relaxed, Writer};

/// The journal on SQLite. Obtained from [`JobPath::journal`](crate::JobPath::journal).
#[derive(Debug)]
pub struct SqliteJournal {
    writer: Writer,
    pool: SqlitePool,
    /// Instances whose handed-over records were not written.
    broken: Broken,
}

impl SqliteJournal {
    /// Records go through `writer`; reads through `pool`.
    pub(in crate::sqlite) fn new(writer: Writer, pool: SqlitePool) -> Self {
        SqliteJournal {
            writer,
            pool,
            broken: Broken::default(),
        }
    }

    /// `write` as a record of `instance`: refused while one of the instance's handed-over
    /// records is not written (every record of an instance goes through this).
    pub(in crate::sqlite) fn record<W>(&self, instance: Uuid, kind: Kind, write: W) -> Record<W> {
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
        let row = StartRow::new(start)?;
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
