//! Claims: runbook servers take jobs through leases, renew them, end the jobs and hand them back.
//!
//! A claim is one call of `scorch_claim_jobs` (migration 0005), on a connection the store keeps for
//! its claims: one round trip and one commit however many jobs it takes.
//! 1. jobs whose lease expired, `FOR UPDATE SKIP LOCKED`: rows another claim has locked are
//!    skipped, never waited for, so concurrent claims take different jobs. They hold no new slot
//!    of their runbook's concurrency (they were running);
//! 2. pending jobs in queue order, locked the same way as they are read; for each runbook met, a
//!    transaction-level advisory lock. Claims of one runbook's jobs thus queue for a moment, and a
//!    statement that starts after the lock is granted sees every claim committed before: two
//!    servers cannot both take the last slot of a runbook's `concurrency`, which row locks on
//!    different jobs alone would allow (each would count the other's job as pending). Only the
//!    first advisory lock of a claim is waited for, later ones are tried, so a claim that holds
//!    one never waits for another: claims cannot deadlock;
//! 3. under the lock, in a statement of its own (a PL/pgSQL function's statements each take a
//!    fresh snapshot), the runbook's running jobs are counted once; jobs are taken while a slot is
//!    free (the claim counts its own takes), and a runbook without one is passed over;
//! 4. one update marks every job taken running under a lease (on the database's clock) and keeps or
//!    makes its instance id.
//!
//! Every take is announced in one notification when the claim commits.

use std::time::Duration;

use scorch_engine::InstanceEnd;
use sqlx::Row as _;
use sqlx::postgres::{PgConnection, PgRow};
use uuid::Uuid;

use super::jobs::{self, decode};
use super::runbooks;
use super::sql::{CLAIM, notify_job};
use super::writer::JobEnd;
use super::{PgStore, duration_micros};
use crate::versions::Head;
use crate::{Claim, JobStatus, StoreError};

/// Jobs one claim takes at most (each needs an instance id made beforehand).
const MAX_CLAIM: usize = 4096;

pub(super) async fn claim(
    store: &PgStore,
    server: &str,
    lease: Duration,
    alive_within: Duration,
    max: usize,
) -> Result<Vec<Claim>, StoreError> {
    let max = max.min(MAX_CLAIM);
    if max == 0 {
        return Ok(Vec::new());
    }
    let instances: Vec<Uuid> = (0..max).map(|_| Uuid::now_v7()).collect();
    let mut kept = store.shared.claimer.lock().await;
    let conn = super::kept_connection(&mut kept, store.pool()).await?;
    let claimed = sqlx::query(CLAIM)
        .bind(server)
        .bind(duration_micros(lease))
        .bind(duration_micros(alive_within))
        .bind(i32::try_from(max).unwrap_or(i32::MAX))
        .bind(&instances)
        .fetch_all(&mut **conn)
        .await;
    let rows = match claimed {
        Ok(rows) => rows,
        Err(err) => {
            // Closed (see `kept_connection`): the next claim opens another.
            *kept = None;
            return Err(err.into());
        }
    };
    let mut claims = Vec::with_capacity(rows.len());
    for row in &rows {
        match taken(store, conn, row).await {
            Ok(claim) => claims.push(claim),
            Err(err) => {
                // Taken (and committed) but not handed over: give the jobs back at once rather
                // than leave them to their leases.
                *kept = None;
                drop(kept);
                for row in &rows {
                    if let Ok(id) = row.try_get::<Uuid, _>("id") {
                        let _ = release(store, id, server).await;
                    }
                }
                return Err(err);
            }
        }
    }
    Ok(claims)
}

/// A job as the claim function returns it, with its runbook version (cached, or read here).
async fn taken(store: &PgStore, conn: &mut PgConnection, row: &PgRow) -> Result<Claim, StoreError> {
    let job = decode(row)?;
    let head = Head {
        id: job.runbook_id,
        name: row.try_get("runbook_name")?,
        folder: row.try_get("folder_path")?,
        latest_version: row.try_get("latest_version")?,
        checked_out_by: row.try_get("checked_out_by")?,
    };
    let runbook = runbooks::assemble(store, conn, head, job.version).await?;
    let instance_id = job
        .instance_id
        .ok_or_else(|| StoreError::Invalid(format!("claimed job {} has no instance", job.id)))?;
    Ok(Claim {
        resume: row.try_get("resume")?,
        job,
        instance_id,
        runbook,
    })
}

/// Extends the leases of `server`'s running jobs; returns those whose cancellation was requested.
pub(super) async fn renew(
    store: &PgStore,
    server: &str,
    jobs: &[Uuid],
    lease: Duration,
) -> Result<Vec<Uuid>, StoreError> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let renewed: Vec<(Uuid, bool)> = sqlx::query_as(
        "UPDATE jobs SET lease_expires_at = scorch_now_us() + $1
         WHERE id = ANY($3) AND claimed_by = $2 AND status = 'running'
         RETURNING id, cancel_requested",
    )
    .bind(duration_micros(lease))
    .bind(server)
    .bind(jobs)
    .fetch_all(store.pool())
    .await?;
    let mut canceled: Vec<Uuid> = renewed.into_iter().filter(|(_, c)| *c).map(|(id, _)| id).collect();
    canceled.sort();
    Ok(canceled)
}

/// Ends a job `server` holds.
pub(super) async fn finish(store: &PgStore, id: Uuid, server: &str, status: JobStatus) -> Result<(), StoreError> {
    check_end(id, status)?;
    let done = sqlx::query(concat!(
        "WITH j AS (
             UPDATE jobs SET status = $3, ended_at = scorch_now_us(), lease_expires_at = NULL
             WHERE id = $1 AND claimed_by = $2 AND status = 'running' RETURNING id, runbook_id, status)
         SELECT ",
        notify_job!("j"),
        " FROM j"
    ))
    .bind(id)
    .bind(server)
    .bind(status.as_str())
    .fetch_optional(store.pool())
    .await?;
    match done {
        Some(_) => Ok(()),
        None => Err(not_held(store, id, server).await),
    }
}

/// Records an instance's end and ends its job in one statement, through the store's writer
/// (with whatever else it commits then). The end is recorded even when the job is no longer
/// `server`'s, which is then a conflict.
pub(super) async fn finish_with_end(
    store: &PgStore,
    end: &InstanceEnd,
    id: Uuid,
    server: &str,
    status: JobStatus,
) -> Result<(), StoreError> {
    check_end(id, status)?;
    let job = JobEnd {
        id,
        server: server.to_string(),
        status,
    };
    match store.shared.journal.finish(end, job).await? {
        true => Ok(()),
        false => Err(not_held(store, id, server).await),
    }
}

/// A job ends as completed, failed or canceled.
fn check_end(id: Uuid, status: JobStatus) -> Result<(), StoreError> {
    if matches!(status, JobStatus::Pending | JobStatus::Running) {
        return Err(StoreError::Invalid(format!(
            "job {id}: a job finishes as completed, failed or canceled, not {}",
            status.as_str()
        )));
    }
    Ok(())
}

/// Hands a running job back: no holder, no lease, so the next claim continues its instance. The
/// change wakes the other runbook servers to take it.
pub(super) async fn release(store: &PgStore, id: Uuid, server: &str) -> Result<(), StoreError> {
    // The engine does not wait for some records (see `PgJournal::hand_over`): they are written
    // before the job becomes another server's to resume.
    store.shared.journal.barrier().await?;
    let done = sqlx::query(concat!(
        "WITH j AS (
             UPDATE jobs SET claimed_by = NULL, lease_expires_at = NULL
             WHERE id = $1 AND claimed_by = $2 AND status = 'running' RETURNING id, runbook_id, status)
         SELECT ",
        notify_job!("j"),
        " FROM j"
    ))
    .bind(id)
    .bind(server)
    .fetch_optional(store.pool())
    .await?;
    match done {
        Some(_) => Ok(()),
        None => Err(not_held(store, id, server).await),
    }
}

/// Hands back every job held under `server`'s name (a previous life's), after the records this
/// process's writer holds (as `release`).
pub(super) async fn release_held(store: &PgStore, server: &str) -> Result<Vec<Uuid>, StoreError> {
    store.shared.journal.barrier().await?;
    let released = sqlx::query_scalar(concat!(
        "WITH j AS (
             UPDATE jobs SET claimed_by = NULL, lease_expires_at = NULL
             WHERE claimed_by = $1 AND status = 'running' RETURNING id, runbook_id, status)
         SELECT j.id FROM j, LATERAL (SELECT ",
        notify_job!("j"),
        ") n"
    ))
    .bind(server)
    .fetch_all(store.pool())
    .await?;
    Ok(released)
}

/// Why `server` may not end or hand back job `id`.
async fn not_held(store: &PgStore, id: Uuid, server: &str) -> StoreError {
    crate::store::not_held(id, server, jobs::get(store, id).await)
}
