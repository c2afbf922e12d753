//! [`Backend`] on PostgreSQL: its pool and caches, the statements its dialect writes its own way
//! (the database's clock, row locks), and the steps it takes in one statement.

use scorch_activity::{CounterOp, SettingsError};
use sqlx::pool::Pool;
use sqlx::postgres::PgConnection;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::{PgStore, audit, changes, retention, runbook_parts, servers, settings};
use crate::backend::Backend;
use crate::kept::{Changed, KeptLookups};
use crate::versions::{Head, VersionCache};
use crate::{NewAudit, SaveRunbook, StoreError};

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
        conn: &mut PgConnection,
        id: Uuid,
        version: i64,
        save: &SaveRunbook<'_>,
        parameter_ids: &[Uuid],
        activity_ids: &[Uuid],
    ) -> Result<(), StoreError> {
        runbook_parts::insert_parts(conn, id, version, save, parameter_ids, activity_ids).await
    }

    async fn modify_counter(pool: &Pool<Postgres>, name: &str, op: CounterOp) -> Result<i64, SettingsError> {
        settings::modify_counter(pool, name, op).await
    }
}
