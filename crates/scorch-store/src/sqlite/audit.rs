//! The audit trail's records, written through the writer so that they share a commit with the
//! job path's writes (the trail is read in `super::cold::audit`).

use jiff::Timestamp;
use rusqlite::{Connection, params};
use uuid::Uuid;

use super::cold::audit::detail;
use super::writer::{Write, refusal};
use crate::codec::micros;
use crate::{NewAudit, StoreError};

/// An audit record, encoded for the writer.
pub(super) struct Entry {
    at: i64,
    actor: String,
    action: String,
    object_type: String,
    object_id: Option<Uuid>,
    detail: Option<String>,
}

impl Entry {
    pub(super) fn new(entry: &NewAudit<'_>) -> Result<Self, StoreError> {
        Ok(Entry {
            at: micros(Timestamp::now()),
            actor: entry.actor.to_string(),
            action: entry.action.to_string(),
            object_type: entry.object_type.to_string(),
            object_id: entry.object_id,
            detail: detail(entry.detail)?,
        })
    }
}

impl Write for Entry {
    type Output = ();
    type Error = StoreError;

    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Result<(), StoreError>> {
        let done = conn
            .prepare_cached(
                "INSERT INTO audit (at, actor, action, object_type, object_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
            )?
            .execute(params![
                self.at,
                self.actor,
                self.action,
                self.object_type,
                self.object_id,
                self.detail,
            ]);
        match done {
            Ok(_) => Ok(Ok(())),
            Err(err) => refusal(err, |_| {
                StoreError::Invalid(format!("audit record '{}': a value is missing", self.action))
            }),
        }
    }
}
