//! Instances and their activity runs (with published data), for the runbooks the caller can
//! see.

use axum::extract::{Path, State};
use scorch_engine::InstanceStatus;
use scorch_store::InstanceFilter;

use super::access::{opt_uuid, status, time, visible_runbooks};
use super::convert;
use super::failures::failures_by_instance;
use super::ids::visible_instance;
use super::wire::{
    ActivityOutputPage, ActivityRunList, Instance, InstanceList, InstanceQuery, OutputItem, OutputQuery,
};
use crate::api::Query;
use crate::api::paging::{next_offset, page};
use crate::api::wire::ErrorBody;
use crate::api::{ApiError, AppState, Caller, Json};
use crate::report;

const INSTANCE_STATUSES: &str = "running, success, warning, failed, canceled";

/// Lists instances of the runbooks the caller can see, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/instances",
    operation_id = "list_instances",
    tag = "instances",
    params(InstanceQuery),
    responses(
        (status = 200, description = "Instances, newest first", body = InstanceList),
        (status = 400, description = "A query value is malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<InstanceQuery>,
) -> Result<Json<InstanceList>, ApiError> {
    let (limit, offset) = page(q.limit, q.offset)?;
    let runbook_id = opt_uuid(q.runbook_id.as_deref(), "runbook id")?;
    let filter = InstanceFilter {
        id: None,
        runbook_id,
        runbooks: visible_runbooks(&state, &caller, runbook_id).await?,
        job_id: opt_uuid(q.job_id.as_deref(), "job id")?,
        status: status(q.status.as_deref(), InstanceStatus::parse, INSTANCE_STATUSES)?,
        since: time(q.since.as_deref(), "since")?,
        until: time(q.until.as_deref(), "until")?,
        limit,
        offset,
    };
    let rows = state.store.list_instances(&filter).await?;
    let failed: Vec<_> = rows
        .iter()
        .filter(|i| i.status == InstanceStatus::Failed)
        .map(|i| i.id)
        .collect();
    let mut failures = failures_by_instance(&state, &failed).await?;
    let items: Vec<Instance> = rows
        .iter()
        .map(|row| Instance {
            failed_activity: failures.remove(&row.id),
            ..convert::instance(row)
        })
        .collect();
    let next_offset = next_offset(items.len(), limit, offset);
    Ok(Json(InstanceList { items, next_offset }))
}

/// One instance, with its parameters and return data.
#[utoipa::path(
    get,
    path = "/api/v1/instances/{id}",
    operation_id = "get_instance",
    tag = "instances",
    params(("id" = String, Path, description = "The instance's id: its UUID, its last 8 hex digits, or a unique prefix of at least 4")),
    responses(
        (status = 200, description = "The instance", body = Instance),
        (status = 400, description = "The id is not a UUID nor a part of one", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such instance, or its runbook is not in a folder the caller can see", body = ErrorBody),
        (status = 409, description = "A short id that names several instances (`ambiguous_id`, with `candidates`)", body = ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Instance>, ApiError> {
    let instance = visible_instance(&state, &caller, &id).await?;
    Ok(Json(convert::instance(&instance)))
}

/// The activity runs of an instance in start order, with their published data (encrypted
/// values masked).
#[utoipa::path(
    get,
    path = "/api/v1/instances/{id}/activities",
    operation_id = "list_activity_runs",
    tag = "instances",
    params(("id" = String, Path, description = "The instance's id: its UUID, its last 8 hex digits, or a unique prefix of at least 4")),
    responses(
        (status = 200, description = "Its activity runs, in start order", body = ActivityRunList),
        (status = 400, description = "The id is not a UUID nor a part of one", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such instance, or its runbook is not in a folder the caller can see", body = ErrorBody),
        (status = 409, description = "A short id that names several instances (`ambiguous_id`, with `candidates`)", body = ErrorBody),
    )
)]
pub async fn activities(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ActivityRunList>, ApiError> {
    let instance = visible_instance(&state, &caller, &id).await?;
    let runs = state.store.activity_runs(instance.id).await?;
    let items = runs.iter().map(report::activity_run).collect();
    Ok(Json(ActivityRunList {
        instance_id: instance.id.to_string(),
        items,
    }))
}

/// Chunks of output answered at once at most (each at most 16 KiB).
const OUTPUT_PAGE: u32 = 64;

/// What an activity run printed while it ran (its live output), from an offset: poll it, or
/// read it again on each `output` event of `GET /api/v1/events`.
#[utoipa::path(
    get,
    path = "/api/v1/instances/{id}/activities/{seq}/output",
    operation_id = "get_activity_output",
    tag = "instances",
    params(
        ("id" = String, Path, description = "The instance's id (a UUID)"),
        ("seq" = u64, Path, description = "The run's `seq` in its instance"),
        OutputQuery,
    ),
    responses(
        (status = 200, description = "The run's output from the offset on (empty when it printed nothing yet)", body = ActivityOutputPage),
        (status = 400, description = "The id is not a UUID, or seq or offset is not a number", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such instance, or its runbook is not in a folder the caller can see", body = ErrorBody),
    )
)]
pub async fn output(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, seq)): Path<(String, String)>,
    Query(q): Query<OutputQuery>,
) -> Result<Json<ActivityOutputPage>, ApiError> {
    let seq: u64 = seq.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "run seq '{seq}' is not a number (see the instance's activities)"
        ))
    })?;
    let instance = visible_instance(&state, &caller, &id).await?;
    let offset = q.offset.unwrap_or(0);
    let chunks = state.store.output(instance.id, seq, offset, OUTPUT_PAGE + 1).await?;
    let more = chunks.len() > OUTPUT_PAGE as usize;
    let items: Vec<OutputItem> = chunks
        .into_iter()
        .take(OUTPUT_PAGE as usize)
        .map(|chunk| OutputItem {
            offset: chunk.offset,
            stream: chunk.stream.as_str().into(),
            text: chunk.text,
        })
        .collect();
    let next_offset = items.last().map_or(offset, |last| last.offset + last.text.len() as u64);
    Ok(Json(ActivityOutputPage {
        instance_id: instance.id.to_string(),
        seq,
        items,
        next_offset,
        more,
    }))
}
