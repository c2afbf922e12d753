//! Runbook server heartbeats, stamped on the database's clock (registration and listing are in
//! `super::cold::servers`).

use super::PgStore;
use crate::StoreError;
use crate::backend::Backend;

/// Records that the server named `name` is alive now, running `running` instances; whether it
/// is registered.
pub(super) async fn heartbeat(store: &PgStore, name: &str, running: u32) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE runbook_servers SET heartbeat_at = scorch_now_us(), running = $1 WHERE name = $2")
        .bind(PgStore::count(running)?)
        .bind(name)
        .execute(store.pool())
        .await?;
    Ok(done.rows_affected() > 0)
}
