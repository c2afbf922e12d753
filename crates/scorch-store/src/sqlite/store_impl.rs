//! [`Store`](crate::Store) on SQLite: the methods that are its own; `impl_store` writes the
//! others, which delegate as PostgreSQL's do.

use std::sync::Arc;

use scorch_activity::{GlobalSettings, OutputChunk};
use scorch_engine::{Journal, RunRecord};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::{SqliteStore, instances, jobs, output};
use crate::model::*;
use crate::store_impl::impl_store;
use crate::{Change, JobResult, NewJob, StoreError};

impl_store!(
    SqliteStore,
    claims: claims,
    job_path: {
        fn backend(&self) -> &'static str {
            "sqlite"
        }

        fn journal(&self) -> Arc<dyn Journal> {
            self.journal.clone()
        }

        fn settings(&self) -> Arc<dyn GlobalSettings> {
            self.settings.clone()
        }

        fn subscribe(&self) -> broadcast::Receiver<Change> {
            self.changes.all.subscribe()
        }

        fn subscribe_jobs(&self) -> broadcast::Receiver<Change> {
            self.changes.jobs.subscribe()
        }

        async fn create_job(&self, job: NewJob<'_>) -> Result<Job, StoreError> {
            Ok(self.kept.job_created(jobs::create(self, job, None).await)?.0)
        }

        async fn job_result(&self, id: Uuid) -> Result<JobResult, StoreError> {
            jobs::result(self, id).await
        }

        async fn activity_runs(&self, instance_id: Uuid) -> Result<Vec<RunRecord>, StoreError> {
            instances::read_runs(&self.pool, instance_id)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("instance {instance_id}")))
        }

        async fn append_output(&self, chunks: &[OutputChunk]) -> Result<(), StoreError> {
            output::append(self, chunks).await
        }
    },
    operations: {
        /// Copies the write-ahead log into the database file and empties it, so the file's size
        /// shows what the data takes.
        async fn checkpoint(&self) -> Result<(), StoreError> {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
            Ok(())
        }

        async fn create_job_audited(
            &self,
            job: NewJob<'_>,
            audit: NewAudit<'_>,
        ) -> Result<(Job, Result<(), StoreError>), StoreError> {
            self.kept.job_created(jobs::create(self, job, Some(audit)).await)
        }
    },
);
