//! Runbook servers: registration and heartbeats, stamped on the database's clock.

use sqlx::Row as _;
use uuid::Uuid;

use super::{PgStore, timestamp};
use crate::{RunbookServer, ServerRegistration, StoreError};

/// Registers a runbook server, or updates the one with this name (keeping its id). Counts as its
/// first heartbeat, running nothing yet.
pub(super) async fn register(store: &PgStore, server: &ServerRegistration) -> Result<Uuid, StoreError> {
    if server.name.trim().is_empty() {
        return Err(StoreError::Invalid("a runbook server needs a name".into()));
    }
    let id = sqlx::query_scalar(
        "INSERT INTO runbook_servers (id, name, host, max_instances, heartbeat_at, running, packs)
         VALUES ($1, $2, $3, $4, scorch_now_us(), 0, $5)
         ON CONFLICT (name) DO UPDATE SET host = excluded.host, max_instances = excluded.max_instances,
             heartbeat_at = excluded.heartbeat_at, running = 0, packs = excluded.packs
         RETURNING id",
    )
    .bind(Uuid::now_v7())
    .bind(&server.name)
    .bind(&server.host)
    .bind(count(server.max_instances)?)
    .bind(&server.packs)
    .fetch_one(store.pool())
    .await?;
    Ok(id)
}

/// Records that the server named `name` is alive now, running `running` instances.
pub(super) async fn heartbeat(store: &PgStore, name: &str, running: u32) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE runbook_servers SET heartbeat_at = scorch_now_us(), running = $1 WHERE name = $2")
        .bind(count(running)?)
        .bind(name)
        .execute(store.pool())
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("runbook server '{name}'")));
    }
    Ok(())
}

/// Every registered runbook server, by name.
pub(super) async fn list(store: &PgStore) -> Result<Vec<RunbookServer>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, name, host, max_instances, running, packs, heartbeat_at FROM runbook_servers ORDER BY name",
    )
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(RunbookServer {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                host: row.try_get("host")?,
                max_instances: unsigned(row.try_get("max_instances")?)?,
                running: unsigned(row.try_get("running")?)?,
                packs: row.try_get("packs")?,
                heartbeat_at: row
                    .try_get::<Option<i64>, _>("heartbeat_at")?
                    .map(timestamp)
                    .transpose()?,
            })
        })
        .collect()
}

/// PostgreSQL has no unsigned integers: counts are stored as `integer`.
fn count(value: u32) -> Result<i32, StoreError> {
    i32::try_from(value).map_err(|_| StoreError::Invalid(format!("{value} is too large (at most {})", i32::MAX)))
}

fn unsigned(value: i32) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("stored count {value} is negative")))
}
