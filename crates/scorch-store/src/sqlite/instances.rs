//! Instances as the operations API reads them (the journal writes them).

use scorch_engine::InstanceStatus;
use serde_json::Map;
use sqlx::Row as _;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use super::{SqliteStore, from_json, timestamp};
use crate::{InstanceRow, StoreError};

/// The one column list [`decode`] reads, followed by the query's own clauses.
macro_rules! select_instances {
    ($clauses:literal) => {
        concat!(
            "SELECT uuid, job_id, runbook_id, server, status, parameters, returns, started_at, ended_at
             FROM instances ",
            $clauses
        )
    };
}

impl SqliteStore {
    pub async fn instance(&self, id: Uuid) -> Result<InstanceRow, StoreError> {
        let row = sqlx::query(select_instances!("WHERE uuid = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        decode(&row.ok_or_else(|| StoreError::NotFound(format!("instance {id}")))?)
    }

    /// The runbook's latest instances, newest first.
    pub async fn list_instances(&self, runbook_id: Uuid, limit: u32) -> Result<Vec<InstanceRow>, StoreError> {
        let rows = sqlx::query(select_instances!(
            "WHERE runbook_id = ? ORDER BY started_at DESC, id DESC LIMIT ?"
        ))
        .bind(runbook_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode).collect()
    }
}

fn decode(row: &SqliteRow) -> Result<InstanceRow, StoreError> {
    let status: &str = row.try_get("status")?;
    Ok(InstanceRow {
        id: row.try_get("uuid")?,
        job_id: row.try_get("job_id")?,
        runbook_id: row.try_get("runbook_id")?,
        server: row.try_get("server")?,
        status: InstanceStatus::parse(status)
            .ok_or_else(|| StoreError::Invalid(format!("stored instance status '{status}' is unknown")))?,
        parameters: from_json(row.try_get("parameters")?, "instance parameters")?,
        returns: match row.try_get::<Option<&str>, _>("returns")? {
            Some(text) => from_json(text, "instance return data")?,
            None => Map::new(),
        },
        started_at: timestamp(row.try_get("started_at")?)?,
        ended_at: row.try_get::<Option<i64>, _>("ended_at")?.map(timestamp).transpose()?,
    })
}
