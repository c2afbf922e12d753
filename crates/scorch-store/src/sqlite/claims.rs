//! Claims: runbook servers take jobs through leases, renew them, end the jobs and hand them back.
//!
//! SQLite serializes writers, and every claim goes through the store's writer: one statement picks
//! the oldest job the server may take and marks it running under a lease, so nobody else can take
//! it. A lease is a time in `lease_expires_at`; a running job whose lease has passed (or that was
//! handed back: no lease) is taken over by the next claim, which continues its instance.

use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use scorch_engine::InstanceEnd;
use uuid::Uuid;

use super::columns::Columns;
use super::jobs;
use super::sql::CLAIM;
use super::writer::handed_over::Kind;
use super::writer::records::EndRow;
use super::writer::{Relaxed, Write, refusal};
use super::{SqliteStore, duration_micros, from_json, micros, runbooks};
use crate::versions::Head;
use crate::{Change, Claim, Job, JobStatus, StoreError};

/// Takes up to `max` jobs for `server`, oldest first.
pub(super) async fn claim(
    store: &SqliteStore,
    server: &str,
    lease: Duration,
    alive_within: Duration,
    max: usize,
) -> Result<Vec<Claim>, StoreError> {
    if max == 0 {
        return Ok(Vec::new());
    }
    let now = micros(Timestamp::now());
    let take = Take {
        server: server.to_string(),
        alive_since: now.saturating_sub(duration_micros(alive_within)),
        now,
        lease_until: now.saturating_add(duration_micros(lease)),
        max,
    };
    // Not synced at commit: a claim lost in a crash leaves its job to be claimed again.
    let taken = store.writer.submit(Relaxed(take)).await?;
    let mut claims = Vec::with_capacity(taken.len());
    for Taken { job, resume, head } in taken {
        let instance_id = job
            .instance_id
            .ok_or_else(|| StoreError::Invalid(format!("claimed job {} has no instance", job.id)))?;
        let runbook = runbooks::with_head(store, head, job.version).await?;
        claims.push(Claim {
            job,
            instance_id,
            resume,
            runbook,
        });
    }
    Ok(claims)
}

/// Up to `max` claims, one statement each, until there is nothing more to take.
struct Take {
    server: String,
    alive_since: i64,
    now: i64,
    lease_until: i64,
    max: usize,
}

struct Taken {
    job: Job,
    resume: bool,
    head: Head,
}

impl Write for Take {
    type Output = Vec<Taken>;
    type Error = StoreError;

    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Result<Vec<Taken>, StoreError>> {
        let mut claim = conn.prepare_cached(CLAIM)?;
        let mut taken = Vec::new();
        while taken.len() < self.max {
            let new_instance = Uuid::now_v7();
            let at = params![self.alive_since, self.server, self.now, self.lease_until, new_instance];
            let mut rows = claim.query(at)?;
            let Some(row) = rows.next()? else {
                break;
            };
            match self::taken(row, new_instance) {
                Ok(one) => taken.push(one),
                Err(err) => return Ok(Err(err)),
            }
        }
        Ok(Ok(taken))
    }

    fn changes(&self, taken: &Vec<Taken>, send: &mut dyn FnMut(Change)) {
        taken.iter().for_each(|t| send(jobs::change(&t.job)));
    }
}

/// A claimed job from its row as [`CLAIM`] returns it; `resume` when it already had an instance.
fn taken(row: &rusqlite::Row<'_>, new_instance: Uuid) -> Result<Taken, StoreError> {
    let job = jobs::decode(row)?;
    let (name, latest_version, checked_out_by, folder): (String, i64, Option<String>, String) =
        from_json(&row.column::<String>("runbook")?, "runbook")?;
    Ok(Taken {
        resume: job.instance_id != Some(new_instance),
        head: Head {
            id: job.runbook_id,
            folder,
            name,
            latest_version,
            checked_out_by,
        },
        job,
    })
}

/// Extends the leases of `server`'s running jobs; returns those whose cancellation was requested.
pub(super) async fn renew(
    store: &SqliteStore,
    server: &str,
    jobs: &[Uuid],
    lease: Duration,
) -> Result<Vec<Uuid>, StoreError> {
    let renew = Renew {
        server: server.to_string(),
        jobs: jobs.to_vec(),
        until: micros(Timestamp::now()).saturating_add(duration_micros(lease)),
    };
    let mut canceled = store.writer.submit(renew).await?;
    canceled.sort();
    Ok(canceled)
}

struct Renew {
    server: String,
    jobs: Vec<Uuid>,
    until: i64,
}

impl Write for Renew {
    type Output = Vec<Uuid>;
    type Error = StoreError;

    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Result<Vec<Uuid>, StoreError>> {
        let mut renew = conn.prepare_cached(
            "UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND claimed_by = ? AND status = 'running'
             RETURNING cancel_requested",
        )?;
        let mut canceled = Vec::new();
        for id in &self.jobs {
            let cancel: Option<bool> = renew
                .query_row(params![self.until, id, self.server], |row| row.get(0))
                .optional()?;
            if cancel == Some(true) {
                canceled.push(*id);
            }
        }
        Ok(Ok(canceled))
    }
}

/// Ends a job `server` holds.
pub(super) async fn finish(store: &SqliteStore, id: Uuid, server: &str, status: JobStatus) -> Result<(), StoreError> {
    match store.writer.submit(Finish::new(id, server, status)?).await? {
        Some(_) => Ok(()),
        None => Err(not_held(store, id, server).await),
    }
}

/// Records an instance's end and ends its job in one commit. The end is recorded even when the
/// job is no longer `server`'s (which is then a conflict).
pub(super) async fn finish_with_end(
    store: &SqliteStore,
    end: &InstanceEnd,
    id: Uuid,
    server: &str,
    status: JobStatus,
) -> Result<(), StoreError> {
    let both = EndAndFinish {
        end: EndRow::new(end)?,
        job: Finish::new(id, server, status)?,
    };
    let record = store.journal.record(end.instance_id, Kind::Awaited, both);
    match store.writer.submit(record).await? {
        (_, Some(_)) => Ok(()),
        (_, None) => Err(not_held(store, id, server).await),
    }
}

/// A job's end; its output is the job's runbook, or `None` when `server` does not hold the job.
struct Finish {
    id: Uuid,
    server: String,
    status: JobStatus,
    ended_at: i64,
}

impl Finish {
    fn new(id: Uuid, server: &str, status: JobStatus) -> Result<Self, StoreError> {
        if matches!(status, JobStatus::Pending | JobStatus::Running) {
            return Err(StoreError::Invalid(format!(
                "job {id}: a job finishes as completed, failed or canceled, not {}",
                status.as_str()
            )));
        }
        Ok(Finish {
            id,
            server: server.to_string(),
            status,
            ended_at: micros(Timestamp::now()),
        })
    }
}

impl Write for Finish {
    type Output = Option<Uuid>;
    type Error = StoreError;

    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Result<Option<Uuid>, StoreError>> {
        let runbook_id = conn
            .prepare_cached(
                "UPDATE jobs SET status = ?, ended_at = ?, lease_expires_at = NULL
                 WHERE id = ? AND claimed_by = ? AND status = 'running' RETURNING runbook_id",
            )?
            .query_row(
                params![self.status.as_str(), self.ended_at, self.id, self.server],
                |row| row.get(0),
            )
            .optional();
        match runbook_id {
            Ok(runbook_id) => Ok(Ok(runbook_id)),
            Err(err) => refusal(err, |_| {
                StoreError::Invalid(format!("job {}: cannot record its end", self.id))
            }),
        }
    }

    fn changes(&self, runbook_id: &Option<Uuid>, send: &mut dyn FnMut(Change)) {
        if let Some(runbook_id) = *runbook_id {
            send(Change::Job {
                id: self.id,
                runbook_id,
                status: self.status,
            });
        }
    }
}

/// An instance's end and its job's, in one transaction: the instance's job, and the job's
/// runbook when the job was ended.
struct EndAndFinish {
    end: EndRow,
    job: Finish,
}

impl Write for EndAndFinish {
    type Output = (Uuid, Option<Uuid>);
    type Error = StoreError;

    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Result<(Uuid, Option<Uuid>), StoreError>> {
        let instance_job = match self.end.apply(conn)? {
            Ok(job) => job,
            Err(refused) => return Ok(Err(refused.into())),
        };
        Ok(self.job.apply(conn)?.map(|runbook| (instance_job, runbook)))
    }

    fn changes(&self, (instance_job, runbook): &(Uuid, Option<Uuid>), send: &mut dyn FnMut(Change)) {
        self.end.changes(instance_job, send);
        self.job.changes(runbook, send);
    }
}

/// Hands a running job back: no holder, no lease, so the next claim continues its instance.
/// Through the writer, after every record of the instance queued before (the engine does not
/// wait for some): whoever resumes the instance reads them all.
pub(super) async fn release(store: &SqliteStore, id: Uuid, server: &str) -> Result<(), StoreError> {
    match store.writer.submit(Release::one(id, server)).await?.is_empty() {
        false => Ok(()),
        true => Err(not_held(store, id, server).await),
    }
}

/// Hands back every job held under `server`'s name (a previous life's).
pub(super) async fn release_held(store: &SqliteStore, server: &str) -> Result<Vec<Uuid>, StoreError> {
    let released = store.writer.submit(Release::all(server)).await?;
    Ok(released.into_iter().map(|(job, _)| job).collect())
}

/// Jobs handed back (one, or every one `server` holds); its output is each job released with
/// its runbook.
struct Release {
    id: Option<Uuid>,
    server: String,
}

impl Release {
    fn one(id: Uuid, server: &str) -> Self {
        Self {
            id: Some(id),
            server: server.to_string(),
        }
    }

    fn all(server: &str) -> Self {
        Self {
            id: None,
            server: server.to_string(),
        }
    }
}

impl Write for Release {
    type Output = Vec<(Uuid, Uuid)>;
    type Error = StoreError;

    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Result<Self::Output, StoreError>> {
        let released = conn
            .prepare_cached(
                "UPDATE jobs SET claimed_by = NULL, lease_expires_at = NULL
                 WHERE (?1 IS NULL OR id = ?1) AND claimed_by = ?2 AND status = 'running'
                 RETURNING id, runbook_id",
            )?
            .query_map(params![self.id, self.server], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Ok(released))
    }

    fn changes(&self, released: &Self::Output, send: &mut dyn FnMut(Change)) {
        for &(id, runbook_id) in released {
            send(Change::Job {
                id,
                runbook_id,
                status: JobStatus::Running,
            });
        }
    }
}

/// Why `server` may not end or hand back job `id`.
async fn not_held(store: &SqliteStore, id: Uuid, server: &str) -> StoreError {
    crate::store::not_held(id, server, jobs::get(store, id).await)
}
