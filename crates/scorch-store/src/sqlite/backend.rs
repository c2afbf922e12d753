//! [`Backend`] on SQLite: its pool and caches, the statements its dialect writes its own way,
//! and the steps it takes through the writer.

use jiff::Timestamp;
use scorch_activity::{CounterOp, SettingsError};
use sqlx::pool::Pool;
use sqlx::sqlite::SqliteConnection;
use sqlx::{Sqlite, Transaction};
use uuid::Uuid;

use super::{SqliteStore, audit, retention, runbook_parts, servers, settings};
use crate::backend::Backend;
use crate::codec::{from_json, micros, to_json};
use crate::kept::{Changed, KeptLookups};
use crate::versions::{Head, VersionCache};
use crate::{NewAudit, SaveRunbook, StoreError};

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

    async fn append_audit(&self, entry: NewAudit<'_>) -> Result<(), StoreError> {
        audit::append(self, entry).await
    }

    async fn heartbeat(&self, name: &str, running: u32) -> Result<bool, StoreError> {
        servers::heartbeat(self, name, running).await
    }

    async fn purge_batch(&self, runbook: Uuid, newest: (i64, i64), before: i64, batch: u32) -> Result<u64, StoreError> {
        retention::purge_batch(self, runbook, newest, before, batch).await
    }

    async fn insert_parts(
        conn: &mut SqliteConnection,
        id: Uuid,
        version: i64,
        save: &SaveRunbook<'_>,
        parameter_ids: &[Uuid],
        activity_ids: &[Uuid],
    ) -> Result<(), StoreError> {
        runbook_parts::insert_parts(conn, id, version, save, parameter_ids, activity_ids).await
    }

    async fn modify_counter(pool: &Pool<Sqlite>, name: &str, op: CounterOp) -> Result<i64, SettingsError> {
        settings::modify_counter(pool, name, op).await
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
