//! The audit trail: every change and every job start and stop.

use jiff::Timestamp;
use rusqlite::{Connection, params};
use serde_json::Value;
use sqlx::Row as _;
use uuid::Uuid;

use super::writer::{Write, refusal};
use super::{SqliteStore, from_json, limit, micros, timestamp, to_json};
use crate::{AuditEntry, NewAudit, StoreError};

/// Appends an entry: `actor` did `action` to the `object_type` object `object_id`. Through the
/// writer, so that it shares a commit with the job path's writes.
pub(super) async fn append(store: &SqliteStore, entry: NewAudit<'_>) -> Result<(), StoreError> {
    store.writer.submit(Entry::new(&entry)?).await
}

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
            detail: if entry.detail.is_null() {
                None
            } else {
                Some(to_json(entry.detail)?)
            },
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

/// A page of entries, newest first; `limit` 0 is no limit.
pub(super) async fn log(store: &SqliteStore, page: u32, offset: u32) -> Result<Vec<AuditEntry>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, at, actor, action, object_type, object_id, detail FROM audit ORDER BY id DESC LIMIT ? OFFSET ?",
    )
    .bind(limit(page))
    .bind(offset)
    .fetch_all(&store.pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(AuditEntry {
                id: row.try_get("id")?,
                at: timestamp(row.try_get("at")?)?,
                actor: row.try_get("actor")?,
                action: row.try_get("action")?,
                object_type: row.try_get("object_type")?,
                object_id: row.try_get("object_id")?,
                detail: match row.try_get::<Option<&str>, _>("detail")? {
                    Some(text) => from_json(text, "audit detail")?,
                    None => Value::Null,
                },
            })
        })
        .collect()
}
