//! One batch as statements: cut into segments that keep each instance's records in order, one
//! statement per kind of record in a segment, a transaction only when there is more than one
//! statement, and no wait for the WAL flush when nothing in the batch needs it.

use std::collections::{HashMap, HashSet};

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use uuid::Uuid;

use super::super::sql::LOOKUP_INSTANCES;
use super::Known;
use super::records::{Outcome, Reply, Request, Write};
use super::statements::{create_jobs, write_instances};

/// Whether a batch may commit without waiting for its WAL flush: when it holds only instance
/// starts and finishes of idempotent runs (the records the `Journal` contract lets go unflushed)
/// and awaited new jobs ([`crate::NewJob::awaited`]: their creator tells of them only once their
/// durable end is written, or after [`crate::Operations::make_job_durable`]). The WAL is flushed in
/// order, so the next durable commit (a non-idempotent run's start or finish, an instance's end
/// with its job's, a new job not awaited) covers them. Until then nothing has
/// happened that a resume would need to know of: only idempotent activities have run, and they
/// run again. A record lost in a database crash is one the engine, which loses its connection with
/// it, never builds on: the job is resumed (or, when its claim was lost too, claimed again), an
/// instance whose start was lost is started afresh, and runs whose finish was lost run again. The
/// engine's own order of events is kept: a record is visible to every reader once acknowledged.
pub(super) fn relaxed(records: &[&Request]) -> bool {
    records.iter().all(|r| match &r.write {
        Write::InstanceStarted(_) => true,
        Write::Run(run) => run.relaxed,
        Write::CreateJob(job) => job.awaited,
        _ => false,
    })
}

/// Record kinds in the order a segment writes them.
pub(super) fn phase(write: &Write) -> u8 {
    match write {
        Write::CreateJob(_) | Write::Barrier => 0,
        Write::InstanceStarted(_) => 1,
        Write::Run(_) => 2,
        Write::InstanceFinished(_) | Write::Finished(..) => 3,
    }
}

/// Cuts `records` into segments whose statements (new jobs, starts, runs, ends) may run in that
/// order: a record that must follow a later-kind record of the same instance (a start after its
/// end) begins a new segment. New jobs belong to no instance and go anywhere.
pub(super) fn segments<'a, 'r>(records: &'a [&'r Request]) -> Vec<&'a [&'r Request]> {
    let mut segments = Vec::new();
    let mut seen: HashMap<Uuid, u8> = HashMap::new();
    let mut begin = 0;
    for (i, request) in records.iter().enumerate() {
        let phase = phase(&request.write);
        let Some(instance) = request.write.instance_id() else {
            continue;
        };
        if seen.get(&instance).is_some_and(|&latest| latest > phase) {
            segments.push(&records[begin..i]);
            begin = i;
            seen.clear();
        }
        let latest = seen.entry(instance).or_insert(phase);
        *latest = (*latest).max(phase);
    }
    segments.push(&records[begin..]);
    segments
}

pub(super) async fn write_batch(
    conn: &mut PgConnection,
    records: &[&Request],
    known: &mut Known,
) -> Result<Vec<Outcome>, sqlx::Error> {
    // Runs are keyed by their instance's internal key: look up the instances the writer does not
    // know yet (and that this batch does not start). Ends name their instance by UUID.
    let starting: HashSet<Uuid> = records
        .iter()
        .filter_map(|r| match &r.write {
            Write::InstanceStarted(start) => Some(start.instance_id),
            _ => None,
        })
        .collect();
    let unknown: Vec<Uuid> = records
        .iter()
        .filter_map(|r| match &r.write {
            Write::Run(run) => Some(run.instance_id),
            _ => None,
        })
        .filter(|uuid| !known.instances.contains_key(uuid) && !starting.contains(uuid))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if !unknown.is_empty() {
        let found: Vec<(i64, Uuid)> = sqlx::query_as(LOOKUP_INSTANCES)
            .bind(&unknown)
            .fetch_all(&mut *conn)
            .await?;
        for (id, uuid) in found {
            known.insert(uuid, id);
        }
    }

    let segments = segments(records);
    // New jobs are one statement, and the instances' records another.
    let statements: usize = segments
        .iter()
        .map(|segment| {
            usize::from(segment.iter().any(|r| phase(&r.write) == 0))
                + usize::from(segment.iter().any(|r| phase(&r.write) > 0))
        })
        .sum();
    let mut outcomes: Vec<Outcome> = records.iter().map(|_| Ok(Reply::Written)).collect();
    // Every statement announces what it writes, so a batch of one statement (the usual one: runs,
    // or new jobs) needs no transaction of its own; more are written in one.
    let relaxed = relaxed(records);
    if statements == 1 {
        write_segment(conn, records, known, relaxed, &mut outcomes).await?;
    } else {
        let mut tx = conn.begin().await?;
        let mut offset = 0;
        for segment in segments {
            let outcomes = &mut outcomes[offset..offset + segment.len()];
            write_segment(&mut tx, segment, known, relaxed, outcomes).await?;
            offset += segment.len();
        }
        tx.commit().await?;
    }
    Ok(outcomes)
}

/// One segment: its new jobs, its instance starts, then its runs, then its instance ends (with
/// their jobs' ends), one statement each.
async fn write_segment(
    conn: &mut PgConnection,
    records: &[&Request],
    known: &mut Known,
    relaxed: bool,
    outcomes: &mut [Outcome],
) -> Result<(), sqlx::Error> {
    create_jobs(conn, records, relaxed, outcomes).await?;

    write_instances(conn, records, known, relaxed, outcomes).await
}
