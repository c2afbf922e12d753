//! The engine's only window on storage. Every state change is handed to a [`Journal`] and
//! awaited before its consequences run, so an instance can be resumed from what was recorded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jiff::Timestamp;
use scorch_activity::{ErrorKind, Row, Status};
use serde_json::Value;
use thiserror::Error;
use uuid::Uuid;

/// A run's causal identity: the same run gets the same key when an instance is replayed, however
/// the concurrent branches interleave. Derived from the path that led to it (see `engine::keys`).
pub type RunKey = u64;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum JournalError {
    /// The store cannot be reached or refused the write; the engine stops the instance (it can
    /// be resumed later) rather than run on without a record.
    #[error("journal unavailable: {0}")]
    Unavailable(String),
    #[error("instance {0} not found in the journal")]
    NotFound(Uuid),
}

/// The state a run is in, as journaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunState {
    /// Started and not finished: after a crash, an idempotent run is run again and any other
    /// ends `failed` with the error `interrupted`.
    Running,
    Finished(Status),
}

/// One run (one attempt) of one activity.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub instance_id: Uuid,
    /// Order in which runs started in this instance, from 0.
    pub seq: u64,
    pub key: RunKey,
    pub activity_id: Arc<str>,
    pub activity_name: Arc<str>,
    /// The run's number among its token's runs, from 1: every loop attempt and every retry
    /// counts (without `retry:` it is the loop attempt).
    pub attempt: u32,
    pub state: RunState,
    /// Empty unless failed or warned.
    pub error: String,
    /// Why the run failed; `None` while running and when it did not fail. A `Transient` one is
    /// what a `retry:` policy runs again, on resume too.
    pub error_kind: Option<ErrorKind>,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    /// Activity-specific published rows (common published data is derived from the other
    /// fields), with secrets masked. Empty when the runbook does not keep published data.
    pub rows: Arc<Vec<Row>>,
    /// The rows were cut to the configured cap; a `_truncated` marker row field says so too.
    pub truncated: bool,
}

/// The instance's outcome, as in `spec/runbook-format.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstanceStatus {
    Running,
    Success,
    Warning,
    Failed,
    Canceled,
}

impl InstanceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceStatus::Running => "running",
            InstanceStatus::Success => "success",
            InstanceStatus::Warning => "warning",
            InstanceStatus::Failed => "failed",
            InstanceStatus::Canceled => "canceled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Running,
            Self::Success,
            Self::Warning,
            Self::Failed,
            Self::Canceled,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// What is recorded when an instance begins.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceStart {
    pub instance_id: Uuid,
    pub job_id: Uuid,
    pub runbook_id: Uuid,
    pub runbook_name: String,
    pub server: String,
    pub parameters: Row,
    pub started_at: Timestamp,
}

/// What is recorded when an instance ends.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceEnd {
    pub instance_id: Uuid,
    pub status: InstanceStatus,
    pub returns: serde_json::Map<String, Value>,
    pub ended_at: Timestamp,
    /// Why the instance failed where no activity run shows it (a link condition that could not
    /// be evaluated); empty otherwise.
    pub problems: Vec<String>,
}

/// Durable storage for instance progress. Each method returns once the record is durable (or
/// an error); implementations batch concurrent calls into one commit (group commit).
///
/// Two exceptions are allowed, both for records whose loss a resume repairs by itself: they may
/// be acknowledged once committed and visible to every reader but before they reach the disk,
/// provided any later durable commit covers them (a write-ahead log flushes in order, so the
/// commit of any record acknowledged after them flushes them too):
/// - `instance_started`: only idempotent runs act before the instance's next record, and a start
///   lost in a crash of the database only makes the job claimable again;
/// - `idempotent_run_finished`: the record of a finished run of an idempotent activity. If it is
///   lost, so is every record acknowledged after it up to the next durable one, and those can only
///   be records of these two kinds (a non-idempotent run's start and finish, and the instance's
///   end, are durable): a resume finds those runs unrecorded and runs them again, which is what
///   idempotent allows; nothing that ran after them can have depended on them without a durable
///   record in between. The instance's end is durable and follows its last run, so a finished
///   instance never lacks a run that its end reports.
///
/// They may even be acknowledged before they are written, provided the records of one instance are
/// written in the order they were made and, if such a record cannot be written, the instance's
/// later records are refused (so the engine stops the instance at its next awaited record, as it
/// would have at the failed one, and a resume runs the unrecorded runs again).
///
/// Every other record is durable when acknowledged, and a durable record makes every record
/// acknowledged before it durable too.
#[async_trait]
pub trait Journal: Send + Sync {
    /// Called when an instance starts and again each time it is resumed (by the resuming
    /// server): implementations keep the first start time and record the new server.
    async fn instance_started(&self, start: &InstanceStart) -> Result<(), JournalError>;
    /// Called before a run's side effects begin, only for activities that are not idempotent
    /// (an idempotent run needs no start record: it is simply run again after a crash).
    async fn run_started(&self, run: &RunRecord) -> Result<(), JournalError>;
    /// Called when a run (attempt) finishes, before any link from it fires.
    async fn run_finished(&self, run: &RunRecord) -> Result<(), JournalError>;
    /// [`run_finished`](Self::run_finished) for a run of an idempotent activity (one that is not
    /// given a `run_started` record): the same record, which may be acknowledged before it is
    /// durable (see the trait's documentation). The default waits for it as `run_finished` does.
    async fn idempotent_run_finished(&self, run: &RunRecord) -> Result<(), JournalError> {
        self.run_finished(run).await
    }
    async fn instance_finished(&self, end: &InstanceEnd) -> Result<(), JournalError>;
    /// Every run recorded for the instance, in `seq` order: what a resume replays.
    async fn runs(&self, instance_id: Uuid) -> Result<Vec<RunRecord>, JournalError>;
}

/// A journal kept in memory: for tests and for callers that only want the records.
#[derive(Debug, Default)]
pub struct MemoryJournal {
    inner: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    runs: Vec<RunRecord>,
    /// (instance, seq) -> position in `runs`.
    index: HashMap<(Uuid, u64), usize>,
    ends: Vec<InstanceEnd>,
}

impl MemoryJournal {
    /// The latest record of every run, in `seq` order.
    pub fn all_runs(&self) -> Vec<RunRecord> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).runs.clone()
    }

    pub fn instance_end(&self, instance_id: Uuid) -> Option<InstanceEnd> {
        let state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        state.ends.iter().find(|e| e.instance_id == instance_id).cloned()
    }

    fn upsert(&self, run: &RunRecord) {
        let mut state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match state.index.get(&(run.instance_id, run.seq)) {
            Some(&i) => state.runs[i] = run.clone(),
            None => {
                let i = state.runs.len();
                state.index.insert((run.instance_id, run.seq), i);
                state.runs.push(run.clone());
            }
        }
    }
}

#[async_trait]
impl Journal for MemoryJournal {
    async fn instance_started(&self, _start: &InstanceStart) -> Result<(), JournalError> {
        Ok(())
    }

    async fn run_started(&self, run: &RunRecord) -> Result<(), JournalError> {
        self.upsert(run);
        Ok(())
    }

    async fn run_finished(&self, run: &RunRecord) -> Result<(), JournalError> {
        self.upsert(run);
        Ok(())
    }

    async fn instance_finished(&self, end: &InstanceEnd) -> Result<(), JournalError> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ends
            .push(end.clone());
        Ok(())
    }

    async fn runs(&self, instance_id: Uuid) -> Result<Vec<RunRecord>, JournalError> {
        let state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut runs: Vec<_> = state
            .runs
            .iter()
            .filter(|r| r.instance_id == instance_id)
            .cloned()
            .collect();
        runs.sort_by_key(|r| r.seq);
        Ok(runs)
    }
}
