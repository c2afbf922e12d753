//! One batch: committed in one transaction, with the fsync unless every write in it may go
//! without (see [`Write::relaxed`](super::Write::relaxed)).

use rusqlite::{Connection, TransactionBehavior};

use super::Queued;

/// Commits from now on sync the write-ahead log (`synchronous=FULL`), or not (`NORMAL`, which in
/// WAL mode syncs it only before a checkpoint).
pub(super) fn set_durable(conn: &Connection, durable: &mut bool, wanted: bool) -> rusqlite::Result<()> {
    if *durable != wanted {
        conn.pragma_update(None, "synchronous", if wanted { "FULL" } else { "NORMAL" })?;
        *durable = wanted;
    }
    Ok(())
}

/// Writes `batch` in one transaction. A write that breaks a constraint is refused alone; any
/// other error fails the batch (and rolls it back).
pub(super) fn write_batch(conn: &mut Connection, batch: &mut [Box<dyn Queued>]) -> rusqlite::Result<()> {
    // IMMEDIATE takes the write lock up front, waiting (busy timeout) for other writers.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for write in batch.iter_mut() {
        write.apply(&tx)?;
    }
    tx.commit()
}
