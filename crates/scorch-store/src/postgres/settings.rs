//! Global variables and counters, as activities see them through [`GlobalSettings`].

use async_trait::async_trait;
use scorch_activity::{CounterOp, GlobalSettings, SettingsError, Variable};
use sqlx::Row as _;
use sqlx::postgres::PgPool;

use super::PgStore;
use crate::{CounterInfo, StoreError, VariableInfo};

/// A counter change in one statement: the row lock makes concurrent changes queue, each seeing the
/// value the one before wrote; the arithmetic is done in `numeric` and clamped, so it saturates as
/// the in-memory settings do. $1 name, $2 operation, $3 operand.
const MODIFY_COUNTER: &str = "UPDATE counters SET value = CASE $2
         WHEN 'set' THEN $3
         WHEN 'reset' THEN default_value
         ELSE GREATEST(-9223372036854775808::numeric, LEAST(9223372036854775807::numeric,
             value::numeric + CASE $2 WHEN 'increment' THEN $3::numeric ELSE -($3::numeric) END))::bigint
     END
     WHERE name = $1 RETURNING value";

/// Global settings on PostgreSQL, as activities see them: obtained from
/// [`Store::settings`](crate::Store::settings).
#[derive(Debug, Clone)]
pub struct PgSettings {
    pool: PgPool,
}

impl PgSettings {
    pub(super) fn new(pool: PgPool) -> Self {
        PgSettings { pool }
    }
}

/// Creates or replaces a variable. An encrypted variable is masked in every record and listing;
/// its value is stored as given until encryption at rest (with a key from the configuration) lands.
pub(super) async fn set_variable(store: &PgStore, name: &str, value: &str, encrypted: bool) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO variables (name, value, encrypted) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, encrypted = excluded.encrypted",
    )
    .bind(name)
    .bind(value)
    .bind(encrypted)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Every variable by name; encrypted ones without their value.
pub(super) async fn variables(store: &PgStore) -> Result<Vec<VariableInfo>, StoreError> {
    // An encrypted value never leaves the database for a listing.
    let rows: Vec<(String, Option<String>, bool)> = sqlx::query_as(
        "SELECT name, CASE WHEN encrypted THEN NULL ELSE value END, encrypted FROM variables ORDER BY name",
    )
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, value, encrypted)| VariableInfo { name, value, encrypted })
        .collect())
}

pub(super) async fn delete_variable(store: &PgStore, name: &str) -> Result<(), StoreError> {
    delete(store, "DELETE FROM variables WHERE name = $1", "variable", name).await
}

/// Creates or replaces a counter whose value and default (what a reset returns to) are `value`.
pub(super) async fn set_counter(store: &PgStore, name: &str, value: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO counters (name, value, default_value) VALUES ($1, $2, $2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, default_value = excluded.default_value",
    )
    .bind(name)
    .bind(value)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Every counter by name.
pub(super) async fn counters(store: &PgStore) -> Result<Vec<CounterInfo>, StoreError> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as("SELECT name, value, default_value FROM counters ORDER BY name")
        .fetch_all(store.pool())
        .await?;
    Ok(rows
        .into_iter()
        .map(|(name, value, default)| CounterInfo { name, value, default })
        .collect())
}

pub(super) async fn delete_counter(store: &PgStore, name: &str) -> Result<(), StoreError> {
    delete(store, "DELETE FROM counters WHERE name = $1", "counter", name).await
}

async fn delete(store: &PgStore, sql: &'static str, kind: &str, name: &str) -> Result<(), StoreError> {
    let done = sqlx::query(sql).bind(name).execute(store.pool()).await?;
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
impl GlobalSettings for PgSettings {
    async fn variable(&self, name: &str) -> Result<Variable, SettingsError> {
        let row = sqlx::query("SELECT value, encrypted FROM variables WHERE name = $1")
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
        sqlx::query_scalar("SELECT value FROM counters WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| not_found("counter", name))
    }

    async fn modify_counter(&self, name: &str, op: CounterOp) -> Result<i64, SettingsError> {
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
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| not_found("counter", name))
    }
}
