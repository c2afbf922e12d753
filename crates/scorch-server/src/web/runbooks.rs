//! `GET /api/v1/runbooks`, `/runbooks/{id}` and `/runbooks/{id}/versions`: what the caller can see.

use axum::extract::{Path, State};

use super::access::{uuid, visible_runbook};
use super::convert;
use scorch_store::Role;

use super::wire::{RunbookDetail, RunbookList, RunbookQuery, RunbookVersionList};
use crate::api::Query;
use crate::api::paging::{next_offset, page};
use crate::api::wire::ErrorBody;
use crate::api::{ApiError, AppState, Caller, Json};

/// Lists runbooks (latest checked-in versions) in the folders the caller can see.
#[utoipa::path(
    get,
    path = "/api/v1/runbooks",
    operation_id = "list_runbooks",
    tag = "runbooks",
    params(RunbookQuery),
    responses(
        (status = 200, description = "Runbooks by path", body = RunbookList),
        (status = 400, description = "A query value is malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<RunbookQuery>,
) -> Result<Json<RunbookList>, ApiError> {
    let (limit, offset) = page(q.limit, q.offset)?;
    let folder = q
        .folder
        .as_deref()
        .map(|f| f.trim_matches('/'))
        .filter(|f| !f.is_empty());
    let needle = q.search.as_deref().map(str::to_lowercase).unwrap_or_default();
    let runbooks = state.store.list_runbooks(folder).await?;
    let items: Vec<_> = runbooks
        .iter()
        .filter(|r| caller.can_see(&r.folder) && r.name.to_lowercase().contains(&needle))
        .skip(offset as usize)
        .take(limit as usize)
        .map(convert::runbook_summary)
        .collect();
    let next_offset = next_offset(items.len(), limit, offset);
    Ok(Json(RunbookList { items, next_offset }))
}

/// A runbook's latest checked-in version, with its parameters and definition.
#[utoipa::path(
    get,
    path = "/api/v1/runbooks/{id}",
    operation_id = "get_runbook",
    tag = "runbooks",
    params(("id" = String, Path, description = "The runbook's id (a UUID)")),
    responses(
        (status = 200, description = "The runbook", body = RunbookDetail),
        (status = 400, description = "The id is not a UUID", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such runbook, or not in a folder the caller can see", body = ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RunbookDetail>, ApiError> {
    let runbook = visible_runbook(&state, &caller, uuid(&id, "runbook id")?).await?;
    let can_start = caller.require(&runbook.folder, Role::Operator).is_ok();
    Ok(Json(convert::runbook_detail(&runbook, can_start)))
}

/// A runbook's checked-in versions, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/runbooks/{id}/versions",
    operation_id = "list_runbook_versions",
    tag = "runbooks",
    params(("id" = String, Path, description = "The runbook's id (a UUID)")),
    responses(
        (status = 200, description = "Its versions", body = RunbookVersionList),
        (status = 400, description = "The id is not a UUID", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such runbook, or not in a folder the caller can see", body = ErrorBody),
    )
)]
pub async fn versions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RunbookVersionList>, ApiError> {
    let runbook = visible_runbook(&state, &caller, uuid(&id, "runbook id")?).await?;
    let items = state
        .store
        .runbook_versions(runbook.id)
        .await?
        .into_iter()
        .map(convert::runbook_version)
        .collect();
    Ok(Json(RunbookVersionList { items }))
}
