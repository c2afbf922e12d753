//! Runbooks and their versions: check-in (save), check-out, reading (versions through the
//! [`VersionCache`]) and listing.

use std::sync::Arc;

use jiff::Timestamp;
use sqlx::Row as _;
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use uuid::Uuid;

use super::folders::{ensure_in, folder_path};
use super::{SqliteStore, from_json, micros, timestamp, to_json};
use crate::versions::{Head, VersionCache};

use crate::saving::{self, checked_out};
use crate::{
    Runbook, RunbookActivity, RunbookBody, RunbookParameter, RunbookSummary, RunbookVersionInfo, SaveRunbook,
    StoreError,
};

/// What a runbook is now (see [`Head`]), followed by the query's WHERE clause.
macro_rules! select_head {
    () => {
        "SELECT r.id, r.name, r.latest_version, r.checked_out_by, f.path
         FROM runbooks r JOIN folders f ON f.id = r.folder_id "
    };
}

const PREVIOUS_PARAMETER_ID: &str =
    "SELECT id FROM runbook_parameters WHERE runbook_id = ? AND version = ? AND name = ?";
const PREVIOUS_ACTIVITY_ID: &str =
    "SELECT id FROM runbook_activities WHERE runbook_id = ? AND version = ? AND activity_key = ?";

/// Saves a new version of a runbook and returns its id and version (1 for a new runbook).
/// Given ids are kept; a runbook saved under a new folder or name moves there.
pub(super) async fn save(store: &SqliteStore, save: SaveRunbook<'_>) -> Result<(Uuid, i64), StoreError> {
    let (name, run) = saving::check(&save)?;
    let definition = to_json(save.definition)?;

    let mut tx = store.pool.begin_with("BEGIN IMMEDIATE").await?;
    let folder_id = ensure_in(&mut tx, save.folder).await?;
    let at_path: Option<Uuid> = sqlx::query_scalar("SELECT id FROM runbooks WHERE folder_id = ? AND name = ?")
        .bind(folder_id)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
    let id = match (save.id, at_path) {
        (Some(id), Some(other)) if id != other => {
            return Err(StoreError::Conflict(format!(
                "runbook '{name}' in folder '{}' already exists with id {other}",
                folder_path(save.folder)
            )));
        }
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => Uuid::now_v7(),
    };
    let previous: Option<(i64, Option<String>)> =
        sqlx::query_as("SELECT latest_version, checked_out_by FROM runbooks WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some((_, Some(holder))) = &previous
        && holder != save.author
    {
        return Err(checked_out(name, holder));
    }
    let version = previous.as_ref().map_or(1, |(v, _)| v + 1);
    // A successful check-in by the holder releases the check-out.
    let runbook_sql = if previous.is_some() {
        "UPDATE runbooks SET folder_id = ?, name = ?, latest_version = ?, checked_out_by = NULL WHERE id = ?"
    } else {
        "INSERT INTO runbooks (folder_id, name, latest_version, id) VALUES (?, ?, ?, ?)"
    };
    sqlx::query(runbook_sql)
        .bind(folder_id)
        .bind(name)
        .bind(version)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO runbook_versions (runbook_id, version, definition, source, created_at, created_by,
             concurrency, runbook_servers, description)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(version)
    .bind(definition)
    .bind(save.source)
    .bind(micros(Timestamp::now()))
    .bind(save.author)
    .bind(i64::from(run.concurrency))
    .bind(to_json(&run.runbook_servers)?)
    .bind(run.description)
    .execute(&mut *tx)
    .await?;

    for (position, parameter) in save.parameters.iter().enumerate() {
        let parameter_id = keep_id(
            &mut tx,
            parameter.id,
            PREVIOUS_PARAMETER_ID,
            id,
            version,
            &parameter.name,
        )
        .await?;
        sqlx::query(
            "INSERT INTO runbook_parameters (runbook_id, version, id, position, name, type, default_value)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(version)
        .bind(parameter_id)
        .bind(position as i64)
        .bind(&parameter.name)
        .bind(&parameter.type_name)
        .bind(parameter.default.as_deref())
        .execute(&mut *tx)
        .await?;
    }
    for (position, activity) in save.activities.iter().enumerate() {
        let activity_id = keep_id(&mut tx, activity.id, PREVIOUS_ACTIVITY_ID, id, version, &activity.key).await?;
        sqlx::query(
            "INSERT INTO runbook_activities (runbook_id, version, id, position, activity_key, name, type)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(version)
        .bind(activity_id)
        .bind(position as i64)
        .bind(&activity.key)
        .bind(&activity.name)
        .bind(&activity.type_name)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok((id, version))
}

/// One version of a runbook (the latest when `version` is `None`).
pub(super) async fn load(store: &SqliteStore, id: Uuid, version: Option<i64>) -> Result<Runbook, StoreError> {
    let mut conn = store.pool.acquire().await?;
    load_in(&mut conn, &store.versions, id, version).await
}

/// [`load`] on the caller's connection (inside its transaction).
pub(super) async fn load_in(
    conn: &mut SqliteConnection,
    versions: &VersionCache,
    id: Uuid,
    version: Option<i64>,
) -> Result<Runbook, StoreError> {
    let head = sqlx::query(concat!(select_head!(), "WHERE r.id = ?"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let head = head.ok_or_else(|| StoreError::NotFound(format!("runbook {id}")))?;
    at_version(conn, versions, decode_head(&head)?, version).await
}

/// The latest version of the runbook named `name` in `folder`, what changes from one save to the
/// next kept for a moment (`crate::kept`; this process's check-ins forget it at once). A job
/// started from what this answers asks for its version, which the store refuses once another is
/// the latest, so a kept answer cannot start an older version than the one checked in.
pub(super) async fn by_path(store: &SqliteStore, folder: &str, name: &str) -> Result<Runbook, StoreError> {
    let (folder, name) = (folder_path(folder), name.trim());
    let read = async {
        sqlx::query(concat!(select_head!(), "WHERE f.path = ? AND r.name = ?"))
            .bind(&folder)
            .bind(name)
            .fetch_optional(&store.pool)
            .await?
            .map(|row| decode_head(&row))
            .transpose()
    };
    let head = store
        .kept
        .runbook_paths
        .get_or_read(&format!("{folder}/{name}"), read)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("runbook '{name}' in folder '{folder}'")))?;
    let latest = head.latest_version;
    with_head(store, head, latest).await
}

/// The runbook `head` at `version`, reading the pool only when the version is not cached.
pub(super) async fn with_head(store: &SqliteStore, head: Head, version: i64) -> Result<Runbook, StoreError> {
    if let Some(body) = store.versions.get(head.id, version) {
        return Ok(head.with(version, body));
    }
    let mut conn = store.pool.acquire().await?;
    at_version(&mut conn, &store.versions, head, Some(version)).await
}

/// The runbook `head` at `version` (its latest when `None`), the version from the cache when it
/// is there.
async fn at_version(
    conn: &mut SqliteConnection,
    versions: &VersionCache,
    head: Head,
    version: Option<i64>,
) -> Result<Runbook, StoreError> {
    let number = version.unwrap_or(head.latest_version);
    if let Some(body) = versions.get(head.id, number) {
        return Ok(head.with(number, body));
    }
    let Some(body) = read_version(conn, head.id, number).await? else {
        return Err(match version {
            Some(version) => StoreError::NotFound(format!("runbook {} version {version}", head.id)),
            None => StoreError::NotFound(format!("runbook {}", head.id)),
        });
    };
    let body = Arc::new(body);
    versions.insert(head.id, number, body.clone());
    Ok(head.with(number, body))
}

fn decode_head(row: &SqliteRow) -> Result<Head, StoreError> {
    Ok(Head {
        id: row.try_get("id")?,
        folder: row.try_get("path")?,
        name: row.try_get("name")?,
        latest_version: row.try_get("latest_version")?,
        checked_out_by: row.try_get("checked_out_by")?,
    })
}

/// A version's definition, parameters and activities, or `None` when there is no such version.
async fn read_version(conn: &mut SqliteConnection, id: Uuid, version: i64) -> Result<Option<RunbookBody>, StoreError> {
    let row = sqlx::query(
        "SELECT definition, source, created_at, created_by FROM runbook_versions WHERE runbook_id = ? AND version = ?",
    )
    .bind(id)
    .bind(version)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let parameters = sqlx::query(
        "SELECT id, name, type, default_value FROM runbook_parameters
         WHERE runbook_id = ? AND version = ? ORDER BY position",
    )
    .bind(id)
    .bind(version)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|p| {
        Ok(RunbookParameter {
            id: p.try_get("id")?,
            name: p.try_get("name")?,
            type_name: p.try_get("type")?,
            default: p.try_get("default_value")?,
        })
    })
    .collect::<Result<_, sqlx::Error>>()?;
    let activities = sqlx::query(
        "SELECT id, activity_key, name, type FROM runbook_activities
         WHERE runbook_id = ? AND version = ? ORDER BY position",
    )
    .bind(id)
    .bind(version)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|a| {
        Ok(RunbookActivity {
            id: a.try_get("id")?,
            key: a.try_get("activity_key")?,
            name: a.try_get("name")?,
            type_name: a.try_get("type")?,
        })
    })
    .collect::<Result<_, sqlx::Error>>()?;
    Ok(Some(RunbookBody {
        definition: from_json(row.try_get("definition")?, "runbook definition")?,
        source: row.try_get("source")?,
        created_at: timestamp(row.try_get("created_at")?)?,
        created_by: row.try_get("created_by")?,
        parameters,
        activities,
    }))
}

/// Latest versions under `under` (that folder and its subfolders; everything for `None` or the root).
pub(super) async fn list(store: &SqliteStore, under: Option<&str>) -> Result<Vec<RunbookSummary>, StoreError> {
    let under = folder_path(under.unwrap_or(""));
    let rows = sqlx::query(
        "SELECT r.id, f.path, r.name, r.latest_version, r.checked_out_by, v.description, v.created_at
         FROM runbooks r
         JOIN folders f ON f.id = r.folder_id
         JOIN runbook_versions v ON v.runbook_id = r.id AND v.version = r.latest_version
         WHERE ?1 = '' OR f.path = ?1 OR substr(f.path, 1, length(?1) + 1) = ?1 || '/'
         ORDER BY f.path, r.name",
    )
    .bind(&under)
    .fetch_all(&store.pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(RunbookSummary {
                id: row.try_get("id")?,
                folder: row.try_get("path")?,
                name: row.try_get("name")?,
                latest_version: row.try_get("latest_version")?,
                checked_out_by: row.try_get("checked_out_by")?,
                description: row.try_get("description")?,
                updated_at: timestamp(row.try_get("created_at")?)?,
            })
        })
        .collect()
}

/// Every version of a runbook, newest first; `NotFound` when it has none.
pub(super) async fn versions(store: &SqliteStore, id: Uuid) -> Result<Vec<RunbookVersionInfo>, StoreError> {
    let rows = sqlx::query(
        "SELECT version, created_at, created_by FROM runbook_versions WHERE runbook_id = ? ORDER BY version DESC",
    )
    .bind(id)
    .fetch_all(&store.pool)
    .await?;
    if rows.is_empty() {
        return Err(StoreError::NotFound(format!("runbook {id}")));
    }
    rows.iter()
        .map(|row| {
            Ok(RunbookVersionInfo {
                version: row.try_get("version")?,
                created_at: timestamp(row.try_get("created_at")?)?,
                created_by: row.try_get("created_by")?,
            })
        })
        .collect()
}

/// Locks a runbook for `user`; another user's lock is a conflict naming them.
pub(super) async fn check_out(store: &SqliteStore, id: Uuid, user: &str) -> Result<(), StoreError> {
    let mut tx = store.pool.begin_with("BEGIN IMMEDIATE").await?;
    let (name, holder) = lock_holder(&mut tx, id).await?;
    match holder {
        Some(holder) if holder != user => return Err(checked_out(&name, &holder)),
        Some(_) => return Ok(()),
        None => {}
    }
    sqlx::query("UPDATE runbooks SET checked_out_by = ? WHERE id = ?")
        .bind(user)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Releases `user`'s lock, or anyone's with `force`.
pub(super) async fn undo_check_out(store: &SqliteStore, id: Uuid, user: &str, force: bool) -> Result<(), StoreError> {
    let mut tx = store.pool.begin_with("BEGIN IMMEDIATE").await?;
    let (name, holder) = lock_holder(&mut tx, id).await?;
    match holder {
        None => return Ok(()),
        Some(holder) if holder != user && !force => return Err(checked_out(&name, &holder)),
        Some(_) => {}
    }
    sqlx::query("UPDATE runbooks SET checked_out_by = NULL WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The runbook's name and who has it checked out.
async fn lock_holder(conn: &mut SqliteConnection, id: Uuid) -> Result<(String, Option<String>), StoreError> {
    sqlx::query_as("SELECT name, checked_out_by FROM runbooks WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("runbook {id}")))
}

/// The id to store for a parameter or activity: the given one, else the one the same name had in
/// the previous version (so identities survive edits), else a new one.
async fn keep_id(
    conn: &mut SqliteConnection,
    given: Option<Uuid>,
    previous_sql: &'static str,
    runbook_id: Uuid,
    version: i64,
    name: &str,
) -> Result<Uuid, StoreError> {
    if let Some(id) = given {
        return Ok(id);
    }
    let previous: Option<Uuid> = sqlx::query_scalar(previous_sql)
        .bind(runbook_id)
        .bind(version - 1)
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(previous.unwrap_or_else(Uuid::now_v7))
}
