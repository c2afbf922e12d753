//! The audit trail: every change and every job start and stop.

use serde_json::Value;
use sqlx::{QueryBuilder, Row as _};

use super::B;
use crate::backend::Backend;
use crate::codec::{from_json, micros, timestamp};
use crate::{AuditEntry, AuditFilter, StoreError};

/// The entries that pass `filter`, newest first.
pub(crate) async fn search(store: &B, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
    let mut query = QueryBuilder::<<B as Backend>::Db>::new(
        "SELECT id, at, actor, action, object_type, object_id, detail FROM audit WHERE 1 = 1",
    );
    if let Some(actor) = &filter.actor {
        query.push(" AND actor = ").push_bind(actor.clone());
    }
    match filter.action.as_deref() {
        Some(prefix) if prefix.ends_with('.') => {
            query
                .push(" AND action LIKE ")
                .push_bind(format!("{}%", like_escaped(prefix)))
                .push(" ESCAPE '\\'");
        }
        Some(action) => {
            query.push(" AND action = ").push_bind(action.to_string());
        }
        None => {}
    }
    if let Some(since) = filter.since {
        query.push(" AND at >= ").push_bind(micros(since));
    }
    if let Some(until) = filter.until {
        query.push(" AND at < ").push_bind(micros(until));
    }
    if let Some(text) = &filter.text {
        let pattern = format!("%{}%", like_escaped(&text.to_lowercase()));
        query.push(" AND (");
        for (i, column) in ["actor", "action", "object_type", "detail"].into_iter().enumerate() {
            if i > 0 {
                query.push(" OR ");
            }
            query
                .push(format!("LOWER({column}) LIKE "))
                .push_bind(pattern.clone())
                .push(" ESCAPE '\\'");
        }
        query.push(")");
    }
    query
        .push(" ORDER BY id DESC LIMIT ")
        .push_bind(B::limit(filter.limit))
        .push(" OFFSET ")
        .push_bind(i64::from(filter.offset));
    let rows = query.build().fetch_all(store.pool()).await?;
    rows.iter()
        .map(|row| {
            Ok(AuditEntry {
                id: row.try_get("id")?,
                at: timestamp(row.try_get("at")?)?,
                actor: row.try_get("actor")?,
                action: row.try_get("action")?,
                object_type: row.try_get("object_type")?,
                object_id: row.try_get("object_id")?,
                detail: match row.try_get::<Option<&str>, _>("detail")? {
                    Some(text) => from_json(text, "audit detail")?,
                    None => Value::Null,
                },
            })
        })
        .collect()
}

/// `text` matched literally by LIKE (with `ESCAPE '\'`).
fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// An entry's detail as stored: JSON text, or NULL for none.
pub(crate) fn detail(detail: &Value) -> Result<Option<String>, StoreError> {
    if detail.is_null() {
        Ok(None)
    } else {
        crate::codec::to_json(detail).map(Some)
    }
}
