//! The job path's statement text on PostgreSQL: the writer's statements, the claim, the job result
//! read, and the column lists that reads share, each with the names its decoder reads the columns
//! by. Statements of one use and a few lines stay with their code.

/// The columns `jobs::decode` reads.
macro_rules! job_columns {
    ($alias:literal) => {
        concat!(
            $alias,
            ".id, ",
            $alias,
            ".runbook_id, ",
            $alias,
            ".version, ",
            $alias,
            ".parameters, ",
            $alias,
            ".status, ",
            $alias,
            ".created_at, ",
            $alias,
            ".created_by, ",
            $alias,
            ".parent_job, ",
            $alias,
            ".claimed_by, ",
            $alias,
            ".instance_id, ",
            $alias,
            ".cancel_requested, ",
            $alias,
            ".ended_at"
        )
    };
}
pub(super) use job_columns;

/// The one column list `instances::decode` reads, followed by the query's own clauses.
macro_rules! select_instances {
    ($clauses:literal) => {
        concat!(
            "SELECT uuid, job_id, runbook_id, server, status, parameters, returns, started_at, ended_at, problems
             FROM instances ",
            $clauses
        )
    };
}
pub(super) use select_instances;

/// A job change as a SQL expression over a row `j` (id, runbook_id, status), for statements that
/// notify in the same statement as they write.
macro_rules! notify_job {
    ($alias:literal) => {
        concat!(
            "pg_notify('scorch_jobs', json_build_array(json_build_object('j', json_build_array(",
            $alias,
            ".id, ",
            $alias,
            ".runbook_id, ",
            $alias,
            ".status)))::text)"
        )
    };
}
pub(super) use notify_job;

/// The names of the columns `instances::decode_as` reads, in this order: uuid, job_id, runbook_id,
/// server, status, parameters, returns, started_at, ended_at, problems.
pub(super) type InstanceNames = [&'static str; 10];

/// The columns as [`select_instances!`] names them.
pub(super) const INSTANCE_NAMES: InstanceNames = [
    "uuid",
    "job_id",
    "runbook_id",
    "server",
    "status",
    "parameters",
    "returns",
    "started_at",
    "ended_at",
    "problems",
];

/// The names of the columns `instances::decode_run` reads, in this order: seq, run_key,
/// activity_id, activity_name, attempt, state, error, error_kind, started_at, ended_at, published,
/// truncated.
pub(super) type RunNames = [&'static str; 12];

/// The columns as [`SELECT_RUNS`] names them.
pub(super) const RUN_NAMES: RunNames = [
    "seq",
    "run_key",
    "activity_id",
    "activity_name",
    "attempt",
    "state",
    "error",
    "error_kind",
    "started_at",
    "ended_at",
    "published",
    "truncated",
];

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
/// the commit does not wait for its WAL flush: see `writer::batch::relaxed`. $33 and $34 are the
/// problems of the instances inserted ended and of the ends of instances started before; $35 the
/// runs' error kinds. Every row
/// is looked up by key (scalar subqueries, `= ANY`), so the plan does not depend on statistics.
/// Returns the instances started ('s', with their key), ended ('i') and the jobs ended ('j').
pub(super) const WRITE_INSTANCES: &str = "WITH s AS (
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
             activity_id, activity_name, error, published, error_kind)
         -- A key the writer knows is checked (a row not found leaves the key null, which the
         -- table refuses, failing the statement: see `write`); the instances started here have theirs.
         SELECT COALESCE((SELECT i.id FROM instances i WHERE i.id = u.instance_id),
                 (started.keys ->> u.instance_uuid::text)::bigint), u.seq, u.run_key,
             u.started_at, u.ended_at, u.attempt, u.state, u.truncated, u.activity_id, u.activity_name, u.error,
             u.published, u.error_kind
         FROM UNNEST($10::bigint[], $11::uuid[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[],
             $16::integer[], $17::smallint[], $18::boolean[], $19::text[], $20::text[], $21::text[], $22::text[],
             $35::text[])
             AS u(instance_id, instance_uuid, seq, run_key, started_at, ended_at, attempt, state, truncated,
                  activity_id, activity_name, error, published, error_kind),
             -- The keys of the instances started here, looked up by UUID in a sorted map (a scan of
             -- s per run would cost runs x instances).
             (SELECT jsonb_object_agg(uuid, id) AS keys FROM s) started
         ON CONFLICT (instance_id, seq) DO UPDATE SET run_key = excluded.run_key, started_at = excluded.started_at,
             ended_at = excluded.ended_at, attempt = excluded.attempt, state = excluded.state,
             truncated = excluded.truncated, activity_id = excluded.activity_id,
             activity_name = excluded.activity_name, error = excluded.error, published = excluded.published,
             error_kind = excluded.error_kind),
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

pub(super) const LOOKUP_INSTANCES: &str = "SELECT id, uuid FROM instances WHERE uuid = ANY ($1)";

/// Creates pending jobs ($1-$6) of their runbooks' latest versions, each with its audit record
/// ($7-$11, keyed by the job's id) if it has one, and announces them; committed without waiting
/// for the WAL flush when $12 (a relaxed batch: see `writer::batch::relaxed`). Jobs whose runbook
/// is not in the store, or that ask for a version that is not the latest, are left out. Returns
/// the jobs created.
pub(super) const CREATE_JOBS: &str = "WITH j AS (
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

pub(super) const SELECT_RUNS: &str =
    "SELECT seq, run_key, activity_id, activity_name, attempt, state, error, error_kind, started_at,
         ended_at, published, truncated
     FROM activity_runs WHERE instance_id = (SELECT id FROM instances WHERE uuid = $1) ORDER BY seq";

/// Takes up to $4 jobs for server $1 with a lease of $2 microseconds, counting servers alive when
/// they heartbeated within $3 microseconds; $5 holds a new instance id per job. When no job is
/// pending and no lease has expired (most claims: every server looks for work whenever a job is
/// created or ends), two index probes answer, and the claim function is not called.
pub(super) const CLAIM: &str = "SELECT * FROM scorch_claim_jobs($1, $2, $3, $4, $5)
     WHERE EXISTS (SELECT 1 FROM jobs WHERE status = 'pending')
        OR EXISTS (SELECT 1 FROM jobs WHERE status = 'running'
                   AND COALESCE(lease_expires_at, 0) < (SELECT scorch_now_us()))";

/// Jobs ($1), and once each has ended its instance (joined only then) with the instance's runs,
/// one row per run (or one row without a run), a job's rows together.
pub(super) const RESULTS: &str = concat!(
    "SELECT ",
    job_columns!("j"),
    ", i.uuid AS instance_uuid, i.job_id AS instance_job_id, i.runbook_id AS instance_runbook_id,
       i.server AS instance_server, i.status AS instance_status, i.parameters AS instance_parameters,
       i.returns AS instance_returns, i.started_at AS instance_started_at, i.ended_at AS instance_ended_at,
       i.problems AS instance_problems,
       r.seq AS run_seq, r.run_key AS run_key, r.activity_id AS run_activity_id,
       r.activity_name AS run_activity_name, r.attempt AS run_attempt, r.state AS run_state, r.error AS run_error,
       r.error_kind AS run_error_kind, r.started_at AS run_started_at, r.ended_at AS run_ended_at, r.published AS run_published,
       r.truncated AS run_truncated
     FROM jobs j
     LEFT JOIN instances i ON i.uuid = j.instance_id AND j.status IN ('completed', 'failed', 'canceled')
     LEFT JOIN activity_runs r ON r.instance_id = i.id
     WHERE j.id = ANY ($1)
     ORDER BY j.id, r.seq"
);

pub(super) const RESULT_INSTANCE: InstanceNames = [
    "instance_uuid",
    "instance_job_id",
    "instance_runbook_id",
    "instance_server",
    "instance_status",
    "instance_parameters",
    "instance_returns",
    "instance_started_at",
    "instance_ended_at",
    "instance_problems",
];

pub(super) const RESULT_RUN: RunNames = [
    "run_seq",
    "run_key",
    "run_activity_id",
    "run_activity_name",
    "run_attempt",
    "run_state",
    "run_error",
    "run_error_kind",
    "run_started_at",
    "run_ended_at",
    "run_published",
    "run_truncated",
];
