//! Instances as the operations API reads them (the journal writes them).

use scorch_engine::InstanceStatus;
use serde_json::Map;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row as _};
use uuid::Uuid;

use super::{PgStore, from_json, limit, micros, timestamp};
use crate::{InstanceFilter, InstanceRow, StoreError};

/// The one column list [`decode`] reads, followed by the query's own clauses.
macro_rules! select_instances {
    ($clauses:literal) => {
        concat!(
            "SELECT uuid, job_id, runbook_id, server, status, parameters, returns, started_at, ended_at, problems
             FROM instances ",
            $clauses
        )
    };
}

pub(super) async fn get(store: &PgStore, id: Uuid) -> Result<InstanceRow, StoreError> {
    let row = sqlx::query(select_instances!("WHERE uuid = $1"))
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
    decode(&row.ok_or_else(|| StoreError::NotFound(format!("instance {id}")))?)
}

/// Newest first; `limit` 0 is no limit.
pub(super) async fn list(store: &PgStore, filter: &InstanceFilter) -> Result<Vec<InstanceRow>, StoreError> {
    let mut query = QueryBuilder::<Postgres>::new(select_instances!("WHERE true"));
    if let Some(runbook_id) = filter.runbook_id {
        query.push(" AND runbook_id = ").push_bind(runbook_id);
    }
    if let Some(runbooks) = &filter.runbooks {
        query
            .push(" AND runbook_id = ANY(")
            .push_bind(runbooks.clone())
            .push(")");
    }
    if let Some(job_id) = filter.job_id {
        query.push(" AND job_id = ").push_bind(job_id);
    }
    if let Some(status) = filter.status {
        query.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(since) = filter.since {
        query.push(" AND started_at >= ").push_bind(micros(since));
    }
    if let Some(until) = filter.until {
        query.push(" AND started_at < ").push_bind(micros(until));
    }
    query
        .push(" ORDER BY started_at DESC, id DESC LIMIT ")
        .push_bind(limit(filter.limit))
        .push(" OFFSET ")
        .push_bind(i64::from(filter.offset));
    let rows = query.build().fetch_all(store.pool()).await?;
    rows.iter().map(decode).collect()
}

/// The names of the columns [`decode_as`] reads, in this order: uuid, job_id, runbook_id, server,
/// status, parameters, returns, started_at, ended_at, problems.
pub(super) type InstanceNames = [&'static str; 10];

/// The columns as `select_instances!` names them.
const NAMES: InstanceNames = [
    "uuid",
    "job_id",
    "runbook_id",
    "server",
    "status",
    "parameters",
    "returns",
    "started_at",
    "ended_at",
    "problems",
];

fn decode(row: &PgRow) -> Result<InstanceRow, StoreError> {
    decode_as(row, &NAMES)
}

/// An instance from columns named `names` (a query that also reads other tables' columns renames
/// them).
pub(super) fn decode_as(row: &PgRow, names: &InstanceNames) -> Result<InstanceRow, StoreError> {
    let [
        uuid,
        job_id,
        runbook_id,
        server,
        status,
        parameters,
        returns,
        started_at,
        ended_at,
        problems,
    ] = *names;
    let status: &str = row.try_get(status)?;
    Ok(InstanceRow {
        id: row.try_get(uuid)?,
        job_id: row.try_get(job_id)?,
        runbook_id: row.try_get(runbook_id)?,
        server: row.try_get(server)?,
        status: InstanceStatus::parse(status)
            .ok_or_else(|| StoreError::Corrupt(format!("stored instance status '{status}' is unknown")))?,
        parameters: from_json(row.try_get(parameters)?, "instance parameters")?,
        returns: match row.try_get::<Option<&str>, _>(returns)? {
            Some(text) => from_json(text, "instance return data")?,
            None => Map::new(),
        },
        started_at: timestamp(row.try_get(started_at)?)?,
        ended_at: row.try_get::<Option<i64>, _>(ended_at)?.map(timestamp).transpose()?,
        problems: match row.try_get::<Option<&str>, _>(problems)? {
            Some(text) => from_json(text, "instance problems")?,
            None => Vec::new(),
        },
    })
}
