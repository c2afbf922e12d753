//! Global variables, counters, computer groups and schedules, as operators manage them and as activities see them through
//! [`GlobalSettings`].

use async_trait::async_trait;
use scorch_activity::{CounterOp, GlobalSettings, SettingsError, Variable};
use sqlx::Row as _;
use sqlx::pool::Pool;

use super::B;
use crate::backend::Backend;
use crate::{CounterInfo, GroupInfo, ScheduleInfo, StoreError, VariableInfo};

/// Creates or replaces a variable. An encrypted variable is masked in every record and listing;
/// its value is stored as given until encryption at rest (with a key from the configuration) lands.
pub(crate) async fn set_variable(store: &B, name: &str, value: &str, encrypted: bool) -> Result<(), StoreError> {
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
pub(crate) async fn variables(store: &B) -> Result<Vec<VariableInfo>, StoreError> {
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

pub(crate) async fn delete_variable(store: &B, name: &str) -> Result<(), StoreError> {
    delete(store, "DELETE FROM variables WHERE name = $1", "variable", name).await
}

/// Creates or replaces a counter whose value and default (what a reset returns to) are `value`.
pub(crate) async fn set_counter(store: &B, name: &str, value: i64) -> Result<(), StoreError> {
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
pub(crate) async fn counters(store: &B) -> Result<Vec<CounterInfo>, StoreError> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as("SELECT name, value, default_value FROM counters ORDER BY name")
        .fetch_all(store.pool())
        .await?;
    Ok(rows
        .into_iter()
        .map(|(name, value, default)| CounterInfo { name, value, default })
        .collect())
}

pub(crate) async fn delete_counter(store: &B, name: &str) -> Result<(), StoreError> {
    delete(store, "DELETE FROM counters WHERE name = $1", "counter", name).await
}

/// Creates or replaces a computer group.
pub(crate) async fn set_group(store: &B, name: &str, hosts: &[String]) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO computer_groups (name, hosts) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET hosts = excluded.hosts",
    )
    .bind(name)
    .bind(hosts_text(hosts))
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Every computer group by name.
pub(crate) async fn groups(store: &B) -> Result<Vec<GroupInfo>, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT name, hosts FROM computer_groups ORDER BY name")
        .fetch_all(store.pool())
        .await?;
    rows.into_iter()
        .map(|(name, hosts)| {
            let hosts = parse_hosts(&name, &hosts).map_err(StoreError::Corrupt)?;
            Ok(GroupInfo { name, hosts })
        })
        .collect()
}

pub(crate) async fn delete_group(store: &B, name: &str) -> Result<(), StoreError> {
    delete(
        store,
        "DELETE FROM computer_groups WHERE name = $1",
        "computer group",
        name,
    )
    .await
}

/// Creates or replaces a schedule with its definition as given.
pub(crate) async fn set_schedule(store: &B, name: &str, definition: &serde_json::Value) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO schedules (name, definition) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET definition = excluded.definition",
    )
    .bind(name)
    .bind(definition.to_string())
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Every schedule by name.
pub(crate) async fn schedules(store: &B) -> Result<Vec<ScheduleInfo>, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT name, definition FROM schedules ORDER BY name")
        .fetch_all(store.pool())
        .await?;
    rows.into_iter()
        .map(|(name, text)| {
            let definition = parse_definition(&name, &text).map_err(StoreError::Corrupt)?;
            Ok(ScheduleInfo { name, definition })
        })
        .collect()
}

pub(crate) async fn delete_schedule(store: &B, name: &str) -> Result<(), StoreError> {
    delete(store, "DELETE FROM schedules WHERE name = $1", "schedule", name).await
}

fn parse_definition(name: &str, text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(text).map_err(|e| format!("schedule '{name}' is stored unreadable: {e}"))
}

fn hosts_text(hosts: &[String]) -> String {
    serde_json::to_string(hosts).unwrap_or_else(|_| "[]".into())
}

fn parse_hosts(name: &str, text: &str) -> Result<Vec<String>, String> {
    serde_json::from_str(text).map_err(|e| format!("computer group '{name}': its hosts are not a JSON list: {e}"))
}

async fn delete(store: &B, sql: &'static str, kind: &str, name: &str) -> Result<(), StoreError> {
    let done = sqlx::query(sql).bind(name).execute(store.pool()).await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("{kind} '{name}'")));
    }
    Ok(())
}

/// Global settings as activities see them, on this backend's database: obtained from
/// [`JobPath::settings`](crate::JobPath::settings).
#[derive(Debug, Clone)]
pub struct Settings {
    pool: Pool<<B as Backend>::Db>,
}

impl Settings {
    pub(crate) fn new(pool: Pool<<B as Backend>::Db>) -> Self {
        Settings { pool }
    }
}

pub(crate) fn unavailable(err: sqlx::Error) -> SettingsError {
    SettingsError::Unavailable(StoreError::from(err).to_string())
}

pub(crate) fn not_found(kind: &'static str, name: &str) -> SettingsError {
    SettingsError::NotFound {
        kind,
        name: name.to_string(),
    }
}

#[async_trait]
impl GlobalSettings for Settings {
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
        B::modify_counter(&self.pool, name, op).await
    }

    async fn group(&self, name: &str) -> Result<Vec<String>, SettingsError> {
        let hosts: String = sqlx::query_scalar("SELECT hosts FROM computer_groups WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| not_found("computer group", name))?;
        parse_hosts(name, &hosts).map_err(SettingsError::Unavailable)
    }

    async fn schedule(&self, name: &str) -> Result<serde_json::Value, SettingsError> {
        let definition: String = sqlx::query_scalar("SELECT definition FROM schedules WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| not_found("schedule", name))?;
        parse_definition(name, &definition).map_err(SettingsError::Unavailable)
    }
}
