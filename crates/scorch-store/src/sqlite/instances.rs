//! Instances and their runs as the operations API and resumes read them (the writer writes them).

use std::sync::Arc;

use scorch_activity::Row;
use scorch_engine::{InstanceStatus, RunRecord};
use serde_json::Map;
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;

use super::columns::Columns;
use super::sql::{SELECT_RUNS, select_instances};
use super::{SqliteStore, from_json, hex_list, limit, micros, timestamp};
use crate::run_states::{error_kind_of, run_state};
use crate::{FailedRun, InstanceFilter, InstanceRow, StoreError};

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
    if let Some(id) = &filter.id {
        super::id_match(&mut query, "uuid", id);
    }
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

/// The last failed run (state 3) of each of `instances` that has one.
pub(super) async fn failed_runs(store: &SqliteStore, instances: &[Uuid]) -> Result<Vec<FailedRun>, StoreError> {
    if instances.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT i.uuid, r.activity_id, r.activity_name, r.error
         FROM instances i JOIN activity_runs r ON r.instance_id = i.id
         WHERE i.uuid IN (SELECT unhex(value) FROM json_each(?)) AND r.state = 3
           AND r.seq = (SELECT MAX(seq) FROM activity_runs f WHERE f.instance_id = i.id AND f.state = 3)",
    )
    .bind(hex_list(instances))
    .fetch_all(&store.pool)
    .await?;
    rows.iter()
        .map(|row| {
            let activity_id: String = row.column("activity_id")?;
            Ok(FailedRun {
                instance_id: row.column("uuid")?,
                activity_name: row
                    .column::<Option<String>>("activity_name")?
                    .unwrap_or_else(|| activity_id.clone()),
                activity_id,
                error: row.column::<Option<String>>("error")?.unwrap_or_default(),
            })
        })
        .collect()
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

/// The runs of an instance in `seq` order, or `None` when the instance is unknown.
pub(super) async fn read_runs(pool: &SqlitePool, instance_id: Uuid) -> Result<Option<Vec<RunRecord>>, StoreError> {
    let mut conn = pool.acquire().await?;
    let runs = runs_in(&mut conn, instance_id).await?;
    if runs.is_empty() {
        let known = sqlx::query("SELECT 1 FROM instances WHERE uuid = ?")
            .bind(instance_id)
            .fetch_optional(&mut *conn)
            .await?;
        if known.is_none() {
            return Ok(None);
        }
    }
    Ok(Some(runs))
}

/// The runs of an instance in `seq` order (none when the instance is unknown).
pub(super) async fn runs_in(conn: &mut SqliteConnection, instance_id: Uuid) -> Result<Vec<RunRecord>, StoreError> {
    let rows = sqlx::query(SELECT_RUNS).bind(instance_id).fetch_all(&mut *conn).await?;
    rows.iter().map(|row| decode_run(instance_id, row)).collect()
}

pub(super) fn decode_run(instance_id: Uuid, row: &impl Columns) -> Result<RunRecord, StoreError> {
    let activity_id: Arc<str> = row.column::<String>("activity_id")?.into();
    let activity_name = match row.column::<Option<String>>("activity_name")? {
        Some(name) => name.into(),
        None => activity_id.clone(),
    };
    let rows: Vec<Row> = match row.column::<Option<String>>("published")? {
        Some(text) => from_json(&text, "published data")?,
        None => Vec::new(),
    };
    Ok(RunRecord {
        instance_id,
        seq: row.column::<i64>("seq")? as u64,
        key: row.column::<i64>("run_key")? as u64,
        activity_id,
        activity_name,
        attempt: u32::try_from(row.column::<i64>("attempt")?)
            .map_err(|_| StoreError::Corrupt("stored attempt is out of range".into()))?,
        state: run_state(row.column("state")?)?,
        error: row.column::<Option<String>>("error")?.unwrap_or_default(),
        error_kind: error_kind_of(row.column::<Option<String>>("error_kind")?.as_deref())?,
        started_at: timestamp(row.column("started_at")?)?,
        ended_at: row.column::<Option<i64>>("ended_at")?.map(timestamp).transpose()?,
        rows: Arc::new(rows),
        truncated: row.column("truncated")?,
    })
}
