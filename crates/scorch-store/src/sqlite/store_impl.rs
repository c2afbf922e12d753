//! [`Store`] on SQLite: each method delegates to the module of its area.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use scorch_activity::GlobalSettings;
use scorch_engine::{InstanceEnd, Journal, RunRecord};
use tokio::sync::broadcast;
use uuid::Uuid;

use super::{SqliteStore, audit, claims, folders, instances, jobs, retention, runbooks, servers, settings, users};
use crate::kept::Changed;
use crate::model::*;
use crate::{Change, Claim, InstanceFilter, JobFilter, JobResult, NewJob, PurgeRule, Store, StoreError};

#[async_trait]
impl Store for SqliteStore {
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

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Copies the write-ahead log into the database file and empties it, so the file's size
    /// shows what the data takes.
    async fn checkpoint(&self) -> Result<(), StoreError> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn ensure_folder(&self, path: &str) -> Result<Uuid, StoreError> {
        folders::ensure(self, path).await
    }

    async fn folders(&self) -> Result<Vec<Folder>, StoreError> {
        folders::list(self).await
    }

    async fn delete_folder(&self, path: &str) -> Result<(), StoreError> {
        self.forgetting(folders::delete(self, path).await, Changed::Folders)
    }

    async fn save_runbook(&self, save: SaveRunbook<'_>) -> Result<(Uuid, i64), StoreError> {
        self.forgetting(runbooks::save(self, save).await, Changed::Runbooks)
    }

    async fn runbook(&self, id: Uuid, version: Option<i64>) -> Result<Runbook, StoreError> {
        runbooks::load(self, id, version).await
    }

    async fn runbook_by_path(&self, folder: &str, name: &str) -> Result<Runbook, StoreError> {
        runbooks::by_path(self, folder, name).await
    }

    async fn list_runbooks(&self, under: Option<&str>) -> Result<Vec<RunbookSummary>, StoreError> {
        runbooks::list(self, under).await
    }

    async fn runbook_versions(&self, id: Uuid) -> Result<Vec<RunbookVersionInfo>, StoreError> {
        runbooks::versions(self, id).await
    }

    async fn check_out(&self, id: Uuid, user: &str) -> Result<(), StoreError> {
        self.forgetting(runbooks::check_out(self, id, user).await, Changed::Runbooks)
    }

    async fn undo_check_out(&self, id: Uuid, user: &str, force: bool) -> Result<(), StoreError> {
        self.forgetting(runbooks::undo_check_out(self, id, user, force).await, Changed::Runbooks)
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
        instances::read_runs(&self.pool, instance_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("instance {instance_id}")))
    }

    async fn register_server(&self, server: &ServerRegistration) -> Result<Uuid, StoreError> {
        servers::register(self, server).await
    }

    async fn heartbeat(&self, name: &str, running: u32) -> Result<(), StoreError> {
        servers::heartbeat(self, name, running).await
    }

    async fn servers(&self) -> Result<Vec<RunbookServer>, StoreError> {
        servers::list(self).await
    }

    async fn set_variable(&self, name: &str, value: &str, encrypted: bool) -> Result<(), StoreError> {
        settings::set_variable(self, name, value, encrypted).await
    }

    async fn variables(&self) -> Result<Vec<VariableInfo>, StoreError> {
        settings::variables(self).await
    }

    async fn delete_variable(&self, name: &str) -> Result<(), StoreError> {
        settings::delete_variable(self, name).await
    }

    async fn set_counter(&self, name: &str, value: i64) -> Result<(), StoreError> {
        settings::set_counter(self, name, value).await
    }

    async fn counters(&self) -> Result<Vec<CounterInfo>, StoreError> {
        settings::counters(self).await
    }

    async fn delete_counter(&self, name: &str) -> Result<(), StoreError> {
        settings::delete_counter(self, name).await
    }

    async fn create_user(&self, name: &str, password_hash: Option<&str>, admin: bool) -> Result<User, StoreError> {
        users::create(self, name, password_hash, admin).await
    }

    async fn user(&self, name: &str) -> Result<User, StoreError> {
        users::get(self, name).await
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        users::list(self).await
    }

    async fn set_password(&self, name: &str, password_hash: &str) -> Result<(), StoreError> {
        self.forgetting(users::set_password(self, name, password_hash).await, Changed::Access)
    }

    async fn delete_user(&self, name: &str) -> Result<(), StoreError> {
        self.forgetting(users::delete(self, name).await, Changed::Access)
    }

    async fn create_token(&self, user: &str, token_hash: &str, label: &str) -> Result<TokenInfo, StoreError> {
        users::create_token(self, user, token_hash, label).await
    }

    async fn token_user(&self, token_hash: &str) -> Result<Option<User>, StoreError> {
        let read = users::token_user(self, token_hash);
        self.kept.tokens.get_or_read(token_hash, read).await
    }

    async fn tokens(&self, user: &str) -> Result<Vec<TokenInfo>, StoreError> {
        users::tokens(self, user).await
    }

    async fn revoke_token(&self, id: Uuid) -> Result<(), StoreError> {
        self.forgetting(users::revoke_token(self, id).await, Changed::Access)
    }

    async fn revoke_token_hash(&self, token_hash: &str) -> Result<(), StoreError> {
        self.forgetting(users::revoke_token_hash(self, token_hash).await, Changed::Access)
    }

    async fn grant(&self, user: &str, folder: &str, role: Role) -> Result<(), StoreError> {
        self.forgetting(users::grant_role(self, user, folder, role).await, Changed::Access)
    }

    async fn revoke(&self, user: &str, folder: &str) -> Result<(), StoreError> {
        self.forgetting(users::revoke_role(self, user, folder).await, Changed::Access)
    }

    async fn audit(&self, entry: NewAudit<'_>) -> Result<(), StoreError> {
        audit::append(self, entry).await
    }

    async fn audit_log(&self, limit: u32, offset: u32) -> Result<Vec<AuditEntry>, StoreError> {
        audit::log(self, limit, offset).await
    }

    async fn purge_instances(&self, rule: &PurgeRule, batch: u32, dry_run: bool) -> Result<u64, StoreError> {
        retention::purge(self, rule, batch, dry_run).await
    }
}
