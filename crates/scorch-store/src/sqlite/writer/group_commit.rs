//! The writer's thread: takes what is queued into one batch, commits it, then tells the store's
//! subscribers what changed and acknowledges every caller.

use rusqlite::Connection;
use tokio::sync::mpsc;

use super::super::changes::Changes;
use super::batch::{set_durable, write_batch};
use super::{MAX_BATCH, Queued, store_error};

pub(super) fn write_loop(mut conn: Connection, mut receiver: mpsc::Receiver<Box<dyn Queued>>, changes: Changes) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // The connection's `synchronous` setting: FULL (fsync at commit) unless a batch needs none.
    let mut durable = true;
    while let Some(first) = receiver.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH
            && let Ok(next) = receiver.try_recv()
        {
            batch.push(next);
        }
        let written = set_durable(&conn, &mut durable, batch.iter().any(|write| !write.relaxed()))
            .and_then(|()| write_batch(&mut conn, &mut batch));
        acknowledge(&mut batch, written, &changes);
    }
}

fn acknowledge(batch: &mut Vec<Box<dyn Queued>>, written: rusqlite::Result<()>, changes: &Changes) {
    match written {
        Ok(()) => batch.drain(..).for_each(|write| write.committed(changes)),
        Err(err) => {
            let err = store_error(err);
            batch.drain(..).for_each(|write| write.failed(err.clone()));
        }
    }
}
