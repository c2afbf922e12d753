//! What a runbook server knows of the job queue: the jobs pending and not yet taken or ended, read
//! from the store once and then kept up to date from job changes. A slot that frees up looks for
//! work only while some may be waiting, so a busy server does not ask the database for work after
//! every job when the queue is empty.

use std::collections::HashSet;

use scorch_store::JobStatus;
use uuid::Uuid;

/// Pending jobs kept at most; beyond, the server no longer knows the queue: it claims as if jobs
/// were waiting, and reads the queue again only once a claim has found it drained (reading a
/// backlog this long at every heartbeat would cost more than the claims it spares).
pub(super) const MAX_HEARD: usize = 10_000;

#[derive(Debug)]
pub(super) struct HeardQueue {
    pending: HashSet<Uuid>,
    /// The queue may hold jobs not known here: it was not read yet, changes were missed, or too
    /// many jobs were pending to keep.
    unsure: bool,
    /// Too many jobs were pending to keep, and no claim has drained the queue since.
    overflowed: bool,
}

impl Default for HeardQueue {
    fn default() -> Self {
        HeardQueue {
            pending: HashSet::new(),
            unsure: true,
            overflowed: false,
        }
    }
}

impl HeardQueue {
    /// The queue as read from the store (after subscribing to changes, so that none is missed
    /// between): `pending` holds every pending job, unless there were more than [`MAX_HEARD`].
    pub(super) fn read(&mut self, pending: impl IntoIterator<Item = Uuid>) {
        self.pending = pending.into_iter().take(MAX_HEARD + 1).collect();
        self.unsure = false;
        if self.pending.len() > MAX_HEARD {
            self.overflow();
        }
    }

    fn overflow(&mut self) {
        self.pending.clear();
        self.unsure = true;
        self.overflowed = true;
    }

    /// A job changed to `status`.
    pub(super) fn heard(&mut self, id: Uuid, status: JobStatus) {
        match status {
            JobStatus::Pending if self.pending.len() >= MAX_HEARD => self.overflow(),
            JobStatus::Pending => {
                self.pending.insert(id);
            }
            _ => {
                self.pending.remove(&id);
            }
        }
    }

    /// Changes were missed (or the queue could not be read).
    pub(super) fn missed(&mut self) {
        self.unsure = true;
    }

    /// A claim by this server took `jobs`; `drained` when it took fewer than it asked for.
    pub(super) fn taken(&mut self, jobs: impl IntoIterator<Item = Uuid>, drained: bool) {
        for id in jobs {
            self.pending.remove(&id);
        }
        if drained {
            self.overflowed = false;
        }
    }

    /// Whether the queue should be read again.
    pub(super) fn needs_read(&self) -> bool {
        self.unsure && !self.overflowed
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
        assert!(
            heard.may_wait(),
            "a server that has not read the queue does not know it"
        );
        let waiting = Uuid::now_v7();
        heard.read([waiting]);
        assert!(heard.may_wait());
        heard.heard(waiting, JobStatus::Running);
        assert!(!heard.may_wait());

        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        heard.heard(a, JobStatus::Pending);
        heard.heard(b, JobStatus::Pending);
        // Taken by another server, and by this one.
        heard.heard(a, JobStatus::Running);
        assert!(heard.may_wait());
        heard.taken([b], false);
        assert!(!heard.may_wait());
        // Canceled while pending.
        heard.heard(a, JobStatus::Pending);
        heard.heard(a, JobStatus::Canceled);
        assert!(!heard.may_wait());
    }

    #[test]
    fn missed_changes_make_the_queue_unknown_until_it_is_read_again() {
        let mut heard = HeardQueue::default();
        heard.read([]);
        heard.missed();
        assert!(heard.needs_read() && heard.may_wait());
        heard.read([]);
        assert!(!heard.needs_read() && !heard.may_wait());
    }

    #[test]
    fn too_many_pending_jobs_to_keep_make_the_queue_unknown_until_a_claim_drains_it() {
        let mut heard = HeardQueue::default();
        heard.read((0..=MAX_HEARD).map(|_| Uuid::now_v7()));
        assert!(
            heard.may_wait() && !heard.needs_read(),
            "not read again at every heartbeat"
        );
        heard.taken([Uuid::now_v7()], false);
        assert!(!heard.needs_read());
        heard.taken([], true);
        assert!(heard.needs_read());
        heard.read([]);
        for _ in 0..=MAX_HEARD {
            heard.heard(Uuid::now_v7(), JobStatus::Pending);
        }
        assert!(heard.pending.is_empty(), "what it kept is let go");
        assert!(heard.may_wait() && !heard.needs_read());
    }
}
