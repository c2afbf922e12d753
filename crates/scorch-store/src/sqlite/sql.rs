//! The job path's statement text on SQLite: the journal's statements, the claim, and the column
//! lists that reads share. Statements of one use and a few lines stay with their code.

/// The columns `jobs::decode` reads.
macro_rules! job_columns {
    () => {
        "id, runbook_id, version, parameters, status, created_at, created_by, parent_job, claimed_by, instance_id,
         cancel_requested, ended_at"
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

pub(super) const UPSERT_INSTANCE: &str =
    "INSERT INTO instances (uuid, job_id, runbook_id, server, status, parameters, started_at)
     VALUES (?, ?, ?, ?, 'running', ?, ?)
     ON CONFLICT (uuid) DO UPDATE SET server = excluded.server, status = 'running', ended_at = NULL";

// run_started and run_finished share this upsert, so a finish record replaces its start record.
// The run's instance is found by UUID inside the statement: an unknown instance leaves
// instance_id NULL, which the NOT NULL constraint turns into a per-record rejection.
pub(super) const UPSERT_RUN: &str =
    "INSERT INTO activity_runs (instance_id, seq, run_key, activity_id, activity_name, attempt,
         state, error, error_kind, started_at, ended_at, published, truncated)
     VALUES ((SELECT id FROM instances WHERE uuid = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (instance_id, seq) DO UPDATE SET run_key = excluded.run_key, activity_id = excluded.activity_id,
         activity_name = excluded.activity_name, attempt = excluded.attempt, state = excluded.state,
         error = excluded.error, error_kind = excluded.error_kind, started_at = excluded.started_at,
         ended_at = excluded.ended_at, published = excluded.published, truncated = excluded.truncated";

pub(super) const FINISH_INSTANCE: &str =
    "UPDATE instances SET status = ?, returns = ?, ended_at = ?, problems = ? WHERE uuid = ? RETURNING job_id";

pub(super) const SELECT_RUNS: &str =
    "SELECT seq, run_key, activity_id, activity_name, attempt, state, error, error_kind, started_at,
         ended_at, published, truncated
     FROM activity_runs WHERE instance_id = (SELECT id FROM instances WHERE uuid = ?) ORDER BY seq";

/// Whether server ?2 may take a job of runbook version `v`, given the servers alive (heartbeat at or
/// after ?1): the version names no preferred servers; or ?2 is the first listed server alive; or
/// ?2 is not listed and no listed server is alive.
macro_rules! preferred {
    () => {
        "(v.runbook_servers = '[]'
          OR (SELECT p.value FROM json_each(v.runbook_servers) p
                JOIN runbook_servers s ON s.name = p.value AND s.heartbeat_at >= ?1
              ORDER BY p.key LIMIT 1) = ?2
          OR (NOT EXISTS (SELECT 1 FROM json_each(v.runbook_servers) p WHERE p.value = ?2)
              AND NOT EXISTS (SELECT 1 FROM json_each(v.runbook_servers) p
                                JOIN runbook_servers s ON s.name = p.value AND s.heartbeat_at >= ?1)))"
    };
}

/// Takes the oldest job server ?2 may take: a pending job whose runbook runs fewer jobs than its
/// version's concurrency, or a running job without a live lease (its server died, or handed it
/// back). ?1 alive since, ?3 now, ?4 the lease's end, ?5 the instance id for a job without one:
/// a job whose instance is not ?5 afterwards is a resume. Returns the job and what its runbook is
/// now (`runbook`, a JSON list: name, latest version, check-out, folder path).
pub(super) const CLAIM: &str = concat!(
    "UPDATE jobs SET status = 'running', claimed_by = ?2, lease_expires_at = ?4,
         instance_id = COALESCE(instance_id, ?5)
     WHERE id = (SELECT id FROM (
         SELECT * FROM (
             SELECT j.id, j.created_at FROM jobs j
             JOIN runbook_versions v ON v.runbook_id = j.runbook_id AND v.version = j.version
             WHERE j.status = 'pending'
               AND (SELECT COUNT(*) FROM jobs r WHERE r.runbook_id = j.runbook_id AND r.status = 'running')
                   < v.concurrency
               AND ",
    preferred!(),
    "      ORDER BY j.created_at, j.id LIMIT 1)
         UNION ALL
         SELECT * FROM (
             SELECT j.id, j.created_at FROM jobs j
             JOIN runbook_versions v ON v.runbook_id = j.runbook_id AND v.version = j.version
             WHERE j.status = 'running' AND (j.lease_expires_at IS NULL OR j.lease_expires_at < ?3)
               AND ",
    preferred!(),
    "      ORDER BY j.created_at, j.id LIMIT 1))
       ORDER BY created_at, id LIMIT 1)
     RETURNING ",
    job_columns!(),
    ", (SELECT json_array(r.name, r.latest_version, r.checked_out_by, f.path)
        FROM runbooks r JOIN folders f ON f.id = r.folder_id WHERE r.id = jobs.runbook_id) AS runbook"
);
