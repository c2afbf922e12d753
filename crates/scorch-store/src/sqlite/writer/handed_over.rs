//! Journal records the engine does not wait for (an instance's start, an idempotent run's finish:
//! see `scorch_engine::Journal`), and what keeps that safe. They are handed to the writer, which
//! writes them in order with the instance's next records, usually in the same batch; the engine
//! goes on meanwhile. If one cannot be written, the instance's later records are refused until it
//! starts again, so the engine stops the instance at its next awaited record, where it would have
//! stopped had it waited, and a resume runs the unrecorded runs again.

use std::fmt::Display;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;
use uuid::Uuid;

use super::Write;
use crate::broken::BrokenInstances;
use crate::{Change, StoreError};

/// The journal's broken instances, read and changed by the writer's thread only (as it applies
/// records, in queue order); shared with the journal that makes the records.
pub(super) type Broken = Arc<Mutex<BrokenInstances>>;

fn lock(broken: &Broken) -> MutexGuard<'_, BrokenInstances> {
    broken.lock().unwrap_or_else(|e| e.into_inner())
}

/// How a record stands to its instance's handed-over records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::sqlite) enum Kind {
    /// The instance's start (or resume): mends a broken instance. Handed over.
    Start,
    /// Handed over: if it is not written, its instance breaks.
    HandedOver,
    /// Awaited: refused while its instance is broken.
    Awaited,
}

/// `write`, a record of `instance`.
pub(in crate::sqlite) struct Record<W> {
    pub(super) instance: Uuid,
    pub(super) kind: Kind,
    pub(super) write: W,
    pub(super) broken: Broken,
}

impl<W> Write for Record<W>
where
    W: Write,
    W::Error: From<scorch_engine::JournalError> + Display,
{
    type Output = W::Output;
    type Error = W::Error;

    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Result<W::Output, W::Error>> {
        if self.kind == Kind::Start {
            lock(&self.broken).mend(self.instance);
        } else if let Some(refused) = lock(&self.broken).refusal(self.instance) {
            return Ok(Err(refused.into()));
        }
        let outcome = self.write.apply(conn)?;
        if let (Kind::Start | Kind::HandedOver, Err(refused)) = (self.kind, &outcome) {
            lock(&self.broken).break_(self.instance, refused.to_string());
        }
        Ok(outcome)
    }

    fn changes(&self, output: &W::Output, send: &mut dyn FnMut(Change)) {
        self.write.changes(output, send)
    }

    fn relaxed(&self) -> bool {
        self.write.relaxed()
    }

    fn failed(&self, err: &StoreError) {
        if self.kind != Kind::Awaited {
            lock(&self.broken).break_(self.instance, err.to_string());
        }
        self.write.failed(err)
    }
}
