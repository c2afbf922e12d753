//! `GET /api/v1/runbook-servers`: the registered runbook servers, their heartbeat and load.

use std::time::Duration;

use axum::extract::State;
use jiff::Timestamp;

use super::convert;
use super::wire::RunbookServerList;
use crate::api::wire::ErrorBody;
use crate::api::{ApiError, AppState, Caller, Json};

/// A server is alive while it heartbeated within three of its heartbeat periods (2 s each by
/// default), the same rule claims use to pass over a dead preferred server.
pub const ALIVE_WITHIN: Duration = Duration::from_secs(6);

/// Lists the runbook servers.
#[utoipa::path(
    get,
    path = "/api/v1/runbook-servers",
    operation_id = "list_runbook_servers",
    tag = "runbook servers",
    responses(
        (status = 200, description = "Every registered runbook server", body = RunbookServerList),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn list(State(state): State<AppState>, _caller: Caller) -> Result<Json<RunbookServerList>, ApiError> {
    let servers = state.store.servers().await?;
    let now = Timestamp::now();
    let items = servers.iter().map(|s| convert::server(s, now, ALIVE_WITHIN)).collect();
    Ok(Json(RunbookServerList { items }))
}
