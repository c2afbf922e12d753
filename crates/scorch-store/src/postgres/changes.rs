//! Change notifications across processes: every write that emits a [`Change`] also runs
//! `pg_notify(channel, payload)` in its transaction, so the message goes out exactly when (and
//! only if) the write commits; a listener task in every process turns the messages back into
//! [`Change`]s for that process's subscribers. Job changes go on `scorch_jobs`, instance and run
//! changes on `scorch_changes`: a process that acts on job changes only (a runbook server)
//! listens to the first alone, and is not woken by every activity run. What makes kept lookups
//! stale goes on `scorch_lookups`, which every process listens to: the management server listens
//! to nothing else, and is not woken by every job.
//!
//! A payload is a JSON array of changes (a statement that writes several sends them in one, cut to
//! stay under PostgreSQL's 8000-byte payload limit: see `scorch_notify` in migration 0005):
//! `{"j":[job, runbook, "status"]}`, `{"i":[instance, job, "status"]}`,
//! `{"r":[instance, seq, "activity", state]}` with the journal's state codes (0 running, 1
//! success, 2 warning, 3 failed), `{"o":[instance, seq]}` for a run's live output (ids only:
//! readers fetch the text).

use std::sync::Arc;
use std::time::Duration;

use scorch_engine::InstanceStatus;
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::Kept;
use crate::kept::Changed;
use crate::run_states::{run_state, state_code};
use crate::{Change, JobStatus};

/// The channel of job changes.
const JOBS_CHANNEL: &str = "scorch_jobs";
/// The channel of instance and run changes.
const CHANNEL: &str = "scorch_changes";
/// The channel of changes to users, tokens, grants, runbooks and folders, which every process
/// listens on.
const LOOKUPS_CHANNEL: &str = "scorch_lookups";
/// Waits between attempts to reconnect the listener while the database is down.
const RECONNECT_MIN: Duration = Duration::from_millis(100);
const RECONNECT_MAX: Duration = Duration::from_secs(5);

#[derive(Debug, Serialize, Deserialize)]
enum Wire {
    #[serde(rename = "j")]
    Job(Uuid, Uuid, String),
    #[serde(rename = "i")]
    Instance(Uuid, Uuid, String),
    #[serde(rename = "r")]
    Run(Uuid, u64, String, i16),
    /// Live output of a run was stored.
    #[serde(rename = "o")]
    Output(Uuid, u64),
    /// A monitor job's trigger was recorded.
    #[serde(rename = "t")]
    Trigger(Uuid),
    /// Users, tokens or grants changed: token lookups kept by any process are stale.
    #[serde(rename = "a")]
    Access(u8),
    /// Runbooks or folders changed: runbook path lookups kept by any process are stale.
    #[serde(rename = "p")]
    Runbooks(u8),
}

/// Tells every process listening for job changes that monitor job `job_id` has a new trigger
/// (after it committed). A lost announcement is found by the holder's next safety-net read.
pub(super) async fn announce_trigger(pool: &PgPool, job_id: Uuid) {
    let Ok(payload) = serde_json::to_string(&[Wire::Trigger(job_id)]) else {
        return;
    };
    let _ = sqlx::query("SELECT pg_notify($1, $2)")
        .bind(JOBS_CHANNEL)
        .bind(payload)
        .execute(pool)
        .await;
}

/// Tells every process what changed (after the write committed), for the lookups they keep. If
/// the announcement is lost, other processes' kept lookups expire on their own.
pub(super) async fn announce(pool: &PgPool, changed: Changed) {
    let payload = match changed {
        Changed::Access => r#"[{"a":0}]"#,
        Changed::Runbooks => r#"[{"p":0}]"#,
        Changed::Folders => r#"[{"a":0},{"p":0}]"#,
    };
    let _ = sqlx::query("SELECT pg_notify($1, $2)")
        .bind(LOOKUPS_CHANNEL)
        .bind(payload)
        .execute(pool)
        .await;
}

impl Wire {
    /// A change as notified; `None` for what only this process tells its subscribers.
    fn of(change: &Change) -> Option<Self> {
        Some(match change {
            Change::Job { id, runbook_id, status } => Wire::Job(*id, *runbook_id, status.as_str().to_string()),
            Change::Instance { id, job_id, status } => Wire::Instance(*id, *job_id, status.as_str().to_string()),
            Change::ActivityRun {
                instance_id,
                seq,
                activity_id,
                state,
            } => Wire::Run(*instance_id, *seq, activity_id.clone(), state_code(*state)),
            Change::Output { instance_id, seq } => Wire::Output(*instance_id, *seq),
            Change::Trigger { job_id } => Wire::Trigger(*job_id),
            Change::Missed => return None,
        })
    }

    fn change(self) -> Option<Change> {
        Some(match self {
            Wire::Job(id, runbook_id, status) => Change::Job {
                id,
                runbook_id,
                status: JobStatus::parse(&status)?,
            },
            Wire::Instance(id, job_id, status) => Change::Instance {
                id,
                job_id,
                status: InstanceStatus::parse(&status)?,
            },
            Wire::Run(instance_id, seq, activity_id, state) => Change::ActivityRun {
                instance_id,
                seq,
                activity_id,
                state: run_state(state.into()).ok()?,
            },
            Wire::Output(instance_id, seq) => Change::Output { instance_id, seq },
            Wire::Trigger(job_id) => Change::Trigger { job_id },
            Wire::Access(_) | Wire::Runbooks(_) => return None,
        })
    }
}

/// `changes` as the items of a payload (see `scorch_notify`, which packs them).
pub(super) fn items(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .filter_map(|change| serde_json::to_string(&Wire::of(change)?).ok())
        .collect()
}

/// Where this process's subscribers get the changes: every subscriber, and job changes also to
/// those that want only them (a runbook server's loop, job waiters), who are then not woken by
/// every activity run.
#[derive(Debug, Clone)]
pub(super) struct Changes {
    pub(super) all: broadcast::Sender<Change>,
    pub(super) jobs: broadcast::Sender<Change>,
}

impl Changes {
    pub(super) fn new(capacity: usize) -> Self {
        Changes {
            all: broadcast::channel(capacity).0,
            jobs: broadcast::channel(capacity).0,
        }
    }

    fn send(&self, change: Change) {
        if matches!(change, Change::Job { .. } | Change::Trigger { .. } | Change::Missed)
            && self.jobs.receiver_count() > 0
        {
            let _ = self.jobs.send(change.clone());
        }
        if self.all.receiver_count() > 0 {
            let _ = self.all.send(change);
        }
    }
}

/// Which changes a process listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// Every change.
    Everything,
    /// Job changes only: every subscriber gets only those (what a runbook server acts on).
    Jobs,
    /// No change: subscribers get none (a management server keeps only lookups up to date).
    Lookups,
}

/// Starts listening (the LISTEN is in place when this returns, so every change committed after
/// it is seen) and spawns the task that feeds `changes`.
pub(super) async fn listen(
    pool: &PgPool,
    changes: Changes,
    to: Listen,
    kept: Arc<Kept>,
) -> Result<JoinHandle<()>, sqlx::Error> {
    let listener = connect(pool, to).await?;
    Ok(tokio::spawn(feed(pool.clone(), listener, changes, to, kept)))
}

async fn connect(pool: &PgPool, to: Listen) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.ignore_pool_close_event(true);
    match to {
        Listen::Everything => listener.listen_all([LOOKUPS_CHANNEL, JOBS_CHANNEL, CHANNEL]).await?,
        Listen::Jobs => listener.listen_all([LOOKUPS_CHANNEL, JOBS_CHANNEL]).await?,
        Listen::Lookups => listener.listen(LOOKUPS_CHANNEL).await?,
    }
    Ok(listener)
}

/// Forwards notifications until the store is dropped (which aborts this task). A lost connection
/// is replaced by a new one with LISTEN issued again, waiting longer between attempts while the
/// database is down; once it listens again, kept lookups are forgotten and subscribers are told
/// with [`Change::Missed`] to read again what they keep (what was notified meanwhile is lost).
async fn feed(pool: PgPool, mut listener: PgListener, changes: Changes, to: Listen, kept: Arc<Kept>) {
    let mut wait = RECONNECT_MIN;
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                wait = RECONNECT_MIN;
                let Ok(items) = serde_json::from_str::<Vec<Wire>>(notification.payload()) else {
                    continue;
                };
                for item in items {
                    match item {
                        Wire::Access(_) => kept.forget(Some(Changed::Access)),
                        Wire::Runbooks(_) => kept.forget(Some(Changed::Runbooks)),
                        other => other.change().into_iter().for_each(|change| changes.send(change)),
                    }
                }
            }
            // The connection was lost (`None`: a network failure), or the session ended.
            Ok(None) | Err(_) => {
                listener = loop {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(RECONNECT_MAX);
                    if let Ok(fresh) = connect(&pool, to).await {
                        break fresh;
                    }
                };
                kept.forget(None);
                changes.send(Change::Missed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use scorch_activity::Status;
    use scorch_engine::RunState;

    use super::*;

    #[test]
    fn changes_survive_the_wire() {
        let changes: Vec<Change> = (0..500)
            .map(|seq| Change::ActivityRun {
                instance_id: Uuid::now_v7(),
                seq,
                activity_id: format!("step-{seq}"),
                state: RunState::Finished(Status::Warning),
            })
            .chain([
                Change::Job {
                    id: Uuid::now_v7(),
                    runbook_id: Uuid::now_v7(),
                    status: JobStatus::Canceled,
                },
                Change::Instance {
                    id: Uuid::now_v7(),
                    job_id: Uuid::now_v7(),
                    status: InstanceStatus::Warning,
                },
                Change::Output {
                    instance_id: Uuid::now_v7(),
                    seq: 7,
                },
            ])
            .collect();
        // Packed into payloads as scorch_notify packs them (one item here: the smallest payload).
        let back: Vec<Change> = items(&changes)
            .iter()
            .flat_map(|item| serde_json::from_str::<Vec<Wire>>(&format!("[{item}]")).unwrap())
            .filter_map(Wire::change)
            .collect();
        assert_eq!(back, changes);
    }
}
