//! Job operations shared by the roles: starting a runbook with typed parameters, and waiting
//! for a job to end (the web service's `wait`, and `invoke_runbook`).

use std::sync::Arc;
use std::time::Duration;

use scorch_store::{Change, Job, JobStatus, NewJob, Runbook, Store, StoreError};
use serde_json::{Map, Value};
use thiserror::Error;
use uuid::Uuid;

use crate::plans::Plans;

/// How often a waiter re-reads the job even without a change notification (a notification can
/// be missed: another process's change on SQLite, or a lagging receiver).
const SAFETY_POLL: Duration = Duration::from_millis(500);

#[derive(Debug, Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The runbook cannot run as stored (it no longer validates here).
    #[error("the runbook cannot run: {0}")]
    Invalid(String),
    /// Parameters that do not fit, each message naming its parameter.
    #[error("{}", .0.join("; "))]
    Parameters(Vec<String>),
}

/// Validates and types `parameters` against the runbook's latest version, then creates a
/// pending job.
pub async fn start_job(
    store: &Arc<dyn Store>,
    plans: &Plans,
    runbook: &Runbook,
    parameters: &Map<String, Value>,
    created_by: &str,
    parent_job: Option<Uuid>,
) -> Result<Job, StartError> {
    let plan = plans.get(runbook).map_err(StartError::Invalid)?;
    let bound = scorch_model::params::bind_parameters(&plan.parameters, parameters).map_err(StartError::Parameters)?;
    let job = NewJob {
        runbook_id: runbook.id,
        version: Some(runbook.version),
        parameters: &bound,
        created_by,
        parent_job,
    };
    Ok(store.create_job(job).await?)
}

/// Whether a job has ended.
pub fn is_final(status: JobStatus) -> bool {
    matches!(status, JobStatus::Completed | JobStatus::Failed | JobStatus::Canceled)
}

/// Waits until the job ends or `timeout` passes, and returns it as last read.
pub async fn wait_for_job(store: &Arc<dyn Store>, id: Uuid, timeout: Duration) -> Result<Job, StoreError> {
    let mut changes = store.subscribe();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let job = store.job(id).await?;
        if is_final(job.status) || tokio::time::Instant::now() >= deadline {
            return Ok(job);
        }
        let until = deadline.min(tokio::time::Instant::now() + SAFETY_POLL);
        loop {
            match tokio::time::timeout_at(until, changes.recv()).await {
                Ok(Ok(Change::Job {
                    id: changed, status, ..
                })) if changed == id && is_final(status) => break,
                Ok(Ok(_)) => continue,
                // Lagged, closed, or the poll interval passed: read the job again.
                Ok(Err(_)) | Err(_) => break,
            }
        }
    }
}
