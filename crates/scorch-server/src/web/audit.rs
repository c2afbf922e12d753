//! `GET /api/v1/audit`: the audit trail, newest first, filtered by actor, action, time and text. Administrators read all of it; anyone
//! else reads their own actions, changes to global settings, and what concerns runbooks and
//! folders they can see.

use axum::extract::State;
use scorch_store::{AuditEntry, AuditFilter};

use super::access::time;
use super::wire::{AuditList, AuditQuery};
use crate::api::audit;
use crate::api::paging::{next_offset, page};
use crate::api::wire::ErrorBody;
use crate::api::{ApiError, AppState, Caller, Json, Query};

/// The longest filter value taken, in characters.
const MAX_FILTER: usize = 200;

/// The audit trail, newest first, filtered by the query.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    operation_id = "list_audit",
    tag = "settings",
    params(AuditQuery),
    responses(
        (status = 200, description = "Audit records the caller may read that pass the filters", body = AuditList),
        (status = 400, description = "A query value is malformed or too long", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<Json<AuditList>, ApiError> {
    const CHUNK: u32 = 500;
    let (limit, offset) = page(q.limit, q.offset)?;
    let mut filter = AuditFilter {
        actor: filter_text(q.actor, "actor")?,
        action: filter_text(q.action, "action")?,
        since: time(q.since.as_deref(), "since")?,
        until: time(q.until.as_deref(), "until")?,
        text: filter_text(q.text, "text")?,
        limit,
        offset,
    };
    let entries = if caller.0.admin {
        state.store.search_audit(&filter).await?
    } else {
        // Filtered here, so pages of the store's log are read until this page is full.
        let (mut out, mut skip) = (Vec::new(), offset);
        filter.limit = CHUNK;
        filter.offset = 0;
        'read: loop {
            let chunk = state.store.search_audit(&filter).await?;
            let full = chunk.len() >= CHUNK as usize;
            for entry in chunk.into_iter().filter(|e| readable(&caller, e)) {
                if skip > 0 {
                    skip -= 1;
                } else if out.len() < limit as usize {
                    out.push(entry);
                } else {
                    break 'read;
                }
            }
            if !full || out.len() >= limit as usize {
                break;
            }
            filter.offset = filter.offset.saturating_add(CHUNK);
        }
        out
    };
    let next_offset = next_offset(entries.len(), limit, offset);
    Ok(Json(AuditList {
        items: entries.into_iter().map(audit::item).collect(),
        next_offset,
    }))
}

/// A filter's value, trimmed; none when empty; 400 when longer than [`MAX_FILTER`].
fn filter_text(value: Option<String>, name: &str) -> Result<Option<String>, ApiError> {
    let Some(value) = value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > MAX_FILTER {
        return Err(ApiError::bad_request(format!(
            "{name}: {} characters is more than the {MAX_FILTER} a filter takes",
            value.chars().count()
        )));
    }
    Ok(Some(value))
}

/// Whether a caller who is not an administrator may read `entry`.
fn readable(caller: &Caller, entry: &AuditEntry) -> bool {
    if entry.actor == caller.name() {
        return true;
    }
    let text = |key: &str| entry.detail.get(key).and_then(|v| v.as_str());
    match entry.object_type.as_str() {
        "variable" | "counter" | "group" | "schedule" => true,
        "runbook" => text("folder").is_some_and(|f| caller.can_see(f)),
        "folder" => text("path").is_some_and(|p| caller.can_see(p)),
        // A job's record names its runbook by path: `Folder/Sub/Name`.
        "job" => text("runbook").is_some_and(|p| caller.can_see(p.rsplit_once('/').map_or("", |(f, _)| f))),
        _ => false,
    }
}
