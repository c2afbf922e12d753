//! The engine's journal, timed: how long each durable record takes to be committed (the group
//! commit's latency as a runbook server sees it).

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use scorch_engine::{InstanceEnd, InstanceStart, Journal, JournalError, RunRecord};
use uuid::Uuid;

use super::Metrics;

pub(crate) struct TimedJournal {
    pub inner: Arc<dyn Journal>,
    pub metrics: Arc<Metrics>,
}

impl TimedJournal {
    async fn timed<T>(&self, write: impl Future<Output = Result<T, JournalError>>) -> Result<T, JournalError> {
        let began = Instant::now();
        let written = write.await;
        self.metrics.journal_write_took(began.elapsed());
        written
    }
}

#[async_trait]
impl Journal for TimedJournal {
    async fn instance_started(&self, start: &InstanceStart) -> Result<(), JournalError> {
        // Acknowledged before it is durable: not a commit's latency.
        self.inner.instance_started(start).await
    }

    async fn run_started(&self, run: &RunRecord) -> Result<(), JournalError> {
        self.timed(self.inner.run_started(run)).await
    }

    async fn run_finished(&self, run: &RunRecord) -> Result<(), JournalError> {
        self.timed(self.inner.run_finished(run)).await
    }

    async fn idempotent_run_finished(&self, run: &RunRecord) -> Result<(), JournalError> {
        // Acknowledged before it is durable, as `instance_started`.
        self.inner.idempotent_run_finished(run).await
    }

    async fn instance_finished(&self, end: &InstanceEnd) -> Result<(), JournalError> {
        self.timed(self.inner.instance_finished(end)).await
    }

    async fn runs(&self, instance_id: Uuid) -> Result<Vec<RunRecord>, JournalError> {
        self.inner.runs(instance_id).await
    }
}
