//! Monitor jobs: their triggers (and notes), checkpoints and webhooks. A trigger is written with
//! the watcher's checkpoint in one commit, refused by the unique (job, key) when recorded before:
//! so two servers seeing the same event (one taking the job over from the other) record it once.

use jiff::Timestamp;
use sqlx::Row as _;
use uuid::Uuid;

use super::B;
use crate::backend::Backend;
use crate::codec::{micros, timestamp};
use crate::{NewTrigger, StoreError, TriggerRecord};

/// Whether job `job_id` runs (and, given `holder`, is held by it); `Conflict` saying why not.
async fn check_running(conn: &mut super::Connection, job_id: Uuid, holder: Option<&str>) -> Result<(), StoreError> {
    let row: Option<(String, Option<String>)> = sqlx::query_as(B::JOB_HOLDER).bind(job_id).fetch_optional(conn).await?;
    match row {
        None => Err(StoreError::NotFound(format!("job {job_id}"))),
        Some((status, _)) if status != "running" => Err(StoreError::Conflict(format!(
            "job {job_id} is not running (it is {status})"
        ))),
        Some((_, by)) if holder.is_some_and(|h| by.as_deref() != Some(h)) => Err(StoreError::Conflict(format!(
            "job {job_id} is held by another runbook server"
        ))),
        Some(_) => Ok(()),
    }
}

async fn upsert_checkpoint(conn: &mut super::Connection, job_id: Uuid, checkpoint: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO monitor_checkpoints (job_id, checkpoint, saved_at) VALUES ($1, $2, $3)
         ON CONFLICT (job_id) DO UPDATE SET checkpoint = excluded.checkpoint, saved_at = excluded.saved_at",
    )
    .bind(job_id)
    .bind(checkpoint)
    .bind(micros(Timestamp::now()))
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn record_trigger(
    store: &B,
    job_id: Uuid,
    holder: Option<&str>,
    trigger: &NewTrigger,
    checkpoint: Option<&str>,
) -> Result<Option<i64>, StoreError> {
    let mut tx = store.begin_write().await?;
    check_running(&mut tx, job_id, holder).await?;
    let seq: Option<i64> = sqlx::query_scalar(
        "INSERT INTO triggers (job_id, key, instance_id, data, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (job_id, key) DO NOTHING RETURNING seq",
    )
    .bind(job_id)
    .bind(&trigger.key)
    .bind(trigger.instance_id)
    .bind(&trigger.data)
    .bind(micros(Timestamp::now()))
    .fetch_optional(&mut *tx)
    .await?;
    if seq.is_none() {
        return Ok(None);
    }
    if let Some(checkpoint) = checkpoint {
        upsert_checkpoint(&mut tx, job_id, checkpoint).await?;
    }
    tx.commit().await?;
    store.announce_trigger(job_id).await;
    Ok(seq)
}

pub(crate) async fn save_checkpoint(store: &B, job_id: Uuid, holder: &str, checkpoint: &str) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    check_running(&mut tx, job_id, Some(holder)).await?;
    upsert_checkpoint(&mut tx, job_id, checkpoint).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn checkpoint(store: &B, job_id: Uuid) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT checkpoint FROM monitor_checkpoints WHERE job_id = $1")
            .bind(job_id)
            .fetch_optional(store.pool())
            .await?,
    )
}

fn record(row: &super::Row) -> Result<TriggerRecord, StoreError> {
    Ok(TriggerRecord {
        seq: row.try_get("seq")?,
        job_id: row.try_get("job_id")?,
        key: row.try_get("key")?,
        instance_id: row.try_get("instance_id")?,
        data: row.try_get("data")?,
        created_at: timestamp(row.try_get("created_at")?)?,
    })
}

pub(crate) async fn triggers(
    store: &B,
    job_id: Uuid,
    after: i64,
    limit: u32,
) -> Result<Vec<TriggerRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT seq, job_id, key, instance_id, data, created_at FROM triggers
         WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    )
    .bind(job_id)
    .bind(after)
    .bind(B::limit(limit))
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(record).collect()
}

pub(crate) async fn last_trigger(store: &B, job_id: Uuid) -> Result<i64, StoreError> {
    let last: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM triggers WHERE job_id = $1")
        .bind(job_id)
        .fetch_one(store.pool())
        .await?;
    Ok(last.unwrap_or(0))
}

pub(crate) async fn open_triggers(store: &B, job_id: Uuid) -> Result<Vec<TriggerRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT t.seq, t.job_id, t.key, t.instance_id, t.data, t.created_at
         FROM triggers t LEFT JOIN instances i ON i.uuid = t.instance_id
         WHERE t.job_id = $1 AND t.instance_id IS NOT NULL AND i.ended_at IS NULL ORDER BY t.seq",
    )
    .bind(job_id)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(record).collect()
}

pub(crate) async fn hook(store: &B, name: &str) -> Result<Option<Uuid>, StoreError> {
    Ok(sqlx::query_scalar("SELECT runbook_id FROM hooks WHERE name = $1")
        .bind(name)
        .fetch_optional(store.pool())
        .await?)
}

/// Within a check-in's transaction: runbook `runbook_id`'s latest version listens on `hook`
/// (or on none). A hook another runbook listens on is a `Conflict` naming it.
pub(crate) async fn set_hook(
    conn: &mut super::Connection,
    runbook_id: Uuid,
    hook: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM hooks WHERE runbook_id = $1")
        .bind(runbook_id)
        .execute(&mut *conn)
        .await?;
    let Some(hook) = hook else {
        return Ok(());
    };
    let inserted = sqlx::query("INSERT INTO hooks (name, runbook_id) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(hook)
        .bind(runbook_id)
        .execute(&mut *conn)
        .await?;
    if inserted.rows_affected() == 0 {
        let other: Option<(String, String)> = sqlx::query_as(
            "SELECT f.path, r.name FROM hooks h JOIN runbooks r ON r.id = h.runbook_id JOIN folders f ON f.id = r.folder_id
             WHERE h.name = $1",
        )
        .bind(hook)
        .fetch_optional(&mut *conn)
        .await?;
        let owner = other.map_or_else(|| "another runbook".to_string(), |(f, n)| format!("runbook '{f}/{n}'"));
        return Err(StoreError::Conflict(format!(
            "hook '{hook}' is already used by {owner}"
        )));
    }
    Ok(())
}
