//! Retention: deleting old instances and their journal without blocking running work.

use uuid::Uuid;

use super::{PgStore, micros};
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

/// One batch ($5 instances at most) in one statement: the instances' runs (one key range of the
/// journal each), then the instances.
const PURGE_BATCH: &str = concat!(
    "WITH doomed AS (",
    purgeable!("SELECT id", "ORDER BY started_at, id LIMIT $5 FOR UPDATE SKIP LOCKED"),
    "), runs AS (DELETE FROM activity_runs WHERE instance_id IN (SELECT id FROM doomed))
     DELETE FROM instances WHERE id IN (SELECT id FROM doomed) RETURNING id"
);

/// Deletes finished instances, and their activity runs, of one runbook (or of every runbook),
/// keeping the last `keep_last` instances of each runbook and those started at or after
/// `older_than`; when both are given an instance must fail both tests to go. Works in batches of
/// `batch` instances, each its own short transaction, so running instances keep journaling.
/// Returns how many instances were deleted, or with `dry_run` would be, deleting nothing.
pub(super) async fn purge(store: &PgStore, rule: &PurgeRule, batch: u32, dry_run: bool) -> Result<u64, StoreError> {
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
            loop {
                let ids: Vec<i64> = sqlx::query_scalar(PURGE_BATCH)
                    .bind(runbook)
                    .bind(newest.0)
                    .bind(newest.1)
                    .bind(before)
                    .bind(i64::from(batch))
                    .fetch_all(store.pool())
                    .await?;
                purged += ids.len() as u64;
                if ids.len() < batch as usize {
                    break 0;
                }
            }
        };
    }
    Ok(purged)
}
