//! Jobs: requests to run a runbook version, and the queue runbook servers claim them from.
//!
//! A claim is one short transaction:
//! 1. pick the oldest job this server may take, `FOR UPDATE SKIP LOCKED`: rows another claim has
//!    locked are skipped, never waited for, so concurrent claims take different jobs;
//! 2. for a pending job, take a transaction-level advisory lock on its runbook. Claims of one
//!    runbook's jobs thus queue for a moment, and a statement that starts after the lock is granted
//!    sees every claim committed before: two servers cannot both take the last slot of a runbook's
//!    `concurrency`, which row locks on different jobs alone would allow (each would count the
//!    other's job as pending). The count in the candidate query is only a cheap pre-filter. Only
//!    the first advisory lock of a claim is waited for, later ones are tried, so a claim that holds
//!    one never waits for another: claims cannot deadlock;
//! 3. in one statement: count the runbook's running jobs again (now exact), mark the job running
//!    under a lease (on the database's clock), keep or make its instance id, and `pg_notify`.

use std::time::Duration;

use sqlx::Row as _;
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use super::changes::notify_job;
use super::runbooks::{self, Header};
use super::{PgStore, duration_micros, from_json, limit, timestamp, to_json};
use crate::{Claim, Job, JobFilter, JobStatus, NewJob, StoreError};

/// Candidates a claim looks at before giving up for now (each rejected one was lost to a race).
const CLAIM_TRIES: usize = 16;

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

/// Whether server $2 may take a job of runbook version `v`, given the servers alive (heartbeat
/// within $1 microseconds): the version names no preferred servers; or $2 is the first listed
/// server alive; or $2 is not listed and no listed server is alive.
macro_rules! preferred {
    () => {
        "(cardinality(v.runbook_servers) = 0
          OR (SELECT p.name FROM unnest(v.runbook_servers) WITH ORDINALITY AS p(name, n)
                JOIN runbook_servers s ON s.name = p.name AND s.heartbeat_at >= scorch_now_us() - $1
              ORDER BY p.n LIMIT 1) = $2
          OR (NOT ($2 = ANY (v.runbook_servers))
              AND NOT EXISTS (SELECT 1 FROM runbook_servers s
                              WHERE s.name = ANY (v.runbook_servers) AND s.heartbeat_at >= scorch_now_us() - $1)))"
    };
}

/// The oldest job server $2 may take: a pending one whose runbook runs fewer jobs than its
/// version's concurrency, or a running one without a live lease (its server died, or handed it
/// back), skipping the runbooks in $3 and the rows other claims hold.
const CANDIDATE: &str = concat!(
    "SELECT j.id, j.runbook_id, j.status, v.concurrency FROM jobs j
     JOIN runbook_versions v ON v.runbook_id = j.runbook_id AND v.version = j.version
     WHERE j.status IN ('pending', 'running')
       AND (j.status = 'pending' OR j.lease_expires_at IS NULL OR j.lease_expires_at < scorch_now_us())
       AND (j.status = 'running'
            OR (SELECT COUNT(*) FROM jobs r WHERE r.runbook_id = j.runbook_id AND r.status = 'running') < v.concurrency)
       AND NOT (j.runbook_id = ANY ($3))
       AND ",
    preferred!(),
    " ORDER BY j.created_at, j.id LIMIT 1 FOR UPDATE OF j SKIP LOCKED"
);

/// Takes the job: $1 job, $2 server, $3 lease (microseconds), $4 a new instance id; for a pending
/// job, $5 its runbook's concurrency, checked again here, under the runbook's advisory lock, in a
/// statement (and so a snapshot) that began after the lock was granted. No row: no slot left.
const TAKE: &str = concat!(
    "WITH j AS (
         UPDATE jobs SET status = 'running', claimed_by = $2, lease_expires_at = scorch_now_us() + $3,
             instance_id = COALESCE(instance_id, $4)
         WHERE id = $1
           AND ($5::integer IS NULL
                OR (SELECT COUNT(*) FROM jobs r WHERE r.runbook_id = jobs.runbook_id AND r.status = 'running') < $5)
         RETURNING *)
     SELECT ",
    job_columns!("j"),
    ", r.name AS runbook_name, r.latest_version, r.checked_out_by, f.path, ",
    notify_job!("j"),
    " FROM j JOIN runbooks r ON r.id = j.runbook_id JOIN folders f ON f.id = r.folder_id"
);

/// Records a pending job (UUID v7 ids sort by creation) for the given or latest version.
pub(super) async fn create(store: &PgStore, new: NewJob<'_>) -> Result<Job, StoreError> {
    let id = Uuid::now_v7();
    let inserted = sqlx::query(concat!(
        "WITH j AS (
             INSERT INTO jobs (id, runbook_id, version, parameters, status, created_at, created_by, parent_job)
             SELECT $1, r.id, COALESCE($2, r.latest_version), $3, 'pending', scorch_now_us(), $4, $5
             FROM runbooks r WHERE r.id = $6
             RETURNING id, runbook_id, version, status, created_at)
         SELECT j.version, j.created_at, ",
        notify_job!("j"),
        " FROM j"
    ))
    .bind(id)
    .bind(new.version)
    .bind(to_json(new.parameters)?)
    .bind(new.created_by)
    .bind(new.parent_job)
    .bind(new.runbook_id)
    .fetch_optional(store.pool())
    .await;
    let row = match inserted {
        Ok(Some(row)) => row,
        Ok(None) => return Err(StoreError::NotFound(format!("runbook {}", new.runbook_id))),
        Err(sqlx::Error::Database(db)) if db.kind() == sqlx::error::ErrorKind::ForeignKeyViolation => {
            return Err(StoreError::NotFound(format!(
                "runbook {} version {}",
                new.runbook_id,
                new.version.unwrap_or_default()
            )));
        }
        Err(err) => return Err(err.into()),
    };
    Ok(Job {
        id,
        runbook_id: new.runbook_id,
        version: row.try_get("version")?,
        parameters: new.parameters.clone(),
        status: JobStatus::Pending,
        created_at: timestamp(row.try_get("created_at")?)?,
        created_by: new.created_by.to_string(),
        parent_job: new.parent_job,
        claimed_by: None,
        instance_id: None,
        cancel_requested: false,
        ended_at: None,
    })
}

pub(super) async fn get(store: &PgStore, id: Uuid) -> Result<Job, StoreError> {
    let row = sqlx::query(concat!("SELECT ", job_columns!("j"), " FROM jobs j WHERE j.id = $1"))
        .bind(id)
        .fetch_optional(store.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("job {id}")))?;
    decode(&row)
}

/// Newest first; `limit` 0 is no limit.
pub(super) async fn list(store: &PgStore, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
    let mut query = QueryBuilder::<Postgres>::new(concat!("SELECT ", job_columns!("j"), " FROM jobs j WHERE true"));
    if let Some(runbook_id) = filter.runbook_id {
        query.push(" AND j.runbook_id = ").push_bind(runbook_id);
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
        "WITH j AS (
             UPDATE jobs SET
                 status = CASE WHEN status = 'pending' THEN 'canceled' ELSE status END,
                 ended_at = CASE WHEN status = 'pending' THEN scorch_now_us() ELSE ended_at END,
                 cancel_requested = cancel_requested OR status = 'running'
             WHERE id = $1 AND status IN ('pending', 'running') RETURNING *)
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
) -> Result<Option<Claim>, StoreError> {
    let mut tx = store.pool().begin().await?;
    let mut skipped: Vec<Uuid> = Vec::new();
    let mut holds_lock = false;
    for _ in 0..CLAIM_TRIES {
        let candidate = sqlx::query(CANDIDATE)
            .bind(duration_micros(alive_within))
            .bind(server)
            .bind(&skipped)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(candidate) = candidate else {
            break;
        };
        let id: Uuid = candidate.try_get("id")?;
        let runbook_id: Uuid = candidate.try_get("runbook_id")?;
        let resume = candidate.try_get::<&str, _>("status")? == "running";
        // A takeover leaves the runbook's running count as it is; a start needs a free slot.
        let concurrency: Option<i32> = if resume {
            None
        } else {
            if !lock_runbook(&mut tx, runbook_id, &mut holds_lock).await? {
                skipped.push(runbook_id);
                continue;
            }
            Some(candidate.try_get("concurrency")?)
        };
        let row = sqlx::query(TAKE)
            .bind(id)
            .bind(server)
            .bind(duration_micros(lease))
            .bind(Uuid::now_v7())
            .bind(concurrency)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            skipped.push(runbook_id);
            continue;
        };
        let job = decode(&row)?;
        let header = Header {
            name: row.try_get("runbook_name")?,
            folder: row.try_get("path")?,
            latest_version: row.try_get("latest_version")?,
            checked_out_by: row.try_get("checked_out_by")?,
        };
        // The version is read before the commit, so a claim hands back all it needs or nothing.
        let runbook = runbooks::assemble(store, &mut tx, job.runbook_id, job.version, header).await?;
        tx.commit().await?;
        let instance_id = job
            .instance_id
            .ok_or_else(|| StoreError::Invalid(format!("claimed job {id} has no instance")))?;
        return Ok(Some(Claim {
            job,
            instance_id,
            resume,
            runbook,
        }));
    }
    // Nothing taken: let go of the rows and runbook locks looked at, now.
    tx.rollback().await?;
    Ok(None)
}

/// Takes `runbook_id`'s advisory lock (held to the commit): waits for it if this claim holds no
/// other, else only tries (false: another claim is busy with the runbook).
async fn lock_runbook(conn: &mut PgConnection, runbook_id: Uuid, holds_lock: &mut bool) -> Result<bool, StoreError> {
    let (high, low) = runbook_id.as_u64_pair();
    let key = (high ^ low) as i64;
    if *holds_lock {
        Ok(sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(key)
            .fetch_one(&mut *conn)
            .await?)
    } else {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(key)
            .execute(&mut *conn)
            .await?;
        *holds_lock = true;
        Ok(true)
    }
}

/// Extends the leases of `server`'s running jobs; returns those whose cancellation was requested.
pub(super) async fn renew(store: &PgStore, server: &str, lease: Duration) -> Result<Vec<Uuid>, StoreError> {
    let renewed: Vec<(Uuid, bool)> = sqlx::query_as(
        "UPDATE jobs SET lease_expires_at = scorch_now_us() + $1 WHERE claimed_by = $2 AND status = 'running'
         RETURNING id, cancel_requested",
    )
    .bind(duration_micros(lease))
    .bind(server)
    .fetch_all(store.pool())
    .await?;
    let mut canceled: Vec<Uuid> = renewed.into_iter().filter(|(_, c)| *c).map(|(id, _)| id).collect();
    canceled.sort();
    Ok(canceled)
}

/// Ends a job `server` holds.
pub(super) async fn finish(store: &PgStore, id: Uuid, server: &str, status: JobStatus) -> Result<(), StoreError> {
    if matches!(status, JobStatus::Pending | JobStatus::Running) {
        return Err(StoreError::Invalid(format!(
            "job {id}: a job finishes as completed, failed or canceled, not {}",
            status.as_str()
        )));
    }
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

/// Hands a running job back: no holder, no lease, so the next claim continues its instance. The
/// change wakes the other runbook servers to take it.
pub(super) async fn release(store: &PgStore, id: Uuid, server: &str) -> Result<(), StoreError> {
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
            .ok_or_else(|| StoreError::Invalid(format!("stored job status '{status}' is unknown")))?,
        created_at: timestamp(row.try_get("created_at")?)?,
        created_by: row.try_get("created_by")?,
        parent_job: row.try_get("parent_job")?,
        claimed_by: row.try_get("claimed_by")?,
        instance_id: row.try_get("instance_id")?,
        cancel_requested: row.try_get("cancel_requested")?,
        ended_at: row.try_get::<Option<i64>, _>("ended_at")?.map(timestamp).transpose()?,
    })
}
