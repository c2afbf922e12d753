//! `GET /api/v1/audit`: the audit trail, newest first. Administrators read all of it; anyone
//! else reads their own actions, changes to global settings, and what concerns runbooks and
//! folders they can see.

use axum::extract::State;
use scorch_store::AuditEntry;

use super::wire::{AuditList, PageQuery};
use crate::api::audit;
use crate::api::paging::{next_offset, page};
use crate::api::wire::ErrorBody;
use crate::api::{ApiError, AppState, Caller, Json, Query};

/// The audit trail, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    operation_id = "list_audit",
    tag = "settings",
    params(PageQuery),
    responses(
        (status = 200, description = "Audit records the caller may read", body = AuditList),
        (status = 400, description = "A query value is malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<PageQuery>,
) -> Result<Json<AuditList>, ApiError> {
    const CHUNK: u32 = 500;
    let (limit, offset) = page(q.limit, q.offset)?;
    let entries = if caller.0.admin {
        state.store.audit_log(limit, offset).await?
    } else {
        // Filtered here, so pages of the store's log are read until this page is full.
        let (mut out, mut skip, mut at) = (Vec::new(), offset, 0u32);
        'read: loop {
            let chunk = state.store.audit_log(CHUNK, at).await?;
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
            at = at.saturating_add(CHUNK);
        }
        out
    };
    let next_offset = next_offset(entries.len(), limit, offset);
    Ok(Json(AuditList {
        items: entries.into_iter().map(audit::item).collect(),
        next_offset,
    }))
}

/// Whether a caller who is not an administrator may read `entry`.
fn readable(caller: &Caller, entry: &AuditEntry) -> bool {
    if entry.actor == caller.name() {
        return true;
    }
    let text = |key: &str| entry.detail.get(key).and_then(|v| v.as_str());
    match entry.object_type.as_str() {
        "variable" | "counter" => true,
        "runbook" => text("folder").is_some_and(|f| caller.can_see(f)),
        "folder" => text("path").is_some_and(|p| caller.can_see(p)),
        // A job's record names its runbook by path: `Folder/Sub/Name`.
        "job" => text("runbook").is_some_and(|p| caller.can_see(p.rsplit_once('/').map_or("", |(f, _)| f))),
        _ => false,
    }
}
