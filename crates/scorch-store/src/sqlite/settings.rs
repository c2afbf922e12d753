//! Counters changed the SQLite way (the rest of the global settings is in
//! `super::cold::settings`).

use scorch_activity::{CounterOp, SettingsError};
use sqlx::Sqlite;
use sqlx::pool::Pool;

use super::cold::settings::{Settings, not_found, unavailable};

/// Global settings on SQLite, as activities see them: obtained from [`Store::settings`](crate::Store::settings).
pub type SqliteSettings = Settings;

/// Changes a counter by `op`; its new value.
pub(super) async fn modify_counter(pool: &Pool<Sqlite>, name: &str, op: CounterOp) -> Result<i64, SettingsError> {
    // Read and write in one IMMEDIATE transaction: no other writer can slip in between, and
    // the arithmetic saturates in Rust exactly as the in-memory settings do.
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
