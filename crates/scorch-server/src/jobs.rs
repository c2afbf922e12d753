//! Job operations shared by the roles: starting a runbook with typed parameters, and waiting
//! for a job to end (the web service's `wait`, and `invoke_runbook`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use scorch_store::{Change, Job, JobPath, JobResult, JobStatus, NewAudit, NewJob, Runbook, Store, StoreError};
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
    store: &Arc<dyn JobPath>,
    plans: &Plans,
    runbook: &Runbook,
    parameters: &Map<String, Value>,
    created_by: &str,
    parent_job: Option<Uuid>,
) -> Result<Job, StartError> {
    let bound = bind(plans, runbook, parameters)?;
    let job = store
        .create_job(new_job(runbook, &bound, created_by, parent_job, false))
        .await?;
    tracing::debug!(job_id = %job.id, runbook = %runbook.name, created_by, parent_job = ?parent_job, "job created");
    Ok(job)
}

/// Whether a failed start might succeed against a newer version of its runbook than the one it
/// was made from, which may have come from a path lookup the store keeps for a moment (see
/// `JobPath::runbook_by_path`): the store refused the job's version as no longer the latest, or the
/// parameters do not fit that version (a newer one may declare them). The caller then reads the
/// runbook again by id (never kept) and, if a newer version is checked in, starts once more.
pub fn newer_version_may_help<T>(started: &Result<T, StartError>) -> bool {
    matches!(
        started,
        Err(StartError::Store(StoreError::Conflict(_)) | StartError::Parameters(_) | StartError::Invalid(_))
    )
}

/// [`start_job`] with an audit record of the start (its object the new job), written with the job
/// where the store can. The inner result is the audit record's: the job exists either way.
/// `awaited`: see [`NewJob::awaited`].
pub async fn start_job_audited(
    store: &Arc<dyn Store>,
    plans: &Plans,
    runbook: &Runbook,
    parameters: &Map<String, Value>,
    created_by: &str,
    audit: NewAudit<'_>,
    awaited: bool,
) -> Result<(Job, Result<(), StoreError>), StartError> {
    let bound = bind(plans, runbook, parameters)?;
    let created = store
        .create_job_audited(new_job(runbook, &bound, created_by, None, awaited), audit)
        .await?;
    tracing::debug!(job_id = %created.0.id, runbook = %runbook.name, created_by, "job created");
    Ok(created)
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
    awaited: bool,
) -> NewJob<'a> {
    NewJob {
        runbook_id: runbook.id,
        version: Some(runbook.version),
        parameters,
        created_by,
        parent_job,
        awaited,
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
    store: Arc<dyn JobPath>,
    waiting: Arc<Mutex<Waiting>>,
    /// The dispatcher starts with the first wait (or [`expect`](Self::expect)): a role that never
    /// waits is not woken by every change the store makes.
    dispatcher: Once,
}

/// What the dispatcher and the waiters share.
#[derive(Default)]
struct Waiting {
    /// Waiters by job.
    routes: HashMap<Uuid, Vec<oneshot::Sender<()>>>,
    /// Job ends routed so far.
    ends: u64,
    /// The jobs that ended (with their end's number) since the oldest outstanding [`Expected`]
    /// was taken, in order: the ends a caller that has not registered yet could miss.
    ended: HashMap<Uuid, u64>,
    order: VecDeque<(u64, Uuid)>,
    /// Outstanding [`Expected`]s: how many were taken after each number of ends.
    expected: BTreeMap<u64, usize>,
    /// Times the dispatcher missed changes (or stopped): an [`Expected`] issued before one of
    /// these cannot tell from `ended` whether its job ended.
    missed: u64,
}

/// Taken before a job is created, so that waiting for it need not read it first (a job just
/// created is pending): every end from now on is seen by the dispatcher and, until this is
/// handed to [`JobWaiters::wait_created`] (or dropped), kept for the caller to find. Without it
/// a wait reads the job before waiting, as it cannot know whether the job ended before it
/// registered.
#[must_use]
pub struct Expected {
    waiting: Arc<Mutex<Waiting>>,
    /// Job ends routed when it was taken (its job's end comes after).
    after: u64,
    missed: u64,
}

impl Drop for Expected {
    fn drop(&mut self) {
        let mut state = lock(&self.waiting);
        if let Some(count) = state.expected.get_mut(&self.after) {
            *count -= 1;
            if *count == 0 {
                state.expected.remove(&self.after);
            }
        }
        state.forget_ends();
    }
}

impl Waiting {
    /// Forgets the ends that no outstanding [`Expected`] may be waiting for: those routed before
    /// the oldest one was taken (every end, when none is outstanding).
    fn forget_ends(&mut self) {
        let oldest = self.expected.keys().next().copied().unwrap_or(u64::MAX);
        while let Some(&(n, id)) = self.order.front()
            && n <= oldest
        {
            self.order.pop_front();
            if self.ended.get(&id) == Some(&n) {
                self.ended.remove(&id);
            }
        }
    }
}

fn lock(waiting: &Mutex<Waiting>) -> std::sync::MutexGuard<'_, Waiting> {
    waiting.lock().unwrap_or_else(|e| e.into_inner())
}

impl JobWaiters {
    /// Routes job ends to waiters from the first wait on (the dispatcher ends when the store's
    /// change channel closes).
    pub fn start(store: Arc<dyn JobPath>) -> Arc<Self> {
        Arc::new(Self {
            store,
            waiting: Arc::default(),
            dispatcher: Once::new(),
        })
    }

    /// Subscribes to the store's changes and routes each job end to its waiters. Runs before a
    /// waiter registers (or an [`Expected`] is issued), so no end after that is missed.
    fn dispatch(&self) {
        let mut changes = self.store.subscribe_jobs();
        let waiting = self.waiting.clone();
        tokio::spawn(async move {
            loop {
                let ended = match changes.recv().await {
                    Ok(Change::Job { id, status, .. }) if is_final(status) => Some(id),
                    // Missed changes: wake everyone to read their job again.
                    Ok(Change::Missed) | Err(broadcast::error::RecvError::Lagged(_)) => None,
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Closed) => {
                        lock(&waiting).missed += 1;
                        return;
                    }
                };
                let mut state = lock(&waiting);
                let woken = match ended {
                    Some(id) => {
                        state.ends += 1;
                        if !state.expected.is_empty() {
                            let n = state.ends;
                            state.ended.insert(id, n);
                            state.order.push_back((n, id));
                        }
                        state.routes.remove(&id).unwrap_or_default()
                    }
                    None => {
                        state.missed += 1;
                        state.routes.drain().flat_map(|(_, w)| w).collect()
                    }
                };
                drop(state);
                woken.into_iter().for_each(|w| {
                    let _ = w.send(());
                });
            }
        });
    }

    /// To be called before creating a job that is then waited for with
    /// [`wait_created`](Self::wait_created) or [`wait_result_created`](Self::wait_result_created).
    pub fn expect(&self) -> Expected {
        self.dispatcher.call_once(|| self.dispatch());
        let mut state = lock(&self.waiting);
        let after = state.ends;
        *state.expected.entry(after).or_default() += 1;
        Expected {
            waiting: self.waiting.clone(),
            after,
            missed: state.missed,
        }
    }

    /// [`wait`](Self::wait) for a job created after `expected` was taken: the job is not read
    /// before the wait unless it has already ended (or the dispatcher missed changes since).
    pub async fn wait_created(&self, expected: Expected, id: Uuid, timeout: Duration) -> Result<Job, StoreError> {
        self.wait_for(id, timeout, || self.store.job(id), |job| job.status, Some(expected))
            .await
    }

    /// [`wait_result`](Self::wait_result) for a job created after `expected` was taken, as
    /// [`wait_created`](Self::wait_created).
    pub async fn wait_result_created(
        &self,
        expected: Expected,
        id: Uuid,
        timeout: Duration,
    ) -> Result<JobResult, StoreError> {
        self.wait_for(
            id,
            timeout,
            || self.store.job_result(id),
            |r| r.job.status,
            Some(expected),
        )
        .await
    }

    /// Waits until the job ends or `timeout` passes, and returns it as last read.
    pub async fn wait(&self, id: Uuid, timeout: Duration) -> Result<Job, StoreError> {
        self.wait_for(id, timeout, || self.store.job(id), |job| job.status, None)
            .await
    }

    /// Like [`wait`](Self::wait), returning the job with what its instance did once it has ended.
    pub async fn wait_result(&self, id: Uuid, timeout: Duration) -> Result<JobResult, StoreError> {
        self.wait_for(id, timeout, || self.store.job_result(id), |r| r.job.status, None)
            .await
    }

    /// Waits until the job ends or `timeout` passes, reading it with `read`. With `expected`
    /// (taken before the job was created), the first read is skipped when the job cannot have
    /// ended yet.
    async fn wait_for<T, R>(
        &self,
        id: Uuid,
        timeout: Duration,
        read: impl Fn() -> R,
        status: fn(&T) -> JobStatus,
        mut expected: Option<Expected>,
    ) -> Result<T, StoreError>
    where
        R: Future<Output = Result<T, StoreError>>,
    {
        self.dispatcher.call_once(|| self.dispatch());
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Register before reading, so an end between the two is not missed.
            let (tx, rx) = oneshot::channel();
            // Every end since `expected` was taken is in `ended` unless changes were missed: one
            // not there is yet to come, and will be routed to the waiter just registered.
            let pending = {
                let mut state = lock(&self.waiting);
                state.routes.entry(id).or_default().push(tx);
                expected
                    .as_ref()
                    .is_some_and(|e| e.missed == state.missed && !state.ended.contains_key(&id))
            };
            // Released only now: it keeps `ended` filled until the waiter is registered.
            drop(expected.take());
            if !pending {
                let read = read().await?;
                if is_final(status(&read)) || tokio::time::Instant::now() >= deadline {
                    // Closed first, so that its own sender goes too (the job may never end again).
                    drop(rx);
                    self.forget(id);
                    return Ok(read);
                }
            }
            let until = deadline.min(tokio::time::Instant::now() + SAFETY_POLL);
            let _ = tokio::time::timeout_at(until, rx).await;
        }
    }

    /// Drops the closed senders of `id` (a waiter that gave up).
    fn forget(&self, id: Uuid) {
        let mut state = lock(&self.waiting);
        if let Some(senders) = state.routes.get_mut(&id) {
            senders.retain(|s| !s.is_closed());
            if senders.is_empty() {
                state.routes.remove(&id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use scorch_engine::RegistryCatalog;
    use scorch_model::{compile, load};
    use scorch_store::SqliteStore;
    use scorch_store::prelude::*;

    use super::*;

    const RUNBOOK: &str = "format: 1\nrunbook: Waited\nactivities: [ { id: a, type: initialize_data } ]\n";

    async fn fixture() -> (tempfile::TempDir, Arc<dyn Store>, Uuid) {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(&format!("sqlite:{}", dir.path().join("scorch.db").display()))
            .await
            .unwrap();
        let registry = scorch_activities::standard();
        let plan = compile(&load(RUNBOOK).unwrap(), &RegistryCatalog(&registry)).unwrap();
        let runbook_id = sqlite.save_plan(&plan, RUNBOOK, "test").await.unwrap().0;
        (dir, Arc::new(sqlite), runbook_id)
    }

    async fn create(store: &Arc<dyn Store>, runbook_id: Uuid) -> Uuid {
        let parameters = Map::new();
        let job = NewJob {
            runbook_id,
            version: None,
            parameters: &parameters,
            created_by: "test",
            parent_job: None,
            awaited: false,
        };
        store.create_job(job).await.unwrap().id
    }

    async fn end(store: &Arc<dyn Store>, id: Uuid) {
        let claim = store
            .claim_job("rb1", Duration::from_secs(60), Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claim.job.id, id);
        store.finish_job(id, "rb1", JobStatus::Completed).await.unwrap();
    }

    /// A job that ends before its waiter registers is found among the ends kept for it, rather
    /// than after the safety poll; one that ends later wakes its waiter; and nothing is kept once
    /// no caller expects a job.
    #[tokio::test]
    async fn a_created_job_is_waited_for_without_missing_its_end() {
        let (_dir, store, runbook_id) = fixture().await;
        let waiters = JobWaiters::start(store.clone());

        let expected = waiters.expect();
        let early = create(&store, runbook_id).await;
        end(&store, early).await;
        // The dispatcher routes the end before the waiter registers.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let since = Instant::now();
        let job = waiters
            .wait_created(expected, early, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(job.status, JobStatus::Completed);
        assert!(since.elapsed() < SAFETY_POLL / 2, "{:?}", since.elapsed());

        let expected = waiters.expect();
        let late = create(&store, runbook_id).await;
        let ender = {
            let store = store.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                end(&store, late).await;
            })
        };
        let since = Instant::now();
        let job = waiters
            .wait_created(expected, late, Duration::from_secs(10))
            .await
            .unwrap();
        ender.await.unwrap();
        assert_eq!(job.status, JobStatus::Completed);
        assert!(since.elapsed() < SAFETY_POLL, "{:?}", since.elapsed());

        // A job still pending when the wait times out is answered as it is.
        let expected = waiters.expect();
        let pending = create(&store, runbook_id).await;
        let job = waiters
            .wait_created(expected, pending, Duration::from_millis(20))
            .await
            .unwrap();
        assert_eq!(job.status, JobStatus::Pending);

        // An expectation dropped unused (the job could not be created) leaves nothing behind.
        drop(waiters.expect());
        end(&store, pending).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let state = lock(&waiters.waiting);
        assert!(state.expected.is_empty() && state.ended.is_empty() && state.order.is_empty());
        assert!(state.routes.is_empty());
    }
}
