//! Instances as the operations API reads them (the journal writes them).

use scorch_engine::InstanceStatus;
use serde_json::Map;
use sqlx::sqlite::SqliteConnection;
use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;

use super::columns::Columns;
use super::{SqliteStore, from_json, hex_list, limit, micros, timestamp};
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
pub(super) use select_instances;

pub(super) async fn get(store: &SqliteStore, id: Uuid) -> Result<InstanceRow, StoreError> {
    let mut conn = store.pool.acquire().await?;
    get_in(&mut conn, id).await
}

pub(super) async fn get_in(conn: &mut SqliteConnection, id: Uuid) -> Result<InstanceRow, StoreError> {
    let row = sqlx::query(select_instances!("WHERE uuid = ?"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    decode(&row.ok_or_else(|| StoreError::NotFound(format!("instance {id}")))?)
}

/// Newest first; `limit` 0 is no limit.
pub(super) async fn list(store: &SqliteStore, filter: &InstanceFilter) -> Result<Vec<InstanceRow>, StoreError> {
    let mut query = QueryBuilder::<Sqlite>::new(select_instances!("WHERE 1 = 1"));
    if let Some(runbook_id) = filter.runbook_id {
        query.push(" AND runbook_id = ").push_bind(runbook_id);
    }
    if let Some(runbooks) = &filter.runbooks {
        query
            .push(" AND runbook_id IN (SELECT unhex(value) FROM json_each(")
            .push_bind(hex_list(runbooks))
            .push("))");
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
        .push_bind(filter.offset);
    let rows = query.build().fetch_all(&store.pool).await?;
    rows.iter().map(decode).collect()
}

pub(super) fn decode(row: &impl Columns) -> Result<InstanceRow, StoreError> {
    let status: String = row.column("status")?;
    Ok(InstanceRow {
        id: row.column("uuid")?,
        job_id: row.column("job_id")?,
        runbook_id: row.column("runbook_id")?,
        server: row.column("server")?,
        status: InstanceStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("stored instance status '{status}' is unknown")))?,
        parameters: from_json(&row.column::<String>("parameters")?, "instance parameters")?,
        returns: match row.column::<Option<String>>("returns")? {
            Some(text) => from_json(&text, "instance return data")?,
            None => Map::new(),
        },
        started_at: timestamp(row.column("started_at")?)?,
        ended_at: row.column::<Option<i64>>("ended_at")?.map(timestamp).transpose()?,
        problems: match row.column::<Option<String>>("problems")? {
            Some(text) => from_json(&text, "instance problems")?,
            None => Vec::new(),
        },
    })
}
