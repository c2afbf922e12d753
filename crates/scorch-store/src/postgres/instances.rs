//! Instances and their runs as the operations API and resumes read them (the writer writes them).

use std::sync::Arc;

use scorch_activity::Row;
use scorch_engine::{InstanceStatus, RunRecord};
use serde_json::Map;
use sqlx::postgres::{PgPool, PgRow};
use sqlx::{Postgres, QueryBuilder, Row as _};
use uuid::Uuid;

use super::sql::{INSTANCE_NAMES, InstanceNames, RUN_NAMES, RunNames, SELECT_RUNS, select_instances};
use super::{PgStore, from_json, limit, micros, timestamp};
use crate::run_states::{error_kind_of, run_state};
use crate::{FailedRun, InstanceFilter, InstanceRow, StoreError};

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
    if let Some(id) = &filter.id {
        super::id_match(&mut query, "uuid", id);
    }
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

/// The last failed run (state 3) of each of `instances` that has one.
pub(super) async fn failed_runs(store: &PgStore, instances: &[Uuid]) -> Result<Vec<FailedRun>, StoreError> {
    if instances.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT DISTINCT ON (r.instance_id) i.uuid, r.activity_id, r.activity_name, r.error
         FROM instances i JOIN activity_runs r ON r.instance_id = i.id
         WHERE i.uuid = ANY($1) AND r.state = 3
         ORDER BY r.instance_id, r.seq DESC",
    )
    .bind(instances)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let activity_id: String = row.try_get("activity_id")?;
            Ok(FailedRun {
                instance_id: row.try_get("uuid")?,
                activity_name: row
                    .try_get::<Option<String>, _>("activity_name")?
                    .unwrap_or_else(|| activity_id.clone()),
                activity_id,
                error: row.try_get::<Option<String>, _>("error")?.unwrap_or_default(),
            })
        })
        .collect()
}

fn decode(row: &PgRow) -> Result<InstanceRow, StoreError> {
    decode_as(row, &INSTANCE_NAMES)
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

/// Every run recorded for the instance, in `seq` order.
pub(super) async fn runs(pool: &PgPool, instance_id: Uuid) -> Result<Vec<RunRecord>, StoreError> {
    let rows = sqlx::query(SELECT_RUNS).bind(instance_id).fetch_all(pool).await?;
    if rows.is_empty() {
        let known = sqlx::query("SELECT 1 FROM instances WHERE uuid = $1")
            .bind(instance_id)
            .fetch_optional(pool)
            .await?;
        if known.is_none() {
            return Err(StoreError::NotFound(format!("instance {instance_id}")));
        }
    }
    rows.iter()
        .map(|row| decode_run(instance_id, row, &RUN_NAMES))
        .collect()
}

pub(super) fn decode_run(instance_id: Uuid, row: &PgRow, names: &RunNames) -> Result<RunRecord, StoreError> {
    let [
        seq,
        key,
        activity_id,
        activity_name,
        attempt,
        state,
        error,
        error_kind,
        started_at,
        ended_at,
        published,
        truncated,
    ] = *names;
    let activity_id: Arc<str> = row.try_get::<String, _>(activity_id)?.into();
    let activity_name = match row.try_get::<Option<String>, _>(activity_name)? {
        Some(name) => name.into(),
        None => activity_id.clone(),
    };
    let rows: Vec<Row> = match row.try_get::<Option<&str>, _>(published)? {
        Some(text) => from_json(text, "published data")?,
        None => Vec::new(),
    };
    Ok(RunRecord {
        instance_id,
        seq: row.try_get::<i64, _>(seq)? as u64,
        key: row.try_get::<i64, _>(key)? as u64,
        activity_id,
        activity_name,
        attempt: u32::try_from(row.try_get::<i32, _>(attempt)?)
            .map_err(|_| StoreError::Corrupt("stored attempt is out of range".into()))?,
        state: run_state(row.try_get::<i16, _>(state)?.into())?,
        error: row.try_get::<Option<String>, _>(error)?.unwrap_or_default(),
        error_kind: error_kind_of(row.try_get::<Option<&str>, _>(error_kind)?)?,
        started_at: timestamp(row.try_get(started_at)?)?,
        ended_at: row.try_get::<Option<i64>, _>(ended_at)?.map(timestamp).transpose()?,
        rows: Arc::new(rows),
        truncated: row.try_get(truncated)?,
    })
}
