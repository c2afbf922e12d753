//! [`Store`](crate::Store) on PostgreSQL: its own methods (the job path, its journal, change
//! subscriptions) delegate to the module of their area; the cold ones are `crate::cold`'s.

use std::sync::Arc;
use std::time::Duration;

use scorch_activity::GlobalSettings;
use scorch_engine::{InstanceEnd, Journal, RunRecord};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::cold::impl_store;
use super::{PgStore, instances, jobs, journal};
use crate::model::*;
use crate::{Change, Claim, InstanceFilter, JobFilter, JobResult, NewJob, StoreError};

impl_store!(PgStore {
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

    /// Nothing to do: PostgreSQL's own checkpoints cover it.
    async fn checkpoint(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn create_job(&self, job: NewJob<'_>) -> Result<Job, StoreError> {
        Ok(jobs::create(self, job, None).await?.0)
    }

    async fn make_job_durable(&self, id: Uuid) -> Result<(), StoreError> {
        jobs::make_durable(self, id).await
    }

    async fn create_job_audited(
        &self,
        job: NewJob<'_>,
        audit: NewAudit<'_>,
    ) -> Result<(Job, Result<(), StoreError>), StoreError> {
        jobs::create(self, job, Some(audit)).await
    }

    async fn job(&self, id: Uuid) -> Result<Job, StoreError> {
        jobs::get(self, id).await
    }

    async fn job_result(&self, id: Uuid) -> Result<JobResult, StoreError> {
        self.shared.results.read(id).await
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
        Ok(jobs::claim(self, server, lease, alive_within, 1).await?.pop())
    }

    async fn claim_jobs(
        &self,
        server: &str,
        lease: Duration,
        alive_within: Duration,
        max: usize,
    ) -> Result<Vec<Claim>, StoreError> {
        jobs::claim(self, server, lease, alive_within, max).await
    }

    async fn renew_leases(&self, server: &str, held: &[Uuid], lease: Duration) -> Result<Vec<Uuid>, StoreError> {
        jobs::renew(self, server, held, lease).await
    }

    async fn finish_job(&self, id: Uuid, server: &str, status: JobStatus) -> Result<(), StoreError> {
        jobs::finish(self, id, server, status).await
    }

    async fn finish_instance_and_job(
        &self,
        end: &InstanceEnd,
        id: Uuid,
        server: &str,
        status: JobStatus,
    ) -> Result<(), StoreError> {
        jobs::finish_with_end(self, end, id, server, status).await
    }

    async fn release_job(&self, id: Uuid, server: &str) -> Result<(), StoreError> {
        jobs::release(self, id, server).await
    }

    async fn release_held_jobs(&self, server: &str) -> Result<Vec<Uuid>, StoreError> {
        jobs::release_held(self, server).await
    }

    async fn instance(&self, id: Uuid) -> Result<InstanceRow, StoreError> {
        instances::get(self, id).await
    }

    async fn list_instances(&self, filter: &InstanceFilter) -> Result<Vec<InstanceRow>, StoreError> {
        instances::list(self, filter).await
    }

    async fn activity_runs(&self, instance_id: Uuid) -> Result<Vec<RunRecord>, StoreError> {
        journal::runs(self.pool(), instance_id).await
    }
});
