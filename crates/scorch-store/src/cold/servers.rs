//! Runbook servers: registration and heartbeats.

use sqlx::Row as _;
use uuid::Uuid;

use super::B;
use crate::backend::Backend;
use crate::codec::timestamp;
use crate::{RunbookServer, ServerRegistration, StoreError};

/// Registers a runbook server, or updates the one with this name (keeping its id). Counts as its
/// first heartbeat, running nothing yet.
pub(crate) async fn register(store: &B, server: &ServerRegistration) -> Result<Uuid, StoreError> {
    if server.name.trim().is_empty() {
        return Err(StoreError::Invalid("a runbook server needs a name".into()));
    }
    let id = sqlx::query_scalar(B::REGISTER_SERVER)
        .bind(Uuid::now_v7())
        .bind(&server.name)
        .bind(&server.host)
        .bind(B::count(server.max_instances)?)
        .bind(B::names(&server.packs)?)
        .bind(B::now())
        .fetch_one(store.pool())
        .await?;
    Ok(id)
}

/// Records that the server named `name` is alive now, running `running` instances.
pub(crate) async fn heartbeat(store: &B, name: &str, running: u32) -> Result<(), StoreError> {
    if !store.heartbeat(name, running).await? {
        return Err(StoreError::NotFound(format!("runbook server '{name}'")));
    }
    Ok(())
}

/// Every registered runbook server, by name.
pub(crate) async fn list(store: &B) -> Result<Vec<RunbookServer>, StoreError> {
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
                max_instances: B::count_of(row.try_get("max_instances")?)?,
                running: B::count_of(row.try_get("running")?)?,
                packs: B::names_of(row.try_get("packs")?, "integration packs")?,
                heartbeat_at: row
                    .try_get::<Option<i64>, _>("heartbeat_at")?
                    .map(timestamp)
                    .transpose()?,
            })
        })
        .collect()
}
