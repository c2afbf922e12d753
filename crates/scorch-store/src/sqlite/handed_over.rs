//! Journal records the engine does not wait for (an instance's start, an idempotent run's finish:
//! see `scorch_engine::Journal`), and what keeps that safe. They are handed to the writer, which
//! writes them in order with the instance's next records, usually in the same batch; the engine
//! goes on meanwhile. If one cannot be written, the instance's later records are refused until it
//! starts again, so the engine stops the instance at its next awaited record, where it would have
//! stopped had it waited, and a resume runs the unrecorded runs again.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use scorch_engine::JournalError;
use uuid::Uuid;

use super::writer::Write;
use crate::{Change, StoreError};

/// Broken instances kept at most; the set starts over when full (an entry normally lives only
/// until the engine stops its instance, at its next record).
const MAX_BROKEN: usize = 65_536;

/// Instances one of whose handed-over records was not written, with why. Read and changed by the
/// writer's thread only (as it applies records, in queue order).
#[derive(Debug, Default)]
pub(super) struct Broken(Mutex<HashMap<Uuid, String>>);

impl Broken {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, String>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn break_(&self, instance: Uuid, why: String) {
        let mut broken = self.lock();
        if broken.len() >= MAX_BROKEN {
            broken.clear();
        }
        broken.insert(instance, why);
    }
}

/// How a record stands to its instance's handed-over records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// The instance's start (or resume): mends a broken instance. Handed over.
    Start,
    /// Handed over: if it is not written, its instance breaks.
    HandedOver,
    /// Awaited: refused while its instance is broken.
    Awaited,
}

/// `write`, a record of `instance`.
pub(super) struct Record<W> {
    pub(super) instance: Uuid,
    pub(super) kind: Kind,
    pub(super) write: W,
    pub(super) broken: Arc<Broken>,
}

impl<W> Write for Record<W>
where
    W: Write,
    W::Error: From<JournalError> + Display,
{
    type Output = W::Output;
    type Error = W::Error;

    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Result<W::Output, W::Error>> {
        if self.kind == Kind::Start {
            self.broken.lock().remove(&self.instance);
        } else if let Some(why) = self.broken.lock().get(&self.instance) {
            return Ok(Err(JournalError::Unavailable(format!(
                "instance {}: an earlier record of it was not written: {why}",
                self.instance
            ))
            .into()));
        }
        let outcome = self.write.apply(conn)?;
        if let (Kind::Start | Kind::HandedOver, Err(refused)) = (self.kind, &outcome) {
            self.broken.break_(self.instance, refused.to_string());
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
            self.broken.break_(self.instance, err.to_string());
        }
        self.write.failed(err)
    }
}
