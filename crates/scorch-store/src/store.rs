//! The [`Store`] trait and its capabilities ([`JobPath`], [`Authoring`], [`Access`],
//! [`Operations`]): everything the roles (management server, web service, runbook servers)
//! ask of the orchestration database, whichever backend holds it. SQLite serves one machine
//! (`scorch up`); PostgreSQL serves a fleet. Both implement every capability with the same semantics,
//! and one contract suite (`tests/contract/`) runs against both.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use scorch_activity::{GlobalSettings, OutputChunk};
use scorch_engine::{InstanceEnd, Journal, RunRecord};
use serde_json::{Map, Value};
use tokio::sync::broadcast;
use uuid::Uuid;

use scorch_model::Plan;

use crate::model::*;
use crate::{IdMatch, StoreError};

/// What a runbook server needs of the database, and the least every role needs: claiming and
/// ending jobs, the journal and settings its engine runs on, the change feed, creating jobs and
/// reading runbooks, jobs, instances and servers (for `invoke_runbook`, waits and peers). A
/// runbook server holds only this, so it cannot administer users, settings or runbooks.
#[async_trait]
pub trait JobPath: Send + Sync + 'static {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;
    /// The engine's journal on this database (group commit).
    fn journal(&self) -> Arc<dyn Journal>;
    /// Variables and counters as activities see them.
    fn settings(&self) -> Arc<dyn GlobalSettings>;
    /// Changes as they are committed: jobs created and updated, instances and activity runs.
    /// SQLite delivers the changes made in this process; PostgreSQL those of every process
    /// (LISTEN/NOTIFY). A receiver that lags misses changes, so callers that must not miss one
    /// re-read the store after a `Lagged` error, and poll slowly as a safety net.
    fn subscribe(&self) -> broadcast::Receiver<Change>;
    /// [`subscribe`](JobPath::subscribe) for callers that act on job changes only: a backend may
    /// leave the other changes out (there are several per activity run), or send everything.
    fn subscribe_jobs(&self) -> broadcast::Receiver<Change> {
        self.subscribe()
    }
    /// Whether the database answers (for `/health`).
    async fn ping(&self) -> Result<(), StoreError>;
    /// The latest version, or `version`.
    async fn runbook(&self, id: Uuid, version: Option<i64>) -> Result<Runbook, StoreError>;
    /// The latest version of the runbook at a path. The answer may be up to 5 s old (a lookup
    /// kept by this process, forgotten at once by check-ins it hears of): a job started from it
    /// names its version, which the store refuses once another is the latest.
    async fn runbook_by_path(&self, folder: &str, name: &str) -> Result<Runbook, StoreError>;

    // ---- jobs ----

    /// A pending job for the latest checked-in version; `Conflict` when the job names a version
    /// that is no longer the latest ([`NewJob::version`]). Emits `Change::Job`.
    async fn create_job(&self, job: NewJob<'_>) -> Result<Job, StoreError>;
    async fn job(&self, id: Uuid) -> Result<Job, StoreError>;
    /// A job and, once it has ended, its instance (if it got one) with the instance's activity
    /// runs: the answer to a synchronous start, in one read where the backend can.
    async fn job_result(&self, id: Uuid) -> Result<JobResult, StoreError> {
        let job = self.job(id).await?;
        let (instance, runs) = match job.instance_id {
            Some(instance_id) if job.status.is_final() => (
                Some(self.instance(instance_id).await?),
                self.activity_runs(instance_id).await?,
            ),
            _ => (None, Vec::new()),
        };
        Ok(JobResult { job, instance, runs })
    }
    /// Newest first.
    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>, StoreError>;
    /// A pending job becomes `canceled` at once; a running one is flagged `cancel_requested`
    /// for its runbook server (which stops it and finishes it as `canceled`). Finished jobs
    /// are a `Conflict` ("cannot change the job status"). Emits `Change::Job`.
    async fn cancel_job(&self, id: Uuid) -> Result<Job, StoreError>;
    /// Takes one job for `server` with a lease of `lease`, or `None` when there is nothing it
    /// may take. Candidates, oldest first: pending jobs whose runbook has fewer running jobs
    /// than its `concurrency`, and running jobs whose lease has expired (a failed-over server's
    /// work: `resume` is then true and `instance_id` is the instance to continue). A runbook
    /// with preferred `runbook_servers` is only taken by the first of them that is alive
    /// (heartbeat within `alive_within`), or by a server outside the list when none is.
    /// PostgreSQL uses `FOR UPDATE SKIP LOCKED`. Emits `Change::Job`.
    async fn claim_job(
        &self,
        server: &str,
        lease: Duration,
        alive_within: Duration,
    ) -> Result<Option<Claim>, StoreError>;
    /// Takes up to `max` jobs for `server` as [`claim_job`](JobPath::claim_job) takes one, oldest
    /// first; fewer than `max` means there was nothing more it may take. One round trip (and one
    /// commit) where the backend can.
    async fn claim_jobs(
        &self,
        server: &str,
        lease: Duration,
        alive_within: Duration,
        max: usize,
    ) -> Result<Vec<Claim>, StoreError> {
        let mut claims = Vec::new();
        while claims.len() < max {
            match self.claim_job(server, lease, alive_within).await? {
                Some(claim) => claims.push(claim),
                None => break,
            }
        }
        Ok(claims)
    }
    /// Extends the leases of `jobs`, those of them that `server` still holds: the jobs this
    /// process runs, never every job claimed under its name (a previous life's would then never
    /// expire). Returns those whose cancellation was requested.
    async fn renew_leases(&self, server: &str, jobs: &[Uuid], lease: Duration) -> Result<Vec<Uuid>, StoreError>;
    /// Ends a job `server` holds: `completed`, `failed` or `canceled`. Emits `Change::Job`.
    async fn finish_job(&self, id: Uuid, server: &str, status: JobStatus) -> Result<(), StoreError>;
    /// Records an instance's end (the journal's `instance_finished`) and ends its job
    /// (`finish_job`), in one commit where the backend can. The end is recorded even when the job
    /// is no longer `server`'s, which is then a `Conflict` as with `finish_job`.
    async fn finish_instance_and_job(
        &self,
        end: &InstanceEnd,
        id: Uuid,
        server: &str,
        status: JobStatus,
    ) -> Result<(), StoreError> {
        self.journal().instance_finished(end).await?;
        self.finish_job(id, server, status).await
    }
    /// Hands a running job back (a graceful stop): it becomes claimable at once by another
    /// server, which resumes its instance from the journal.
    async fn release_job(&self, id: Uuid, server: &str) -> Result<(), StoreError>;
    /// Hands back every running job held under `server`'s name, as `release_job` does one: what a
    /// previous life of a runbook server (killed, then started again under the same name) held,
    /// so that it is resumed at once rather than when its lease expires. Returns those jobs.
    async fn release_held_jobs(&self, server: &str) -> Result<Vec<Uuid>, StoreError>;

    // ---- monitor jobs (see `spec/runbook-format.md`, "Monitor runbooks") ----

    /// Records a trigger (or a note) of monitor job `job_id`, with the watcher's new checkpoint
    /// when given, in one commit, and announces it (`Change::Trigger`). `holder`: only while that
    /// runbook server holds the job; `None` (a webhook call): while the job runs. The trigger's
    /// seq, or `None` when its key was recorded before (nothing is written). `Conflict` when the
    /// job is not running (or not `holder`'s).
    async fn record_trigger(
        &self,
        job_id: Uuid,
        holder: Option<&str>,
        trigger: &NewTrigger,
        checkpoint: Option<&str>,
    ) -> Result<Option<i64>, StoreError>;
    /// Saves a monitor job's checkpoint alone, while `holder` holds the job (else `Conflict`).
    async fn save_checkpoint(&self, job_id: Uuid, holder: &str, checkpoint: &str) -> Result<(), StoreError>;
    /// What a monitor job's watcher last saved.
    async fn monitor_checkpoint(&self, job_id: Uuid) -> Result<Option<String>, StoreError>;
    /// A monitor job's triggers and notes after seq `after`, oldest first, at most `limit`.
    async fn triggers(&self, job_id: Uuid, after: i64, limit: u32) -> Result<Vec<TriggerRecord>, StoreError>;
    /// The seq of a monitor job's last trigger or note (0 when none).
    async fn last_trigger(&self, job_id: Uuid) -> Result<i64, StoreError>;
    /// A monitor job's triggers whose instance has not ended (or never started), oldest first:
    /// what a server taking the job over resumes (a resume of an instance never started runs it
    /// from its beginning).
    async fn open_triggers(&self, job_id: Uuid) -> Result<Vec<TriggerRecord>, StoreError>;
    /// The runbook whose latest version starts with `monitor_webhook` on hook `name`.
    async fn hook(&self, name: &str) -> Result<Option<Uuid>, StoreError>;

    // ---- instances and activity runs ----

    async fn instance(&self, id: Uuid) -> Result<InstanceRow, StoreError>;
    /// The journal of one instance, in start order.
    async fn activity_runs(&self, instance_id: Uuid) -> Result<Vec<RunRecord>, StoreError>;

    // ---- live output ----

    /// Stores chunks of activity runs' live output (a runbook server's batch of every run it
    /// streams) in one write, and emits `Change::Output` once per run. A chunk already stored
    /// (same run and offset) stays as it was; chunks of an instance the store does not know are
    /// dropped. Texts hold no NUL character (`LiveOutput` replaces them; PostgreSQL refuses
    /// them). Deleted with their instance by retention. Not durable before the next durable
    /// write: a crash may lose the last moments of output, never the journal.
    async fn append_output(&self, chunks: &[OutputChunk]) -> Result<(), StoreError>;
    /// Run `seq`'s output in order, from the chunk that starts at byte `offset` (0, or the end
    /// of the last chunk read): at most `limit` chunks. Nothing for an unknown instance or run.
    async fn output(
        &self,
        instance_id: Uuid,
        seq: u64,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<OutputChunk>, StoreError>;

    // ---- runbook servers ----

    /// Registers (or updates, keeping its id) a runbook server by name.
    async fn register_server(&self, server: &ServerRegistration) -> Result<Uuid, StoreError>;
    /// Records that `name` is alive and how many instances it runs.
    async fn heartbeat(&self, name: &str, running: u32) -> Result<(), StoreError>;
    async fn servers(&self) -> Result<Vec<RunbookServer>, StoreError>;
}

/// Folders and runbook versions: what the management server's authoring side changes. Reading
/// one runbook is [`JobPath`]'s, which every role needs.
#[async_trait]
pub trait Authoring: Send + Sync + 'static {
    /// The folder at a '/'-separated path ("" is the root), created with its parents if missing.
    async fn ensure_folder(&self, path: &str) -> Result<Uuid, StoreError>;
    /// Every folder, by path.
    async fn folders(&self) -> Result<Vec<Folder>, StoreError>;
    /// Deletes an empty folder (a folder holding runbooks or folders is a `Conflict`).
    async fn delete_folder(&self, path: &str) -> Result<(), StoreError>;
    /// Saves a checked runbook as a new version in the folder its definition names, keeping the
    /// UUIDs its file carries (`uuid` keys from an import). Returns the runbook's id and the
    /// version made.
    async fn save_plan(&self, plan: &Plan, source: &str, author: &str) -> Result<(Uuid, i64), StoreError> {
        let rb = &plan.runbook;
        let definition =
            serde_json::to_value(rb).map_err(|e| StoreError::Invalid(format!("the runbook cannot be stored: {e}")))?;
        let uuid = |text: &Option<String>| text.as_deref().and_then(|t| Uuid::parse_str(t).ok());
        let parameters = plan
            .parameters
            .iter()
            .map(|p| ParameterSpec {
                id: uuid(&p.uuid),
                name: p.name.clone(),
                type_name: p.ty.clone(),
                default: p.default.as_ref().map(scorch_model::template::value_text),
            })
            .collect();
        let activities = rb
            .activities
            .iter()
            .map(|a| ActivitySpec {
                id: uuid(&a.uuid),
                key: a.id.clone(),
                name: a.display_name().to_string(),
                type_name: a.ty.clone(),
            })
            .collect();
        let save = SaveRunbook {
            id: None,
            folder: rb.folder.as_deref().unwrap_or(""),
            name: &rb.name,
            definition: &definition,
            source,
            parameters,
            activities,
            author,
        };
        self.save_runbook(save).await
    }
    /// Stores a new version (check-in). A runbook checked out by someone other than
    /// `save.author` is a `Conflict` naming who holds it. The runbook's check-out, if the
    /// author's, is released.
    async fn save_runbook(&self, save: SaveRunbook<'_>) -> Result<(Uuid, i64), StoreError>;
    /// Latest versions, optionally only under a folder path (that folder and its subfolders).
    async fn list_runbooks(&self, under: Option<&str>) -> Result<Vec<RunbookSummary>, StoreError>;
    /// Every checked-in version of a runbook, newest first.
    async fn runbook_versions(&self, id: Uuid) -> Result<Vec<RunbookVersionInfo>, StoreError>;
    /// Locks a runbook for `user`'s edits; someone else's lock is a `Conflict` naming them.
    /// Checking out again by the same user is fine.
    async fn check_out(&self, id: Uuid, user: &str) -> Result<(), StoreError>;
    /// Releases `user`'s lock (or anyone's with `force`, for admins); releasing an unlocked
    /// runbook is fine.
    async fn undo_check_out(&self, id: Uuid, user: &str, force: bool) -> Result<(), StoreError>;
}

/// Users, tokens and grants: sign-in lookups and their administration.
#[async_trait]
pub trait Access: Send + Sync + 'static {
    /// A new user; `password_hash` is an argon2 PHC string (None: token-only user).
    async fn create_user(&self, name: &str, password_hash: Option<&str>, admin: bool) -> Result<User, StoreError>;
    async fn user(&self, name: &str) -> Result<User, StoreError>;
    async fn users(&self) -> Result<Vec<User>, StoreError>;
    async fn set_password(&self, name: &str, password_hash: &str) -> Result<(), StoreError>;
    /// Makes a user a system administrator (`true`), or no longer one.
    async fn set_admin(&self, name: &str, admin: bool) -> Result<(), StoreError>;
    async fn delete_user(&self, name: &str) -> Result<(), StoreError>;
    /// Stores a token by its hash (SHA-256 hex of the secret, which is never stored).
    async fn create_token(&self, user: &str, token_hash: &str, label: &str) -> Result<TokenInfo, StoreError>;
    /// The user a token belongs to, if the token exists and is not revoked. The answer may be up
    /// to 5 s old (a lookup kept by this process, forgotten at once by changes it hears of).
    async fn token_user(&self, token_hash: &str) -> Result<Option<User>, StoreError>;
    async fn tokens(&self, user: &str) -> Result<Vec<TokenInfo>, StoreError>;
    async fn revoke_token(&self, id: Uuid) -> Result<(), StoreError>;
    /// Revokes the token with this hash (a sign-out); an unknown or revoked one is fine.
    async fn revoke_token_hash(&self, token_hash: &str) -> Result<(), StoreError>;
    /// Grants `role` on a folder (and its subfolders) to a user, replacing an earlier grant there.
    async fn grant(&self, user: &str, folder: &str, role: Role) -> Result<(), StoreError>;
    async fn revoke(&self, user: &str, folder: &str) -> Result<(), StoreError>;
}

/// Running the orchestration beside the job path: audited and awaited job starts, listing
/// instances, administering variables and counters, the audit log, retention and checkpoints.
#[async_trait]
pub trait Operations: JobPath {
    /// Writes everything to the main database file where that means something (SQLite's WAL
    /// checkpoint); a no-op elsewhere.
    async fn checkpoint(&self) -> Result<(), StoreError>;
    /// Puts job `id`'s creation on disk before it returns (one durable write; what a job created
    /// [`NewJob::awaited`] needs before anyone is told of it). `NotFound` when the job is not in
    /// the store.
    async fn make_job_durable(&self, id: Uuid) -> Result<(), StoreError>;
    /// Creates a job as `create_job` does and records `audit` about it (its `object_id` becomes
    /// the new job's id) in the same commit where the backend can. The inner result is the audit
    /// record's: the job exists even when its audit record could not be written.
    async fn create_job_audited(
        &self,
        job: NewJob<'_>,
        audit: NewAudit<'_>,
    ) -> Result<(Job, Result<(), StoreError>), StoreError> {
        let created = self.create_job(job).await?;
        let audited = self
            .audit(NewAudit {
                object_id: Some(created.id),
                ..audit
            })
            .await;
        Ok((created, audited))
    }
    /// Jobs counted by status, each with its oldest creation time (what metrics show on each
    /// scrape: one grouped read of an index, not a read per job).
    async fn job_counts(&self) -> Result<Vec<JobCount>, StoreError>;
    /// Newest first.
    async fn list_instances(&self, filter: &InstanceFilter) -> Result<Vec<InstanceRow>, StoreError>;
    /// The last failed run of each of `instances` that has one (in no particular order): where a
    /// failed instance failed, for a list of them, in one read.
    async fn failed_runs(&self, instances: &[Uuid]) -> Result<Vec<FailedRun>, StoreError>;

    // ---- global settings ----

    async fn set_variable(&self, name: &str, value: &str, encrypted: bool) -> Result<(), StoreError>;
    /// Every variable; encrypted ones without their value.
    async fn variables(&self) -> Result<Vec<VariableInfo>, StoreError>;
    async fn delete_variable(&self, name: &str) -> Result<(), StoreError>;
    /// Creates or sets a counter; its reset default becomes `value`.
    async fn set_counter(&self, name: &str, value: i64) -> Result<(), StoreError>;
    async fn counters(&self) -> Result<Vec<CounterInfo>, StoreError>;
    async fn delete_counter(&self, name: &str) -> Result<(), StoreError>;
    /// Creates or replaces a computer group.
    async fn set_group(&self, name: &str, hosts: &[String]) -> Result<(), StoreError>;
    async fn groups(&self) -> Result<Vec<GroupInfo>, StoreError>;
    async fn delete_group(&self, name: &str) -> Result<(), StoreError>;
    /// Creates or replaces a schedule; `definition` is stored as given (callers check it).
    async fn set_schedule(&self, name: &str, definition: &Value) -> Result<(), StoreError>;
    async fn schedules(&self) -> Result<Vec<ScheduleInfo>, StoreError>;
    async fn delete_schedule(&self, name: &str) -> Result<(), StoreError>;

    // ---- audit and retention ----

    async fn audit(&self, entry: NewAudit<'_>) -> Result<(), StoreError>;
    /// Newest first.
    async fn audit_log(&self, limit: u32, offset: u32) -> Result<Vec<AuditEntry>, StoreError> {
        self.search_audit(&AuditFilter {
            limit,
            offset,
            ..AuditFilter::default()
        })
        .await
    }
    /// The entries that pass `filter`, newest first.
    async fn search_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError>;
    /// Deletes finished instances (with their runs) by the rule, in batches of `batch`, each in
    /// its own short transaction; returns how many were (or, with `dry_run`, would be) deleted.
    async fn purge_instances(&self, rule: &PurgeRule, batch: u32, dry_run: bool) -> Result<u64, StoreError>;
}

/// The orchestration database: every capability, for the roles that need them all (the
/// management server and web service, and tests). Implementations are cheap to clone behind an
/// `Arc` and safe to share between tasks. An `Arc<dyn Store>` upcasts to any one capability.
pub trait Store: Authoring + Access + Operations + JobPath {}

impl<T: Authoring + Access + Operations + JobPath + ?Sized> Store for T {}

/// A committed change, for live views and waiting callers.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Job {
        id: Uuid,
        runbook_id: Uuid,
        status: JobStatus,
    },
    Instance {
        id: Uuid,
        job_id: Uuid,
        status: scorch_engine::InstanceStatus,
    },
    ActivityRun {
        instance_id: Uuid,
        seq: u64,
        activity_id: String,
        state: scorch_engine::RunState,
    },
    /// Live output of run `seq` was stored ([`JobPath::append_output`]); read it with
    /// [`JobPath::output`]. Only ids: a notification carries no text.
    Output { instance_id: Uuid, seq: u64 },
    /// A trigger or note of monitor job `job_id` was recorded ([`JobPath::record_trigger`]);
    /// sent with job changes.
    Trigger { job_id: Uuid },
    /// Changes may have been missed (this process lost its connection for them, since
    /// re-established): a subscriber reads again what it keeps, as after a lag. Sent to every
    /// subscriber, of job changes too.
    Missed,
}

/// A trigger of a monitor job, or a note (no instance: a skipped or missed occurrence).
#[derive(Debug, Clone, PartialEq)]
pub struct NewTrigger {
    /// Unique within the job: a second record of the same key is refused.
    pub key: String,
    /// The instance it starts; `None` for a note.
    pub instance_id: Option<Uuid>,
    /// The published row (JSON object text), or the note's text.
    pub data: String,
}

/// A recorded trigger or note.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerRecord {
    pub seq: i64,
    pub job_id: Uuid,
    pub key: String,
    pub instance_id: Option<Uuid>,
    pub data: String,
    pub created_at: Timestamp,
}

/// What `create_job` needs.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub runbook_id: Uuid,
    /// The version `parameters` were checked against, which must still be the runbook's latest
    /// checked-in version when the job is created: a job always runs the latest, and a caller
    /// that read an older one (from a cache, or just before a check-in) gets
    /// [`StoreError::Conflict`] and checks again. `None`: the latest, whatever it is.
    pub version: Option<i64>,
    /// Already typed and validated against the version's parameters.
    pub parameters: &'a Map<String, Value>,
    pub created_by: &'a str,
    /// The job whose `invoke_runbook` started this one.
    pub parent_job: Option<Uuid>,
    /// The creator answers no one with the job before it has ended (a start that waits for its
    /// outcome): the store may acknowledge the creation before it reaches the disk, since the
    /// job's end is written durably after it and covers it. A creator that answers with the job
    /// before its end (a wait that timed out) calls [`Operations::make_job_durable`] first. (Change
    /// subscribers hear of it at once, as they hear of other records not yet on disk.)
    pub awaited: bool,
}

/// The version a job asked for with `version` (see [`NewJob::version`]) runs when the runbook's
/// latest is `latest`.
pub(crate) fn job_version(runbook_id: Uuid, version: Option<i64>, latest: i64) -> Result<i64, StoreError> {
    match version {
        None => Ok(latest),
        Some(version) if version == latest => Ok(version),
        Some(version) if (1..latest).contains(&version) => Err(StoreError::Conflict(format!(
            "runbook {runbook_id}: version {version} is no longer the latest (version {latest} is)"
        ))),
        Some(version) => Err(StoreError::NotFound(format!("runbook {runbook_id} version {version}"))),
    }
}

/// Why `server` may not end or hand back job `id`, given what reading the job found.
pub(crate) fn not_held(id: Uuid, server: &str, read: Result<Job, StoreError>) -> StoreError {
    match read {
        Ok(job) => {
            let state = match (job.status, job.claimed_by) {
                (JobStatus::Running, Some(holder)) => format!("it is held by '{holder}'"),
                (JobStatus::Running, None) => "it is waiting for a runbook server to take it over".to_string(),
                (status, _) => format!("it is {}", status.as_str()),
            };
            StoreError::Conflict(format!("job {id} is not held by runbook server '{server}': {state}"))
        }
        Err(err) => err,
    }
}

/// A job with what its instance did ([`JobPath::job_result`]).
#[derive(Debug, Clone)]
pub struct JobResult {
    pub job: Job,
    /// Once the job has ended: its instance, if it got one.
    pub instance: Option<InstanceRow>,
    /// The instance's activity runs, in start order (empty without an instance).
    pub runs: Vec<RunRecord>,
}

/// A job taken by a runbook server.
#[derive(Debug, Clone)]
pub struct Claim {
    pub job: Job,
    /// The instance to run (new) or to continue (`resume`).
    pub instance_id: Uuid,
    pub resume: bool,
    /// The version the job runs.
    pub runbook: Runbook,
}

#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Only jobs whose id the fragment may stand for (a caller resolving a short id).
    pub id: Option<IdMatch>,
    pub runbook_id: Option<Uuid>,
    /// Only jobs of these runbooks (what a caller may see), when set.
    pub runbooks: Option<Vec<Uuid>>,
    pub status: Option<JobStatus>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub limit: u32,
    pub offset: u32,
}

/// Which audit entries a search returns: all of the conditions set, a page of them.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this actor's (exactly).
    pub actor: Option<String>,
    /// Only this action (`job.start`), or, ending in `.`, the actions it begins (`job.`).
    pub action: Option<String>,
    /// At or after this time.
    pub since: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
    /// Only entries whose actor, action, object or detail contains this (case-insensitive).
    pub text: Option<String>,
    /// At most this many; 0 is no limit.
    pub limit: u32,
    pub offset: u32,
}

/// Where a failed instance failed: its last failed activity run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRun {
    pub instance_id: Uuid,
    pub activity_id: String,
    pub activity_name: String,
    pub error: String,
}

#[derive(Debug, Clone, Default)]
pub struct InstanceFilter {
    /// Only instances whose id the fragment may stand for (a caller resolving a short id).
    pub id: Option<IdMatch>,
    pub runbook_id: Option<Uuid>,
    /// Only instances of these runbooks (what a caller may see), when set.
    pub runbooks: Option<Vec<Uuid>>,
    pub job_id: Option<Uuid>,
    pub status: Option<scorch_engine::InstanceStatus>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub limit: u32,
    pub offset: u32,
}

/// Which instances a purge removes: outside the last `keep_last` of their runbook AND (when
/// set) older than `older_than`. At least one of the two must be set. Running instances stay.
#[derive(Debug, Clone, Default)]
pub struct PurgeRule {
    pub runbook_id: Option<Uuid>,
    pub keep_last: Option<u32>,
    pub older_than: Option<Timestamp>,
}
