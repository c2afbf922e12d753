//! A store that delegates to a real one, except that its database can be made to look down
//! (for `/health`), instances' ends can be refused (for the runbook server), and writes of live
//! output held back (a slow database).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use scorch_activity::{GlobalSettings, OutputChunk};
use scorch_engine::{InstanceEnd, Journal, RunRecord};
use scorch_store::model::*;
use scorch_store::{
    Access, AuditFilter, Authoring, Change, Claim, FailedRun, InstanceFilter, JobFilter, JobPath, NewJob, Operations,
    PurgeRule, Store, StoreError,
};
use tokio::sync::broadcast;
use uuid::Uuid;

pub struct FlakyStore {
    pub inner: Arc<dyn Store>,
    pub down: AtomicBool,
    /// How many of the next `finish_instance_and_job` calls are refused, as if the database
    /// refused them.
    pub refuse_ends: AtomicU32,
    /// While set, writes of live output wait, as if the database were slow.
    pub stall_output: AtomicBool,
}

#[async_trait]
impl JobPath for FlakyStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    fn journal(&self) -> Arc<dyn Journal> {
        self.inner.journal()
    }
    fn settings(&self) -> Arc<dyn GlobalSettings> {
        self.inner.settings()
    }
    fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.inner.subscribe()
    }
    async fn ping(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("connection refused".into()));
        }
        self.inner.ping().await
    }
    async fn runbook(&self, id: Uuid, version: Option<i64>) -> Result<Runbook, StoreError> {
        self.inner.runbook(id, version).await
    }
    async fn runbook_by_path(&self, folder: &str, name: &str) -> Result<Runbook, StoreError> {
        self.inner.runbook_by_path(folder, name).await
    }
    async fn create_job(&self, job: NewJob<'_>) -> Result<Job, StoreError> {
        self.inner.create_job(job).await
    }
    async fn job(&self, id: Uuid) -> Result<Job, StoreError> {
        self.inner.job(id).await
    }
    async fn record_trigger(
        &self,
        job_id: Uuid,
        holder: Option<&str>,
        trigger: &scorch_store::NewTrigger,
        checkpoint: Option<&str>,
    ) -> Result<Option<i64>, StoreError> {
        self.inner.record_trigger(job_id, holder, trigger, checkpoint).await
    }
    async fn save_checkpoint(&self, job_id: Uuid, holder: &str, checkpoint: &str) -> Result<(), StoreError> {
        self.inner.save_checkpoint(job_id, holder, checkpoint).await
    }
    async fn monitor_checkpoint(&self, job_id: Uuid) -> Result<Option<String>, StoreError> {
        self.inner.monitor_checkpoint(job_id).await
    }
    async fn triggers(
        &self,
        job_id: Uuid,
        after: i64,
        limit: u32,
    ) -> Result<Vec<scorch_store::TriggerRecord>, StoreError> {
        self.inner.triggers(job_id, after, limit).await
    }
    async fn last_trigger(&self, job_id: Uuid) -> Result<i64, StoreError> {
        self.inner.last_trigger(job_id).await
    }
    async fn open_triggers(&self, job_id: Uuid) -> Result<Vec<scorch_store::TriggerRecord>, StoreError> {
        self.inner.open_triggers(job_id).await
    }
    async fn hook(&self, name: &str) -> Result<Option<Uuid>, StoreError> {
        self.inner.hook(name).await
    }
    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
        self.inner.list_jobs(filter).await
    }
    async fn cancel_job(&self, id: Uuid) -> Result<Job, StoreError> {
        self.inner.cancel_job(id).await
    }
    async fn claim_job(
        &self,
        server: &str,
        lease: Duration,
        alive_within: Duration,
    ) -> Result<Option<Claim>, StoreError> {
        self.inner.claim_job(server, lease, alive_within).await
    }
    async fn renew_leases(&self, server: &str, held: &[Uuid], lease: Duration) -> Result<Vec<Uuid>, StoreError> {
        self.inner.renew_leases(server, held, lease).await
    }
    async fn finish_job(&self, id: Uuid, server: &str, status: JobStatus) -> Result<(), StoreError> {
        self.inner.finish_job(id, server, status).await
    }
    async fn release_job(&self, id: Uuid, server: &str) -> Result<(), StoreError> {
        self.inner.release_job(id, server).await
    }
    async fn release_held_jobs(&self, server: &str) -> Result<Vec<Uuid>, StoreError> {
        self.inner.release_held_jobs(server).await
    }
    async fn finish_instance_and_job(
        &self,
        end: &InstanceEnd,
        id: Uuid,
        server: &str,
        status: JobStatus,
    ) -> Result<(), StoreError> {
        let refuse = |left: u32| left.checked_sub(1);
        if self
            .refuse_ends
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, refuse)
            .is_ok()
        {
            return Err(StoreError::Unavailable("the end was refused (test)".into()));
        }
        self.inner.finish_instance_and_job(end, id, server, status).await
    }
    async fn instance(&self, id: Uuid) -> Result<InstanceRow, StoreError> {
        self.inner.instance(id).await
    }
    async fn activity_runs(&self, instance_id: Uuid) -> Result<Vec<RunRecord>, StoreError> {
        self.inner.activity_runs(instance_id).await
    }
    async fn append_output(&self, chunks: &[OutputChunk]) -> Result<(), StoreError> {
        while self.stall_output.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.inner.append_output(chunks).await
    }
    async fn output(
        &self,
        instance_id: Uuid,
        seq: u64,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<OutputChunk>, StoreError> {
        self.inner.output(instance_id, seq, offset, limit).await
    }
    async fn register_server(&self, server: &ServerRegistration) -> Result<Uuid, StoreError> {
        self.inner.register_server(server).await
    }
    async fn heartbeat(&self, name: &str, running: u32) -> Result<(), StoreError> {
        self.inner.heartbeat(name, running).await
    }
    async fn servers(&self) -> Result<Vec<RunbookServer>, StoreError> {
        self.inner.servers().await
    }
}

#[async_trait]
impl Authoring for FlakyStore {
    async fn ensure_folder(&self, path: &str) -> Result<Uuid, StoreError> {
        self.inner.ensure_folder(path).await
    }
    async fn folders(&self) -> Result<Vec<Folder>, StoreError> {
        self.inner.folders().await
    }
    async fn delete_folder(&self, path: &str) -> Result<(), StoreError> {
        self.inner.delete_folder(path).await
    }
    async fn save_runbook(&self, save: SaveRunbook<'_>) -> Result<(Uuid, i64), StoreError> {
        self.inner.save_runbook(save).await
    }
    async fn list_runbooks(&self, under: Option<&str>) -> Result<Vec<RunbookSummary>, StoreError> {
        self.inner.list_runbooks(under).await
    }
    async fn runbook_versions(&self, id: Uuid) -> Result<Vec<RunbookVersionInfo>, StoreError> {
        self.inner.runbook_versions(id).await
    }
    async fn check_out(&self, id: Uuid, user: &str) -> Result<(), StoreError> {
        self.inner.check_out(id, user).await
    }
    async fn undo_check_out(&self, id: Uuid, user: &str, force: bool) -> Result<(), StoreError> {
        self.inner.undo_check_out(id, user, force).await
    }
}

#[async_trait]
impl Access for FlakyStore {
    async fn create_user(&self, name: &str, password_hash: Option<&str>, admin: bool) -> Result<User, StoreError> {
        self.inner.create_user(name, password_hash, admin).await
    }
    async fn user(&self, name: &str) -> Result<User, StoreError> {
        self.inner.user(name).await
    }
    async fn users(&self) -> Result<Vec<User>, StoreError> {
        self.inner.users().await
    }
    async fn set_password(&self, name: &str, password_hash: &str) -> Result<(), StoreError> {
        self.inner.set_password(name, password_hash).await
    }
    async fn set_admin(&self, name: &str, admin: bool) -> Result<(), StoreError> {
        self.inner.set_admin(name, admin).await
    }
    async fn delete_user(&self, name: &str) -> Result<(), StoreError> {
        self.inner.delete_user(name).await
    }
    async fn create_token(&self, user: &str, token_hash: &str, label: &str) -> Result<TokenInfo, StoreError> {
        self.inner.create_token(user, token_hash, label).await
    }
    async fn token_user(&self, token_hash: &str) -> Result<Option<User>, StoreError> {
        self.inner.token_user(token_hash).await
    }
    async fn tokens(&self, user: &str) -> Result<Vec<TokenInfo>, StoreError> {
        self.inner.tokens(user).await
    }
    async fn revoke_token(&self, id: Uuid) -> Result<(), StoreError> {
        self.inner.revoke_token(id).await
    }
    async fn revoke_token_hash(&self, token_hash: &str) -> Result<(), StoreError> {
        self.inner.revoke_token_hash(token_hash).await
    }
    async fn grant(&self, user: &str, folder: &str, role: Role) -> Result<(), StoreError> {
        self.inner.grant(user, folder, role).await
    }
    async fn revoke(&self, user: &str, folder: &str) -> Result<(), StoreError> {
        self.inner.revoke(user, folder).await
    }
}

#[async_trait]
impl Operations for FlakyStore {
    async fn checkpoint(&self) -> Result<(), StoreError> {
        self.inner.checkpoint().await
    }
    async fn make_job_durable(&self, id: Uuid) -> Result<(), StoreError> {
        self.inner.make_job_durable(id).await
    }
    async fn job_counts(&self) -> Result<Vec<scorch_store::JobCount>, StoreError> {
        self.inner.job_counts().await
    }
    async fn list_instances(&self, filter: &InstanceFilter) -> Result<Vec<InstanceRow>, StoreError> {
        self.inner.list_instances(filter).await
    }
    async fn failed_runs(&self, instances: &[Uuid]) -> Result<Vec<FailedRun>, StoreError> {
        self.inner.failed_runs(instances).await
    }
    async fn set_variable(&self, name: &str, value: &str, encrypted: bool) -> Result<(), StoreError> {
        self.inner.set_variable(name, value, encrypted).await
    }
    async fn variables(&self) -> Result<Vec<VariableInfo>, StoreError> {
        self.inner.variables().await
    }
    async fn delete_variable(&self, name: &str) -> Result<(), StoreError> {
        self.inner.delete_variable(name).await
    }
    async fn set_counter(&self, name: &str, value: i64) -> Result<(), StoreError> {
        self.inner.set_counter(name, value).await
    }
    async fn counters(&self) -> Result<Vec<CounterInfo>, StoreError> {
        self.inner.counters().await
    }
    async fn delete_counter(&self, name: &str) -> Result<(), StoreError> {
        self.inner.delete_counter(name).await
    }
    async fn set_group(&self, name: &str, hosts: &[String]) -> Result<(), StoreError> {
        self.inner.set_group(name, hosts).await
    }
    async fn groups(&self) -> Result<Vec<scorch_store::GroupInfo>, StoreError> {
        self.inner.groups().await
    }
    async fn delete_group(&self, name: &str) -> Result<(), StoreError> {
        self.inner.delete_group(name).await
    }
    async fn set_schedule(&self, name: &str, definition: &serde_json::Value) -> Result<(), StoreError> {
        self.inner.set_schedule(name, definition).await
    }
    async fn schedules(&self) -> Result<Vec<scorch_store::ScheduleInfo>, StoreError> {
        self.inner.schedules().await
    }
    async fn delete_schedule(&self, name: &str) -> Result<(), StoreError> {
        self.inner.delete_schedule(name).await
    }
    async fn audit(&self, entry: NewAudit<'_>) -> Result<(), StoreError> {
        self.inner.audit(entry).await
    }
    async fn search_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.search_audit(filter).await
    }
    async fn purge_instances(&self, rule: &PurgeRule, batch: u32, dry_run: bool) -> Result<u64, StoreError> {
        self.inner.purge_instances(rule, batch, dry_run).await
    }
}
