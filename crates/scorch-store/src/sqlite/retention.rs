//! A purge's batch the SQLite way: in a transaction of its own, instance by instance (the rest of
//! retention is in `super::cold::retention`).

use uuid::Uuid;

use super::SqliteStore;
use super::cold::retention::purgeable;
use crate::StoreError;

/// Deletes at most `batch` purgeable instances of `runbook` with their runs; how many went.
pub(super) async fn purge_batch(
    store: &SqliteStore,
    runbook: Uuid,
    newest: (i64, i64),
    before: i64,
    batch: u32,
) -> Result<u64, StoreError> {
    let mut tx = store.pool.begin_with("BEGIN IMMEDIATE").await?;
    let ids: Vec<i64> = sqlx::query_scalar(purgeable!("SELECT id", "ORDER BY started_at, id LIMIT $5"))
        .bind(runbook)
        .bind(newest.0)
        .bind(newest.1)
        .bind(before)
        .bind(batch)
        .fetch_all(&mut *tx)
        .await?;
    for &id in &ids {
        // The runs are one contiguous key range of the journal.
        sqlx::query("DELETE FROM activity_runs WHERE instance_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM instances WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(ids.len() as u64)
}
