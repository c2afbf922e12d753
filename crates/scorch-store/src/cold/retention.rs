//! Retention: deleting old instances and their journal without blocking running work.

use uuid::Uuid;

use super::B;
use crate::backend::Backend;
use crate::codec::micros;
use crate::{PurgeRule, StoreError};

/// The instances of runbook $1 that a purge may delete: finished, no newer than the newest one
/// past the kept ones ($2, $3 by (started_at, id)), and started before the age limit $4. Every
/// condition is on the (runbook_id, started_at) index, so a purge never scans the whole table.
macro_rules! purgeable {
    ($select:literal, $clauses:literal) => {
        concat!(
            $select,
            " FROM instances WHERE runbook_id = $1 AND (started_at, id) <= ($2, $3) AND started_at < $4
              AND status <> 'running' ",
            $clauses
        )
    };
}
pub(crate) use purgeable;

/// Deletes finished instances, and their activity runs, of one runbook (or of every runbook),
/// keeping the last `keep_last` instances of each runbook and those started at or after
/// `older_than`; when both are given an instance must fail both tests to go. Works in batches of
/// `batch` instances, each its own short transaction, so running instances keep journaling.
/// Returns how many instances were deleted, or with `dry_run` would be, deleting nothing.
pub(crate) async fn purge(store: &B, rule: &PurgeRule, batch: u32, dry_run: bool) -> Result<u64, StoreError> {
    let PurgeRule {
        runbook_id,
        keep_last,
        older_than,
    } = *rule;
    if keep_last.is_none() && older_than.is_none() {
        return Err(StoreError::Invalid(
            "a purge needs keep_last or older_than (keep_last 0 deletes every finished instance)".into(),
        ));
    }
    if batch == 0 {
        return Err(StoreError::Invalid(
            "a purge batch must hold at least one instance".into(),
        ));
    }
    let runbooks: Vec<Uuid> = match runbook_id {
        Some(id) => vec![id],
        None => {
            sqlx::query_scalar("SELECT id FROM runbooks")
                .fetch_all(store.pool())
                .await?
        }
    };
    let before = older_than.map_or(i64::MAX, micros);
    let mut purged = 0;
    for runbook in runbooks {
        let newest: (i64, i64) = match keep_last {
            Some(keep) => {
                let newest = sqlx::query_as(
                    "SELECT started_at, id FROM instances WHERE runbook_id = $1
                     ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET $2",
                )
                .bind(runbook)
                .bind(i64::from(keep))
                .fetch_optional(store.pool())
                .await?;
                match newest {
                    Some(newest) => newest,
                    None => continue,
                }
            }
            None => (i64::MAX, i64::MAX),
        };
        purged += if dry_run {
            let count: i64 = sqlx::query_scalar(purgeable!("SELECT COUNT(*)", ""))
                .bind(runbook)
                .bind(newest.0)
                .bind(newest.1)
                .bind(before)
                .fetch_one(store.pool())
                .await?;
            count as u64
        } else {
            let mut deleted = 0;
            loop {
                let batch_deleted = purge_batch(store, runbook, newest, before, batch).await?;
                deleted += batch_deleted;
                if batch_deleted < u64::from(batch) {
                    break deleted;
                }
            }
        };
    }
    Ok(purged)
}

/// Deletes at most `batch` purgeable instances of `runbook` with their runs, in a transaction of
/// its own; how many went.
async fn purge_batch(store: &B, runbook: Uuid, newest: (i64, i64), before: i64, batch: u32) -> Result<u64, StoreError> {
    let mut tx = store.begin_write().await?;
    let mut deleted: Vec<i64> = Vec::new();
    for sql in B::PURGE_BATCH {
        deleted = sqlx::query_scalar(*sql)
            .bind(runbook)
            .bind(newest.0)
            .bind(newest.1)
            .bind(before)
            .bind(i64::from(batch))
            .fetch_all(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(deleted.len() as u64)
}
