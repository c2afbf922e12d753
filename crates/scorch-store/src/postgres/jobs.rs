//! Jobs: requests to run a runbook version, and the queue runbook servers claim them from.
//!
//! Creating a job goes through the store's group-commit writer ([`super::journal`]), with its
//! audit record in the same statement; reads and the rare writes (cancel, release) use the pool.
//!
//! A claim is one call of `scorch_claim_jobs` (migration 0005), on a connection the store keeps for
//! its claims: one round trip and one commit however many jobs it takes.
//! 1. jobs whose lease expired, `FOR UPDATE SKIP LOCKED`: rows another claim has locked are
//!    skipped, never waited for, so concurrent claims take different jobs. They hold no new slot
//!    of their runbook's concurrency (they were running);
//! 2. pending jobs in queue order, locked the same way as they are read; for each runbook met, a
//!    transaction-level advisory lock. Claims of one runbook's jobs thus queue for a moment, and a
//!    statement that starts after the lock is granted sees every claim committed before: two
//!    servers cannot both take the last slot of a runbook's `concurrency`, which row locks on
//!    different jobs alone would allow (each would count the other's job as pending). Only the
//!    first advisory lock of a claim is waited for, later ones are tried, so a claim that holds
//!    one never waits for another: claims cannot deadlock;
//! 3. under the lock, in a statement of its own (a PL/pgSQL function's statements each take a
//!    fresh snapshot), the runbook's running jobs are counted once; jobs are taken while a slot is
//!    free (the claim counts its own takes), and a runbook without one is passed over;
//! 4. one update marks every job taken running under a lease (on the database's clock) and keeps or
//!    makes its instance id.
//!
//! Every take is announced in one notification when the claim commits.

use std::time::Duration;

use scorch_engine::InstanceEnd;
use sqlx::Row as _;
use std::collections::HashMap;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::{Postgres, QueryBuilder};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::changes::notify_job;
use super::instances::{self, InstanceNames};
use super::journal::{self, AuditRow, JobEnd, NewJobRow, RunNames};
use super::runbooks;
use super::{PgStore, duration_micros, from_json, limit, timestamp, to_json};
use crate::versions::Head;
use crate::{Claim, Job, JobFilter, JobResult, JobStatus, NewAudit, NewJob, StoreError};

/// Jobs one claim takes at most (each needs an instance id made beforehand).
const MAX_CLAIM: usize = 4096;

/// Takes up to $4 jobs for server $1 with a lease of $2 microseconds, counting servers alive when
/// they heartbeated within $3 microseconds; $5 holds a new instance id per job. When no job is
/// pending and no lease has expired (most claims: every server looks for work whenever a job is
/// created or ends), two index probes answer, and the claim function is not called.
const CLAIM: &str = "SELECT * FROM scorch_claim_jobs($1, $2, $3, $4, $5)
     WHERE EXISTS (SELECT 1 FROM jobs WHERE status = 'pending')
        OR EXISTS (SELECT 1 FROM jobs WHERE status = 'running'
                   AND COALESCE(lease_expires_at, 0) < (SELECT scorch_now_us()))";

/// The columns [`decode`] reads.
macro_rules! job_columns {
    ($alias:literal) => {
        concat!(
            $alias,
            ".id, ",
            $alias,
            ".runbook_id, ",
            $alias,
            ".version, ",
            $alias,
            ".parameters, ",
            $alias,
            ".status, ",
            $alias,
            ".created_at, ",
            $alias,
            ".created_by, ",
            $alias,
            ".parent_job, ",
            $alias,
            ".claimed_by, ",
            $alias,
            ".instance_id, ",
            $alias,
            ".cancel_requested, ",
            $alias,
            ".ended_at"
        )
    };
}

/// Records a pending job (UUID v7 ids sort by creation) of the runbook's latest version (see
/// [`NewJob::version`](crate::NewJob::version)), and
/// `audit` about it (its object the new job) in the same statement, through the store's writer.
/// The inner result is the audit record's: the job exists even when that could not be written.
pub(super) async fn create(
    store: &PgStore,
    new: NewJob<'_>,
    audit: Option<NewAudit<'_>>,
) -> Result<(Job, Result<(), StoreError>), StoreError> {
    let id = Uuid::now_v7();
    let audit = match audit {
        Some(entry) => Some(AuditRow {
            actor: entry.actor.to_string(),
            action: entry.action.to_string(),
            object_type: entry.object_type.to_string(),
            detail: if entry.detail.is_null() {
                None
            } else {
                Some(to_json(entry.detail)?)
            },
        }),
        None => None,
    };
    let row = NewJobRow {
        id,
        runbook_id: new.runbook_id,
        version: new.version,
        parameters: to_json(new.parameters)?,
        created_by: new.created_by.to_string(),
        parent_job: new.parent_job,
        audit,
        awaited: new.awaited,
    };
    let created = store
        .shared
        .kept
        .job_created(store.shared.journal.create_job(row).await)?;
    let job = Job {
        id,
        runbook_id: new.runbook_id,
        version: created.version,
        parameters: new.parameters.clone(),
        status: JobStatus::Pending,
        created_at: timestamp(created.created_at)?,
        created_by: new.created_by.to_string(),
        parent_job: new.parent_job,
        claimed_by: None,
        instance_id: None,
        cancel_requested: false,
        ended_at: None,
    };
    Ok((job, created.audited))
}

/// Job `id`'s creation on disk ([`crate::Store::make_job_durable`]): a commit flushes the WAL
/// (synchronous_commit is on outside relaxed batches) only when its transaction wrote some, so
/// this rewrites the job's row as it is; the flush covers every commit before it.
pub(super) async fn make_durable(store: &PgStore, id: Uuid) -> Result<(), StoreError> {
    let touched = sqlx::query("UPDATE jobs SET created_at = created_at WHERE id = $1")
        .bind(id)
        .execute(store.pool())
        .await?;
    match touched.rows_affected() {
        0 => Err(StoreError::NotFound(format!("job {id}"))),
        _ => Ok(()),
    }
}

pub(super) async fn get(store: &PgStore, id: Uuid) -> Result<Job, StoreError> {
    let row = sqlx::query(concat!("SELECT ", job_columns!("j"), " FROM jobs j WHERE j.id = $1"))
        .bind(id)
        .fetch_optional(store.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("job {id}")))?;
    decode(&row)
}

/// Jobs ($1), and once each has ended its instance (joined only then) with the instance's runs,
/// one row per run (or one row without a run), a job's rows together.
const RESULTS: &str = concat!(
    "SELECT ",
    job_columns!("j"),
    ", i.uuid AS instance_uuid, i.job_id AS instance_job_id, i.runbook_id AS instance_runbook_id,
       i.server AS instance_server, i.status AS instance_status, i.parameters AS instance_parameters,
       i.returns AS instance_returns, i.started_at AS instance_started_at, i.ended_at AS instance_ended_at,
       i.problems AS instance_problems,
       r.seq AS run_seq, r.run_key AS run_key, r.activity_id AS run_activity_id,
       r.activity_name AS run_activity_name, r.attempt AS run_attempt, r.state AS run_state, r.error AS run_error,
       r.started_at AS run_started_at, r.ended_at AS run_ended_at, r.published AS run_published,
       r.truncated AS run_truncated
     FROM jobs j
     LEFT JOIN instances i ON i.uuid = j.instance_id AND j.status IN ('completed', 'failed', 'canceled')
     LEFT JOIN activity_runs r ON r.instance_id = i.id
     WHERE j.id = ANY ($1)
     ORDER BY j.id, r.seq"
);

const RESULT_INSTANCE: InstanceNames = [
    "instance_uuid",
    "instance_job_id",
    "instance_runbook_id",
    "instance_server",
    "instance_status",
    "instance_parameters",
    "instance_returns",
    "instance_started_at",
    "instance_ended_at",
    "instance_problems",
];

const RESULT_RUN: RunNames = [
    "run_seq",
    "run_key",
    "run_activity_id",
    "run_activity_name",
    "run_attempt",
    "run_state",
    "run_error",
    "run_started_at",
    "run_ended_at",
    "run_published",
    "run_truncated",
];

/// Jobs with, once each has ended, its instance and the instance's runs: one read however many
/// (see [`ResultReader`]). Jobs not in the store are missing from the answer.
async fn results(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Result<JobResult, StoreError>>, StoreError> {
    let rows = sqlx::query(RESULTS).bind(ids).fetch_all(conn).await?;
    let mut results = HashMap::with_capacity(ids.len());
    for rows in rows.chunk_by(|a, b| a.try_get::<Uuid, _>("id").ok() == b.try_get::<Uuid, _>("id").ok()) {
        let id: Uuid = rows[0].try_get("id")?;
        results.insert(id, decode_result(rows));
    }
    Ok(results)
}

/// Job `id`'s entry in what [`results`] found.
fn result_of(found: &HashMap<Uuid, Result<JobResult, StoreError>>, id: Uuid) -> Result<JobResult, StoreError> {
    found
        .get(&id)
        .cloned()
        .unwrap_or_else(|| Err(StoreError::NotFound(format!("job {id}"))))
}

/// One job's rows of [`RESULTS`] (at least one).
fn decode_result(rows: &[PgRow]) -> Result<JobResult, StoreError> {
    let first = &rows[0];
    let job = decode(first)?;
    let (instance, runs) = match job.instance_id {
        Some(instance_id) if job.status.is_final() => {
            if first.try_get::<Option<Uuid>, _>("instance_uuid")?.is_none() {
                return Err(StoreError::NotFound(format!("instance {instance_id}")));
            }
            let instance = instances::decode_as(first, &RESULT_INSTANCE)?;
            let mut runs = Vec::with_capacity(rows.len());
            for row in rows {
                if row.try_get::<Option<i64>, _>("run_seq")?.is_some() {
                    runs.push(journal::decode_run(instance_id, row, &RESULT_RUN)?);
                }
            }
            (Some(instance), runs)
        }
        _ => (None, Vec::new()),
    };
    Ok(JobResult { job, instance, runs })
}

/// Reads job results for every caller of this process, on a connection of its own, with one
/// query for all that asked meanwhile: a web service answering many `wait` requests is woken by
/// one job-end notification for several jobs (a runbook server's writer ends them in one commit),
/// and each would otherwise read its own. The connection plans the read once
/// ([`super::kept_connection`]): on a pool connection PostgreSQL planned it afresh for
/// every read (the number of jobs asked for makes a custom plan look cheaper), which cost more
/// than reading.
#[derive(Debug)]
pub(super) struct ResultReader {
    requests: mpsc::Sender<ResultRequest>,
}

type ResultRequest = (Uuid, oneshot::Sender<Result<JobResult, StoreError>>);

/// Requests one read takes at most.
const MAX_READ: usize = 256;

impl ResultReader {
    pub(super) fn start(pool: PgPool) -> Self {
        let (requests, mut queue) = mpsc::channel::<ResultRequest>(4096);
        tokio::spawn(async move {
            let mut conn = None;
            let mut batch = Vec::with_capacity(MAX_READ);
            while queue.recv_many(&mut batch, MAX_READ).await > 0 {
                let ids: Vec<Uuid> = batch.iter().map(|(id, _)| *id).collect();
                let found = read_kept(&pool, &mut conn, &ids).await;
                for (id, answer) in batch.drain(..) {
                    let _ = answer.send(
                        found
                            .as_ref()
                            .map_err(Clone::clone)
                            .and_then(|found| result_of(found, id)),
                    );
                }
            }
        });
        ResultReader { requests }
    }

    pub(super) async fn read(&self, id: Uuid) -> Result<JobResult, StoreError> {
        let stopped = || StoreError::Unavailable("the job result reader has stopped".into());
        let (answer, answered) = oneshot::channel();
        self.requests.send((id, answer)).await.map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

/// [`results`] on the reader's kept connection. A read that finds the database unavailable is
/// tried once more on a new connection (the kept one may have been closed while idle, or the
/// database restarted).
async fn read_kept(
    pool: &PgPool,
    conn: &mut Option<PoolConnection<Postgres>>,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Result<JobResult, StoreError>>, StoreError> {
    let mut last = None;
    for _ in 0..2 {
        match results(super::kept_connection(conn, pool).await?, ids).await {
            Err(err @ StoreError::Unavailable(_)) => {
                // Dropped, it is closed (see `kept_connection`).
                *conn = None;
                last = Some(err);
            }
            answered => return answered,
        }
    }
    Err(last.expect("a failed read"))
}

/// Newest first; `limit` 0 is no limit.
pub(super) async fn list(store: &PgStore, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
    let mut query = QueryBuilder::<Postgres>::new(concat!("SELECT ", job_columns!("j"), " FROM jobs j WHERE true"));
    if let Some(runbook_id) = filter.runbook_id {
        query.push(" AND j.runbook_id = ").push_bind(runbook_id);
    }
    if let Some(runbooks) = &filter.runbooks {
        query
            .push(" AND j.runbook_id = ANY(")
            .push_bind(runbooks.clone())
            .push(")");
    }
    if let Some(status) = filter.status {
        query.push(" AND j.status = ").push_bind(status.as_str());
    }
    if let Some(since) = filter.since {
        query.push(" AND j.created_at >= ").push_bind(since.as_microsecond());
    }
    if let Some(until) = filter.until {
        query.push(" AND j.created_at < ").push_bind(until.as_microsecond());
    }
    query
        .push(" ORDER BY j.created_at DESC, j.id DESC LIMIT ")
        .push_bind(limit(filter.limit))
        .push(" OFFSET ")
        .push_bind(i64::from(filter.offset));
    let rows = query.build().fetch_all(store.pool()).await?;
    rows.iter().map(decode).collect()
}

/// A pending job is canceled at once; a running one is flagged for its server.
pub(super) async fn cancel(store: &PgStore, id: Uuid) -> Result<Job, StoreError> {
    let row = sqlx::query(concat!(
        // A running job no runbook server holds (handed back, or its holder's lease has passed)
        // has nobody to stop it: it ends at once, with its instance, as a pending one does.
        "WITH o AS (
             SELECT id, status = 'pending'
                 OR claimed_by IS NULL OR COALESCE(lease_expires_at, 0) < scorch_now_us() AS now
             FROM jobs WHERE id = $1 AND status IN ('pending', 'running') FOR UPDATE),
         j AS (
             UPDATE jobs SET
                 status = CASE WHEN o.now THEN 'canceled' ELSE jobs.status END,
                 ended_at = CASE WHEN o.now THEN scorch_now_us() ELSE ended_at END,
                 claimed_by = CASE WHEN o.now THEN NULL ELSE claimed_by END,
                 lease_expires_at = CASE WHEN o.now THEN NULL ELSE lease_expires_at END,
                 cancel_requested = cancel_requested OR jobs.status = 'running'
             FROM o WHERE jobs.id = o.id RETURNING jobs.*),
         i AS (
             UPDATE instances SET status = 'canceled', ended_at = scorch_now_us()
             WHERE uuid = (SELECT instance_id FROM j WHERE status = 'canceled') AND status = 'running')
         SELECT ",
        job_columns!("j"),
        ", ",
        notify_job!("j"),
        " FROM j"
    ))
    .bind(id)
    .fetch_optional(store.pool())
    .await?;
    match row {
        Some(row) => decode(&row),
        None => {
            let job = get(store, id).await?;
            Err(StoreError::Conflict(format!(
                "cannot change the job status to canceled: the job is {}",
                job.status.as_str()
            )))
        }
    }
}

pub(super) async fn claim(
    store: &PgStore,
    server: &str,
    lease: Duration,
    alive_within: Duration,
    max: usize,
) -> Result<Vec<Claim>, StoreError> {
    let max = max.min(MAX_CLAIM);
    if max == 0 {
        return Ok(Vec::new());
    }
    let instances: Vec<Uuid> = (0..max).map(|_| Uuid::now_v7()).collect();
    let mut kept = store.shared.claimer.lock().await;
    let conn = super::kept_connection(&mut kept, store.pool()).await?;
    let claimed = sqlx::query(CLAIM)
        .bind(server)
        .bind(duration_micros(lease))
        .bind(duration_micros(alive_within))
        .bind(i32::try_from(max).unwrap_or(i32::MAX))
        .bind(&instances)
        .fetch_all(&mut **conn)
        .await;
    let rows = match claimed {
        Ok(rows) => rows,
        Err(err) => {
            // Closed (see `kept_connection`): the next claim opens another.
            *kept = None;
            return Err(err.into());
        }
    };
    let mut claims = Vec::with_capacity(rows.len());
    for row in &rows {
        match taken(store, conn, row).await {
            Ok(claim) => claims.push(claim),
            Err(err) => {
                // Taken (and committed) but not handed over: give the jobs back at once rather
                // than leave them to their leases.
                *kept = None;
                drop(kept);
                for row in &rows {
                    if let Ok(id) = row.try_get::<Uuid, _>("id") {
                        let _ = release(store, id, server).await;
                    }
                }
                return Err(err);
            }
        }
    }
    Ok(claims)
}

/// A job as the claim function returns it, with its runbook version (cached, or read here).
async fn taken(store: &PgStore, conn: &mut PgConnection, row: &PgRow) -> Result<Claim, StoreError> {
    let job = decode(row)?;
    let head = Head {
        id: job.runbook_id,
        name: row.try_get("runbook_name")?,
        folder: row.try_get("folder_path")?,
        latest_version: row.try_get("latest_version")?,
        checked_out_by: row.try_get("checked_out_by")?,
    };
    let runbook = runbooks::assemble(store, conn, head, job.version).await?;
    let instance_id = job
        .instance_id
        .ok_or_else(|| StoreError::Invalid(format!("claimed job {} has no instance", job.id)))?;
    Ok(Claim {
        resume: row.try_get("resume")?,
        job,
        instance_id,
        runbook,
    })
}

/// Extends the leases of `server`'s running jobs; returns those whose cancellation was requested.
pub(super) async fn renew(
    store: &PgStore,
    server: &str,
    jobs: &[Uuid],
    lease: Duration,
) -> Result<Vec<Uuid>, StoreError> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let renewed: Vec<(Uuid, bool)> = sqlx::query_as(
        "UPDATE jobs SET lease_expires_at = scorch_now_us() + $1
         WHERE id = ANY($3) AND claimed_by = $2 AND status = 'running'
         RETURNING id, cancel_requested",
    )
    .bind(duration_micros(lease))
    .bind(server)
    .bind(jobs)
    .fetch_all(store.pool())
    .await?;
    let mut canceled: Vec<Uuid> = renewed.into_iter().filter(|(_, c)| *c).map(|(id, _)| id).collect();
    canceled.sort();
    Ok(canceled)
}

/// Ends a job `server` holds.
pub(super) async fn finish(store: &PgStore, id: Uuid, server: &str, status: JobStatus) -> Result<(), StoreError> {
    check_end(id, status)?;
    let done = sqlx::query(concat!(
        "WITH j AS (
             UPDATE jobs SET status = $3, ended_at = scorch_now_us(), lease_expires_at = NULL
             WHERE id = $1 AND claimed_by = $2 AND status = 'running' RETURNING id, runbook_id, status)
         SELECT ",
        notify_job!("j"),
        " FROM j"
    ))
    .bind(id)
    .bind(server)
    .bind(status.as_str())
    .fetch_optional(store.pool())
    .await?;
    match done {
        Some(_) => Ok(()),
        None => Err(not_held(store, id, server).await),
    }
}

/// Records an instance's end and ends its job in one statement, through the store's writer
/// (with whatever else it commits then). The end is recorded even when the job is no longer
/// `server`'s, which is then a conflict.
pub(super) async fn finish_with_end(
    store: &PgStore,
    end: &InstanceEnd,
    id: Uuid,
    server: &str,
    status: JobStatus,
) -> Result<(), StoreError> {
    check_end(id, status)?;
    let job = JobEnd {
        id,
        server: server.to_string(),
        status,
    };
    match store.shared.journal.finish(end, job).await? {
        true => Ok(()),
        false => Err(not_held(store, id, server).await),
    }
}

/// A job ends as completed, failed or canceled.
fn check_end(id: Uuid, status: JobStatus) -> Result<(), StoreError> {
    if matches!(status, JobStatus::Pending | JobStatus::Running) {
        return Err(StoreError::Invalid(format!(
            "job {id}: a job finishes as completed, failed or canceled, not {}",
            status.as_str()
        )));
    }
    Ok(())
}

/// Hands a running job back: no holder, no lease, so the next claim continues its instance. The
/// change wakes the other runbook servers to take it.
pub(super) async fn release(store: &PgStore, id: Uuid, server: &str) -> Result<(), StoreError> {
    // The engine does not wait for some records (see `PgJournal::hand_over`): they are written
    // before the job becomes another server's to resume.
    store.shared.journal.barrier().await?;
    let done = sqlx::query(concat!(
        "WITH j AS (
             UPDATE jobs SET claimed_by = NULL, lease_expires_at = NULL
             WHERE id = $1 AND claimed_by = $2 AND status = 'running' RETURNING id, runbook_id, status)
         SELECT ",
        notify_job!("j"),
        " FROM j"
    ))
    .bind(id)
    .bind(server)
    .fetch_optional(store.pool())
    .await?;
    match done {
        Some(_) => Ok(()),
        None => Err(not_held(store, id, server).await),
    }
}

/// Hands back every job held under `server`'s name (a previous life's), after the records this
/// process's writer holds (as `release`).
pub(super) async fn release_held(store: &PgStore, server: &str) -> Result<Vec<Uuid>, StoreError> {
    store.shared.journal.barrier().await?;
    let released = sqlx::query_scalar(concat!(
        "WITH j AS (
             UPDATE jobs SET claimed_by = NULL, lease_expires_at = NULL
             WHERE claimed_by = $1 AND status = 'running' RETURNING id, runbook_id, status)
         SELECT j.id FROM j, LATERAL (SELECT ",
        notify_job!("j"),
        ") n"
    ))
    .bind(server)
    .fetch_all(store.pool())
    .await?;
    Ok(released)
}

/// Why `server` may not end or hand back job `id`.
async fn not_held(store: &PgStore, id: Uuid, server: &str) -> StoreError {
    match get(store, id).await {
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

fn decode(row: &PgRow) -> Result<Job, StoreError> {
    let status: &str = row.try_get("status")?;
    Ok(Job {
        id: row.try_get("id")?,
        runbook_id: row.try_get("runbook_id")?,
        version: row.try_get("version")?,
        parameters: from_json(row.try_get("parameters")?, "job parameters")?,
        status: JobStatus::parse(status)
            .ok_or_else(|| StoreError::Corrupt(format!("stored job status '{status}' is unknown")))?,
        created_at: timestamp(row.try_get("created_at")?)?,
        created_by: row.try_get("created_by")?,
        parent_job: row.try_get("parent_job")?,
        claimed_by: row.try_get("claimed_by")?,
        instance_id: row.try_get("instance_id")?,
        cancel_requested: row.try_get("cancel_requested")?,
        ended_at: row.try_get::<Option<i64>, _>("ended_at")?.map(timestamp).transpose()?,
    })
}
