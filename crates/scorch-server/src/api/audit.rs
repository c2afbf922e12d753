//! Audit records: written for every change, on either HTTP role, and read back as wire items.

use serde_json::Value;
use uuid::Uuid;

use super::caller::Caller;
use super::state::AppState;
use super::wire::AuditItem;

/// Writes the audit record of a change. The change is already committed, so a failure to
/// record it is logged rather than turned into an error the caller would take for a failed
/// change.
pub(crate) async fn record(
    state: &AppState,
    caller: &Caller,
    action: &str,
    object_type: &str,
    object_id: Option<Uuid>,
    detail: Value,
) {
    let entry = scorch_store::NewAudit {
        actor: caller.name(),
        action,
        object_type,
        object_id,
        detail: &detail,
    };
    if let Err(e) = state.store.audit(entry).await {
        tracing::error!(error = %e, action, actor = caller.name(), "cannot write the audit record of a change");
    }
}

/// A stored audit record as the APIs show it.
pub(crate) fn item(e: scorch_store::AuditEntry) -> AuditItem {
    AuditItem {
        id: e.id,
        at: e.at.to_string(),
        actor: e.actor,
        action: e.action,
        object_type: e.object_type,
        object_id: e.object_id,
        detail: e.detail,
    }
}
