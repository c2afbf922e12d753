//! [`Backend`] on SQLite: its pool and caches, the statements its dialect writes its own way,
//! and the steps it takes its own way (through the writer, a statement a row, a counter changed
//! in Rust).

use jiff::Timestamp;
use scorch_activity::{CounterOp, SettingsError};
use sqlx::pool::Pool;
use sqlx::sqlite::SqliteConnection;
use sqlx::{Sqlite, Transaction};
use uuid::Uuid;

use super::cold::retention::purgeable;
use super::cold::settings::{not_found, unavailable};
use super::servers::Beat;
use super::{SqliteStore, audit};
use crate::backend::{Backend, Part};
use crate::codec::{from_json, micros, to_json};
use crate::kept::{Changed, KeptLookups};
use crate::versions::{Head, VersionCache};
use crate::{NewAudit, StoreError};

impl Backend for SqliteStore {
    type Db = Sqlite;
    type Count = u32;
    type Names = String;
    type Limit = i64;

    const COUNT_MAX: u32 = u32::MAX;

    // SQLite has no clock in microseconds: the time is bound.
    const INSERT_USER: &'static str =
        "INSERT INTO users (id, name, admin, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)";
    // `BEGIN IMMEDIATE` holds the whole database: a plain read suffices.
    const LOCK_USER: &'static str = "SELECT id FROM users WHERE name = $1";
    const INSERT_TOKEN: &'static str = "INSERT INTO tokens (id, user_id, hash, label, created_at)
         SELECT $1, u.id, $2, $3, $5 FROM users u WHERE u.name = $4
         RETURNING id, created_at";
    // SQLite's JSON aggregate keeps no order: the grants are sorted once read.
    const TOKEN_USER: &'static str = "SELECT u.id, u.name, u.admin, u.password_hash,
             (SELECT json_group_array(json_array(g.folder, g.role)) FROM grants g WHERE g.user_id = u.id) AS grants
         FROM tokens t JOIN users u ON u.id = t.user_id
         WHERE t.hash = $1 AND t.revoked = 0";
    const LOCK_FOLDER: &'static str = "SELECT id FROM folders WHERE path = $1";
    const LOCK_RUNBOOK: &'static str = "SELECT latest_version, checked_out_by FROM runbooks WHERE id = $1";
    // SQLite has no DELETE in a WITH: the output and runs go first, then the instances chosen the
    // same way (the same rows, under the write lock).
    const PURGE_BATCH: &'static [&'static str] = &[
        concat!(
            "DELETE FROM activity_output WHERE instance_id IN (",
            purgeable!("SELECT id", "ORDER BY started_at, id LIMIT $5"),
            ")"
        ),
        concat!(
            "DELETE FROM activity_runs WHERE instance_id IN (",
            purgeable!("SELECT id", "ORDER BY started_at, id LIMIT $5"),
            ")"
        ),
        concat!(
            "DELETE FROM instances WHERE id IN (",
            purgeable!("SELECT id", "ORDER BY started_at, id LIMIT $5"),
            ") RETURNING id"
        ),
    ];
    const INSERT_PARAMETERS: &'static str =
        "INSERT INTO runbook_parameters (runbook_id, version, id, position, name, type, default_value)
         VALUES ($1, $2, $3, $4, $5, $6, $7)";
    const INSERT_ACTIVITIES: &'static str =
        "INSERT INTO runbook_activities (runbook_id, version, id, position, activity_key, name, type)
         VALUES ($1, $2, $3, $4, $5, $6, $7)";
    const JOB_HOLDER: &'static str = "SELECT status, claimed_by FROM jobs WHERE id = $1";
    const REGISTER_SERVER: &'static str =
        "INSERT INTO runbook_servers (id, name, host, max_instances, heartbeat_at, running, packs)
         VALUES ($1, $2, $3, $4, $6, 0, $5)
         ON CONFLICT (name) DO UPDATE SET host = excluded.host, max_instances = excluded.max_instances,
             heartbeat_at = excluded.heartbeat_at, running = 0, packs = excluded.packs
         RETURNING id";

    fn pool(&self) -> &Pool<Sqlite> {
        &self.pool
    }

    fn versions(&self) -> &VersionCache {
        &self.versions
    }

    fn kept(&self) -> &KeptLookups<Head> {
        &self.kept
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// Only this process keeps lookups of what it changed; another process sharing the file
    /// finds its changes within the moment lookups are kept.
    async fn forget(&self, changed: Changed) {
        self.kept.forget(Some(changed));
    }

    async fn announce_trigger(&self, job_id: Uuid) {
        self.changes.send(crate::Change::Trigger { job_id });
    }

    fn now() -> Option<i64> {
        Some(micros(Timestamp::now()))
    }

    fn limit(page: u32) -> i64 {
        super::limit(page)
    }

    fn count(value: u32) -> Result<u32, StoreError> {
        Ok(value)
    }

    fn count_of(stored: u32) -> Result<u32, StoreError> {
        Ok(stored)
    }

    fn names(names: &[String]) -> Result<String, StoreError> {
        to_json(names)
    }

    fn names_of(stored: String, what: &str) -> Result<Vec<String>, StoreError> {
        from_json(&stored, what)
    }

    /// Through the writer, so that it shares a commit with the job path's writes.
    async fn append_audit(&self, entry: NewAudit<'_>) -> Result<(), StoreError> {
        self.writer.submit(audit::Entry::new(&entry)?).await
    }

    /// Through the writer, so that heartbeats never make the job path's writes wait for the lock.
    async fn heartbeat(&self, name: &str, running: u32) -> Result<bool, StoreError> {
        self.writer.submit(Beat::new(name, running)).await
    }

    /// A statement a row.
    async fn insert_parts(
        conn: &mut SqliteConnection,
        sql: &'static str,
        id: Uuid,
        version: i64,
        rows: &[Part<'_>],
    ) -> Result<(), StoreError> {
        for (position, row) in rows.iter().enumerate() {
            let [first, second, third] = row.columns;
            sqlx::query(sql)
                .bind(id)
                .bind(version)
                .bind(row.id)
                .bind(position as i64)
                .bind(first)
                .bind(second)
                .bind(third)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    /// Read and write in one IMMEDIATE transaction: no other writer can slip in between, and the
    /// arithmetic saturates in Rust exactly as the in-memory settings do.
    async fn modify_counter(pool: &Pool<Sqlite>, name: &str, op: CounterOp) -> Result<i64, SettingsError> {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(unavailable)?;
        let (value, default): (i64, i64) = sqlx::query_as("SELECT value, default_value FROM counters WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| not_found("counter", name))?;
        let value = match op {
            CounterOp::Set(v) => v,
            CounterOp::Increment(by) => value.saturating_add(by),
            CounterOp::Decrement(by) => value.saturating_sub(by),
            CounterOp::Reset => default,
        };
        sqlx::query("UPDATE counters SET value = $1 WHERE name = $2")
            .bind(value)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    /// The statements `cold` writes once number their parameters (`$1, $2 ...`): sqlx's SQLite
    /// driver must bind them by number, as PostgreSQL does, whatever their order or repetition.
    #[tokio::test]
    async fn numbered_parameters_bind_by_number() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        let row: (String, String, String) = sqlx::query_as("SELECT $2 || $1, $1, $3")
            .bind("a")
            .bind("b")
            .bind("c")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(row, ("ba".into(), "a".into(), "c".into()));
    }
}
