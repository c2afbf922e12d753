//! Change notifications on SQLite: broadcast in this process only, after they commit (by the
//! writer after each group commit, by the call that made them for the pool's writes).

use tokio::sync::broadcast;

use super::CHANGES;
use crate::Change;

/// Where committed changes go: to every subscriber, and job changes also to those that want only
/// them (a runbook server's loop, job waiters), who are then not woken by every activity run.
#[derive(Debug, Clone)]
pub(super) struct Changes {
    pub(super) all: broadcast::Sender<Change>,
    pub(super) jobs: broadcast::Sender<Change>,
}

impl Changes {
    pub(super) fn new() -> Self {
        Changes {
            all: broadcast::channel(CHANGES).0,
            jobs: broadcast::channel(CHANGES).0,
        }
    }

    pub(super) fn send(&self, change: Change) {
        if matches!(change, Change::Job { .. } | Change::Trigger { .. }) && self.jobs.receiver_count() > 0 {
            let _ = self.jobs.send(change.clone());
        }
        if self.all.receiver_count() > 0 {
            let _ = self.all.send(change);
        }
    }
}
