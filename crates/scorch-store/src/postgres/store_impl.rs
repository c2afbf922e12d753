//! [`Store`](crate::Store) on PostgreSQL: the methods that are its own; `impl_store` writes the
//! others, which delegate as SQLite's do.

use std::sync::Arc;

use scorch_activity::{GlobalSettings, OutputChunk};
use scorch_engine::{Journal, RunRecord};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::{PgStore, instances, jobs, output};
use crate::model::*;
use crate::store_impl::impl_store;
use crate::{Change, JobResult, NewJob, StoreError};

impl_store!(
    PgStore,
    claims: claims,
    job_path: {
        fn backend(&self) -> &'static str {
            "postgres"
        }

        fn journal(&self) -> Arc<dyn Journal> {
            self.shared.journal.clone()
        }

        fn settings(&self) -> Arc<dyn GlobalSettings> {
            self.shared.settings.clone()
        }

        fn subscribe(&self) -> broadcast::Receiver<Change> {
            self.shared.changes.all.subscribe()
        }

        fn subscribe_jobs(&self) -> broadcast::Receiver<Change> {
            self.shared.changes.jobs.subscribe()
        }

        async fn create_job(&self, job: NewJob<'_>) -> Result<Job, StoreError> {
            Ok(jobs::create(self, job, None).await?.0)
        }

        async fn job_result(&self, id: Uuid) -> Result<JobResult, StoreError> {
            self.shared.results.read(id).await
        }

        async fn activity_runs(&self, instance_id: Uuid) -> Result<Vec<RunRecord>, StoreError> {
            instances::runs(self.pool(), instance_id).await
        }

        async fn append_output(&self, chunks: &[OutputChunk]) -> Result<(), StoreError> {
            output::append(self, chunks).await
        }
    },
    operations: {
        /// Nothing to do: PostgreSQL's own checkpoints cover it.
        async fn checkpoint(&self) -> Result<(), StoreError> {
            Ok(())
        }

        async fn create_job_audited(
            &self,
            job: NewJob<'_>,
            audit: NewAudit<'_>,
        ) -> Result<(Job, Result<(), StoreError>), StoreError> {
            jobs::create(self, job, Some(audit)).await
        }
    },
);
