//! What every handler needs: ids and query values parsed with clear 400s, and which runbooks
//! the caller may see (what it may not see does not exist for it: 404, or absent from
//! lists).

use jiff::Timestamp;
use scorch_store::{Runbook, StoreError};
use uuid::Uuid;

use crate::api::{ApiError, AppState, Caller};

/// A UUID from a path or query value; `what` names it in the error ("job id").
pub fn uuid(text: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text.trim()).map_err(|_| ApiError::bad_request(format!("'{text}' is not a {what} (a UUID)")))
}

pub fn opt_uuid(text: Option<&str>, what: &str) -> Result<Option<Uuid>, ApiError> {
    text.map(|t| uuid(t, what)).transpose()
}

/// An RFC 3339 time from the query parameter `name`.
pub fn time(text: Option<&str>, name: &str) -> Result<Option<Timestamp>, ApiError> {
    text.map(|t| {
        t.trim().parse::<Timestamp>().map_err(|_| {
            ApiError::bad_request(format!(
                "{name}: '{t}' is not an RFC 3339 date-time (like 2026-01-31T08:00:00Z)"
            ))
        })
    })
    .transpose()
}

/// A status from the query, or a 400 listing the ones there are.
pub fn status<T>(text: Option<&str>, parse: fn(&str) -> Option<T>, allowed: &str) -> Result<Option<T>, ApiError> {
    text.map(|t| {
        parse(t.trim().to_ascii_lowercase().as_str())
            .ok_or_else(|| ApiError::bad_request(format!("status: '{t}' is not one of {allowed}")))
    })
    .transpose()
}

/// The latest version of runbook `id` if the caller may see it; 404 otherwise, the same as for
/// a runbook that does not exist.
pub async fn visible_runbook(state: &AppState, caller: &Caller, id: Uuid) -> Result<Runbook, ApiError> {
    let missing = || ApiError::not_found(format!("runbook {id} not found"));
    match state.store.runbook(id, None).await {
        Ok(runbook) if caller.can_see(&runbook.folder) => Ok(runbook),
        Ok(_) | Err(StoreError::NotFound(_)) => Err(missing()),
        Err(e) => Err(e.into()),
    }
}

/// The runbooks whose jobs and instances a caller may see: `None` for all of them (it sees the
/// root), else the list, which the store filters on. `only` is the one runbook a list asks for,
/// if any.
pub async fn visible_runbooks(
    state: &AppState,
    caller: &Caller,
    only: Option<Uuid>,
) -> Result<Option<Vec<Uuid>>, ApiError> {
    if caller.can_see("") {
        return Ok(None);
    }
    if let Some(id) = only {
        return match visible_runbook(state, caller, id).await {
            Ok(_) => Ok(None),
            Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => Ok(Some(Vec::new())),
            Err(e) => Err(e),
        };
    }
    let runbooks = state.store.list_runbooks(None).await?;
    Ok(Some(
        runbooks
            .into_iter()
            .filter(|r| caller.can_see(&r.folder))
            .map(|r| r.id)
            .collect(),
    ))
}
