//! Jobs counted by status, for metrics: one grouped read of the `(status, created_at)` index.

use sqlx::Row as _;

use super::B;
use crate::codec::timestamp;
use crate::{JobCount, JobStatus, StoreError};

/// How many jobs are in each status, with the oldest creation time among them. Statuses with no
/// job are absent.
pub(crate) async fn job_counts(store: &B) -> Result<Vec<JobCount>, StoreError> {
    let rows = sqlx::query("SELECT status, COUNT(*) AS jobs, MIN(created_at) AS oldest FROM jobs GROUP BY status")
        .fetch_all(crate::backend::Backend::pool(store))
        .await?;
    rows.iter()
        .map(|row| {
            let status: String = row.try_get("status")?;
            Ok(JobCount {
                status: JobStatus::parse(&status)
                    .ok_or_else(|| StoreError::Corrupt(format!("stored job status '{status}' is unknown")))?,
                jobs: u64::try_from(row.try_get::<i64, _>("jobs")?).unwrap_or_default(),
                oldest_created_at: timestamp(row.try_get::<i64, _>("oldest")?)?,
            })
        })
        .collect()
}
