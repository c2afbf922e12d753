//! What both backends' `impl Store` share, written once: [`impl_store`].

use crate::StoreError;
use crate::backend::Backend;
use crate::kept::Changed;

/// `impl Store for $store`, one block per capability: the methods given (the backend's own, for
/// [`JobPath`](crate::JobPath) and [`Operations`](crate::Operations)), then every method whose
/// delegation reads the same in both backends: the cold paths, to the backend's `cold` (see
/// `src/cold/`), and much of the job path, to its `jobs`, `instances` and `$claims` (the module
/// its claims live in). Expanded in the backend's `store_impl`, so `super::` is the backend. A
/// macro because each backend implements every capability in full.
macro_rules! impl_store {
    (
        $store:ty,
        claims: $claims:ident,
        job_path: { $($job_path:tt)* },
        operations: { $($operations:tt)* } $(,)?
    ) => {
        #[::async_trait::async_trait]
        impl crate::JobPath for $store {
            $($job_path)*

            async fn ping(&self) -> Result<(), crate::StoreError> {
                sqlx::query("SELECT 1").execute(crate::backend::Backend::pool(self)).await?;
                Ok(())
            }

            async fn runbook(&self, id: ::uuid::Uuid, version: Option<i64>) -> Result<crate::Runbook, crate::StoreError> {
                super::cold::runbooks::load(self, id, version).await
            }

            async fn runbook_by_path(&self, folder: &str, name: &str) -> Result<crate::Runbook, crate::StoreError> {
                super::cold::runbooks::by_path(self, folder, name).await
            }

            async fn record_trigger(
                &self,
                job_id: ::uuid::Uuid,
                holder: Option<&str>,
                trigger: &crate::NewTrigger,
                checkpoint: Option<&str>,
            ) -> Result<Option<i64>, crate::StoreError> {
                super::cold::monitors::record_trigger(self, job_id, holder, trigger, checkpoint).await
            }

            async fn save_checkpoint(&self, job_id: ::uuid::Uuid, holder: &str, checkpoint: &str) -> Result<(), crate::StoreError> {
                super::cold::monitors::save_checkpoint(self, job_id, holder, checkpoint).await
            }

            async fn monitor_checkpoint(&self, job_id: ::uuid::Uuid) -> Result<Option<String>, crate::StoreError> {
                super::cold::monitors::checkpoint(self, job_id).await
            }

            async fn triggers(&self, job_id: ::uuid::Uuid, after: i64, limit: u32) -> Result<Vec<crate::TriggerRecord>, crate::StoreError> {
                super::cold::monitors::triggers(self, job_id, after, limit).await
            }

            async fn last_trigger(&self, job_id: ::uuid::Uuid) -> Result<i64, crate::StoreError> {
                super::cold::monitors::last_trigger(self, job_id).await
            }

            async fn open_triggers(&self, job_id: ::uuid::Uuid) -> Result<Vec<crate::TriggerRecord>, crate::StoreError> {
                super::cold::monitors::open_triggers(self, job_id).await
            }

            async fn hook(&self, name: &str) -> Result<Option<::uuid::Uuid>, crate::StoreError> {
                super::cold::monitors::hook(self, name).await
            }

            async fn job(&self, id: ::uuid::Uuid) -> Result<crate::Job, crate::StoreError> {
                super::jobs::get(self, id).await
            }

            async fn list_jobs(&self, filter: &crate::JobFilter) -> Result<Vec<crate::Job>, crate::StoreError> {
                super::jobs::list(self, filter).await
            }

            async fn cancel_job(&self, id: ::uuid::Uuid) -> Result<crate::Job, crate::StoreError> {
                super::jobs::cancel(self, id).await
            }

            async fn claim_job(
                &self,
                server: &str,
                lease: ::std::time::Duration,
                alive_within: ::std::time::Duration,
            ) -> Result<Option<crate::Claim>, crate::StoreError> {
                Ok(super::$claims::claim(self, server, lease, alive_within, 1).await?.pop())
            }

            async fn claim_jobs(
                &self,
                server: &str,
                lease: ::std::time::Duration,
                alive_within: ::std::time::Duration,
                max: usize,
            ) -> Result<Vec<crate::Claim>, crate::StoreError> {
                super::$claims::claim(self, server, lease, alive_within, max).await
            }

            async fn renew_leases(
                &self,
                server: &str,
                held: &[::uuid::Uuid],
                lease: ::std::time::Duration,
            ) -> Result<Vec<::uuid::Uuid>, crate::StoreError> {
                super::$claims::renew(self, server, held, lease).await
            }

            async fn finish_job(
                &self,
                id: ::uuid::Uuid,
                server: &str,
                status: crate::JobStatus,
            ) -> Result<(), crate::StoreError> {
                super::$claims::finish(self, id, server, status).await
            }

            async fn finish_instance_and_job(
                &self,
                end: &::scorch_engine::InstanceEnd,
                id: ::uuid::Uuid,
                server: &str,
                status: crate::JobStatus,
            ) -> Result<(), crate::StoreError> {
                super::$claims::finish_with_end(self, end, id, server, status).await
            }

            async fn release_job(&self, id: ::uuid::Uuid, server: &str) -> Result<(), crate::StoreError> {
                super::$claims::release(self, id, server).await
            }

            async fn release_held_jobs(&self, server: &str) -> Result<Vec<::uuid::Uuid>, crate::StoreError> {
                super::$claims::release_held(self, server).await
            }

            async fn instance(&self, id: ::uuid::Uuid) -> Result<crate::InstanceRow, crate::StoreError> {
                super::instances::get(self, id).await
            }

            async fn output(
                &self,
                instance_id: ::uuid::Uuid,
                seq: u64,
                offset: u64,
                limit: u32,
            ) -> Result<Vec<::scorch_activity::OutputChunk>, crate::StoreError> {
                super::cold::output::read(self, instance_id, seq, offset, limit).await
            }

            async fn register_server(
                &self,
                server: &crate::ServerRegistration,
            ) -> Result<::uuid::Uuid, crate::StoreError> {
                super::cold::servers::register(self, server).await
            }

            async fn heartbeat(&self, name: &str, running: u32) -> Result<(), crate::StoreError> {
                super::cold::servers::heartbeat(self, name, running).await
            }

            async fn servers(&self) -> Result<Vec<crate::RunbookServer>, crate::StoreError> {
                super::cold::servers::list(self).await
            }
        }

        #[::async_trait::async_trait]
        impl crate::Authoring for $store {
            async fn ensure_folder(&self, path: &str) -> Result<::uuid::Uuid, crate::StoreError> {
                super::cold::folders::ensure(self, path).await
            }

            async fn folders(&self) -> Result<Vec<crate::Folder>, crate::StoreError> {
                super::cold::folders::list(self).await
            }

            async fn delete_folder(&self, path: &str) -> Result<(), crate::StoreError> {
                let done = super::cold::folders::delete(self, path).await;
                crate::store_impl::forgetting(self, done, crate::kept::Changed::Folders).await
            }

            async fn save_runbook(&self, save: crate::SaveRunbook<'_>) -> Result<(::uuid::Uuid, i64), crate::StoreError> {
                let done = super::cold::runbooks::save(self, save).await;
                crate::store_impl::forgetting(self, done, crate::kept::Changed::Runbooks).await
            }

            async fn list_runbooks(&self, under: Option<&str>) -> Result<Vec<crate::RunbookSummary>, crate::StoreError> {
                super::cold::runbooks::list(self, under).await
            }

            async fn runbook_versions(
                &self,
                id: ::uuid::Uuid,
            ) -> Result<Vec<crate::RunbookVersionInfo>, crate::StoreError> {
                super::cold::runbooks::versions(self, id).await
            }

            async fn check_out(&self, id: ::uuid::Uuid, user: &str) -> Result<(), crate::StoreError> {
                let done = super::cold::runbooks::check_out(self, id, user).await;
                crate::store_impl::forgetting(self, done, crate::kept::Changed::Runbooks).await
            }

            async fn undo_check_out(&self, id: ::uuid::Uuid, user: &str, force: bool) -> Result<(), crate::StoreError> {
                let done = super::cold::runbooks::undo_check_out(self, id, user, force).await;
                crate::store_impl::forgetting(self, done, crate::kept::Changed::Runbooks).await
            }
        }

        #[::async_trait::async_trait]
        impl crate::Access for $store {
            async fn create_user(
                &self,
                name: &str,
                password_hash: Option<&str>,
                admin: bool,
            ) -> Result<crate::User, crate::StoreError> {
                super::cold::users::create(self, name, password_hash, admin).await
            }

            async fn user(&self, name: &str) -> Result<crate::User, crate::StoreError> {
                super::cold::users::get(self, name).await
            }

            async fn users(&self) -> Result<Vec<crate::User>, crate::StoreError> {
                super::cold::users::list(self).await
            }

            async fn set_password(&self, name: &str, password_hash: &str) -> Result<(), crate::StoreError> {
                let done = super::cold::users::set_password(self, name, password_hash).await;
                crate::store_impl::forgetting(self, done, crate::kept::Changed::Access).await
            }

            async fn set_admin(&self, name: &str, admin: bool) -> Result<(), crate::StoreError> {
                let done = super::cold::users::set_admin(self, name, admin).await;
                crate::store_impl::forgetting(self, done, crate::kept::Changed::Access).await
            }

            async fn delete_user(&self, name: &str) -> Result<(), crate::StoreError> {
                let done = super::cold::users::delete(self, name).await;
                crate::store_impl::forgetting(self, done, crate::kept::Changed::Access).await
            }

            async fn create_token(
                &self,
                user: &str,
                token_hash: &str,
                label: &str,
            ) -> Result<crate::TokenInfo, crate::StoreError> {
                super::cold::users::create_token(self, user, token_hash, label).await
            }

            async fn token_user(&self, token_hash: &str) -> Result<Option<crate::User>, crate::StoreError> {
                let read = super::cold::users::token_user(self, token_hash);
                crate::backend::Backend::kept(self).tokens.get_or_read(token_hash, read).await
            }

            async fn tokens(&self, user: &str) -> Result<Vec<crate::TokenInfo>, crate::StoreError> {
                super::cold::users::tokens(self, user).await
            }

            async fn revoke_token(&self, id: ::uuid::Uuid) -> Result<(), crate::StoreError> {
                let done = super::cold::users::revoke_token(self, id).await;
                crate::store_impl::forgetting(self, done, crate::kept::Changed::Access).await
            }

            async fn revoke_token_hash(&self, token_hash: &str) -> Result<(), crate::StoreError> {
                let done = super::cold::users::revoke_token_hash(self, token_hash).await;
                crate::store_impl::forgetting(self, done, crate::kept::Changed::Access).await
            }

            async fn grant(&self, user: &str, folder: &str, role: crate::Role) -> Result<(), crate::StoreError> {
                let done = super::cold::users::grant_role(self, user, folder, role).await;
                crate::store_impl::forgetting(self, done, crate::kept::Changed::Access).await
            }

            async fn revoke(&self, user: &str, folder: &str) -> Result<(), crate::StoreError> {
                let done = super::cold::users::revoke_role(self, user, folder).await;
                crate::store_impl::forgetting(self, done, crate::kept::Changed::Access).await
            }
        }

        #[::async_trait::async_trait]
        impl crate::Operations for $store {
            $($operations)*

            async fn make_job_durable(&self, id: ::uuid::Uuid) -> Result<(), crate::StoreError> {
                super::jobs::make_durable(self, id).await
            }

            async fn job_counts(&self) -> Result<Vec<crate::JobCount>, crate::StoreError> {
                super::cold::queue::job_counts(self).await
            }

            async fn list_instances(
                &self,
                filter: &crate::InstanceFilter,
            ) -> Result<Vec<crate::InstanceRow>, crate::StoreError> {
                super::instances::list(self, filter).await
            }

            async fn failed_runs(&self, instances: &[::uuid::Uuid]) -> Result<Vec<crate::FailedRun>, crate::StoreError> {
                super::instances::failed_runs(self, instances).await
            }

            async fn set_variable(&self, name: &str, value: &str, encrypted: bool) -> Result<(), crate::StoreError> {
                super::cold::settings::set_variable(self, name, value, encrypted).await
            }

            async fn variables(&self) -> Result<Vec<crate::VariableInfo>, crate::StoreError> {
                super::cold::settings::variables(self).await
            }

            async fn delete_variable(&self, name: &str) -> Result<(), crate::StoreError> {
                super::cold::settings::delete_variable(self, name).await
            }

            async fn set_counter(&self, name: &str, value: i64) -> Result<(), crate::StoreError> {
                super::cold::settings::set_counter(self, name, value).await
            }

            async fn counters(&self) -> Result<Vec<crate::CounterInfo>, crate::StoreError> {
                super::cold::settings::counters(self).await
            }

            async fn delete_counter(&self, name: &str) -> Result<(), crate::StoreError> {
                super::cold::settings::delete_counter(self, name).await
            }

            async fn set_group(&self, name: &str, hosts: &[String]) -> Result<(), crate::StoreError> {
                super::cold::settings::set_group(self, name, hosts).await
            }

            async fn groups(&self) -> Result<Vec<crate::GroupInfo>, crate::StoreError> {
                super::cold::settings::groups(self).await
            }

            async fn delete_group(&self, name: &str) -> Result<(), crate::StoreError> {
                super::cold::settings::delete_group(self, name).await
            }

            async fn set_schedule(&self, name: &str, definition: &serde_json::Value) -> Result<(), crate::StoreError> {
                super::cold::settings::set_schedule(self, name, definition).await
            }

            async fn schedules(&self) -> Result<Vec<crate::ScheduleInfo>, crate::StoreError> {
                super::cold::settings::schedules(self).await
            }

            async fn delete_schedule(&self, name: &str) -> Result<(), crate::StoreError> {
                super::cold::settings::delete_schedule(self, name).await
            }

            async fn audit(&self, entry: crate::NewAudit<'_>) -> Result<(), crate::StoreError> {
                crate::backend::Backend::append_audit(self, entry).await
            }

            async fn search_audit(
                &self,
                filter: &crate::AuditFilter,
            ) -> Result<Vec<crate::AuditEntry>, crate::StoreError> {
                super::cold::audit::search(self, filter).await
            }

            async fn purge_instances(
                &self,
                rule: &crate::PurgeRule,
                batch: u32,
                dry_run: bool,
            ) -> Result<u64, crate::StoreError> {
                super::cold::retention::purge(self, rule, batch, dry_run).await
            }
        }
    };
}
pub(crate) use impl_store;

/// After a write that may change what kept lookups answer: when it was done, forgets what
/// `changed` concerns (see [`Backend::forget`]). `done` is passed through.
pub(crate) async fn forgetting<B: Backend, T>(
    store: &B,
    done: Result<T, StoreError>,
    changed: Changed,
) -> Result<T, StoreError> {
    if done.is_ok() {
        store.forget(changed).await;
    }
    done
}
