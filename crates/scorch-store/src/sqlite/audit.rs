//! The audit trail: every change and every job start and stop.

use jiff::Timestamp;
use serde_json::Value;
use sqlx::Row as _;

use super::{SqliteStore, from_json, limit, micros, timestamp, to_json};
use crate::{AuditEntry, NewAudit, StoreError};

/// Appends an entry: `actor` did `action` to the `object_type` object `object_id`.
pub(super) async fn append(store: &SqliteStore, entry: NewAudit<'_>) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO audit (at, actor, action, object_type, object_id, detail) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(micros(Timestamp::now()))
        .bind(entry.actor)
        .bind(entry.action)
        .bind(entry.object_type)
        .bind(entry.object_id)
        .bind(if entry.detail.is_null() {
            None
        } else {
            Some(to_json(entry.detail)?)
        })
        .execute(&store.pool)
        .await?;
    Ok(())
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
