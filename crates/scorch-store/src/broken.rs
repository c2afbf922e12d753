//! Instances one of whose handed-over journal records (the ones the engine does not wait for: see
//! `scorch_engine::Journal`) could not be written. Both backends' writers refuse such an
//! instance's later records until it starts again (a resume), so the engine stops the instance at
//! its next awaited record, where it would have stopped had it waited.

use std::collections::HashMap;

use scorch_engine::JournalError;
use uuid::Uuid;

/// Instances kept at most; the set starts over when full. The engine stops a broken instance at
/// its next record, so an entry normally lives until a resume here or, when another server
/// resumes the instance, until the set starts over.
const MAX_BROKEN: usize = 65_536;

/// Each broken instance with why its record was not written.
#[derive(Debug, Default)]
pub(crate) struct BrokenInstances(HashMap<Uuid, String>);

impl BrokenInstances {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `instance`'s handed-over record was not written, for `why`.
    pub(crate) fn break_(&mut self, instance: Uuid, why: String) {
        if self.0.len() >= MAX_BROKEN {
            self.0.clear();
        }
        self.0.insert(instance, why);
    }

    /// `instance` starts again: its records are written again.
    pub(crate) fn mend(&mut self, instance: Uuid) {
        self.0.remove(&instance);
    }

    /// Why a record of `instance` is refused, if it is broken.
    pub(crate) fn refusal(&self, instance: Uuid) -> Option<JournalError> {
        let why = self.0.get(&instance)?;
        Some(JournalError::Unavailable(format!(
            "instance {instance}: an earlier record of it was not written: {why}"
        )))
    }
}
