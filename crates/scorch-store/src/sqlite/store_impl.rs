//! [`Store`](crate::Store) on SQLite: its own methods (the job path, its journal, change
//! subscriptions) delegate to the module of their area; the cold ones are `crate::cold`'s.

use std::sync::Arc;
use std::time::Duration;

use scorch_activity::GlobalSettings;
use scorch_engine::{InstanceEnd, Journal, RunRecord};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::cold::impl_store;
use super::{SqliteStore, claims, instances, jobs, journal};
use crate::model::*;
use crate::{Change, Claim, InstanceFilter, JobFilter, JobResult, NewJob, StoreError};

impl_store!(SqliteStore {
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

    /// Copies the write-ahead log into the database file and empties it, so the file's size
    /// shows what the data takes.
    async fn checkpoint(&self) -> Result<(), StoreError> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_job(&self, job: NewJob<'_>) -> Result<Job, StoreError> {
        Ok(self.kept.job_created(jobs::create(self, job, None).await)?.0)
    }

    async fn make_job_durable(&self, id: Uuid) -> Result<(), StoreError> {
        jobs::make_durable(self, id).await
    }

    async fn create_job_audited(
        &self,
        job: NewJob<'_>,
        audit: NewAudit<'_>,
    ) -> Result<(Job, Result<(), StoreError>), StoreError> {
        self.kept.job_created(jobs::create(self, job, Some(audit)).await)
    }

    async fn job(&self, id: Uuid) -> Result<Job, StoreError> {
        jobs::get(self, id).await
    }

    async fn job_result(&self, id: Uuid) -> Result<JobResult, StoreError> {
        jobs::result(self, id).await
    }

    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
        jobs::list(self, filter).await
    }

    async fn cancel_job(&self, id: Uuid) -> Result<Job, StoreError> {
        jobs::cancel(self, id).await
    }

    async fn claim_job(
        &self,
        server: &str,
        lease: Duration,
        alive_within: Duration,
    ) -> Result<Option<Claim>, StoreError> {
        Ok(claims::claim(self, server, lease, alive_within, 1).await?.pop())
    }

    async fn claim_jobs(
        &self,
        server: &str,
        lease: Duration,
        alive_within: Duration,
        max: usize,
    ) -> Result<Vec<Claim>, StoreError> {
        claims::claim(self, server, lease, alive_within, max).await
    }

    async fn renew_leases(&self, server: &str, held: &[Uuid], lease: Duration) -> Result<Vec<Uuid>, StoreError> {
        claims::renew(self, server, held, lease).await
    }

    async fn finish_job(&self, id: Uuid, server: &str, status: JobStatus) -> Result<(), StoreError> {
        claims::finish(self, id, server, status).await
    }

    async fn finish_instance_and_job(
        &self,
        end: &InstanceEnd,
        id: Uuid,
        server: &str,
        status: JobStatus,
    ) -> Result<(), StoreError> {
        claims::finish_with_end(self, end, id, server, status).await
    }

    async fn release_job(&self, id: Uuid, server: &str) -> Result<(), StoreError> {
        claims::release(self, id, server).await
    }

    async fn release_held_jobs(&self, server: &str) -> Result<Vec<Uuid>, StoreError> {
        claims::release_held(self, server).await
    }

    async fn instance(&self, id: Uuid) -> Result<InstanceRow, StoreError> {
        instances::get(self, id).await
    }

    async fn list_instances(&self, filter: &InstanceFilter) -> Result<Vec<InstanceRow>, StoreError> {
        instances::list(self, filter).await
    }

    async fn activity_runs(&self, instance_id: Uuid) -> Result<Vec<RunRecord>, StoreError> {
        journal::read_runs(&self.pool, instance_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("instance {instance_id}")))
    }
});
