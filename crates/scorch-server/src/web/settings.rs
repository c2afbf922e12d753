//! Global settings on the web service, for the console: everyone signed in reads variables
//! (encrypted ones without their value), counters, computer groups and schedules; administrators change them through the
//! handlers both roles share (`api::settings`).

use axum::extract::State;

use super::wire::{CounterList, GroupList, ScheduleList, VariableList};
use crate::api::settings::{counter_item, group_item, schedule_item, variable_item};
use crate::api::wire::ErrorBody;
use crate::api::{ApiError, AppState, Caller, Json};

/// Every variable; encrypted ones carry no value.
#[utoipa::path(
    get,
    path = "/api/v1/variables",
    operation_id = "list_variables",
    tag = "settings",
    responses(
        (status = 200, description = "Variables by name", body = VariableList),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn variables(State(state): State<AppState>, _caller: Caller) -> Result<Json<VariableList>, ApiError> {
    let items = state.store.variables().await?.into_iter().map(variable_item).collect();
    Ok(Json(VariableList { items }))
}

/// Every counter.
#[utoipa::path(
    get,
    path = "/api/v1/counters",
    operation_id = "list_counters",
    tag = "settings",
    responses(
        (status = 200, description = "Counters by name", body = CounterList),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn counters(State(state): State<AppState>, _caller: Caller) -> Result<Json<CounterList>, ApiError> {
    let items = state.store.counters().await?.into_iter().map(counter_item).collect();
    Ok(Json(CounterList { items }))
}

/// Every computer group.
#[utoipa::path(
    get,
    path = "/api/v1/groups",
    operation_id = "list_groups",
    tag = "settings",
    responses(
        (status = 200, description = "Computer groups by name", body = GroupList),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn groups(State(state): State<AppState>, _caller: Caller) -> Result<Json<GroupList>, ApiError> {
    let items = state.store.groups().await?.into_iter().map(group_item).collect();
    Ok(Json(GroupList { items }))
}

/// Every schedule.
#[utoipa::path(
    get,
    path = "/api/v1/schedules",
    operation_id = "list_schedules",
    tag = "settings",
    responses(
        (status = 200, description = "Schedules by name", body = ScheduleList),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn schedules(State(state): State<AppState>, _caller: Caller) -> Result<Json<ScheduleList>, ApiError> {
    let items = state.store.schedules().await?.into_iter().map(schedule_item).collect();
    Ok(Json(ScheduleList { items }))
}
