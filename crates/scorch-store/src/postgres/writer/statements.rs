//! A segment's records bound to the writer's two statements (new jobs with their audit records;
//! instances' starts, runs and ends with their jobs' ends), and each record's answer read from
//! what the statements return.

use std::collections::{HashMap, HashSet};

use scorch_engine::JournalError;
use sqlx::postgres::PgConnection;
use sqlx::{Postgres, Row as _};
use uuid::Uuid;

use super::super::changes::items;
use super::super::sql::{CREATE_JOBS, WRITE_INSTANCES};
use super::Known;
use super::records::{AuditRow, Created, EndRow, JobEnd, NewJobRow, Outcome, Reply, Request, RunRow, StartRow, Write};
use crate::{Change, StoreError};

/// The segment's instance records (starts, runs, ends with their jobs' ends) in one statement:
/// [`WRITE_INSTANCES`]. Of each instance, the last start and the last end are written (an upsert
/// may touch a row once), and of each run its last record; every run record is announced.
pub(super) async fn write_instances(
    conn: &mut PgConnection,
    records: &[&Request],
    known: &mut Known,
    relaxed: bool,
    outcomes: &mut [Outcome],
) -> Result<(), sqlx::Error> {
    let mut starts: Vec<(usize, &StartRow)> = Vec::new();
    let mut ends: Vec<(usize, &EndRow)> = Vec::new();
    let mut job_ends: Vec<(Uuid, &JobEnd)> = Vec::new();
    for (i, request) in records.iter().enumerate() {
        match &request.write {
            Write::InstanceStarted(start) => starts.push((i, start)),
            Write::InstanceFinished(end) => ends.push((i, end)),
            Write::Finished(end, job) => {
                ends.push((i, end));
                job_ends.push((end.instance_id, job));
            }
            Write::Run(_) | Write::CreateJob(_) | Write::Barrier => {}
        }
    }
    let latest_start: HashMap<Uuid, &StartRow> = starts.iter().map(|&(_, s)| (s.instance_id, s)).collect();
    let latest_end: HashMap<Uuid, &EndRow> = ends.iter().map(|&(_, e)| (e.instance_id, e)).collect();
    let mut runs = Vec::new();
    for (i, request) in records.iter().enumerate() {
        if let Write::Run(run) = &request.write {
            if known.instances.contains_key(&run.instance_id) || latest_start.contains_key(&run.instance_id) {
                runs.push(run);
            } else {
                outcomes[i] = Err(JournalError::NotFound(run.instance_id));
            }
        }
    }
    if latest_start.is_empty() && runs.is_empty() && latest_end.is_empty() {
        return Ok(());
    }
    // An instance started and ended here is inserted ended; the others' ends update them.
    let inserts: Vec<(&StartRow, Option<&EndRow>)> = latest_start
        .values()
        .map(|&start| (start, latest_end.get(&start.instance_id).copied()))
        .collect();
    let updated: Vec<&EndRow> = latest_end
        .values()
        .filter(|end| !latest_start.contains_key(&end.instance_id))
        .copied()
        .collect();
    // Every record is announced, a run's start and its finish alike; the last one is stored.
    let changes: Vec<Change> = runs.iter().map(|run| run.change()).collect();
    let query = sqlx::query(WRITE_INSTANCES)
        .bind(inserts.iter().map(|(s, _)| s.instance_id).collect::<Vec<_>>())
        .bind(inserts.iter().map(|(s, _)| s.job_id).collect::<Vec<_>>())
        .bind(inserts.iter().map(|(s, _)| s.runbook_id).collect::<Vec<_>>())
        .bind(inserts.iter().map(|(s, _)| s.server.as_str()).collect::<Vec<_>>())
        .bind(inserts.iter().map(|(s, _)| s.parameters.as_str()).collect::<Vec<_>>())
        .bind(
            inserts
                .iter()
                .map(|(_, e)| e.map_or("running", |e| e.status.as_str()))
                .collect::<Vec<_>>(),
        )
        .bind(
            inserts
                .iter()
                .map(|(_, e)| e.and_then(|e| e.returns.as_deref()))
                .collect::<Vec<_>>(),
        )
        .bind(inserts.iter().map(|(s, _)| s.started_at).collect::<Vec<_>>())
        .bind(inserts.iter().map(|(_, e)| e.map(|e| e.ended_at)).collect::<Vec<_>>());
    let latest = latest_runs(&runs);
    let query = RunColumns::new(&latest, known)
        .bind(query)
        .bind(updated.iter().map(|e| e.instance_id).collect::<Vec<_>>())
        .bind(updated.iter().map(|e| e.status.as_str()).collect::<Vec<_>>())
        .bind(updated.iter().map(|e| e.returns.as_deref()).collect::<Vec<_>>())
        .bind(updated.iter().map(|e| e.ended_at).collect::<Vec<_>>())
        .bind(job_ends.iter().map(|(instance, _)| *instance).collect::<Vec<_>>())
        .bind(job_ends.iter().map(|(_, job)| job.id).collect::<Vec<_>>())
        .bind(job_ends.iter().map(|(_, job)| job.server.as_str()).collect::<Vec<_>>())
        .bind(job_ends.iter().map(|(_, job)| job.status.as_str()).collect::<Vec<_>>())
        .bind(relaxed)
        .bind(items(&changes))
        .bind(
            inserts
                .iter()
                .map(|(_, e)| e.and_then(|e| e.problems.as_deref()))
                .collect::<Vec<_>>(),
        )
        .bind(updated.iter().map(|e| e.problems.as_deref()).collect::<Vec<_>>())
        .bind(latest.iter().map(|r| r.error_kind).collect::<Vec<_>>());
    let written = query.fetch_all(&mut *conn).await?;

    let (mut started, mut ended, mut jobs_ended) = (HashSet::new(), HashSet::new(), HashSet::new());
    for row in written {
        let (kind, id, key): (String, Uuid, Option<i64>) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        match (kind.as_str(), key) {
            ("s", Some(key)) => {
                known.insert(id, key);
                started.insert(id);
            }
            ("i", _) => drop(ended.insert(id)),
            _ => drop(jobs_ended.insert(id)),
        }
    }
    for (i, start) in starts {
        if !started.contains(&start.instance_id) {
            outcomes[i] = Err(JournalError::Unavailable(format!(
                "instance {}: job {} or runbook {} is not in the store (create the job before starting it)",
                start.instance_id, start.job_id, start.runbook_id
            )));
        }
    }
    for (i, end) in ends {
        if ended.contains(&end.instance_id) {
            if let Write::Finished(_, job) = &records[i].write {
                outcomes[i] = Ok(Reply::Finished(jobs_ended.contains(&job.id)));
            }
        } else {
            outcomes[i] = Err(JournalError::NotFound(end.instance_id));
        }
    }
    // A finished instance gets no more records from this writer.
    for instance in ended {
        known.instances.remove(&instance);
    }
    Ok(())
}

/// The segment's new jobs (and their audit records), in one statement.
pub(super) async fn create_jobs(
    conn: &mut PgConnection,
    records: &[&Request],
    relaxed: bool,
    outcomes: &mut [Outcome],
) -> Result<(), sqlx::Error> {
    let jobs: Vec<(usize, &NewJobRow)> = records
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match &r.write {
            Write::CreateJob(job) => Some((i, job)),
            _ => None,
        })
        .collect();
    if jobs.is_empty() {
        return Ok(());
    }
    let audited: Vec<(Uuid, &AuditRow)> = jobs
        .iter()
        .filter_map(|(_, job)| job.audit.as_ref().map(|audit| (job.id, audit)))
        .collect();
    let created: Vec<(Uuid, i64, i64)> = sqlx::query_as(CREATE_JOBS)
        .bind(jobs.iter().map(|(_, j)| j.id).collect::<Vec<_>>())
        .bind(jobs.iter().map(|(_, j)| j.runbook_id).collect::<Vec<_>>())
        .bind(jobs.iter().map(|(_, j)| j.version).collect::<Vec<_>>())
        .bind(jobs.iter().map(|(_, j)| j.parameters.as_str()).collect::<Vec<_>>())
        .bind(jobs.iter().map(|(_, j)| j.created_by.as_str()).collect::<Vec<_>>())
        .bind(jobs.iter().map(|(_, j)| j.parent_job).collect::<Vec<_>>())
        .bind(audited.iter().map(|(id, _)| *id).collect::<Vec<_>>())
        .bind(audited.iter().map(|(_, a)| a.actor.as_str()).collect::<Vec<_>>())
        .bind(audited.iter().map(|(_, a)| a.action.as_str()).collect::<Vec<_>>())
        .bind(audited.iter().map(|(_, a)| a.object_type.as_str()).collect::<Vec<_>>())
        .bind(audited.iter().map(|(_, a)| a.detail.as_deref()).collect::<Vec<_>>())
        .bind(relaxed)
        .fetch_all(&mut *conn)
        .await?;
    let created: HashMap<Uuid, (i64, i64)> = created.into_iter().map(|(id, v, at)| (id, (v, at))).collect();
    for (i, job) in jobs {
        outcomes[i] = Ok(Reply::Created(match created.get(&job.id) {
            Some(&(version, created_at)) => Ok(Created {
                version,
                created_at,
                audited: Ok(()),
            }),
            None => Err(why_not_created(conn, job).await?),
        }));
    }
    Ok(())
}

/// Why a job was left out of [`CREATE_JOBS`]: its runbook is missing, or its version is not the
/// latest (any more, or yet).
async fn why_not_created(conn: &mut PgConnection, job: &NewJobRow) -> Result<StoreError, sqlx::Error> {
    let latest: Option<i64> = sqlx::query_scalar("SELECT latest_version FROM runbooks WHERE id = $1")
        .bind(job.runbook_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(
        match latest.map(|latest| crate::store::job_version(job.runbook_id, job.version, latest)) {
            Some(Err(why)) => why,
            Some(Ok(version)) => StoreError::NotFound(format!("runbook {} version {version}", job.runbook_id)),
            None => StoreError::NotFound(format!("runbook {}", job.runbook_id)),
        },
    )
}

/// The last record of each (instance, seq): an upsert may touch a row only once per statement,
/// and a later record of a run (its finish) replaces an earlier one (its start).
fn latest_runs<'a>(runs: &[&'a RunRow]) -> Vec<&'a RunRow> {
    let mut position: HashMap<(Uuid, i64), usize> = HashMap::with_capacity(runs.len());
    let mut latest: Vec<&RunRow> = Vec::with_capacity(runs.len());
    for &run in runs {
        match position.get(&(run.instance_id, run.seq)) {
            Some(&i) => latest[i] = run,
            None => {
                position.insert((run.instance_id, run.seq), latest.len());
                latest.push(run);
            }
        }
    }
    latest
}

/// Runs as the column arrays the upsert unnests.
struct RunColumns<'a> {
    /// The instance's key, when the writer knows it (else the statement finds it by UUID).
    instance: Vec<Option<i64>>,
    instance_uuid: Vec<Uuid>,
    seq: Vec<i64>,
    key: Vec<i64>,
    started_at: Vec<i64>,
    ended_at: Vec<Option<i64>>,
    attempt: Vec<i32>,
    state: Vec<i16>,
    truncated: Vec<bool>,
    activity_id: Vec<&'a str>,
    activity_name: Vec<Option<&'a str>>,
    error: Vec<Option<&'a str>>,
    published: Vec<Option<&'a str>>,
}

impl<'a> RunColumns<'a> {
    fn new(runs: &[&'a RunRow], known: &Known) -> Self {
        RunColumns {
            instance: runs
                .iter()
                .map(|r| known.instances.get(&r.instance_id).copied())
                .collect(),
            instance_uuid: runs.iter().map(|r| r.instance_id).collect(),
            seq: runs.iter().map(|r| r.seq).collect(),
            key: runs.iter().map(|r| r.key).collect(),
            started_at: runs.iter().map(|r| r.started_at).collect(),
            ended_at: runs.iter().map(|r| r.ended_at).collect(),
            attempt: runs.iter().map(|r| r.attempt).collect(),
            state: runs.iter().map(|r| r.state).collect(),
            truncated: runs.iter().map(|r| r.truncated).collect(),
            activity_id: runs.iter().map(|r| &*r.activity_id).collect(),
            activity_name: runs.iter().map(|r| r.activity_name.as_deref()).collect(),
            error: runs.iter().map(|r| r.error.as_deref()).collect(),
            published: runs.iter().map(|r| r.published.as_deref()).collect(),
        }
    }

    fn bind<'q>(
        self,
        query: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>
    where
        'a: 'q,
    {
        query
            .bind(self.instance)
            .bind(self.instance_uuid)
            .bind(self.seq)
            .bind(self.key)
            .bind(self.started_at)
            .bind(self.ended_at)
            .bind(self.attempt)
            .bind(self.state)
            .bind(self.truncated)
            .bind(self.activity_id)
            .bind(self.activity_name)
            .bind(self.error)
            .bind(self.published)
    }
}
