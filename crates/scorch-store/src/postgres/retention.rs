//! A purge's batch the PostgreSQL way: one statement (the rest of retention is in
//! `super::cold::retention`).

use uuid::Uuid;

use super::PgStore;
use super::cold::retention::purgeable;
use crate::StoreError;

/// One batch ($5 instances at most) in one statement: the instances' runs (one key range of the
/// journal each), then the instances. Instances another purge is deleting are skipped.
const PURGE_BATCH: &str = concat!(
    "WITH doomed AS (",
    purgeable!("SELECT id", "ORDER BY started_at, id LIMIT $5 FOR UPDATE SKIP LOCKED"),
    "), runs AS (DELETE FROM activity_runs WHERE instance_id IN (SELECT id FROM doomed))
     DELETE FROM instances WHERE id IN (SELECT id FROM doomed) RETURNING id"
);

/// Deletes at most `batch` purgeable instances of `runbook` with their runs; how many went.
pub(super) async fn purge_batch(
    store: &PgStore,
    runbook: Uuid,
    newest: (i64, i64),
    before: i64,
    batch: u32,
) -> Result<u64, StoreError> {
    let ids: Vec<i64> = sqlx::query_scalar(PURGE_BATCH)
        .bind(runbook)
        .bind(newest.0)
        .bind(newest.1)
        .bind(before)
        .bind(i64::from(batch))
        .fetch_all(store.pool())
        .await?;
    Ok(ids.len() as u64)
}
