//! [`Backend`] on PostgreSQL: its pool and caches, the statements its dialect writes its own way
//! (the database's clock, row locks), and the steps it takes its own way (in one statement).

use scorch_activity::{CounterOp, SettingsError};
use sqlx::pool::Pool;
use sqlx::postgres::PgConnection;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::cold::audit::detail;
use super::cold::retention::purgeable;
use super::cold::settings::{not_found, unavailable};
use super::{PgStore, changes};
use crate::backend::{Backend, Part};
use crate::kept::{Changed, KeptLookups};
use crate::versions::{Head, VersionCache};
use crate::{NewAudit, StoreError};

/// A counter change: $1 name, $2 operation, $3 operand (see `modify_counter`).
const MODIFY_COUNTER: &str = "UPDATE counters SET value = CASE $2
         WHEN 'set' THEN $3
         WHEN 'reset' THEN default_value
         ELSE GREATEST(-9223372036854775808::numeric, LEAST(9223372036854775807::numeric,
             value::numeric + CASE $2 WHEN 'increment' THEN $3::numeric ELSE -($3::numeric) END))::bigint
     END
     WHERE name = $1 RETURNING value";

impl Backend for PgStore {
    type Db = Postgres;
    type Count = i32;
    type Names = Vec<String>;
    type Limit = Option<i64>;

    const COUNT_MAX: i32 = i32::MAX;

    // Stamped on the database's clock: the bound time ($5) is NULL.
    const INSERT_USER: &'static str = "INSERT INTO users (id, name, admin, password_hash, created_at)
         VALUES ($1, $2, $3, $4, COALESCE($5, scorch_now_us()))";
    // The user's row is locked until the transaction ends.
    const LOCK_USER: &'static str = "SELECT id FROM users WHERE name = $1 FOR UPDATE";
    const INSERT_TOKEN: &'static str = "INSERT INTO tokens (id, user_id, hash, label, created_at)
         SELECT $1, u.id, $2, $3, COALESCE($5, scorch_now_us()) FROM users u WHERE u.name = $4
         RETURNING id, created_at";
    // PostgreSQL spells the JSON aggregate its own way (and orders it).
    const TOKEN_USER: &'static str = "SELECT u.id, u.name, u.admin, u.password_hash,
             (SELECT COALESCE(json_agg(json_build_array(g.folder, g.role) ORDER BY g.folder), '[]')::text
              FROM grants g WHERE g.user_id = u.id) AS grants
         FROM tokens t JOIN users u ON u.id = t.user_id
         WHERE t.hash = $1 AND NOT t.revoked";
    // Runbooks and subfolders inserted meanwhile reference the folder, which waits for this lock.
    const LOCK_FOLDER: &'static str = "SELECT id FROM folders WHERE path = $1 FOR UPDATE";
    const LOCK_RUNBOOK: &'static str = "SELECT latest_version, checked_out_by FROM runbooks WHERE id = $1 FOR UPDATE";
    // Heartbeats are compared on the database's clock: the bound time ($6) is NULL.
    // One statement: the instances' runs and output (one key range each), then the
    // instances; those another purge is deleting are skipped.
    const PURGE_BATCH: &'static [&'static str] = &[concat!(
        "WITH doomed AS (",
        purgeable!("SELECT id", "ORDER BY started_at, id LIMIT $5 FOR UPDATE SKIP LOCKED"),
        "), runs AS (DELETE FROM activity_runs WHERE instance_id IN (SELECT id FROM doomed)),
         output AS (DELETE FROM activity_output WHERE instance_id IN (SELECT id FROM doomed))
         DELETE FROM instances WHERE id IN (SELECT id FROM doomed) RETURNING id"
    )];
    // One statement for the whole list: its rows as arrays, numbered from 1.
    const INSERT_PARAMETERS: &'static str =
        "INSERT INTO runbook_parameters (runbook_id, version, id, position, name, type, default_value)
         SELECT $1, $2, p.id, p.position::integer - 1, p.name, p.type, p.default_value
         FROM UNNEST($3::uuid[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY
             AS p(id, name, type, default_value, position)";
    const INSERT_ACTIVITIES: &'static str =
        "INSERT INTO runbook_activities (runbook_id, version, id, position, activity_key, name, type)
         SELECT $1, $2, a.id, a.position::integer - 1, a.activity_key, a.name, a.type
         FROM UNNEST($3::uuid[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY
             AS a(id, activity_key, name, type, position)";
    const JOB_HOLDER: &'static str = "SELECT status, claimed_by FROM jobs WHERE id = $1 FOR SHARE";
    const REGISTER_SERVER: &'static str =
        "INSERT INTO runbook_servers (id, name, host, max_instances, heartbeat_at, running, packs)
         VALUES ($1, $2, $3, $4, COALESCE($6, scorch_now_us()), 0, $5)
         ON CONFLICT (name) DO UPDATE SET host = excluded.host, max_instances = excluded.max_instances,
             heartbeat_at = excluded.heartbeat_at, running = 0, packs = excluded.packs
         RETURNING id";

    fn pool(&self) -> &Pool<Postgres> {
        &self.shared.pool
    }

    fn versions(&self) -> &VersionCache {
        &self.shared.versions
    }

    fn kept(&self) -> &KeptLookups<Head> {
        &self.shared.kept
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.shared.pool.begin().await
    }

    /// Every process keeps lookups: this one forgets at once, the others on the announcement.
    async fn forget(&self, changed: Changed) {
        self.shared.kept.forget(Some(changed));
        changes::announce(&self.shared.pool, changed).await;
    }

    async fn announce_trigger(&self, job_id: Uuid) {
        changes::announce_trigger(&self.shared.pool, job_id).await;
    }

    fn now() -> Option<i64> {
        None
    }

    fn limit(page: u32) -> Option<i64> {
        super::limit(page)
    }

    fn count(value: u32) -> Result<i32, StoreError> {
        i32::try_from(value).map_err(|_| StoreError::Invalid(format!("{value} is too large (at most {})", i32::MAX)))
    }

    fn count_of(stored: i32) -> Result<u32, StoreError> {
        u32::try_from(stored).map_err(|_| StoreError::Corrupt(format!("stored count {stored} is negative")))
    }

    fn names(names: &[String]) -> Result<Vec<String>, StoreError> {
        Ok(names.to_vec())
    }

    fn names_of(stored: Vec<String>, _what: &str) -> Result<Vec<String>, StoreError> {
        Ok(stored)
    }

    /// Stamped on the database's clock.
    async fn append_audit(&self, entry: NewAudit<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit (at, actor, action, object_type, object_id, detail)
             VALUES (scorch_now_us(), $1, $2, $3, $4, $5)",
        )
        .bind(entry.actor)
        .bind(entry.action)
        .bind(entry.object_type)
        .bind(entry.object_id)
        .bind(detail(entry.detail)?)
        .execute(&self.shared.pool)
        .await?;
        Ok(())
    }

    /// Stamped on the database's clock, which leases are compared on.
    async fn heartbeat(&self, name: &str, running: u32) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE runbook_servers SET heartbeat_at = scorch_now_us(), running = $1 WHERE name = $2")
                .bind(Self::count(running)?)
                .bind(name)
                .execute(&self.shared.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// One statement for the whole list, whatever its length.
    async fn insert_parts(
        conn: &mut PgConnection,
        sql: &'static str,
        id: Uuid,
        version: i64,
        rows: &[Part<'_>],
    ) -> Result<(), StoreError> {
        let column = |i: usize| rows.iter().map(|row| row.columns[i]).collect::<Vec<_>>();
        sqlx::query(sql)
            .bind(id)
            .bind(version)
            .bind(rows.iter().map(|row| row.id).collect::<Vec<_>>())
            .bind(column(0))
            .bind(column(1))
            .bind(column(2))
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// One statement: the row lock makes concurrent changes queue, each seeing the value the one
    /// before wrote; the arithmetic is done in `numeric` and clamped, so it saturates as the
    /// in-memory settings do.
    async fn modify_counter(pool: &Pool<Postgres>, name: &str, op: CounterOp) -> Result<i64, SettingsError> {
        let (operation, operand) = match op {
            CounterOp::Set(value) => ("set", value),
            CounterOp::Increment(by) => ("increment", by),
            CounterOp::Decrement(by) => ("decrement", by),
            CounterOp::Reset => ("reset", 0),
        };
        sqlx::query_scalar(MODIFY_COUNTER)
            .bind(name)
            .bind(operation)
            .bind(operand)
            .fetch_optional(pool)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| not_found("counter", name))
    }
}
