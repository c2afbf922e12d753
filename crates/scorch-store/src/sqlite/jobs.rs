//! Jobs: requests to run a runbook version, and the queue runbook servers claim them from.
//!
//! SQLite serializes writers, so a claim is one `BEGIN IMMEDIATE` transaction: it picks the
//! oldest job the server may take and marks it running under a lease before anyone else can
//! look. A lease is a time in `lease_expires_at`; a running job whose lease has passed (or that
//! was handed back: no lease) is taken over by the next claim, which continues its instance.

use std::time::Duration;

use jiff::Timestamp;
use sqlx::error::ErrorKind;
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{QueryBuilder, Row as _, Sqlite};
use uuid::Uuid;

use super::{SqliteStore, duration_micros, from_json, limit, micros, runbooks, timestamp, to_json};
use crate::{Change, Claim, Job, JobFilter, JobStatus, NewJob, StoreError};

/// The columns [`decode`] reads.
macro_rules! job_columns {
    () => {
        "id, runbook_id, version, parameters, status, created_at, created_by, parent_job, claimed_by, instance_id,
         cancel_requested, ended_at"
    };
}

/// Whether server ?2 may take a job of runbook version `v`, given the servers alive (heartbeat at or
/// after ?1): the version names no preferred servers; or ?2 is the first listed server alive; or
/// ?2 is not listed and no listed server is alive.
macro_rules! preferred {
    () => {
        "(v.runbook_servers = '[]'
          OR (SELECT p.value FROM json_each(v.runbook_servers) p
                JOIN runbook_servers s ON s.name = p.value AND s.heartbeat_at >= ?1
              ORDER BY p.key LIMIT 1) = ?2
          OR (NOT EXISTS (SELECT 1 FROM json_each(v.runbook_servers) p WHERE p.value = ?2)
              AND NOT EXISTS (SELECT 1 FROM json_each(v.runbook_servers) p
                                JOIN runbook_servers s ON s.name = p.value AND s.heartbeat_at >= ?1)))"
    };
}

/// The oldest pending job whose runbook runs fewer jobs than its version's concurrency.
/// ?1 alive since, ?2 server.
const OLDEST_PENDING: &str = concat!(
    "SELECT j.id, j.created_at FROM jobs j
     JOIN runbook_versions v ON v.runbook_id = j.runbook_id AND v.version = j.version
     WHERE j.status = 'pending'
       AND (SELECT COUNT(*) FROM jobs r WHERE r.runbook_id = j.runbook_id AND r.status = 'running') < v.concurrency
       AND ",
    preferred!(),
    " ORDER BY j.created_at, j.id LIMIT 1"
);

/// The oldest running job without a live lease (its server died, or handed it back).
/// ?1 alive since, ?2 server, ?3 now.
const OLDEST_ORPHAN: &str = concat!(
    "SELECT j.id, j.created_at FROM jobs j
     JOIN runbook_versions v ON v.runbook_id = j.runbook_id AND v.version = j.version
     WHERE j.status = 'running' AND (j.lease_expires_at IS NULL OR j.lease_expires_at < ?3)
       AND ",
    preferred!(),
    " ORDER BY j.created_at, j.id LIMIT 1"
);

/// Records a pending job (UUID v7 ids sort by creation) for the given or latest version.
pub(super) async fn create(store: &SqliteStore, new: NewJob<'_>) -> Result<Job, StoreError> {
    let id = Uuid::now_v7();
    let created_at = micros(Timestamp::now());
    let inserted: Result<Option<i64>, _> = sqlx::query_scalar(
        "INSERT INTO jobs (id, runbook_id, version, parameters, status, created_at, created_by, parent_job)
         SELECT ?, id, COALESCE(?, latest_version), ?, 'pending', ?, ?, ? FROM runbooks WHERE id = ?
         RETURNING version",
    )
    .bind(id)
    .bind(new.version)
    .bind(to_json(new.parameters)?)
    .bind(created_at)
    .bind(new.created_by)
    .bind(new.parent_job)
    .bind(new.runbook_id)
    .fetch_optional(&store.pool)
    .await;
    let version = match inserted {
        Ok(Some(version)) => version,
        Ok(None) => return Err(StoreError::NotFound(format!("runbook {}", new.runbook_id))),
        Err(sqlx::Error::Database(db)) if db.kind() == ErrorKind::ForeignKeyViolation => {
            return Err(StoreError::NotFound(format!(
                "runbook {} version {}",
                new.runbook_id,
                new.version.unwrap_or_default()
            )));
        }
        Err(err) => return Err(err.into()),
    };
    let job = Job {
        id,
        runbook_id: new.runbook_id,
        version,
        parameters: new.parameters.clone(),
        status: JobStatus::Pending,
        created_at: timestamp(created_at)?,
        created_by: new.created_by.to_string(),
        parent_job: new.parent_job,
        claimed_by: None,
        instance_id: None,
        cancel_requested: false,
        ended_at: None,
    };
    store.notify(change(&job));
    Ok(job)
}

pub(super) async fn get(store: &SqliteStore, id: Uuid) -> Result<Job, StoreError> {
    let mut conn = store.pool.acquire().await?;
    get_in(&mut conn, id).await
}

async fn get_in(conn: &mut SqliteConnection, id: Uuid) -> Result<Job, StoreError> {
    let row = sqlx::query(concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = ?"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("job {id}")))?;
    decode(&row)
}

/// Newest first; `limit` 0 is no limit.
pub(super) async fn list(store: &SqliteStore, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
    let mut query = QueryBuilder::<Sqlite>::new(concat!("SELECT ", job_columns!(), " FROM jobs WHERE 1 = 1"));
    if let Some(runbook_id) = filter.runbook_id {
        query.push(" AND runbook_id = ").push_bind(runbook_id);
    }
    if let Some(status) = filter.status {
        query.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(since) = filter.since {
        query.push(" AND created_at >= ").push_bind(micros(since));
    }
    if let Some(until) = filter.until {
        query.push(" AND created_at < ").push_bind(micros(until));
    }
    query
        .push(" ORDER BY created_at DESC, id DESC LIMIT ")
        .push_bind(limit(filter.limit))
        .push(" OFFSET ")
        .push_bind(filter.offset);
    let rows = query.build().fetch_all(&store.pool).await?;
    rows.iter().map(decode).collect()
}

/// A pending job is canceled at once; a running one is flagged for its server.
pub(super) async fn cancel(store: &SqliteStore, id: Uuid) -> Result<Job, StoreError> {
    let mut tx = store.pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut job = get_in(&mut tx, id).await?;
    match job.status {
        JobStatus::Pending => {
            let now = micros(Timestamp::now());
            sqlx::query("UPDATE jobs SET status = 'canceled', ended_at = ? WHERE id = ?")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            job.status = JobStatus::Canceled;
            job.ended_at = Some(timestamp(now)?);
        }
        JobStatus::Running => {
            sqlx::query("UPDATE jobs SET cancel_requested = 1 WHERE id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            job.cancel_requested = true;
        }
        JobStatus::Completed | JobStatus::Failed | JobStatus::Canceled => {
            return Err(StoreError::Conflict(format!(
                "cannot change the job status to canceled: the job is {}",
                job.status.as_str()
            )));
        }
    }
    tx.commit().await?;
    store.notify(change(&job));
    Ok(job)
}

pub(super) async fn claim(
    store: &SqliteStore,
    server: &str,
    lease: Duration,
    alive_within: Duration,
) -> Result<Option<Claim>, StoreError> {
    let now = micros(Timestamp::now());
    let alive_since = now.saturating_sub(duration_micros(alive_within));
    let mut tx = store.pool.begin_with("BEGIN IMMEDIATE").await?;
    let pending: Option<(Uuid, i64)> = sqlx::query_as(OLDEST_PENDING)
        .bind(alive_since)
        .bind(server)
        .fetch_optional(&mut *tx)
        .await?;
    let orphan: Option<(Uuid, i64)> = sqlx::query_as(OLDEST_ORPHAN)
        .bind(alive_since)
        .bind(server)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
    // The older of the two candidates, by (created_at, id) as each query orders them.
    let (id, resume) = match (pending, orphan) {
        (None, None) => return Ok(None),
        (Some((id, _)), None) => (id, false),
        (None, Some((id, _))) => (id, true),
        (Some(p), Some(o)) if (o.1, o.0) < (p.1, p.0) => (o.0, true),
        (Some(p), Some(_)) => (p.0, false),
    };
    let row = sqlx::query(concat!(
        "UPDATE jobs SET status = 'running', claimed_by = ?, lease_expires_at = ?,
             instance_id = COALESCE(instance_id, ?)
         WHERE id = ? RETURNING ",
        job_columns!()
    ))
    .bind(server)
    .bind(now.saturating_add(duration_micros(lease)))
    .bind(Uuid::now_v7())
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    let job = decode(&row)?;
    let runbook = runbooks::load_in(&mut tx, job.runbook_id, Some(job.version)).await?;
    tx.commit().await?;
    store.notify(change(&job));
    let instance_id = job
        .instance_id
        .ok_or_else(|| StoreError::Invalid(format!("claimed job {id} has no instance")))?;
    Ok(Some(Claim {
        job,
        instance_id,
        resume,
        runbook,
    }))
}

/// Extends the leases of `server`'s running jobs; returns those whose cancellation was requested.
pub(super) async fn renew(store: &SqliteStore, server: &str, lease: Duration) -> Result<Vec<Uuid>, StoreError> {
    let until = micros(Timestamp::now()).saturating_add(duration_micros(lease));
    let renewed: Vec<(Uuid, bool)> = sqlx::query_as(
        "UPDATE jobs SET lease_expires_at = ? WHERE claimed_by = ? AND status = 'running'
         RETURNING id, cancel_requested",
    )
    .bind(until)
    .bind(server)
    .fetch_all(&store.pool)
    .await?;
    let mut canceled: Vec<Uuid> = renewed.into_iter().filter(|(_, c)| *c).map(|(id, _)| id).collect();
    canceled.sort();
    Ok(canceled)
}

/// Ends a job `server` holds.
pub(super) async fn finish(store: &SqliteStore, id: Uuid, server: &str, status: JobStatus) -> Result<(), StoreError> {
    if matches!(status, JobStatus::Pending | JobStatus::Running) {
        return Err(StoreError::Invalid(format!(
            "job {id}: a job finishes as completed, failed or canceled, not {}",
            status.as_str()
        )));
    }
    let runbook_id: Option<Uuid> = sqlx::query_scalar(
        "UPDATE jobs SET status = ?, ended_at = ?, lease_expires_at = NULL
         WHERE id = ? AND claimed_by = ? AND status = 'running' RETURNING runbook_id",
    )
    .bind(status.as_str())
    .bind(micros(Timestamp::now()))
    .bind(id)
    .bind(server)
    .fetch_optional(&store.pool)
    .await?;
    let Some(runbook_id) = runbook_id else {
        return Err(not_held(store, id, server).await);
    };
    store.notify(Change::Job { id, runbook_id, status });
    Ok(())
}

/// Hands a running job back: no holder, no lease, so the next claim continues its instance.
pub(super) async fn release(store: &SqliteStore, id: Uuid, server: &str) -> Result<(), StoreError> {
    let runbook_id: Option<Uuid> = sqlx::query_scalar(
        "UPDATE jobs SET claimed_by = NULL, lease_expires_at = NULL
         WHERE id = ? AND claimed_by = ? AND status = 'running' RETURNING runbook_id",
    )
    .bind(id)
    .bind(server)
    .fetch_optional(&store.pool)
    .await?;
    let Some(runbook_id) = runbook_id else {
        return Err(not_held(store, id, server).await);
    };
    store.notify(Change::Job {
        id,
        runbook_id,
        status: JobStatus::Running,
    });
    Ok(())
}

/// Why `server` may not end or hand back job `id`.
async fn not_held(store: &SqliteStore, id: Uuid, server: &str) -> StoreError {
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

fn change(job: &Job) -> Change {
    Change::Job {
        id: job.id,
        runbook_id: job.runbook_id,
        status: job.status,
    }
}

fn decode(row: &SqliteRow) -> Result<Job, StoreError> {
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
