//! A monitor job's triggers and notes: what fired (and the instance each started), and what was
//! skipped or missed, so that an operator sees a schedule that did not fire, and why.

use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::IntoParams;

use super::ids::visible_job;
use super::wire::{TriggerItem, TriggerList};
use crate::api::wire::ErrorBody;
use crate::api::{ApiError, AppState, Caller, Json, Query};

/// Largest page.
const MAX_PAGE: u32 = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TriggerQuery {
    /// Only triggers after this seq (the previous page's `next_after`).
    pub after: Option<i64>,
    /// At most this many (default 100, at most 500).
    pub limit: Option<u32>,
}

/// A monitor job's triggers and notes, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/jobs/{id}/triggers",
    operation_id = "list_job_triggers",
    tag = "jobs",
    params(("id" = String, Path, description = "The job's id: its UUID, its last 8 hex digits, or a unique prefix of at least 4"), TriggerQuery),
    responses(
        (status = 200, description = "Its triggers and notes (none for a job that is not a monitor's)", body = TriggerList),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such job, or its runbook is not in a folder the caller can see", body = ErrorBody),
        (status = 409, description = "A short id names several jobs", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<TriggerQuery>,
) -> Result<Json<TriggerList>, ApiError> {
    let (job, _) = visible_job(&state, &caller, &id).await?;
    let limit = query.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let found = state.store.triggers(job.id, query.after.unwrap_or(0), limit).await?;
    let next_after = (found.len() == limit as usize)
        .then(|| found.last().map(|t| t.seq))
        .flatten();
    let items = found
        .into_iter()
        .map(|t| TriggerItem {
            seq: t.seq,
            key: t.key,
            note: t.instance_id.is_none().then_some(t.data),
            instance_id: t.instance_id.map(|id| id.to_string()),
            created_at: t.created_at.to_string(),
        })
        .collect();
    Ok(Json(TriggerList { items, next_after }))
}
