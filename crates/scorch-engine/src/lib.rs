//! Runs runbook instances. Knows nothing of SQL, HTTP or which role hosts it: progress goes to
//! a [`Journal`], activities come from a [`scorch_activity::Registry`].

mod catalog;
mod data;
mod engine;
mod execute;
mod hosts;
mod instance;
pub mod journal;
mod keys;
mod record;
mod repeat;
mod shared;
mod watch;

pub use catalog::{JUNCTION, JUNCTION_DESCRIPTOR, RegistryCatalog};
pub use engine::{Ended, Engine, EngineConfig, EngineError, InstanceRequest};
pub use instance::Outcome;
pub use journal::{
    InstanceEnd, InstanceStart, InstanceStatus, Journal, JournalError, MemoryJournal, RunKey, RunRecord, RunState,
};

use std::sync::Arc;
use std::time::Duration;

use scorch_activity::Status;

/// Told of every activity run as it ends (not of runs replayed from the journal): what a host
/// counts for metrics. Called on the engine's path, so it must be cheap and must not block.
pub trait RunObserver: Send + Sync {
    fn run_ended(&self, type_name: &str, status: Status, duration: Duration);
}

/// Live progress of an instance, for traces and event streams.
#[derive(Debug, Clone)]
pub enum Event {
    Started {
        seq: u64,
        activity_id: Arc<str>,
        name: Arc<str>,
        attempt: u32,
    },
    /// A run finished (or, when resuming, was found finished in the journal).
    Finished { record: RunRecord, replayed: bool },
}
