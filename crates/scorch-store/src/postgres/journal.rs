//! The engine's journal, and the other writes of the job path, with group commit.
//!
//! Callers encode their record, hand it to one writer task and wait for its acknowledgement (an
//! instance's start and an idempotent run's finish are not waited for: see
//! [`PgJournal::hand_over`]). The
//! writer takes everything queued (up to [`MAX_BATCH`]) and writes it in one transaction with one
//! multi-row statement per kind of record (`UNNEST` over arrays: a batch of a thousand runs is
//! one statement), then acknowledges every waiter after the commit. Each statement announces what
//! it writes (`pg_notify`, packed up to 8000 bytes a message: one message per statement as a
//! rule), so the changes go out exactly when the batch commits.
//!
//! Besides the journal's records, the writer takes the job path's other writes, as SQLite's writer
//! does: new jobs with their audit records (one statement, however many jobs), and instance ends
//! with their jobs' ends (`finish_instance_and_job`: one statement with the other instance ends).
//! Every commit with a `NOTIFY` takes a lock that serializes such commits across the database, so
//! fewer, larger commits are what lets the fleet start and finish more jobs per second.
//!
//! The most common batches, runs of instances the writer already knows, or new jobs, or an
//! instance's end with its job's, are a single statement (write and notify in one, no
//! BEGIN/COMMIT): one round trip per batch.
//!
//! PostgreSQL aborts a whole transaction on an error, where SQLite undoes one statement: a batch
//! that the database refuses is written again one record per transaction, so only the record at
//! fault is refused. Records of an instance the store does not know are found beforehand and
//! answered `NotFound` without failing their batch.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use scorch_activity::{Row, Status};
use scorch_engine::{InstanceEnd, InstanceStart, InstanceStatus, Journal, JournalError, RunRecord, RunState};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::{Connection, Postgres, Row as _};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::changes::items;
use super::{from_json, micros, timestamp, to_json};
use crate::broken::BrokenInstances;
use crate::{Change, JobStatus, StoreError};

/// Records waiting for the writer; callers wait for room beyond this (backpressure).
const QUEUE: usize = 8192;
/// Records written in one transaction at most.
const MAX_BATCH: usize = 2048;
/// Instances whose internal key the writer remembers; it starts over when full.
const KNOWN_INSTANCES: usize = 65_536;
/// How long handed-over records wait for company before they are written (see [`linger`]).
const LINGER: Duration = Duration::from_millis(2);
/// A writer's connection idle this long is checked before its next batch.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// An instance's records in one statement (one round trip, and no transaction of its own), in
/// the order a segment writes them:
/// - starts ($1-$9; $6-$7 and $9 are the instance's end when the segment ends it too: a row
///   cannot be updated by the statement that inserts it, so such an instance is inserted ended).
///   Rows whose job or runbook is not in the store are left out (and refused by the caller);
/// - runs ($10-$22: the instance's key, or its UUID when this statement starts it). A finish
///   record replaces the start record of its run;
/// - ends of instances started before ($23-$26), then the jobs' ends ($27-$30: instance, job,
///   server, status) whose instance's end was recorded here and that the server holds.
///
/// All of it is announced, in that order (an instance inserted ended is announced running, then
/// its runs ($32: one item per run record, a start and its finish alike), then ended). With $31,
/// the commit does not wait for its WAL flush: see [`relaxed`]. $33 and $34 are the problems of
/// the instances inserted ended and of the ends of instances started before. Every row is looked up by key
/// (scalar subqueries, `= ANY`), so the plan does not depend on statistics. Returns the instances
/// started ('s', with their key), ended ('i') and the jobs ended ('j').
const WRITE_INSTANCES: &str = "WITH s AS (
         INSERT INTO instances (uuid, job_id, runbook_id, server, status, parameters, returns, started_at, ended_at,
             problems)
         SELECT u.uuid, u.job_id, u.runbook_id, u.server, u.status, u.parameters, u.returns, u.started_at, u.ended_at,
             u.problems
         FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[],
             $8::bigint[], $9::bigint[], $33::text[])
             AS u(uuid, job_id, runbook_id, server, parameters, status, returns, started_at, ended_at, problems)
         WHERE (SELECT true FROM jobs WHERE id = u.job_id) AND (SELECT true FROM runbooks WHERE id = u.runbook_id)
         ON CONFLICT (uuid) DO UPDATE SET server = excluded.server, status = excluded.status,
             returns = excluded.returns, ended_at = excluded.ended_at, problems = excluded.problems
         RETURNING id, uuid, job_id, status),
     r AS (
         INSERT INTO activity_runs (instance_id, seq, run_key, started_at, ended_at, attempt, state, truncated,
             activity_id, activity_name, error, published)
         -- A key the writer knows is checked (a row not found leaves the key null, which the
         -- table refuses, failing the statement: see `write`); the instances started here have theirs.
         SELECT COALESCE((SELECT i.id FROM instances i WHERE i.id = u.instance_id),
                 (started.keys ->> u.instance_uuid::text)::bigint), u.seq, u.run_key,
             u.started_at, u.ended_at, u.attempt, u.state, u.truncated, u.activity_id, u.activity_name, u.error,
             u.published
         FROM UNNEST($10::bigint[], $11::uuid[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[],
             $16::integer[], $17::smallint[], $18::boolean[], $19::text[], $20::text[], $21::text[], $22::text[])
             AS u(instance_id, instance_uuid, seq, run_key, started_at, ended_at, attempt, state, truncated,
                  activity_id, activity_name, error, published),
             -- The keys of the instances started here, looked up by UUID in a sorted map (a scan of
             -- s per run would cost runs x instances).
             (SELECT jsonb_object_agg(uuid, id) AS keys FROM s) started
         ON CONFLICT (instance_id, seq) DO UPDATE SET run_key = excluded.run_key, started_at = excluded.started_at,
             ended_at = excluded.ended_at, attempt = excluded.attempt, state = excluded.state,
             truncated = excluded.truncated, activity_id = excluded.activity_id,
             activity_name = excluded.activity_name, error = excluded.error, published = excluded.published),
     f AS (
         UPDATE instances i SET status = u.status, returns = u.returns, ended_at = u.ended_at, problems = u.problems
         FROM UNNEST($23::uuid[], $24::text[], $25::text[], $26::bigint[], $34::text[])
             AS u(uuid, status, returns, ended_at, problems)
         WHERE i.uuid = ANY ($23) AND i.uuid = u.uuid
         RETURNING i.uuid, i.job_id, i.status),
     e AS (
         SELECT uuid, job_id, status FROM f
         UNION ALL
         SELECT uuid, job_id, status FROM s WHERE status <> 'running'),
     j AS (
         UPDATE jobs SET status = u.status, ended_at = scorch_now_us(), lease_expires_at = NULL
         FROM UNNEST($27::uuid[], $28::uuid[], $29::text[], $30::text[]) AS u(instance, id, server, status)
         -- By key: left to choose, the planner may read every running job through a partial index.
         WHERE jobs.id = (SELECT r.id FROM jobs r WHERE r.id = u.id AND r.claimed_by = u.server AND r.status = 'running')
             AND u.instance IN (SELECT uuid FROM e)
         RETURNING jobs.id, jobs.runbook_id, jobs.status),
     n AS MATERIALIZED (
         SELECT scorch_notify(array_agg(item ORDER BY k, o)),
             CASE WHEN $31 THEN set_config('synchronous_commit', 'off', true) END
         FROM (
             SELECT 0 AS k, 0 AS o, json_build_object('i', json_build_array(uuid, job_id, 'running'))::text AS item
             FROM s
             UNION ALL
             SELECT 1, u.o, u.item FROM UNNEST($32::text[]) WITH ORDINALITY AS u(item, o)
             UNION ALL
             SELECT 2, 0, json_build_object('i', json_build_array(uuid, job_id, status))::text FROM e
             UNION ALL
             SELECT 3, 0, json_build_object('j', json_build_array(id, runbook_id, status))::text FROM j) c)
     SELECT 's' AS kind, s.uuid AS id, s.id AS key FROM s, n
     UNION ALL
     SELECT 'i', e.uuid, NULL FROM e, n
     UNION ALL
     SELECT 'j', j.id, NULL FROM j, n";

const LOOKUP_INSTANCES: &str = "SELECT id, uuid FROM instances WHERE uuid = ANY ($1)";

/// Creates pending jobs ($1-$6) of their runbooks' latest versions, each with its audit record
/// ($7-$11, keyed by the job's id) if it has one, and announces them; committed without waiting
/// for the WAL flush when $12 (a [`relaxed`] batch). Jobs whose runbook is not in the store, or
/// that ask for a version that is not the latest, are left out. Returns the jobs created.
const CREATE_JOBS: &str = "WITH j AS (
         INSERT INTO jobs (id, runbook_id, version, parameters, status, created_at, created_by, parent_job)
         SELECT u.id, r.id, v.version, u.parameters, 'pending', scorch_now_us(), u.created_by, u.parent_job
         FROM UNNEST($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::text[], $6::uuid[])
             WITH ORDINALITY AS u(id, runbook_id, version, parameters, created_by, parent_job, n)
         -- Looked up by key (LIMIT keeps each a lookup, not a join the planner may hash over every
         -- version when it has no statistics).
         CROSS JOIN LATERAL (SELECT r.id, r.latest_version FROM runbooks r WHERE r.id = u.runbook_id LIMIT 1) r
         CROSS JOIN LATERAL (SELECT v.version FROM runbook_versions v
                             WHERE v.runbook_id = r.id AND v.version = r.latest_version
                               AND COALESCE(u.version, r.latest_version) = r.latest_version
                             LIMIT 1) v
         ORDER BY u.n
         RETURNING id, runbook_id, version, status, created_at),
     a AS (
         INSERT INTO audit (at, actor, action, object_type, object_id, detail)
         SELECT scorch_now_us(), x.actor, x.action, x.object_type, x.id, x.detail
         FROM UNNEST($7::uuid[], $8::text[], $9::text[], $10::text[], $11::text[])
             WITH ORDINALITY AS x(id, actor, action, object_type, detail, n)
         WHERE x.id IN (SELECT id FROM j)
         ORDER BY x.n),
     n AS MATERIALIZED (
         SELECT scorch_notify(array_agg(json_build_object('j', json_build_array(id, runbook_id, status))::text
             ORDER BY created_at, id)),
             CASE WHEN $12 THEN set_config('synchronous_commit', 'off', true) END
         FROM j)
     SELECT j.id, j.version, j.created_at FROM j, n";

const SELECT_RUNS: &str = "SELECT seq, run_key, activity_id, activity_name, attempt, state, error, started_at,
         ended_at, published, truncated
     FROM activity_runs WHERE instance_id = (SELECT id FROM instances WHERE uuid = $1) ORDER BY seq";

/// The journal on PostgreSQL. Obtained from [`Store::journal`](crate::Store::journal).
#[derive(Debug)]
pub struct PgJournal {
    sender: mpsc::Sender<Request>,
    pool: PgPool,
}

/// What became of a record: written (with what the writer answers for it), or refused. A job the
/// database refuses is answered in the reply, with the store's error.
type Outcome = Result<Reply, JournalError>;

#[derive(Debug, Clone, PartialEq)]
enum Reply {
    /// A journal record written.
    Written,
    /// A job created (its version and creation time, and its audit record's fate), or why not.
    Created(Result<Created, StoreError>),
    /// An instance's end written, and whether its job was ended (false: the server does not hold
    /// the job).
    Finished(bool),
}

/// A job the writer created.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Created {
    pub(super) version: i64,
    pub(super) created_at: i64,
    /// Whether its audit record, if it had one, was written too.
    pub(super) audited: Result<(), StoreError>,
}

struct Request {
    write: Write,
    /// Who waits for the outcome; nobody for a record handed over (see [`PgJournal::hand_over`]).
    ack: Option<oneshot::Sender<Outcome>>,
}

/// A record encoded by its caller (JSON included), so the writer only binds and executes.
enum Write {
    InstanceStarted(StartRow),
    Run(RunRow),
    InstanceFinished(EndRow),
    /// An instance's end and its job's, in one statement.
    Finished(EndRow, JobEnd),
    CreateJob(NewJobRow),
    /// Writes nothing: answered once every record queued before it has been written (or refused).
    Barrier,
}

struct StartRow {
    instance_id: Uuid,
    job_id: Uuid,
    runbook_id: Uuid,
    server: String,
    parameters: String,
    started_at: i64,
}

struct RunRow {
    instance_id: Uuid,
    seq: i64,
    key: i64,
    activity_id: Arc<str>,
    activity_name: Option<Arc<str>>,
    attempt: i32,
    state: i16,
    error: Option<String>,
    started_at: i64,
    ended_at: Option<i64>,
    published: Option<String>,
    truncated: bool,
    /// The finish of an idempotent run, which may commit without waiting for its WAL flush.
    relaxed: bool,
}

pub(super) struct EndRow {
    instance_id: Uuid,
    status: InstanceStatus,
    returns: Option<String>,
    ended_at: i64,
    problems: Option<String>,
}

/// A job's end by the server holding it.
pub(super) struct JobEnd {
    pub(super) id: Uuid,
    pub(super) server: String,
    pub(super) status: JobStatus,
}

/// A new job, and the audit record of its creation if it has one.
#[derive(Clone)]
pub(super) struct NewJobRow {
    pub(super) id: Uuid,
    pub(super) runbook_id: Uuid,
    pub(super) version: Option<i64>,
    pub(super) parameters: String,
    pub(super) created_by: String,
    pub(super) parent_job: Option<Uuid>,
    pub(super) audit: Option<AuditRow>,
    /// [`crate::NewJob::awaited`]: committed without waiting for the WAL flush.
    pub(super) awaited: bool,
}

#[derive(Clone)]
pub(super) struct AuditRow {
    pub(super) actor: String,
    pub(super) action: String,
    pub(super) object_type: String,
    pub(super) detail: Option<String>,
}

impl PgJournal {
    /// Starts the writer task; it takes connections from `pool`, as do reads.
    pub(super) fn start(pool: PgPool) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_loop(pool.clone(), receiver));
        PgJournal { sender, pool }
    }

    async fn submit(&self, write: Write) -> Outcome {
        let (ack, acked) = oneshot::channel();
        self.sender
            .send(Request { write, ack: Some(ack) })
            .await
            .map_err(|_| writer_stopped())?;
        acked.await.map_err(|_| writer_stopped())?
    }

    /// Queues a record the `Journal` contract lets go unflushed (an instance's start, an
    /// idempotent run's finish) without waiting for it to be written: the engine goes on while the
    /// writer commits it with the instance's next records, usually in one batch. Order is kept (one
    /// queue, written in order), and if such a record fails, the writer refuses the instance's
    /// later records until it starts again, so the engine stops the instance where it would have
    /// stopped had it waited, and a resume runs the unrecorded runs again.
    async fn hand_over(&self, write: Write) -> Result<(), JournalError> {
        self.sender
            .send(Request { write, ack: None })
            .await
            .map_err(|_| writer_stopped())
    }

    /// Returns once every record queued before has been written (or refused): what a job handed
    /// back must wait for, so that whoever resumes its instance reads them all.
    pub(super) async fn barrier(&self) -> Result<(), JournalError> {
        self.submit(Write::Barrier).await.map(drop)
    }

    /// Creates a job (and its audit record) in the writer's next commit.
    pub(super) async fn create_job(&self, job: NewJobRow) -> Result<Created, StoreError> {
        match self.submit(Write::CreateJob(job)).await? {
            Reply::Created(created) => created,
            other => Err(StoreError::Invalid(format!(
                "the writer answered {other:?} for a new job"
            ))),
        }
    }

    /// Records an instance's end and ends its job in the writer's next commit; false when the
    /// server does not hold the job (whose end is then not recorded; the instance's is).
    pub(super) async fn finish(&self, end: &InstanceEnd, job: JobEnd) -> Result<bool, StoreError> {
        match self.submit(Write::Finished(EndRow::new(end)?, job)).await? {
            Reply::Finished(held) => Ok(held),
            other => Err(StoreError::Invalid(format!("the writer answered {other:?} for an end"))),
        }
    }
}

#[async_trait]
impl Journal for PgJournal {
    async fn instance_started(&self, start: &InstanceStart) -> Result<(), JournalError> {
        let row = StartRow {
            instance_id: start.instance_id,
            job_id: start.job_id,
            runbook_id: start.runbook_id,
            server: start.server.clone(),
            parameters: to_json(&start.parameters)?,
            started_at: micros(start.started_at),
        };
        self.hand_over(Write::InstanceStarted(row)).await
    }

    async fn run_started(&self, run: &RunRecord) -> Result<(), JournalError> {
        self.submit(Write::Run(RunRow::new(run)?)).await.map(drop)
    }

    async fn run_finished(&self, run: &RunRecord) -> Result<(), JournalError> {
        self.submit(Write::Run(RunRow::new(run)?)).await.map(drop)
    }

    async fn idempotent_run_finished(&self, run: &RunRecord) -> Result<(), JournalError> {
        let row = RunRow {
            relaxed: matches!(run.state, RunState::Finished(_)),
            ..RunRow::new(run)?
        };
        match row.relaxed {
            true => self.hand_over(Write::Run(row)).await,
            false => self.submit(Write::Run(row)).await.map(drop),
        }
    }

    async fn instance_finished(&self, end: &InstanceEnd) -> Result<(), JournalError> {
        self.submit(Write::InstanceFinished(EndRow::new(end)?)).await.map(drop)
    }

    async fn runs(&self, instance_id: Uuid) -> Result<Vec<RunRecord>, JournalError> {
        runs(&self.pool, instance_id).await.map_err(|err| match err {
            StoreError::NotFound(_) => JournalError::NotFound(instance_id),
            other => other.into(),
        })
    }
}

impl EndRow {
    fn new(end: &InstanceEnd) -> Result<Self, StoreError> {
        Ok(EndRow {
            instance_id: end.instance_id,
            status: end.status,
            returns: if end.returns.is_empty() {
                None
            } else {
                Some(to_json(&end.returns)?)
            },
            ended_at: micros(end.ended_at),
            problems: match end.problems.is_empty() {
                true => None,
                false => Some(to_json(&end.problems)?),
            },
        })
    }
}

/// Every run recorded for the instance, in `seq` order.
pub(super) async fn runs(pool: &PgPool, instance_id: Uuid) -> Result<Vec<RunRecord>, StoreError> {
    let rows = sqlx::query(SELECT_RUNS).bind(instance_id).fetch_all(pool).await?;
    if rows.is_empty() {
        let known = sqlx::query("SELECT 1 FROM instances WHERE uuid = $1")
            .bind(instance_id)
            .fetch_optional(pool)
            .await?;
        if known.is_none() {
            return Err(StoreError::NotFound(format!("instance {instance_id}")));
        }
    }
    rows.iter()
        .map(|row| decode_run(instance_id, row, &RUN_NAMES))
        .collect()
}

impl RunRow {
    fn new(run: &RunRecord) -> Result<Self, StoreError> {
        Ok(RunRow {
            instance_id: run.instance_id,
            // Stored as the same 64 bits: PostgreSQL integers are signed.
            seq: run.seq as i64,
            key: run.key as i64,
            activity_id: text(&run.activity_id),
            activity_name: (run.activity_name != run.activity_id).then(|| text(&run.activity_name)),
            attempt: i32::try_from(run.attempt)
                .map_err(|_| StoreError::Invalid(format!("attempt {} is out of range", run.attempt)))?,
            state: state_code(run.state),
            error: (!run.error.is_empty()).then(|| text(&run.error)),
            started_at: micros(run.started_at),
            ended_at: run.ended_at.map(micros),
            published: if run.rows.is_empty() {
                None
            } else {
                Some(to_json(&*run.rows)?)
            },
            truncated: run.truncated,
            relaxed: false,
        })
    }

    fn change(&self) -> Change {
        Change::ActivityRun {
            instance_id: self.instance_id,
            seq: self.seq as u64,
            activity_id: self.activity_id.to_string(),
            state: run_state(self.state).unwrap_or(RunState::Running),
        }
    }
}

/// PostgreSQL text cannot hold NUL (SQLite's can): a NUL in an error message (a program's
/// output) or a name becomes U+FFFD rather than make the database refuse the record. JSON values
/// need nothing: the encoder escapes NUL.
fn text<T: std::ops::Deref<Target = str> + Clone + From<String>>(value: &T) -> T {
    if value.contains('\0') {
        value.replace('\0', "\u{fffd}").into()
    } else {
        value.clone()
    }
}

pub(super) fn state_code(state: RunState) -> i16 {
    match state {
        RunState::Running => 0,
        RunState::Finished(Status::Success) => 1,
        RunState::Finished(Status::Warning) => 2,
        RunState::Finished(Status::Failed) => 3,
    }
}

pub(super) fn run_state(code: i16) -> Result<RunState, StoreError> {
    Ok(match code {
        0 => RunState::Running,
        1 => RunState::Finished(Status::Success),
        2 => RunState::Finished(Status::Warning),
        3 => RunState::Finished(Status::Failed),
        _ => return Err(StoreError::Corrupt(format!("stored run state {code} is unknown"))),
    })
}

/// The names of the columns [`decode_run`] reads, in this order: seq, run_key, activity_id,
/// activity_name, attempt, state, error, started_at, ended_at, published, truncated.
pub(super) type RunNames = [&'static str; 11];

/// The columns as [`SELECT_RUNS`] names them.
const RUN_NAMES: RunNames = [
    "seq",
    "run_key",
    "activity_id",
    "activity_name",
    "attempt",
    "state",
    "error",
    "started_at",
    "ended_at",
    "published",
    "truncated",
];

pub(super) fn decode_run(instance_id: Uuid, row: &PgRow, names: &RunNames) -> Result<RunRecord, StoreError> {
    let [
        seq,
        key,
        activity_id,
        activity_name,
        attempt,
        state,
        error,
        started_at,
        ended_at,
        published,
        truncated,
    ] = *names;
    let activity_id: Arc<str> = row.try_get::<String, _>(activity_id)?.into();
    let activity_name = match row.try_get::<Option<String>, _>(activity_name)? {
        Some(name) => name.into(),
        None => activity_id.clone(),
    };
    let rows: Vec<Row> = match row.try_get::<Option<&str>, _>(published)? {
        Some(text) => from_json(text, "published data")?,
        None => Vec::new(),
    };
    Ok(RunRecord {
        instance_id,
        seq: row.try_get::<i64, _>(seq)? as u64,
        key: row.try_get::<i64, _>(key)? as u64,
        activity_id,
        activity_name,
        attempt: u32::try_from(row.try_get::<i32, _>(attempt)?)
            .map_err(|_| StoreError::Corrupt("stored attempt is out of range".into()))?,
        state: run_state(row.try_get(state)?)?,
        error: row.try_get::<Option<String>, _>(error)?.unwrap_or_default(),
        // Not stored yet: a resume treats a failure it reads back as final.
        error_kind: None,
        started_at: timestamp(row.try_get(started_at)?)?,
        ended_at: row.try_get::<Option<i64>, _>(ended_at)?.map(timestamp).transpose()?,
        rows: Arc::new(rows),
        truncated: row.try_get(truncated)?,
    })
}

/// Instances the writer has written or looked up: uuid -> internal key.
#[derive(Default)]
struct Known {
    instances: HashMap<Uuid, i64>,
}

impl Known {
    fn insert(&mut self, uuid: Uuid, id: i64) {
        if self.instances.len() >= KNOWN_INSTANCES {
            self.instances.clear();
        }
        self.instances.insert(uuid, id);
    }
}

async fn write_loop(pool: PgPool, mut receiver: mpsc::Receiver<Request>) {
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
        let written = match super::kept_connection(&mut conn, &pool).await {
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

fn writer_stopped() -> JournalError {
    JournalError::Unavailable("the journal writer has stopped".into())
}

/// The writer's broken instances (see [`BrokenInstances`]), and the delivery of outcomes that
/// marks them.
#[derive(Default)]
struct Broken {
    instances: BrokenInstances,
}

impl Broken {
    /// Answers the records of broken instances in `batch` (an instance's start mends it) and
    /// takes them out.
    fn refuse_records_of_broken(&mut self, batch: &mut Vec<Request>) {
        if self.instances.is_empty() {
            return;
        }
        let mut kept = Vec::with_capacity(batch.len());
        for request in batch.drain(..) {
            match self.refusal(&request.write) {
                Some(refused) => self.deliver(request, refused),
                None => kept.push(request),
            }
        }
        *batch = kept;
    }

    /// The refusal of `write` when its instance is broken; an instance's start mends it.
    fn refusal(&mut self, write: &Write) -> Option<Outcome> {
        if let Write::InstanceStarted(start) = write {
            self.instances.mend(start.instance_id);
            return None;
        }
        self.instances.refusal(write.instance_id()?).map(Err)
    }

    /// Gives `request`'s outcome to its waiter, or, for a handed-over record that failed, marks
    /// its instance broken.
    fn deliver(&mut self, request: Request, outcome: Outcome) {
        match (request.ack, outcome) {
            // A waiter that gave up (its task was cancelled) has dropped its receiver.
            (Some(ack), outcome) => drop(ack.send(outcome)),
            (None, Err(err)) => {
                if let Some(instance) = request.write.instance_id() {
                    self.instances.break_(instance, err.to_string());
                }
            }
            (None, Ok(_)) => {}
        }
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

/// Writes `batch` and says what became of each record. A batch the database refuses is written
/// again one record at a time, so that only the records at fault fail.
async fn write(conn: &mut PgConnection, batch: &[Request], known: &mut Known) -> Result<Vec<Outcome>, sqlx::Error> {
    let all: Vec<&Request> = batch.iter().collect();
    match write_batch(conn, &all, known).await {
        Ok(outcomes) => Ok(outcomes),
        Err(sqlx::Error::Database(first)) => {
            // The transaction was rolled back, and what the writer learnt in it may be undone.
            known.instances.clear();
            if batch.len() == 1 {
                return Ok(vec![
                    refused_alone(conn, &batch[0].write, first.message(), known).await?,
                ]);
            }
            let mut outcomes = Vec::with_capacity(batch.len());
            // Instances whose handed-over record was refused here: their later records in this
            // batch are refused too (the loop marks them broken only once the batch is answered).
            let mut broken = Broken::default();
            for request in batch {
                if let Some(refused) = broken.refusal(&request.write) {
                    outcomes.push(refused);
                    continue;
                }
                let outcome = match write_batch(conn, &[request], known).await {
                    Ok(mut outcome) => outcome.pop().unwrap_or(Ok(Reply::Written)),
                    Err(sqlx::Error::Database(db)) => {
                        known.instances.clear();
                        refused_alone(conn, &request.write, db.message(), known).await?
                    }
                    Err(err) => return Err(err),
                };
                if request.ack.is_none()
                    && let (Err(err), Some(instance)) = (&outcome, request.write.instance_id())
                {
                    broken.instances.break_(instance, err.to_string());
                }
                outcomes.push(outcome);
            }
            Ok(outcomes)
        }
        Err(err) => Err(err),
    }
}

/// The answer for a record the database refused on its own. A job is created again without its
/// audit record (the job exists even when its audit record cannot be written, which its answer
/// then says).
async fn refused_alone(
    conn: &mut PgConnection,
    write: &Write,
    cause: &str,
    known: &mut Known,
) -> Result<Outcome, sqlx::Error> {
    let Write::CreateJob(job) = write else {
        return Ok(write.refused(cause));
    };
    if job.audit.is_none() {
        return Ok(write.refused(cause));
    }
    let bare = Request {
        write: Write::CreateJob(NewJobRow {
            audit: None,
            ..job.clone()
        }),
        ack: None,
    };
    match write_batch(conn, &[&bare], known).await {
        Ok(mut outcomes) => Ok(match outcomes.pop() {
            Some(Ok(Reply::Created(Ok(created)))) => Ok(Reply::Created(Ok(Created {
                audited: Err(StoreError::Unavailable(format!(
                    "job {}: the database refused its audit record: {cause}",
                    job.id
                ))),
                ..created
            }))),
            Some(other) => other,
            None => write.refused(cause),
        }),
        Err(sqlx::Error::Database(db)) => Ok(write.refused(db.message())),
        Err(err) => Err(err),
    }
}

/// Whether a batch may commit without waiting for its WAL flush: when it holds only instance
/// starts and finishes of idempotent runs (the records the `Journal` contract lets go unflushed)
/// and awaited new jobs ([`crate::NewJob::awaited`]: their creator tells of them only once their
/// durable end is written, or after [`crate::Store::make_job_durable`]). The WAL is flushed in
/// order, so the next durable commit (a non-idempotent run's start or finish, an instance's end
/// with its job's, a new job not awaited) covers them. Until then nothing has
/// happened that a resume would need to know of: only idempotent activities have run, and they
/// run again. A record lost in a database crash is one the engine, which loses its connection with
/// it, never builds on: the job is resumed (or, when its claim was lost too, claimed again), an
/// instance whose start was lost is started afresh, and runs whose finish was lost run again. The
/// engine's own order of events is kept: a record is visible to every reader once acknowledged.
fn relaxed(records: &[&Request]) -> bool {
    records.iter().all(|r| match &r.write {
        Write::InstanceStarted(_) => true,
        Write::Run(run) => run.relaxed,
        Write::CreateJob(job) => job.awaited,
        _ => false,
    })
}

/// Record kinds in the order a segment writes them.
fn phase(write: &Write) -> u8 {
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
fn segments<'a, 'r>(records: &'a [&'r Request]) -> Vec<&'a [&'r Request]> {
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

async fn write_batch(
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

/// The segment's instance records (starts, runs, ends with their jobs' ends) in one statement:
/// [`WRITE_INSTANCES`]. Of each instance, the last start and the last end are written (an upsert
/// may touch a row once), and of each run its last record; every run record is announced.
async fn write_instances(
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
    let query = RunColumns::new(&latest_runs(&runs), known)
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
        .bind(updated.iter().map(|e| e.problems.as_deref()).collect::<Vec<_>>());
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
async fn create_jobs(
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

impl Write {
    /// The instance the record is about (none for a new job).
    fn instance_id(&self) -> Option<Uuid> {
        match self {
            Write::InstanceStarted(start) => Some(start.instance_id),
            Write::Run(run) => Some(run.instance_id),
            Write::InstanceFinished(end) | Write::Finished(end, _) => Some(end.instance_id),
            Write::CreateJob(_) | Write::Barrier => None,
        }
    }

    /// The answer for a record the database refused on its own.
    fn refused(&self, cause: &str) -> Outcome {
        let (instance, what) = match self {
            Write::InstanceStarted(start) => (start.instance_id, "its start"),
            Write::Run(run) => (run.instance_id, "a run"),
            Write::InstanceFinished(end) | Write::Finished(end, _) => (end.instance_id, "its end"),
            Write::CreateJob(job) => {
                return Ok(Reply::Created(Err(StoreError::Invalid(format!(
                    "job {}: the database refused it: {cause}",
                    job.id
                )))));
            }
            Write::Barrier => return Ok(Reply::Written),
        };
        Err(JournalError::Unavailable(format!(
            "instance {instance}: the database refused {what}: {cause}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, json};
    use sqlx::{AssertSqlSafe, PgConnection};

    use super::*;
    use crate::{NewJob, PgStore, SaveRunbook, Store};

    fn request(write: Write) -> Request {
        Request { write, ack: None }
    }

    fn run(instance_id: Uuid, seq: u64) -> Write {
        Write::Run(RunRow::new(&crate::test_records::running(instance_id, seq)).unwrap())
    }

    fn end(instance_id: Uuid) -> Write {
        Write::InstanceFinished(EndRow {
            instance_id,
            status: InstanceStatus::Success,
            returns: None,
            ended_at: 0,
            problems: None,
        })
    }

    fn start(instance_id: Uuid, job_id: Uuid, runbook_id: Uuid) -> Write {
        Write::InstanceStarted(StartRow {
            instance_id,
            job_id,
            runbook_id,
            server: "rb-1".into(),
            parameters: "{}".into(),
            started_at: 0,
        })
    }

    #[test]
    fn a_start_after_an_end_of_its_instance_begins_a_segment() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let ids = Uuid::now_v7();
        let batch = [
            request(start(a, ids, ids)),
            request(run(a, 0)),
            request(run(b, 0)),
            request(end(a)),
            request(run(b, 1)),
            request(start(a, ids, ids)),
            request(run(a, 1)),
        ];
        let records: Vec<&Request> = batch.iter().collect();
        let lengths: Vec<usize> = segments(&records).iter().map(|s| s.len()).collect();
        assert_eq!(lengths, [5, 2]);
    }

    fn new_job(awaited: bool) -> Write {
        new_job_of(Uuid::now_v7(), awaited)
    }

    fn new_job_of(runbook_id: Uuid, awaited: bool) -> Write {
        Write::CreateJob(NewJobRow {
            id: Uuid::now_v7(),
            runbook_id,
            version: None,
            parameters: "{}".into(),
            created_by: "alice".into(),
            parent_job: None,
            audit: None,
            awaited,
        })
    }

    /// Awaited new jobs wait for the next durable commit like instance starts; other new jobs
    /// make their batch durable.
    #[test]
    fn batches_of_awaited_new_jobs_and_starts_commit_without_a_flush() {
        let ids = Uuid::now_v7();
        let relaxed_batch = [request(new_job(true)), request(start(ids, ids, ids))];
        assert!(relaxed(&relaxed_batch.iter().collect::<Vec<_>>()));
        let durable_batch = [request(new_job(true)), request(new_job(false))];
        assert!(!relaxed(&durable_batch.iter().collect::<Vec<_>>()));
    }

    /// A handed-over record that failed stops its instance's later records (awaited or not)
    /// until the instance starts again; other instances' records go on.
    #[test]
    fn a_failed_handed_over_record_refuses_its_instance_until_it_starts_again() {
        let (x, y, ids) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut broken = Broken::default();
        let cause = JournalError::Unavailable("connection reset".into());
        broken.deliver(request(run(x, 0)), Err(cause));
        broken.deliver(request(run(y, 0)), Ok(Reply::Written));

        let (ack, mut refused) = oneshot::channel();
        let mut batch = vec![
            Request {
                write: run(x, 1),
                ack: Some(ack),
            },
            request(run(y, 1)),
            request(start(x, ids, ids)),
            request(run(x, 2)),
        ];
        broken.refuse_records_of_broken(&mut batch);
        let kept: Vec<(Option<Uuid>, bool)> = batch
            .iter()
            .map(|r| (r.write.instance_id(), matches!(r.write, Write::InstanceStarted(_))))
            .collect();
        assert_eq!(kept, [(Some(y), false), (Some(x), true), (Some(x), false)]);
        assert!(
            matches!(refused.try_recv(), Ok(Err(JournalError::Unavailable(m))) if m.contains("connection reset")),
            "the awaited record of the broken instance is refused with the first failure's cause"
        );
        assert!(broken.instances.is_empty());
    }

    /// Runs `test` with a store on a new database (dropped afterwards, whatever the outcome) that
    /// holds one runbook and one pending job of it.
    async fn on_new_database<F, Fut>(test: F)
    where
        F: FnOnce(PgStore, Uuid, crate::Job) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let server = std::env::var("SCORCH_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
        let name = format!("scorch_test_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&server)
            .await
            .expect("PostgreSQL on 127.0.0.1:5432");
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let url = format!("{}/{name}", server.rsplit_once('/').unwrap().0);
        let outcome = async move {
            let store = PgStore::open(&url).await.unwrap();
            let definition = json!({ "format": 1 });
            let (runbook_id, _) = store
                .save_runbook(SaveRunbook {
                    id: None,
                    folder: "",
                    name: "Batch",
                    definition: &definition,
                    source: "",
                    parameters: Vec::new(),
                    activities: Vec::new(),
                    author: "tester",
                })
                .await
                .unwrap();
            let job = store
                .create_job(NewJob {
                    runbook_id,
                    version: None,
                    parameters: &Map::new(),
                    created_by: "tester",
                    parent_job: None,
                    awaited: false,
                })
                .await
                .unwrap();
            test(store, runbook_id, job).await;
        };
        let result = tokio::spawn(outcome).await;
        sqlx::query(AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
            .execute(&mut admin)
            .await
            .unwrap();
        if let Err(panic) = result {
            std::panic::resume_unwind(panic.into_panic());
        }
    }

    /// A batch the database refuses (here: a run keyed to an instance that the writer wrongly
    /// believes it knows, as after a purge) is written again record by record: only the bad
    /// record fails.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_record_does_not_fail_its_batch() {
        on_new_database(|store, runbook_id, job| async move {
            let (instance_id, ghost, stray) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
            let mut known = Known::default();
            known.insert(ghost, 987_654_321);
            let batch = [
                request(start(instance_id, job.id, runbook_id)),
                request(run(ghost, 0)),
                request(run(stray, 0)),
                request(run(instance_id, 0)),
                request(start(Uuid::now_v7(), Uuid::now_v7(), runbook_id)),
            ];
            let mut conn = store.pool().acquire().await.unwrap();
            let outcomes = write(&mut conn, &batch, &mut known).await.unwrap();
            // Written again alone, with what the writer knew forgotten, the ghost is found out.
            assert_eq!(outcomes[1], Err(JournalError::NotFound(ghost)));
            assert!(matches!(&outcomes[4], Err(JournalError::Unavailable(m)) if m.contains("not in the store")));
            assert_eq!(
                (&outcomes[0], &outcomes[2], &outcomes[3]),
                (
                    &Ok(Reply::Written),
                    &Err(JournalError::NotFound(stray)),
                    &Ok(Reply::Written)
                )
            );
            let runs = store.journal().runs(instance_id).await.unwrap();
            assert_eq!((runs.len(), runs[0].key), (1, u64::MAX));
        })
        .await;
    }

    /// When a batch is written again record by record, a handed-over record the database refuses
    /// makes the instance's later records in the batch refused too, as later batches would be.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_handed_over_record_refuses_its_instance_within_the_batch() {
        on_new_database(|store, runbook_id, job| async move {
            let (instance_id, other) = (Uuid::now_v7(), Uuid::now_v7());
            let mut known = Known::default();
            let mut conn = store.pool().acquire().await.unwrap();
            let started = [request(start(instance_id, job.id, runbook_id)), request(start(other, job.id, runbook_id))];
            write(&mut conn, &started, &mut known).await.unwrap();
            // NUL in text: the database refuses this record alone (the journal's own encoding
            // never makes one; built by hand here).
            let refused = Write::Run(RunRow {
                activity_id: Arc::from("bad\0id"),
                ..RunRow::new(&crate::test_records::running(instance_id, 0)).unwrap()
            });
            let (ack, _acked) = oneshot::channel();
            let awaited = |write| Request { write, ack: Some(ack) };
            let batch = [request(refused), request(run(other, 0)), awaited(run(instance_id, 1))];
            let outcomes = write(&mut conn, &batch, &mut known).await.unwrap();
            assert!(matches!(&outcomes[0], Err(JournalError::Unavailable(_))), "{:?}", outcomes[0]);
            assert_eq!(outcomes[1], Ok(Reply::Written));
            assert!(
                matches!(&outcomes[2], Err(JournalError::Unavailable(m)) if m.contains("an earlier record of it was not written")),
                "{:?}",
                outcomes[2]
            );
            assert!(store.journal().runs(instance_id).await.unwrap().is_empty());
        })
        .await;
    }

    /// A batch of awaited new jobs commits without waiting for the WAL flush, and one with a new
    /// job not awaited waits for it: each is written in a transaction of the test's, which then
    /// reads the setting its statement left for the commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_batches_of_awaited_new_jobs_commit_without_a_flush() {
        on_new_database(|store, runbook_id, _| async move {
            let mut conn = store.pool().acquire().await.unwrap();
            for (batch, commit) in [
                (vec![request(new_job_of(runbook_id, true))], "off"),
                (
                    vec![
                        request(new_job_of(runbook_id, true)),
                        request(new_job_of(runbook_id, false)),
                    ],
                    "on",
                ),
            ] {
                let mut tx = conn.begin().await.unwrap();
                let outcomes = write(&mut tx, &batch, &mut Known::default()).await.unwrap();
                assert!(
                    outcomes.iter().all(|o| matches!(o, Ok(Reply::Created(Ok(_))))),
                    "{outcomes:?}"
                );
                let setting: String = sqlx::query_scalar("SELECT current_setting('synchronous_commit')")
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
                assert_eq!(setting, commit, "{} new jobs", batch.len());
                tx.rollback().await.unwrap();
            }
        })
        .await;
    }

    /// Records the engine did not wait for are written by the time a barrier queued after them
    /// returns (a job handed back waits for one).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_barrier_returns_once_the_records_queued_before_it_are_written() {
        on_new_database(|store, runbook_id, job| async move {
            let journal = &store.shared.journal;
            let instance_id = Uuid::now_v7();
            let start = InstanceStart {
                instance_id,
                job_id: job.id,
                runbook_id,
                runbook_name: "Batch".into(),
                server: "rb-1".into(),
                parameters: Map::new(),
                started_at: jiff::Timestamp::now(),
            };
            journal.instance_started(&start).await.unwrap();
            let finished = RunRecord {
                state: RunState::Finished(scorch_activity::Status::Success),
                ended_at: Some(jiff::Timestamp::now()),
                ..crate::test_records::running(instance_id, 0)
            };
            journal.idempotent_run_finished(&finished).await.unwrap();
            journal.barrier().await.unwrap();
            let written: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM activity_runs r JOIN instances i ON i.id = r.instance_id WHERE i.uuid = $1",
            )
            .bind(instance_id)
            .fetch_one(store.pool())
            .await
            .unwrap();
            assert_eq!(written, 1);
        })
        .await;
    }

    /// An instance's start, runs and end (with its job's) in one batch are one statement: the
    /// instance is inserted ended, its run keyed to it, its job ended.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_instance_started_and_ended_in_one_batch_is_written_whole() {
        on_new_database(|store, runbook_id, job| async move {
            let claim = store
                .claim_job("rb-1", Duration::from_secs(60), Duration::from_secs(60))
                .await
                .unwrap()
                .expect("the job");
            let instance_id = claim.instance_id;
            let finished = Write::Finished(
                EndRow {
                    instance_id,
                    status: InstanceStatus::Warning,
                    returns: Some(r#"{"Result":"1"}"#.into()),
                    ended_at: 42,
                    problems: None,
                },
                JobEnd {
                    id: job.id,
                    server: "rb-1".into(),
                    status: JobStatus::Completed,
                },
            );
            let batch = [
                request(start(instance_id, job.id, runbook_id)),
                request(run(instance_id, 0)),
                request(finished),
            ];
            let mut known = Known::default();
            let mut conn = store.pool().acquire().await.unwrap();
            let outcomes = write(&mut conn, &batch, &mut known).await.unwrap();
            assert_eq!(
                outcomes,
                [Ok(Reply::Written), Ok(Reply::Written), Ok(Reply::Finished(true))]
            );
            assert!(known.instances.is_empty(), "an ended instance is forgotten");
            let result = store.job_result(job.id).await.unwrap();
            assert_eq!(result.job.status, JobStatus::Completed);
            let instance = result.instance.expect("the instance");
            assert_eq!((instance.status, instance.returns.len()), (InstanceStatus::Warning, 1));
            assert_eq!(result.runs.len(), 1);
        })
        .await;
    }
}
