//! The writer's task: takes what is queued into a batch (lingering a moment for company when
//! nobody waits), writes it on a connection it keeps, and answers every caller after the commit.

use std::time::{Duration, Instant};

use scorch_engine::JournalError;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgPool;
use sqlx::{Connection, Postgres};
use tokio::sync::mpsc;

use super::fallback::write;
use super::handed_over::Broken;
use super::records::{Reply, Request, Write};
use super::{Known, MAX_BATCH};
use crate::StoreError;

/// How long handed-over records wait for company before they are written (see [`linger`]).
const LINGER: Duration = Duration::from_millis(2);
/// A writer's connection idle this long is checked before its next batch.
const IDLE_CHECK: Duration = Duration::from_secs(1);

pub(super) async fn write_loop(pool: PgPool, mut receiver: mpsc::Receiver<Request>) {
    let mut conn: Option<PoolConnection<Postgres>> = None;
    let mut known = Known::default();
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut last_used = Instant::now();
    let mut broken = Broken::default();
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        linger(&mut receiver, &mut batch).await;
        broken.refuse_records_of_broken(&mut batch);
        // Answered after the batch's records, which include everything queued before them.
        let barriers: Vec<Request> = batch.extract_if(.., |r| matches!(r.write, Write::Barrier)).collect();
        let passed = |broken: &mut Broken| barriers.into_iter().for_each(|b| broken.deliver(b, Ok(Reply::Written)));
        if batch.is_empty() {
            passed(&mut broken);
            continue;
        }
        // A connection left idle may have been closed meanwhile (the database restarted, or ended
        // the session): ask before handing it a batch that would fail on it. A busy writer never
        // asks.
        if last_used.elapsed() >= IDLE_CHECK
            && let Some(idle) = &mut conn
            && idle.ping().await.is_err()
        {
            // Dropped, it is closed (see `kept_connection`).
            conn = None;
            known.instances.clear();
        }
        last_used = Instant::now();
        let written = match super::super::kept_connection(&mut conn, &pool).await {
            Ok(conn) => write(conn, &batch, &mut known).await,
            Err(err) => Err(err),
        };
        match written {
            Ok(outcomes) => {
                for (request, outcome) in batch.drain(..).zip(outcomes) {
                    broken.deliver(request, outcome);
                }
            }
            Err(err) => {
                // Not the database refusing a record: the connection or the server failed. Start
                // over on a new connection with the next batch; the engine stops these instances
                // (they resume later from what was committed).
                conn = None;
                known.instances.clear();
                let err = JournalError::from(StoreError::from(err));
                for request in batch.drain(..) {
                    broken.deliver(request, Err(err.clone()));
                }
            }
        }
        passed(&mut broken);
    }
}

/// While nobody waits for any record in `batch` (handed-over records only: an instance's start, its
/// idempotent runs' finishes), waits up to [`LINGER`] for more, and for one that someone waits for
/// (its next durable record, usually its end) to write them all in one commit: an instance whose
/// activities are quick is then one write, not one for its first records and another for the
/// rest. Only when these records become visible changes; the engine has gone on already.
async fn linger(receiver: &mut mpsc::Receiver<Request>, batch: &mut Vec<Request>) {
    let deadline = tokio::time::Instant::now() + LINGER;
    while batch.len() < MAX_BATCH && batch.iter().all(|r| r.ack.is_none()) {
        let room = MAX_BATCH - batch.len();
        match tokio::time::timeout_at(deadline, receiver.recv_many(batch, room)).await {
            Ok(received) if received > 0 => {}
            // Timed out, or the journal is closing.
            _ => return,
        }
    }
}
