//! Global variables and counters, as activities see them through [`GlobalSettings`].

use async_trait::async_trait;
use scorch_activity::{CounterOp, GlobalSettings, SettingsError, Variable};
use sqlx::Row as _;
use sqlx::sqlite::SqlitePool;

use super::SqliteStore;
use crate::{CounterInfo, StoreError, VariableInfo};

/// Global settings on SQLite, as activities see them: obtained from [`Store::settings`](crate::Store::settings).
#[derive(Debug, Clone)]
pub struct SqliteSettings {
    pool: SqlitePool,
}

impl SqliteSettings {
    pub(super) fn new(pool: SqlitePool) -> Self {
        SqliteSettings { pool }
    }
}

/// Creates or replaces a variable. An encrypted variable is masked in every record and listing;
/// its value is stored as given until encryption at rest (with a key from the configuration) lands.
pub(super) async fn set_variable(
    store: &SqliteStore,
    name: &str,
    value: &str,
    encrypted: bool,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO variables (name, value, encrypted) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, encrypted = excluded.encrypted",
    )
    .bind(name)
    .bind(value)
    .bind(encrypted)
    .execute(&store.pool)
    .await?;
    Ok(())
}

/// Every variable by name; encrypted ones without their value.
pub(super) async fn variables(store: &SqliteStore) -> Result<Vec<VariableInfo>, StoreError> {
    let rows: Vec<(String, String, bool)> =
        sqlx::query_as("SELECT name, value, encrypted FROM variables ORDER BY name")
            .fetch_all(&store.pool)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(name, value, encrypted)| VariableInfo {
            name,
            value: (!encrypted).then_some(value),
            encrypted,
        })
        .collect())
}

pub(super) async fn delete_variable(store: &SqliteStore, name: &str) -> Result<(), StoreError> {
    delete(store, "DELETE FROM variables WHERE name = ?", "variable", name).await
}

/// Creates or replaces a counter whose value and default (what a reset returns to) are `value`.
pub(super) async fn set_counter(store: &SqliteStore, name: &str, value: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO counters (name, value, default_value) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, default_value = excluded.default_value",
    )
    .bind(name)
    .bind(value)
    .bind(value)
    .execute(&store.pool)
    .await?;
    Ok(())
}

/// Every counter by name.
pub(super) async fn counters(store: &SqliteStore) -> Result<Vec<CounterInfo>, StoreError> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as("SELECT name, value, default_value FROM counters ORDER BY name")
        .fetch_all(&store.pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(name, value, default)| CounterInfo { name, value, default })
        .collect())
}

pub(super) async fn delete_counter(store: &SqliteStore, name: &str) -> Result<(), StoreError> {
    delete(store, "DELETE FROM counters WHERE name = ?", "counter", name).await
}

async fn delete(store: &SqliteStore, sql: &'static str, kind: &str, name: &str) -> Result<(), StoreError> {
    let done = sqlx::query(sql).bind(name).execute(&store.pool).await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("{kind} '{name}'")));
    }
    Ok(())
}

fn unavailable(err: sqlx::Error) -> SettingsError {
    SettingsError::Unavailable(StoreError::from(err).to_string())
}

fn not_found(kind: &'static str, name: &str) -> SettingsError {
    SettingsError::NotFound {
        kind,
        name: name.to_string(),
    }
}

#[async_trait]
impl GlobalSettings for SqliteSettings {
    async fn variable(&self, name: &str) -> Result<Variable, SettingsError> {
        let row = sqlx::query("SELECT value, encrypted FROM variables WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| not_found("variable", name))?;
        Ok(Variable {
            value: row.try_get("value").map_err(unavailable)?,
            encrypted: row.try_get("encrypted").map_err(unavailable)?,
        })
    }

    async fn counter(&self, name: &str) -> Result<i64, SettingsError> {
        sqlx::query_scalar("SELECT value FROM counters WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| not_found("counter", name))
    }

    async fn modify_counter(&self, name: &str, op: CounterOp) -> Result<i64, SettingsError> {
        // Read and write in one IMMEDIATE transaction: no other writer can slip in between, and
        // the arithmetic saturates in Rust exactly as the in-memory settings do.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(unavailable)?;
        let (value, default): (i64, i64) = sqlx::query_as("SELECT value, default_value FROM counters WHERE name = ?")
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
        sqlx::query("UPDATE counters SET value = ? WHERE name = ?")
            .bind(value)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(value)
    }
}
