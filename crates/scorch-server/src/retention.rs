//! Log retention: per runbook, keep its own rule (the runbook's `retention`) or the server's,
//! and purge the rest in bounded batches.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use scorch_model::def::Retention;
use scorch_store::{PurgeRule, Store, StoreError};

/// Instances deleted per transaction: short enough not to hold up running work.
const BATCH: u32 = 500;

/// Applies each runbook's rule (its own, else `default`); returns how many instances went.
pub async fn purge(store: &Arc<dyn Store>, default: Retention) -> Result<u64, StoreError> {
    let mut purged = 0;
    for summary in store.list_runbooks(None).await? {
        let runbook = store.runbook(summary.id, None).await?;
        let own = runbook
            .body
            .definition
            .get("retention")
            .and_then(|r| serde_json::from_value::<Retention>(r.clone()).ok());
        let rule = own.unwrap_or(default);
        if rule.keep_last.is_none() && rule.keep_days.is_none() {
            continue;
        }
        let older_than = rule
            .keep_days
            .map(|d| Timestamp::now() - SignedDuration::from_hours(i64::from(d) * 24));
        let purge = PurgeRule {
            runbook_id: Some(summary.id),
            keep_last: rule.keep_last,
            older_than,
        };
        purged += store.purge_instances(&purge, BATCH, false).await?;
    }
    Ok(purged)
}
