//! The audit trail: every change and every job start and stop.

use serde_json::Value;
use sqlx::Row as _;

use super::B;
use crate::backend::Backend;
use crate::codec::{from_json, timestamp};
use crate::{AuditEntry, StoreError};

/// A page of entries, newest first; `limit` 0 is no limit.
pub(crate) async fn log(store: &B, page: u32, offset: u32) -> Result<Vec<AuditEntry>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, at, actor, action, object_type, object_id, detail FROM audit ORDER BY id DESC LIMIT $1 OFFSET $2",
    )
    .bind(B::limit(page))
    .bind(i64::from(offset))
    .fetch_all(store.pool())
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

/// An entry's detail as stored: JSON text, or NULL for none.
pub(crate) fn detail(detail: &Value) -> Result<Option<String>, StoreError> {
    if detail.is_null() {
        Ok(None)
    } else {
        crate::codec::to_json(detail).map(Some)
    }
}
