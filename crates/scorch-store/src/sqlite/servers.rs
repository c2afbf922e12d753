//! Runbook servers: registration and heartbeats.

use jiff::Timestamp;
use sqlx::Row as _;
use uuid::Uuid;

use super::{SqliteStore, micros, timestamp};
use crate::{RunbookServer, StoreError};

impl SqliteStore {
    /// Registers a runbook server, or updates the one with this name (keeping its id), and counts
    /// as its first heartbeat.
    pub async fn register_server(&self, name: &str, host: &str, max_instances: u32) -> Result<Uuid, StoreError> {
        let id = sqlx::query_scalar(
            "INSERT INTO runbook_servers (id, name, host, max_instances, heartbeat_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET host = excluded.host, max_instances = excluded.max_instances,
                 heartbeat_at = excluded.heartbeat_at
             RETURNING id",
        )
        .bind(Uuid::now_v7())
        .bind(name)
        .bind(host)
        .bind(max_instances)
        .bind(micros(Timestamp::now()))
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    /// Records that the server named `name` is alive now.
    pub async fn heartbeat(&self, name: &str) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE runbook_servers SET heartbeat_at = ? WHERE name = ?")
            .bind(micros(Timestamp::now()))
            .bind(name)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("runbook server '{name}'")));
        }
        Ok(())
    }

    /// Every registered runbook server, by name.
    pub async fn servers(&self) -> Result<Vec<RunbookServer>, StoreError> {
        let rows = sqlx::query("SELECT id, name, host, max_instances, heartbeat_at FROM runbook_servers ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(RunbookServer {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    host: row.try_get("host")?,
                    max_instances: row.try_get("max_instances")?,
                    heartbeat_at: row
                        .try_get::<Option<i64>, _>("heartbeat_at")?
                        .map(timestamp)
                        .transpose()?,
                })
            })
            .collect()
    }
}
