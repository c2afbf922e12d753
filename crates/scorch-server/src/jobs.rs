//! Job operations shared by the roles: starting a runbook with typed parameters, and waiting
//! for a job to end (the web service's `wait`, and `invoke_runbook`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use scorch_store::{Change, Job, JobResult, JobStatus, NewAudit, NewJob, Runbook, Store, StoreError};
use serde_json::{Map, Value};
use thiserror::Error;
use tokio::sync::{broadcast, oneshot};
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
    let bound = bind(plans, runbook, parameters)?;
    Ok(store
        .create_job(new_job(runbook, &bound, created_by, parent_job))
        .await?)
}

/// [`start_job`] with an audit record of the start (its object the new job), written with the job
/// where the store can. The inner result is the audit record's: the job exists either way.
pub async fn start_job_audited(
    store: &Arc<dyn Store>,
    plans: &Plans,
    runbook: &Runbook,
    parameters: &Map<String, Value>,
    created_by: &str,
    audit: NewAudit<'_>,
) -> Result<(Job, Result<(), StoreError>), StartError> {
    let bound = bind(plans, runbook, parameters)?;
    Ok(store
        .create_job_audited(new_job(runbook, &bound, created_by, None), audit)
        .await?)
}

/// The parameters typed against the version's declarations.
fn bind(plans: &Plans, runbook: &Runbook, parameters: &Map<String, Value>) -> Result<Map<String, Value>, StartError> {
    let plan = plans.get(runbook).map_err(StartError::Invalid)?;
    scorch_model::params::bind_parameters(&plan.parameters, parameters).map_err(StartError::Parameters)
}

fn new_job<'a>(
    runbook: &Runbook,
    parameters: &'a Map<String, Value>,
    created_by: &'a str,
    parent_job: Option<Uuid>,
) -> NewJob<'a> {
    NewJob {
        runbook_id: runbook.id,
        version: Some(runbook.version),
        parameters,
        created_by,
        parent_job,
    }
}

/// Whether a job has ended.
pub fn is_final(status: JobStatus) -> bool {
    status.is_final()
}

/// Routes job-end notifications to the callers waiting for those jobs. One subscription to the
/// store's changes serves every waiter: a busy server has many waiting requests, and waking
/// each of them on every change would cost more than the jobs.
pub struct JobWaiters {
    store: Arc<dyn Store>,
    waiting: Arc<Mutex<Waiting>>,
    /// The dispatcher starts with the first wait: a role that never waits is not woken by every
    /// change the store makes.
    dispatcher: Once,
}

type Waiting = HashMap<Uuid, Vec<oneshot::Sender<()>>>;

impl JobWaiters {
    /// Routes job ends to waiters from the first wait on (the dispatcher ends when the store's
    /// change channel closes).
    pub fn start(store: Arc<dyn Store>) -> Arc<Self> {
        Arc::new(Self {
            store,
            waiting: Arc::default(),
            dispatcher: Once::new(),
        })
    }

    /// Subscribes to the store's changes and routes each job end to its waiters. Runs before a
    /// waiter registers, so no end after that is missed.
    fn dispatch(&self) {
        let mut changes = self.store.subscribe_jobs();
        let routes = self.waiting.clone();
        tokio::spawn(async move {
            loop {
                let ended = match changes.recv().await {
                    Ok(Change::Job { id, status, .. }) if is_final(status) => Some(id),
                    Ok(_) => continue,
                    // Missed changes: wake everyone to read their job again.
                    Err(broadcast::error::RecvError::Lagged(_)) => None,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                let mut map = routes.lock().unwrap_or_else(|e| e.into_inner());
                let woken = match ended {
                    Some(id) => map.remove(&id).unwrap_or_default(),
                    None => map.drain().flat_map(|(_, w)| w).collect(),
                };
                drop(map);
                woken.into_iter().for_each(|w| {
                    let _ = w.send(());
                });
            }
        });
    }

    /// Waits until the job ends or `timeout` passes, and returns it as last read.
    pub async fn wait(&self, id: Uuid, timeout: Duration) -> Result<Job, StoreError> {
        self.wait_for(id, timeout, || self.store.job(id), |job| job.status)
            .await
    }

    /// Like [`wait`](Self::wait), returning the job with what its instance did once it has ended.
    pub async fn wait_result(&self, id: Uuid, timeout: Duration) -> Result<JobResult, StoreError> {
        self.wait_for(id, timeout, || self.store.job_result(id), |r| r.job.status)
            .await
    }

    /// Waits until the job ends or `timeout` passes, reading it with `read`.
    async fn wait_for<T, R>(
        &self,
        id: Uuid,
        timeout: Duration,
        read: impl Fn() -> R,
        status: fn(&T) -> JobStatus,
    ) -> Result<T, StoreError>
    where
        R: Future<Output = Result<T, StoreError>>,
    {
        self.dispatcher.call_once(|| self.dispatch());
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Register before reading, so an end between the two is not missed.
            let (tx, rx) = oneshot::channel();
            self.waiting
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(id)
                .or_default()
                .push(tx);
            let read = read().await?;
            if is_final(status(&read)) || tokio::time::Instant::now() >= deadline {
                self.forget(id);
                return Ok(read);
            }
            let until = deadline.min(tokio::time::Instant::now() + SAFETY_POLL);
            let _ = tokio::time::timeout_at(until, rx).await;
        }
    }

    /// Drops the closed senders of `id` (a waiter that gave up).
    fn forget(&self, id: Uuid) {
        let mut map = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(senders) = map.get_mut(&id) {
            senders.retain(|s| !s.is_closed());
            if senders.is_empty() {
                map.remove(&id);
            }
        }
    }
}
