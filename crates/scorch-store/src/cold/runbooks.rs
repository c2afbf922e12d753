//! Runbooks and their versions: check-in (save), check-out, reading and listing.
//!
//! A saved version never changes, so this process keeps the versions it has read (definition,
//! parameters, activities) in a small cache ([`crate::versions`]): a claim, or a read of a
//! runbook, then costs one statement for the parts that do change (name, folder, latest version,
//! check-out).

use std::sync::Arc;

use jiff::Timestamp;
use sqlx::Row as _;
use uuid::Uuid;

use super::folders::{ensure_in, folder_path};
use super::{B, Connection, Row};
use crate::backend::{Backend, Part};
use crate::codec::{from_json, micros, timestamp, to_json};
use crate::saving::{self, checked_out};
use crate::versions::Head;
use crate::{
    Runbook, RunbookActivity, RunbookBody, RunbookParameter, RunbookSummary, RunbookVersionInfo, SaveRunbook,
    StoreError,
};

/// What a runbook is now (see [`Head`]), followed by the query's own clauses.
macro_rules! select_head {
    ($clauses:literal) => {
        concat!(
            "SELECT r.id, r.name, r.latest_version, r.checked_out_by, f.path
             FROM runbooks r JOIN folders f ON f.id = r.folder_id ",
            $clauses
        )
    };
}

const PREVIOUS_PARAMETER_ID: &str =
    "SELECT id FROM runbook_parameters WHERE runbook_id = $1 AND version = $2 AND name = $3";
const PREVIOUS_ACTIVITY_ID: &str =
    "SELECT id FROM runbook_activities WHERE runbook_id = $1 AND version = $2 AND activity_key = $3";

/// Saves a new version of a runbook and returns its id and version (1 for a new runbook).
/// Given ids are kept; a runbook saved under a new folder or name moves there.
pub(crate) async fn save(store: &B, save: SaveRunbook<'_>) -> Result<(Uuid, i64), StoreError> {
    let (name, run) = saving::check(&save)?;
    let definition = to_json(save.definition)?;

    let mut tx = store.begin_write().await?;
    let folder_id = ensure_in(&mut tx, save.folder).await?;
    let at_path: Option<Uuid> = sqlx::query_scalar("SELECT id FROM runbooks WHERE folder_id = $1 AND name = $2")
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
    // Held, concurrent check-ins of one runbook queue: each makes the next version.
    let previous: Option<(i64, Option<String>)> = sqlx::query_as(B::LOCK_RUNBOOK)
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
        "UPDATE runbooks SET folder_id = $1, name = $2, latest_version = $3, checked_out_by = NULL WHERE id = $4"
    } else {
        "INSERT INTO runbooks (folder_id, name, latest_version, id) VALUES ($1, $2, $3, $4)"
    };
    sqlx::query(runbook_sql)
        .bind(folder_id)
        .bind(name)
        .bind(version)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|err| moved_onto(err, name, save.folder))?;
    sqlx::query(
        "INSERT INTO runbook_versions (runbook_id, version, definition, source, created_at, created_by,
             concurrency, runbook_servers, description)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(version)
    .bind(definition)
    .bind(save.source)
    .bind(micros(Timestamp::now()))
    .bind(save.author)
    .bind(B::count(run.concurrency).unwrap_or(B::COUNT_MAX))
    .bind(B::names(&run.runbook_servers)?)
    .bind(run.description)
    .execute(&mut *tx)
    .await?;

    let mut parameters = Vec::with_capacity(save.parameters.len());
    for p in &save.parameters {
        parameters.push(Part {
            id: keep_id(&mut tx, p.id, PREVIOUS_PARAMETER_ID, id, version, &p.name).await?,
            columns: [Some(&p.name), Some(&p.type_name), p.default.as_deref()],
        });
    }
    B::insert_parts(&mut tx, B::INSERT_PARAMETERS, id, version, &parameters).await?;
    let mut activities = Vec::with_capacity(save.activities.len());
    for a in &save.activities {
        activities.push(Part {
            id: keep_id(&mut tx, a.id, PREVIOUS_ACTIVITY_ID, id, version, &a.key).await?,
            columns: [Some(&a.key), Some(&a.name), Some(&a.type_name)],
        });
    }
    B::insert_parts(&mut tx, B::INSERT_ACTIVITIES, id, version, &activities).await?;
    super::monitors::set_hook(&mut tx, id, scorch_model::monitor::hook(save.definition)).await?;
    tx.commit().await?;
    Ok((id, version))
}

/// A runbook moved (renamed) onto a name its new folder already holds (a check-in that looked
/// before another session took the name).
fn moved_onto(err: sqlx::Error, name: &str, folder: &str) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation => StoreError::Conflict(
            format!("runbook '{name}' in folder '{}' already exists", folder_path(folder)),
        ),
        _ => err.into(),
    }
}

/// One version of a runbook (the latest when `version` is `None`).
pub(crate) async fn load(store: &B, id: Uuid, version: Option<i64>) -> Result<Runbook, StoreError> {
    let mut conn = store.pool().acquire().await?;
    let row = sqlx::query(
        "SELECT r.id, r.name, r.latest_version, r.checked_out_by, f.path, v.version
         FROM runbooks r
         JOIN folders f ON f.id = r.folder_id
         JOIN runbook_versions v ON v.runbook_id = r.id AND v.version = COALESCE($1, r.latest_version)
         WHERE r.id = $2",
    )
    .bind(version)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let row = row.ok_or_else(|| match version {
        Some(version) => StoreError::NotFound(format!("runbook {id} version {version}")),
        None => StoreError::NotFound(format!("runbook {id}")),
    })?;
    assemble(store, &mut conn, decode_head(&row)?, row.try_get("version")?).await
}

/// A runbook's head from a row of `r.id, r.name, r.latest_version, r.checked_out_by, f.path`.
fn decode_head(row: &Row) -> Result<Head, StoreError> {
    Ok(Head {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        folder: row.try_get("path")?,
        latest_version: row.try_get("latest_version")?,
        checked_out_by: row.try_get("checked_out_by")?,
    })
}

/// Version `version` of the runbook whose head is `head`, its body cached (or read on `conn`).
pub(crate) async fn assemble(
    store: &B,
    conn: &mut Connection,
    head: Head,
    version: i64,
) -> Result<Runbook, StoreError> {
    let body = body(store, conn, head.id, version).await?;
    Ok(head.with(version, body))
}

/// [`assemble`], reading the pool only when the version is not cached.
pub(crate) async fn with_head(store: &B, head: Head, version: i64) -> Result<Runbook, StoreError> {
    let body = match store.versions().get(head.id, version) {
        Some(body) => body,
        None => body(store, &mut *store.pool().acquire().await?, head.id, version).await?,
    };
    Ok(head.with(version, body))
}

async fn body(store: &B, conn: &mut Connection, id: Uuid, version: i64) -> Result<Arc<RunbookBody>, StoreError> {
    if let Some(body) = store.versions().get(id, version) {
        return Ok(body);
    }
    let row = sqlx::query(
        "SELECT definition, source, created_at, created_by FROM runbook_versions WHERE runbook_id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("runbook {id} version {version}")))?;
    let parameters = version_rows(
        conn,
        "SELECT id, name, type, default_value FROM runbook_parameters
         WHERE runbook_id = $1 AND version = $2 ORDER BY position",
        id,
        version,
        |p| {
            Ok(RunbookParameter {
                id: p.try_get("id")?,
                name: p.try_get("name")?,
                type_name: p.try_get("type")?,
                default: p.try_get("default_value")?,
            })
        },
    )
    .await?;
    let activities = version_rows(
        conn,
        "SELECT id, activity_key, name, type FROM runbook_activities
         WHERE runbook_id = $1 AND version = $2 ORDER BY position",
        id,
        version,
        |a| {
            Ok(RunbookActivity {
                id: a.try_get("id")?,
                key: a.try_get("activity_key")?,
                name: a.try_get("name")?,
                type_name: a.try_get("type")?,
            })
        },
    )
    .await?;
    let body = Arc::new(RunbookBody {
        definition: from_json(row.try_get("definition")?, "runbook definition")?,
        source: row.try_get("source")?,
        created_at: timestamp(row.try_get("created_at")?)?,
        created_by: row.try_get("created_by")?,
        parameters,
        activities,
    });
    store.versions().insert(id, version, body.clone());
    Ok(body)
}

/// A version's parameters or activities: the rows of `sql` for $1 runbook and $2 version, each
/// decoded by `decode`.
async fn version_rows<T>(
    conn: &mut Connection,
    sql: &'static str,
    id: Uuid,
    version: i64,
    decode: impl Fn(&Row) -> Result<T, sqlx::Error>,
) -> Result<Vec<T>, StoreError> {
    let rows = sqlx::query(sql).bind(id).bind(version).fetch_all(&mut *conn).await?;
    Ok(rows.iter().map(decode).collect::<Result<_, _>>()?)
}

/// The latest version of the runbook named `name` in `folder`, what changes from one save to the
/// next kept for a moment (`crate::kept`; a check-in or a move anywhere forgets it), the
/// version's body from the cache (read when missing). A job started from what this answers asks
/// for its version, which the store refuses once another is the latest, so a kept answer cannot
/// start an older version than the one checked in.
pub(crate) async fn by_path(store: &B, folder: &str, name: &str) -> Result<Runbook, StoreError> {
    let (folder, name) = (folder_path(folder), name.trim());
    let read = async {
        let row = sqlx::query(select_head!("WHERE f.path = $1 AND r.name = $2"))
            .bind(&folder)
            .bind(name)
            .fetch_optional(store.pool())
            .await?;
        row.as_ref().map(decode_head).transpose()
    };
    let head = store
        .kept()
        .runbook_paths
        .get_or_read(&format!("{folder}/{name}"), read)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("runbook '{name}' in folder '{folder}'")))?;
    let latest = head.latest_version;
    with_head(store, head, latest).await
}

/// Latest versions under `under` (that folder and its subfolders; everything for `None` or the root).
pub(crate) async fn list(store: &B, under: Option<&str>) -> Result<Vec<RunbookSummary>, StoreError> {
    let under = folder_path(under.unwrap_or(""));
    let rows = sqlx::query(
        "SELECT r.id, f.path, r.name, r.latest_version, r.checked_out_by, v.description, v.created_at
         FROM runbooks r
         JOIN folders f ON f.id = r.folder_id
         JOIN runbook_versions v ON v.runbook_id = r.id AND v.version = r.latest_version
         WHERE $1 = '' OR f.path = $1 OR substr(f.path, 1, length($1) + 1) = $1 || '/'
         ORDER BY f.path, r.name",
    )
    .bind(&under)
    .fetch_all(store.pool())
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
pub(crate) async fn versions(store: &B, id: Uuid) -> Result<Vec<RunbookVersionInfo>, StoreError> {
    let rows = sqlx::query(
        "SELECT version, created_at, created_by FROM runbook_versions WHERE runbook_id = $1 ORDER BY version DESC",
    )
    .bind(id)
    .fetch_all(store.pool())
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

/// Locks a runbook for `user`; another user's lock is a conflict naming them. One statement
/// takes a free lock (or finds it `user`'s); only a refusal reads who holds it.
pub(crate) async fn check_out(store: &B, id: Uuid, user: &str) -> Result<(), StoreError> {
    loop {
        let taken = sqlx::query(
            "UPDATE runbooks SET checked_out_by = $2 WHERE id = $1 AND (checked_out_by IS NULL OR checked_out_by = $2)",
        )
        .bind(id)
        .bind(user)
        .execute(store.pool())
        .await?;
        if taken.rows_affected() == 1 {
            return Ok(());
        }
        match lock_holder(store, id).await? {
            (name, Some(holder)) => return Err(checked_out(&name, &holder)),
            // Released in between: try again.
            (_, None) => continue,
        }
    }
}

/// Releases `user`'s lock, or anyone's with `force`.
pub(crate) async fn undo_check_out(store: &B, id: Uuid, user: &str, force: bool) -> Result<(), StoreError> {
    let released = sqlx::query(
        "UPDATE runbooks SET checked_out_by = NULL
         WHERE id = $1 AND (checked_out_by IS NULL OR checked_out_by = $2 OR $3)",
    )
    .bind(id)
    .bind(user)
    .bind(force)
    .execute(store.pool())
    .await?;
    if released.rows_affected() == 1 {
        return Ok(());
    }
    match lock_holder(store, id).await? {
        (name, Some(holder)) => Err(checked_out(&name, &holder)),
        (_, None) => Ok(()),
    }
}

/// The runbook's name and who has it checked out.
async fn lock_holder(store: &B, id: Uuid) -> Result<(String, Option<String>), StoreError> {
    sqlx::query_as("SELECT name, checked_out_by FROM runbooks WHERE id = $1")
        .bind(id)
        .fetch_optional(store.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("runbook {id}")))
}

/// The id to store for a parameter or activity: the given one, else the one the same name had in
/// the previous version (so identities survive edits), else a new one.
async fn keep_id(
    conn: &mut Connection,
    given: Option<Uuid>,
    previous_sql: &'static str,
    runbook_id: Uuid,
    version: i64,
    name: &str,
) -> Result<Uuid, StoreError> {
    if let Some(id) = given {
        return Ok(id);
    }
    if version == 1 {
        return Ok(Uuid::now_v7());
    }
    let previous: Option<Uuid> = sqlx::query_scalar(previous_sql)
        .bind(runbook_id)
        .bind(version - 1)
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(previous.unwrap_or_else(Uuid::now_v7))
}
