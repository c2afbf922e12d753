//! The engine's [`Journal`] on PostgreSQL: each record encoded and queued to the writer (an
//! instance's start and an idempotent run's finish without waiting: see
//! [`PgJournal::hand_over`]); resumes read the runs through the pool.

use async_trait::async_trait;
use scorch_engine::{InstanceEnd, InstanceStart, Journal, JournalError, RunRecord, RunState};
use uuid::Uuid;

use super::super::instances::runs;
use super::PgJournal;
use super::records::{EndRow, RunRow, StartRow, Write};
use crate::StoreError;

#[async_trait]
impl Journal for PgJournal {
    async fn instance_started(&self, start: &InstanceStart) -> Result<(), JournalError> {
        let row = StartRow::new(start)?;
        self.hand_over(Write::InstanceStarted(row)).await
    }

    async fn run_started(&self, run: &RunRecord) -> Result<(), JournalError> {
        self.submit(Write::Run(RunRow::new(run)?)).await.map(drop)
    }

    async fn run_finished(&self, run: &RunRecord) -> Result<(), JournalError> {
        self.submit(Write::Run(RunRow::new(run)?)).await.map(drop)
    }

    async fn idempotent_run_finished(&self, run: &RunRecord) -> Result<(), JournalError> {
        let row = RunRow {
            relaxed: matches!(run.state, RunState::Finished(_)),
            ..RunRow::new(run)?
        };
        match row.relaxed {
            true => self.hand_over(Write::Run(row)).await,
            false => self.submit(Write::Run(row)).await.map(drop),
        }
    }

    async fn instance_finished(&self, end: &InstanceEnd) -> Result<(), JournalError> {
        self.submit(Write::InstanceFinished(EndRow::new(end)?)).await.map(drop)
    }

    async fn runs(&self, instance_id: Uuid) -> Result<Vec<RunRecord>, JournalError> {
        runs(&self.pool, instance_id).await.map_err(|err| match err {
            StoreError::NotFound(_) => JournalError::NotFound(instance_id),
            other => other.into(),
        })
    }
}
