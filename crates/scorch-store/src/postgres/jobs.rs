//! Jobs: requests to run a runbook version, created, read, listed and canceled. Runbook servers
//! take them in [`claims`](super::claims).
//!
//! Creating a job goes through the store's group-commit writer ([`super::writer`]), with its
//! audit record in the same statement; reads and the rare writes (cancel) use the pool.

use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row as _};
use uuid::Uuid;

use super::sql::{job_columns, notify_job};
use super::writer::{AuditRow, NewJobRow};
use super::{PgStore, from_json, id_match, limit, timestamp, to_json};
use crate::{Job, JobFilter, JobStatus, NewAudit, NewJob, StoreError};

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

/// Job `id`'s creation on disk ([`crate::Operations::make_job_durable`]): a commit flushes the WAL
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

/// Newest first; `limit` 0 is no limit.
pub(super) async fn list(store: &PgStore, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
    let mut query = QueryBuilder::<Postgres>::new(concat!("SELECT ", job_columns!("j"), " FROM jobs j WHERE true"));
    if let Some(id) = &filter.id {
        id_match(&mut query, "j.id", id);
    }
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

pub(super) fn decode(row: &PgRow) -> Result<Job, StoreError> {
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
