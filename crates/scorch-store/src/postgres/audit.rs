//! The audit trail's records, stamped on the database's clock (the trail is read in
//! `super::cold::audit`).

use super::PgStore;
use super::cold::audit::detail;
use crate::{NewAudit, StoreError};

/// Appends an entry: `actor` did `action` to the `object_type` object `object_id`.
pub(super) async fn append(store: &PgStore, entry: NewAudit<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit (at, actor, action, object_type, object_id, detail)
         VALUES (scorch_now_us(), $1, $2, $3, $4, $5)",
    )
    .bind(entry.actor)
    .bind(entry.action)
    .bind(entry.object_type)
    .bind(entry.object_id)
    .bind(detail(entry.detail)?)
    .execute(store.pool())
    .await?;
    Ok(())
}
