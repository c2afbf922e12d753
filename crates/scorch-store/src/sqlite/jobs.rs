//! Jobs: requests to run a runbook version (created through the writer), read, listed and
//! canceled. Runbook servers take them in [`claims`](super::claims).

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use sqlx::error::ErrorKind;
use sqlx::sqlite::SqliteConnection;
use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;

use super::columns::Columns;
use super::sql::job_columns;
use super::writer::{Write, refusal};
use super::{SqliteStore, audit, from_json, hex_list, id_match, limit, micros, timestamp, to_json};
use crate::{Change, Job, JobFilter, JobResult, JobStatus, NewAudit, NewJob, StoreError};

/// Records a pending job (UUID v7 ids sort by creation) of the runbook's latest version (see
/// [`NewJob::version`](crate::NewJob::version)), with an audit record about it in the same commit
/// when `audit` is given (the inner result).
pub(super) async fn create(
    store: &SqliteStore,
    new: NewJob<'_>,
    audit: Option<NewAudit<'_>>,
) -> Result<(Job, Result<(), StoreError>), StoreError> {
    let id = Uuid::now_v7();
    let created_at = micros(Timestamp::now());
    let audit = match audit {
        Some(entry) => Some(audit::Entry::new(&NewAudit {
            object_id: Some(id),
            ..entry
        })?),
        None => None,
    };
    let insert = Insert {
        id,
        runbook_id: new.runbook_id,
        version: new.version,
        parameters: to_json(new.parameters)?,
        created_at,
        created_by: new.created_by.to_string(),
        parent_job: new.parent_job,
        audit,
        awaited: new.awaited,
    };
    let (version, audited) = store.writer.submit(insert).await?;
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
    Ok((job, audited))
}

/// A new pending job, and maybe an audit record about it; its output is the version the job
/// runs and whether the audit record was written.
struct Insert {
    id: Uuid,
    runbook_id: Uuid,
    version: Option<i64>,
    parameters: String,
    created_at: i64,
    created_by: String,
    parent_job: Option<Uuid>,
    audit: Option<audit::Entry>,
    /// [`NewJob::awaited`]: committed without the fsync.
    awaited: bool,
}

impl Write for Insert {
    type Output = (i64, Result<(), StoreError>);
    type Error = StoreError;

    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Result<(i64, Result<(), StoreError>), StoreError>> {
        let version = match self.insert(conn)? {
            Ok(version) => version,
            Err(refused) => return Ok(Err(refused)),
        };
        let audited = match &mut self.audit {
            Some(entry) => entry.apply(conn)?,
            None => Ok(()),
        };
        Ok(Ok((version, audited)))
    }

    fn changes(&self, _: &(i64, Result<(), StoreError>), send: &mut dyn FnMut(Change)) {
        send(Change::Job {
            id: self.id,
            runbook_id: self.runbook_id,
            status: JobStatus::Pending,
        });
    }

    fn relaxed(&self) -> bool {
        self.awaited
    }
}

/// Job `id`'s creation on disk ([`crate::Operations::make_job_durable`]): a durable commit syncs the
/// whole write-ahead log, relaxed commits before it included, but only when it writes a page, so
/// it rewrites the job's row as it is.
pub(super) async fn make_durable(store: &SqliteStore, id: Uuid) -> Result<(), StoreError> {
    store.writer.submit(Touch(id)).await
}

struct Touch(Uuid);

impl Write for Touch {
    type Output = ();
    type Error = StoreError;

    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Result<(), StoreError>> {
        let touched = conn
            .prepare_cached("UPDATE jobs SET created_at = created_at WHERE id = ?")?
            .execute(params![self.0])?;
        Ok(match touched {
            0 => Err(StoreError::NotFound(format!("job {}", self.0))),
            _ => Ok(()),
        })
    }
}

impl Insert {
    fn insert(&self, conn: &Connection) -> rusqlite::Result<Result<i64, StoreError>> {
        let latest: Option<i64> = conn
            .prepare_cached("SELECT latest_version FROM runbooks WHERE id = ?")?
            .query_row(params![self.runbook_id], |row| row.get(0))
            .optional()?;
        let Some(latest) = latest else {
            return Ok(Err(StoreError::NotFound(format!("runbook {}", self.runbook_id))));
        };
        let version = match crate::store::job_version(self.runbook_id, self.version, latest) {
            Ok(version) => version,
            Err(refused) => return Ok(Err(refused)),
        };
        let inserted = conn
            .prepare_cached(
                "INSERT INTO jobs (id, runbook_id, version, parameters, status, created_at, created_by, parent_job)
                 VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)",
            )?
            .execute(params![
                self.id,
                self.runbook_id,
                version,
                self.parameters,
                self.created_at,
                self.created_by,
                self.parent_job,
            ]);
        match inserted {
            Ok(_) => Ok(Ok(version)),
            Err(err) => refusal(err, |kind| match kind {
                ErrorKind::ForeignKeyViolation => {
                    StoreError::NotFound(format!("runbook {} version {version}", self.runbook_id))
                }
                _ => StoreError::Invalid(format!("job {}: a value is missing or out of range", self.id)),
            }),
        }
    }
}

pub(super) async fn get(store: &SqliteStore, id: Uuid) -> Result<Job, StoreError> {
    let mut conn = store.pool.acquire().await?;
    get_in(&mut conn, id).await
}

/// A job and, once it has ended, its instance and runs: on one connection.
pub(super) async fn result(store: &SqliteStore, id: Uuid) -> Result<JobResult, StoreError> {
    store.results.read(id).await
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
    if let Some(id) = &filter.id {
        id_match(&mut query, "id", id);
    }
    if let Some(runbook_id) = filter.runbook_id {
        query.push(" AND runbook_id = ").push_bind(runbook_id);
    }
    if let Some(runbooks) = &filter.runbooks {
        query
            .push(" AND runbook_id IN (SELECT unhex(value) FROM json_each(")
            .push_bind(hex_list(runbooks))
            .push("))");
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
            let now = micros(Timestamp::now());
            // A job no runbook server holds (handed back, or its holder's lease has passed) has
            // nobody to stop it: it ends at once, with its instance.
            let orphaned = sqlx::query(
                "UPDATE jobs SET status = 'canceled', ended_at = ?1, claimed_by = NULL, lease_expires_at = NULL,
                     cancel_requested = 1
                 WHERE id = ?2 AND (claimed_by IS NULL OR COALESCE(lease_expires_at, 0) < ?1)",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if orphaned {
                sqlx::query(
                    "UPDATE instances SET status = 'canceled', ended_at = ? WHERE uuid = ? AND status = 'running'",
                )
                .bind(now)
                .bind(job.instance_id)
                .execute(&mut *tx)
                .await?;
                job.status = JobStatus::Canceled;
                job.ended_at = Some(timestamp(now)?);
                job.claimed_by = None;
            } else {
                sqlx::query("UPDATE jobs SET cancel_requested = 1 WHERE id = ?")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
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

pub(super) fn change(job: &Job) -> Change {
    Change::Job {
        id: job.id,
        runbook_id: job.runbook_id,
        status: job.status,
    }
}

pub(super) fn decode(row: &impl Columns) -> Result<Job, StoreError> {
    let status: String = row.column("status")?;
    Ok(Job {
        id: row.column("id")?,
        runbook_id: row.column("runbook_id")?,
        version: row.column("version")?,
        parameters: from_json(&row.column::<String>("parameters")?, "job parameters")?,
        status: JobStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("stored job status '{status}' is unknown")))?,
        created_at: timestamp(row.column("created_at")?)?,
        created_by: row.column("created_by")?,
        parent_job: row.column("parent_job")?,
        claimed_by: row.column("claimed_by")?,
        instance_id: row.column("instance_id")?,
        cancel_requested: row.column("cancel_requested")?,
        ended_at: row.column::<Option<i64>>("ended_at")?.map(timestamp).transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job created for a caller that waits for its end commits without a sync (the writer's
    /// relaxed batches); others with one.
    #[test]
    fn only_awaited_new_jobs_are_relaxed() {
        let insert = |awaited| Insert {
            id: Uuid::now_v7(),
            runbook_id: Uuid::now_v7(),
            version: None,
            parameters: "{}".into(),
            created_at: 0,
            created_by: "alice".into(),
            parent_job: None,
            audit: None,
            awaited,
        };
        assert!(insert(true).relaxed());
        assert!(!insert(false).relaxed());
    }
}
