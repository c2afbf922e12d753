//! The audit trail and retention (purge), for administrators.

use axum::extract::State;
use scorch_store::{PurgeRule, StoreError};
use serde::Deserialize;
use serde_json::json;

use super::wire::{Purge, Purged};
use crate::api::Query;
use crate::api::audit::{item as audit_item, record};
use crate::api::paging::MAX_LIMIT;
use crate::api::wire::AuditItem;
use crate::api::{ApiError, AppState, Caller, Json};

const DEFAULT_AUDIT_LIMIT: u32 = 100;
/// Instances deleted per transaction, so a purge never holds the database for long.
const PURGE_BATCH: u32 = 500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditQuery {
    limit: Option<u32>,
    offset: Option<u32>,
}

/// `GET /api/v1/audit?limit=&offset=`: newest first, at most as many as a page of the web
/// service (a larger `limit` is cut to that, for clients that ask for "all").
pub(super) async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Vec<AuditItem>>, ApiError> {
    caller.require_admin()?;
    let limit = query.limit.unwrap_or(DEFAULT_AUDIT_LIMIT).clamp(1, MAX_LIMIT);
    let entries = state.store.audit_log(limit, query.offset.unwrap_or(0)).await?;
    Ok(Json(entries.into_iter().map(audit_item).collect()))
}

/// `POST /api/v1/purge`: deletes finished instances by the rule (or counts them on a dry run).
pub(super) async fn purge(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<Purge>,
) -> Result<Json<Purged>, ApiError> {
    caller.require_admin()?;
    if body.keep_last.is_none() && body.older_than_days.is_none() {
        return Err(ApiError::bad_request(
            "say what to purge: keep_last, older_than_days, or both",
        ));
    }
    let older_than = match body.older_than_days {
        Some(days) => {
            let span = jiff::SignedDuration::from_hours(i64::from(days) * 24);
            Some(jiff::Timestamp::now().checked_sub(span).map_err(|_| {
                ApiError::bad_request(format!("older_than_days {days} reaches before the earliest date"))
            })?)
        }
        None => None,
    };
    if let Some(id) = body.runbook_id {
        match state.store.runbook(id, None).await {
            Ok(_) => {}
            Err(StoreError::NotFound(_)) => return Err(ApiError::not_found(format!("runbook {id} not found"))),
            Err(e) => return Err(e.into()),
        }
    }
    let rule = PurgeRule {
        runbook_id: body.runbook_id,
        keep_last: body.keep_last,
        older_than,
    };
    let instances = state.store.purge_instances(&rule, PURGE_BATCH, body.dry_run).await?;
    if !body.dry_run {
        let detail = json!({
            "runbook_id": body.runbook_id,
            "keep_last": body.keep_last,
            "older_than_days": body.older_than_days,
            "instances": instances,
        });
        record(&state, &caller, "instances.purge", "instance", None, detail).await;
    }
    Ok(Json(Purged {
        instances,
        dry_run: body.dry_run,
    }))
}
