//! Jobs: requests to run a runbook version.

use jiff::Timestamp;
use serde_json::{Map, Value};
use sqlx::Row as _;
use sqlx::error::ErrorKind;
use uuid::Uuid;

use super::{SqliteStore, from_json, micros, timestamp, to_json};
use crate::{Job, JobStatus, StoreError};

impl SqliteStore {
    /// Records a pending job for `runbook_id` at `version` and returns its id (UUID v7, so ids
    /// sort by creation). The job exists before any instance of it starts.
    pub async fn create_job(
        &self,
        runbook_id: Uuid,
        version: i64,
        parameters: &Map<String, Value>,
        created_by: &str,
    ) -> Result<Uuid, StoreError> {
        let id = Uuid::now_v7();
        let inserted = sqlx::query(
            "INSERT INTO jobs (id, runbook_id, version, parameters, status, created_at, created_by)
             VALUES (?, ?, ?, ?, 'pending', ?, ?)",
        )
        .bind(id)
        .bind(runbook_id)
        .bind(version)
        .bind(to_json(parameters)?)
        .bind(micros(Timestamp::now()))
        .bind(created_by)
        .execute(&self.pool)
        .await;
        match inserted {
            Err(sqlx::Error::Database(db)) if db.kind() == ErrorKind::ForeignKeyViolation => {
                Err(StoreError::NotFound(format!("runbook {runbook_id} version {version}")))
            }
            other => other.map(|_| id).map_err(StoreError::from),
        }
    }

    pub async fn set_job_status(&self, id: Uuid, status: JobStatus) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE jobs SET status = ? WHERE id = ?")
            .bind(status.as_str())
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("job {id}")));
        }
        Ok(())
    }

    pub async fn job(&self, id: Uuid) -> Result<Job, StoreError> {
        let row = sqlx::query(
            "SELECT runbook_id, version, parameters, status, created_at, created_by FROM jobs WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("job {id}")))?;
        let status: &str = row.try_get("status")?;
        Ok(Job {
            id,
            runbook_id: row.try_get("runbook_id")?,
            version: row.try_get("version")?,
            parameters: from_json(row.try_get("parameters")?, "job parameters")?,
            status: JobStatus::parse(status)
                .ok_or_else(|| StoreError::Invalid(format!("stored job status '{status}' is unknown")))?,
            created_at: timestamp(row.try_get("created_at")?)?,
            created_by: row.try_get("created_by")?,
        })
    }
}
