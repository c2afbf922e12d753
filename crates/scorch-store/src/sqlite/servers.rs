//! Runbook servers: registration and heartbeats.

use jiff::Timestamp;
use rusqlite::{Connection, params};
use sqlx::Row as _;
use uuid::Uuid;

use super::writer::Write;
use super::{SqliteStore, from_json, micros, timestamp, to_json};
use crate::{RunbookServer, ServerRegistration, StoreError};

/// Registers a runbook server, or updates the one with this name (keeping its id). Counts as its
/// first heartbeat, running nothing yet.
pub(super) async fn register(store: &SqliteStore, server: &ServerRegistration) -> Result<Uuid, StoreError> {
    if server.name.trim().is_empty() {
        return Err(StoreError::Invalid("a runbook server needs a name".into()));
    }
    let id = sqlx::query_scalar(
        "INSERT INTO runbook_servers (id, name, host, max_instances, heartbeat_at, running, packs)
         VALUES (?, ?, ?, ?, ?, 0, ?)
         ON CONFLICT (name) DO UPDATE SET host = excluded.host, max_instances = excluded.max_instances,
             heartbeat_at = excluded.heartbeat_at, running = 0, packs = excluded.packs
         RETURNING id",
    )
    .bind(Uuid::now_v7())
    .bind(&server.name)
    .bind(&server.host)
    .bind(server.max_instances)
    .bind(micros(Timestamp::now()))
    .bind(to_json(&server.packs)?)
    .fetch_one(&store.pool)
    .await?;
    Ok(id)
}

/// Records that the server named `name` is alive now, running `running` instances. Through the
/// writer, so that heartbeats never make the job path's writes wait for the lock.
pub(super) async fn heartbeat(store: &SqliteStore, name: &str, running: u32) -> Result<(), StoreError> {
    let beat = Beat {
        name: name.to_string(),
        running,
        at: micros(Timestamp::now()),
    };
    if !store.writer.submit(beat).await? {
        return Err(StoreError::NotFound(format!("runbook server '{name}'")));
    }
    Ok(())
}

/// A heartbeat; its output is whether the server is registered.
struct Beat {
    name: String,
    running: u32,
    at: i64,
}

impl Write for Beat {
    type Output = bool;
    type Error = StoreError;

    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Result<bool, StoreError>> {
        let rows = conn
            .prepare_cached("UPDATE runbook_servers SET heartbeat_at = ?, running = ? WHERE name = ?")?
            .execute(params![self.at, self.running, self.name])?;
        Ok(Ok(rows > 0))
    }
}

/// Every registered runbook server, by name.
pub(super) async fn list(store: &SqliteStore) -> Result<Vec<RunbookServer>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, name, host, max_instances, running, packs, heartbeat_at FROM runbook_servers ORDER BY name",
    )
    .fetch_all(&store.pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(RunbookServer {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                host: row.try_get("host")?,
                max_instances: row.try_get("max_instances")?,
                running: row.try_get("running")?,
                packs: from_json(row.try_get("packs")?, "integration packs")?,
                heartbeat_at: row
                    .try_get::<Option<i64>, _>("heartbeat_at")?
                    .map(timestamp)
                    .transpose()?,
            })
        })
        .collect()
}
