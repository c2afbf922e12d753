//! Runs runbook instances. Knows nothing of SQL, HTTP or which role hosts it: progress goes to
//! a [`Journal`], activities come from a [`scorch_activity::Registry`].

pub mod journal;

pub use journal::{InstanceEnd, InstanceStart, InstanceStatus, Journal, JournalError, MemoryJournal, RunKey, RunRecord, RunState};
