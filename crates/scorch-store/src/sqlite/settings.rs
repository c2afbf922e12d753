//! Global variables and counters, as activities see them through [`GlobalSettings`].

use std::sync::Arc;

use async_trait::async_trait;
use scorch_activity::{CounterOp, GlobalSettings, SettingsError, Variable};
use sqlx::Row as _;
use sqlx::sqlite::SqlitePool;

use super::SqliteStore;
use crate::StoreError;

/// Global settings on SQLite. Obtained from [`SqliteStore::settings`].
#[derive(Debug, Clone)]
pub struct SqliteSettings {
    pool: SqlitePool,
}

impl SqliteStore {
    pub fn settings(&self) -> Arc<SqliteSettings> {
        Arc::new(SqliteSettings {
            pool: self.pool.clone(),
        })
    }

    /// Creates or replaces a variable. An encrypted variable is masked in every record; its value
    /// is stored as given until encryption at rest (with a key from the configuration) lands.
    pub async fn set_variable(&self, name: &str, value: &str, encrypted: bool) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO variables (name, value, encrypted) VALUES (?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value, encrypted = excluded.encrypted",
        )
        .bind(name)
        .bind(value)
        .bind(encrypted)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Creates or replaces a counter whose value and default (what a reset returns to) are `value`.
    pub async fn set_counter(&self, name: &str, value: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO counters (name, value, default_value) VALUES (?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value, default_value = excluded.default_value",
        )
        .bind(name)
        .bind(value)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
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
