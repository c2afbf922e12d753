//! Runbook server heartbeats, written through the writer so that they never make the job path's
//! writes wait for the lock (registration and listing are in `super::cold::servers`).

use jiff::Timestamp;
use rusqlite::{Connection, params};

use super::writer::Write;
use crate::StoreError;
use crate::codec::micros;

/// A heartbeat; its output is whether the server is registered.
pub(super) struct Beat {
    name: String,
    running: u32,
    at: i64,
}

impl Beat {
    /// The server named `name` is alive now, running `running` instances.
    pub(super) fn new(name: &str, running: u32) -> Self {
        Beat {
            name: name.to_string(),
            running,
            at: micros(Timestamp::now()),
        }
    }
}

impl Write for Beat {
    type Output = bool;
    type Error = StoreError;

    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Result<bool, StoreError>> {
        let rows = conn
            .prepare_cached("UPDATE runbook_servers SET heartbeat_at = ?, running = ? WHERE name = ?")?
            .execute(params![self.at, self.running, self.name])?;
        Ok(Ok(rows > 0))
    }
}
