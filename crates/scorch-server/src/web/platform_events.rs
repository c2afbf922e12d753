//! The platform events an instance recorded: the published rows of its `send_platform_event`
//! runs, told apart from other runs by the type its runbook version gives each activity.

use std::collections::HashSet;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use scorch_activities::remote::PLATFORM_EVENT_TYPE;
use scorch_activity::Status;
use scorch_engine::RunState;

use super::ids::visible_instance;
use super::wire::{PlatformEvent, PlatformEventList};
use crate::api::wire::ErrorBody;
use crate::api::{ApiError, AppState, Caller, Json};

/// The platform events `send_platform_event` recorded on an instance, in the order they were sent.
#[utoipa::path(
    get,
    path = "/api/v1/instances/{id}/events",
    operation_id = "list_instance_events",
    tag = "instances",
    params(("id" = String, Path, description = "The instance's id (a UUID, its last 8 hex digits or a unique prefix)")),
    responses(
        (status = 200, description = "Its platform events, oldest first", body = PlatformEventList),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such instance, or its runbook is not in a folder the caller can see", body = ErrorBody),
        (status = 409, description = "A short id names several instances", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<PlatformEventList>, ApiError> {
    let instance = visible_instance(&state, &caller, &id).await?;
    let job = state.store.job(instance.job_id).await?;
    let runbook = state.store.runbook(instance.runbook_id, Some(job.version)).await?;
    let plan = state.plans.get(&runbook).map_err(|why| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the instance's runbook cannot be read: {why}"),
        )
    })?;
    let senders: HashSet<&str> = plan
        .steps
        .iter()
        .filter(|s| s.type_name == PLATFORM_EVENT_TYPE)
        .map(|s| &*s.id)
        .collect();
    let runs = state.store.activity_runs(instance.id).await?;
    let text =
        |row: &scorch_activity::Row, key: &str| row.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    let items = runs
        .iter()
        .filter(|r| senders.contains(&*r.activity_id) && r.state == RunState::Finished(Status::Success))
        .flat_map(|r| {
            r.rows.iter().map(move |row| PlatformEvent {
                event_id: text(row, "event_id"),
                severity: text(row, "severity"),
                summary: text(row, "summary"),
                details: text(row, "details"),
                activity_id: r.activity_id.to_string(),
                activity_name: r.activity_name.to_string(),
                seq: r.seq,
                at: r.ended_at.unwrap_or(r.started_at).to_string(),
            })
        })
        .collect();
    Ok(Json(PlatformEventList {
        instance_id: instance.id.to_string(),
        items,
    }))
}
