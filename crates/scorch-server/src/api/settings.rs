//! Global settings on both HTTP roles: what a variable, counter, computer group or schedule looks
//! like on the wire, and their changes (administrators only; the same routes on each role).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use scorch_activity::SettingsError;
use scorch_model::schedule::Schedule;
use scorch_store::StoreError;
use serde_json::{Value, json};

use super::audit::record;
use super::caller::Caller;
use super::error::ApiError;
use super::json::Json;
use super::names::check_name;
use super::state::AppState;
use super::wire::{CounterItem, ErrorBody, GroupItem, ScheduleItem, SetCounter, SetGroup, SetVariable, VariableItem};

/// Variable values larger than this are refused.
const MAX_VALUE_BYTES: usize = 64 * 1024;

/// A stored variable as the APIs show it.
pub(crate) fn variable_item(v: scorch_store::VariableInfo) -> VariableItem {
    // Belt and braces: whatever the backend hands back, an encrypted value is not sent.
    let value = if v.encrypted { None } else { v.value };
    VariableItem {
        name: v.name,
        value,
        encrypted: v.encrypted,
    }
}

/// Creates or replaces a variable (administrators). An encrypted value is sealed before it is
/// stored and never returned.
#[utoipa::path(
    put,
    path = "/api/v1/variables/{name}",
    operation_id = "set_variable",
    tag = "settings",
    params(("name" = String, Path, description = "Its name")),
    request_body = SetVariable,
    responses(
        (status = 200, description = "The variable (an encrypted one without its value)", body = VariableItem),
        (status = 400, description = "A bad name or value", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
    )
)]
pub(crate) async fn set_variable(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<SetVariable>,
) -> Result<Json<VariableItem>, ApiError> {
    caller.require_admin()?;
    check_name("variable", &name)?;
    if body.value.len() > MAX_VALUE_BYTES {
        return Err(ApiError::bad_request(format!(
            "variable '{name}': the value is larger than {MAX_VALUE_BYTES} bytes"
        )));
    }
    // Encrypted values are sealed here: the database never holds them in clear.
    let stored = if body.encrypted {
        state.secrets.seal(&body.value)
    } else {
        body.value.clone()
    };
    state.store.set_variable(&name, &stored, body.encrypted).await?;
    // The value is never recorded: an encrypted one is a secret, and a plain one may be too.
    record(
        &state,
        &caller,
        "variable.set",
        "variable",
        None,
        json!({ "name": name, "encrypted": body.encrypted }),
    )
    .await;
    let value = if body.encrypted { None } else { Some(body.value) };
    Ok(Json(VariableItem {
        name,
        value,
        encrypted: body.encrypted,
    }))
}

/// Deletes a variable (administrators).
#[utoipa::path(
    delete,
    path = "/api/v1/variables/{name}",
    operation_id = "delete_variable",
    tag = "settings",
    params(("name" = String, Path, description = "Its name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such variable", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
    )
)]
pub(crate) async fn delete_variable(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    state.store.delete_variable(&name).await?;
    record(
        &state,
        &caller,
        "variable.delete",
        "variable",
        None,
        json!({ "name": name }),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// A stored counter as the APIs show it.
pub(crate) fn counter_item(c: scorch_store::CounterInfo) -> CounterItem {
    CounterItem {
        name: c.name,
        value: c.value,
        default: c.default,
    }
}

/// Creates or sets a counter and its reset default (administrators).
#[utoipa::path(
    put,
    path = "/api/v1/counters/{name}",
    operation_id = "set_counter",
    tag = "settings",
    params(("name" = String, Path, description = "Its name")),
    request_body = SetCounter,
    responses(
        (status = 200, description = "The counter", body = CounterItem),
        (status = 400, description = "A bad name or value", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
    )
)]
pub(crate) async fn set_counter(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<SetCounter>,
) -> Result<Json<CounterItem>, ApiError> {
    caller.require_admin()?;
    check_name("counter", &name)?;
    state.store.set_counter(&name, body.value).await?;
    record(
        &state,
        &caller,
        "counter.set",
        "counter",
        None,
        json!({ "name": name, "value": body.value }),
    )
    .await;
    Ok(Json(CounterItem {
        name,
        value: body.value,
        default: body.value,
    }))
}

/// Deletes a counter (administrators).
#[utoipa::path(
    delete,
    path = "/api/v1/counters/{name}",
    operation_id = "delete_counter",
    tag = "settings",
    params(("name" = String, Path, description = "Its name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such counter", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
    )
)]
pub(crate) async fn delete_counter(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    state.store.delete_counter(&name).await?;
    record(
        &state,
        &caller,
        "counter.delete",
        "counter",
        None,
        json!({ "name": name }),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// A stored computer group as the APIs show it.
pub(crate) fn group_item(g: scorch_store::GroupInfo) -> GroupItem {
    GroupItem {
        name: g.name,
        hosts: g.hosts,
    }
}

/// Creates or replaces a computer group (administrators).
#[utoipa::path(
    put,
    path = "/api/v1/groups/{name}",
    operation_id = "set_group",
    tag = "settings",
    params(("name" = String, Path, description = "Its name")),
    request_body = SetGroup,
    responses(
        (status = 200, description = "The group", body = GroupItem),
        (status = 400, description = "A bad name or host list", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
    )
)]
pub(crate) async fn set_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<SetGroup>,
) -> Result<Json<GroupItem>, ApiError> {
    caller.require_admin()?;
    check_name("computer group", &name)?;
    let hosts = scorch_model::names::check_hosts(&body.hosts)
        .map_err(|why| ApiError::bad_request(format!("computer group '{name}': {why}")))?;
    state.store.set_group(&name, &hosts).await?;
    record(
        &state,
        &caller,
        "group.set",
        "group",
        None,
        json!({ "name": name, "hosts": hosts }),
    )
    .await;
    Ok(Json(GroupItem { name, hosts }))
}

/// Deletes a computer group (administrators).
#[utoipa::path(
    delete,
    path = "/api/v1/groups/{name}",
    operation_id = "delete_group",
    tag = "settings",
    params(("name" = String, Path, description = "Its name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such group", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
    )
)]
pub(crate) async fn delete_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    state.store.delete_group(&name).await?;
    record(&state, &caller, "group.delete", "group", None, json!({ "name": name })).await;
    Ok(StatusCode::NO_CONTENT)
}

/// A stored schedule as the APIs show it.
pub(crate) fn schedule_item(s: scorch_store::ScheduleInfo) -> ScheduleItem {
    ScheduleItem {
        name: s.name,
        definition: s.definition,
    }
}

/// One schedule (everyone signed in).
#[utoipa::path(
    get,
    path = "/api/v1/schedules/{name}",
    operation_id = "get_schedule",
    tag = "settings",
    params(("name" = String, Path, description = "Its name")),
    responses(
        (status = 200, description = "The schedule", body = ScheduleItem),
        (status = 404, description = "No such schedule", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub(crate) async fn schedule(
    State(state): State<AppState>,
    _caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<ScheduleItem>, ApiError> {
    // One row, as runbooks read it.
    match state.store.settings().schedule(&name).await {
        Ok(definition) => Ok(Json(ScheduleItem { name, definition })),
        Err(SettingsError::NotFound { .. }) => Err(ApiError::not_found(format!("schedule '{name}' not found"))),
        Err(SettingsError::Unavailable(why)) => Err(StoreError::Unavailable(why).into()),
    }
}

/// Creates or replaces a schedule (administrators). The body is the definition; it is checked,
/// and stored as read (keys it leaves out are not written back).
#[utoipa::path(
    put,
    path = "/api/v1/schedules/{name}",
    operation_id = "set_schedule",
    tag = "settings",
    params(("name" = String, Path, description = "Its name")),
    request_body(content = Object, description = "The definition: `days_of_week`, `days_of_month`, `occurrence`, `hours`, `exceptions`, `timezone`"),
    responses(
        (status = 200, description = "The schedule", body = ScheduleItem),
        (status = 400, description = "A bad name or definition (the message names the key)", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
    )
)]
pub(crate) async fn set_schedule(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<Value>,
) -> Result<Json<ScheduleItem>, ApiError> {
    caller.require_admin()?;
    check_name("schedule", &name)?;
    let schedule =
        Schedule::from_value(&body).map_err(|why| ApiError::bad_request(format!("schedule '{name}': {why}")))?;
    let definition = serde_json::to_value(&schedule).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("schedule '{name}': {e}"),
        )
    })?;
    state.store.set_schedule(&name, &definition).await?;
    record(
        &state,
        &caller,
        "schedule.set",
        "schedule",
        None,
        json!({ "name": name, "definition": definition }),
    )
    .await;
    Ok(Json(ScheduleItem { name, definition }))
}

/// Deletes a schedule (administrators).
#[utoipa::path(
    delete,
    path = "/api/v1/schedules/{name}",
    operation_id = "delete_schedule",
    tag = "settings",
    params(("name" = String, Path, description = "Its name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such schedule", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
    )
)]
pub(crate) async fn delete_schedule(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    state.store.delete_schedule(&name).await?;
    record(
        &state,
        &caller,
        "schedule.delete",
        "schedule",
        None,
        json!({ "name": name }),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
