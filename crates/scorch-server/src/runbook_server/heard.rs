//! What a runbook server has heard of the job queue from job changes: the jobs pending and not
//! yet taken or ended. A slot that frees up looks for work only while some may be waiting, so a
//! busy server does not ask the database for work after every job when the queue is empty.

use std::collections::HashSet;

use scorch_store::JobStatus;
use uuid::Uuid;

/// Pending jobs kept at most; beyond, the server no longer knows the queue (and claims as if
/// jobs were waiting until a claim finds the queue drained).
const MAX_HEARD: usize = 10_000;

#[derive(Debug)]
pub(super) struct HeardQueue {
    pending: HashSet<Uuid>,
    /// The queue may hold jobs not heard of: changes were missed, too many were pending to keep,
    /// or no claim has drained the queue since the server started.
    unsure: bool,
}

impl Default for HeardQueue {
    fn default() -> Self {
        HeardQueue {
            pending: HashSet::new(),
            unsure: true,
        }
    }
}

impl HeardQueue {
    /// A job changed to `status`.
    pub(super) fn heard(&mut self, id: Uuid, status: JobStatus) {
        match status {
            JobStatus::Pending if self.pending.len() >= MAX_HEARD => self.unsure = true,
            JobStatus::Pending => {
                self.pending.insert(id);
            }
            _ => {
                self.pending.remove(&id);
            }
        }
    }

    /// Changes were missed.
    pub(super) fn missed(&mut self) {
        self.unsure = true;
    }

    /// A claim by this server took `jobs`; `drained` when it took fewer than it asked for, so
    /// that the queue held no other job this server could take then.
    pub(super) fn claimed(&mut self, jobs: impl IntoIterator<Item = Uuid>, drained: bool) {
        for id in jobs {
            self.pending.remove(&id);
        }
        if drained {
            self.unsure = false;
        }
    }

    /// Whether a job may be waiting for a free slot.
    pub(super) fn may_wait(&self) -> bool {
        self.unsure || !self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_may_wait_while_a_job_is_pending_and_not_taken() {
        let mut heard = HeardQueue::default();
        assert!(heard.may_wait(), "a server that just started does not know the queue");
        heard.claimed([], true);
        assert!(!heard.may_wait());

        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        heard.heard(a, JobStatus::Pending);
        heard.heard(b, JobStatus::Pending);
        assert!(heard.may_wait());
        // Taken by another server, and by this one.
        heard.heard(a, JobStatus::Running);
        assert!(heard.may_wait());
        heard.claimed([b], false);
        assert!(!heard.may_wait());
        // Canceled while pending.
        heard.heard(a, JobStatus::Pending);
        heard.heard(a, JobStatus::Canceled);
        assert!(!heard.may_wait());
    }

    #[test]
    fn missed_changes_make_the_queue_unknown_until_a_claim_drains_it() {
        let mut heard = HeardQueue::default();
        heard.claimed([], true);
        heard.missed();
        assert!(heard.may_wait());
        // A claim that took all it asked for may have left others.
        heard.claimed([Uuid::now_v7()], false);
        assert!(heard.may_wait());
        heard.claimed([], true);
        assert!(!heard.may_wait());
    }

    #[test]
    fn too_many_pending_jobs_to_keep_make_the_queue_unknown() {
        let mut heard = HeardQueue::default();
        heard.claimed([], true);
        let first = Uuid::now_v7();
        heard.heard(first, JobStatus::Pending);
        for _ in 1..=MAX_HEARD {
            heard.heard(Uuid::now_v7(), JobStatus::Pending);
        }
        assert_eq!(heard.pending.len(), MAX_HEARD);
        heard.heard(first, JobStatus::Completed);
        heard.claimed([], true);
        assert!(heard.may_wait(), "jobs it kept are still pending");
    }
}
