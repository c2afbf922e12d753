//! The audit trail: every change and every job start and stop.

use jiff::Timestamp;
use serde_json::Value;
use sqlx::Row as _;
use uuid::Uuid;

use super::{SqliteStore, from_json, micros, timestamp, to_json};
use crate::{AuditEntry, StoreError};

impl SqliteStore {
    /// Appends an entry: `actor` did `action` to the `object_type` object `object_id`.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        object_type: &str,
        object_id: Option<Uuid>,
        detail: &Value,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO audit (at, actor, action, object_type, object_id, detail) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(micros(Timestamp::now()))
            .bind(actor)
            .bind(action)
            .bind(object_type)
            .bind(object_id)
            .bind(if detail.is_null() { None } else { Some(to_json(detail)?) })
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The latest `limit` entries, newest first.
    pub async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, object_type, object_id, detail FROM audit ORDER BY id DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
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
}
