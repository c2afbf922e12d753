//! Global settings: variables (plain or encrypted), counters, computer groups and schedules. Everyone authenticated may
//! read them (encrypted values never leave the server); only administrators change them, through
//! the handlers both roles share (`api::settings`).

use axum::extract::{Path, State};

use crate::api::settings::{counter_item, group_item, schedule_item, variable_item};
use crate::api::wire::{CounterItem, GroupItem, ScheduleItem, VariableItem};
use crate::api::{ApiError, AppState, Caller, Json};

/// `GET /api/v1/variables`.
pub(super) async fn variables(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Vec<VariableItem>>, ApiError> {
    let items = state.store.variables().await?.into_iter().map(variable_item).collect();
    Ok(Json(items))
}

/// `GET /api/v1/variables/{name}`.
pub(super) async fn variable(
    State(state): State<AppState>,
    _caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<VariableItem>, ApiError> {
    let found = state.store.variables().await?.into_iter().find(|v| v.name == name);
    found
        .map(|v| Json(variable_item(v)))
        .ok_or_else(|| ApiError::not_found(format!("variable '{name}' not found")))
}

/// `GET /api/v1/counters`.
pub(super) async fn counters(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Vec<CounterItem>>, ApiError> {
    let items = state.store.counters().await?.into_iter().map(counter_item).collect();
    Ok(Json(items))
}

/// `GET /api/v1/counters/{name}`.
pub(super) async fn counter(
    State(state): State<AppState>,
    _caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<CounterItem>, ApiError> {
    let found = state.store.counters().await?.into_iter().find(|c| c.name == name);
    found
        .map(|c| Json(counter_item(c)))
        .ok_or_else(|| ApiError::not_found(format!("counter '{name}' not found")))
}

/// `GET /api/v1/groups`.
pub(super) async fn groups(State(state): State<AppState>, _caller: Caller) -> Result<Json<Vec<GroupItem>>, ApiError> {
    let items = state.store.groups().await?.into_iter().map(group_item).collect();
    Ok(Json(items))
}

/// `GET /api/v1/groups/{name}`.
pub(super) async fn group(
    State(state): State<AppState>,
    _caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<GroupItem>, ApiError> {
    let found = state.store.groups().await?.into_iter().find(|g| g.name == name);
    found
        .map(|g| Json(group_item(g)))
        .ok_or_else(|| ApiError::not_found(format!("computer group '{name}' not found")))
}

/// `GET /api/v1/schedules`.
pub(super) async fn schedules(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Vec<ScheduleItem>>, ApiError> {
    let items = state.store.schedules().await?.into_iter().map(schedule_item).collect();
    Ok(Json(items))
}
