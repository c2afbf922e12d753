//! The folder tree that holds runbooks (and that permissions attach to).

use sqlx::Row as _;
use uuid::Uuid;

use super::{B, Connection};
use crate::backend::Backend;
use crate::{Folder, StoreError};

pub(crate) async fn ensure(store: &B, path: &str) -> Result<Uuid, StoreError> {
    let mut tx = store.begin_write().await?;
    let id = ensure_in(&mut tx, path).await?;
    tx.commit().await?;
    Ok(id)
}

pub(crate) async fn list(store: &B) -> Result<Vec<Folder>, StoreError> {
    let rows = sqlx::query("SELECT id, path, parent_id FROM folders ORDER BY path")
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Folder {
                id: row.try_get("id")?,
                path: row.try_get("path")?,
                parent_id: row.try_get("parent_id")?,
            })
        })
        .collect()
}

/// Deletes an empty folder, and the grants made on it (so that a folder made later at the same
/// path does not inherit them).
pub(crate) async fn delete(store: &B, path: &str) -> Result<(), StoreError> {
    let path = folder_path(path);
    if path.is_empty() {
        return Err(StoreError::Invalid("the root folder cannot be deleted".into()));
    }
    let mut tx = store.begin_write().await?;
    // Holding the folder keeps runbooks and subfolders from arriving while it is checked (on
    // PostgreSQL their inserts reference it, which waits for the row lock).
    let id: Uuid = sqlx::query_scalar(B::LOCK_FOLDER)
        .bind(&path)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("folder '{path}'")))?;
    let (folders, runbooks): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM folders WHERE parent_id = $1), (SELECT COUNT(*) FROM runbooks WHERE folder_id = $1)",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    if folders > 0 || runbooks > 0 {
        return Err(StoreError::Conflict(format!(
            "folder '{path}' is not empty: it holds {folders} folder(s) and {runbooks} runbook(s)"
        )));
    }
    sqlx::query("DELETE FROM grants WHERE folder = $1")
        .bind(&path)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM folders WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The canonical form of a folder path: trimmed names joined by '/', "" for the root.
pub(crate) fn folder_path(path: &str) -> String {
    path.split('/')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

/// The folder at `path`, created with its parents if missing, inside the caller's transaction.
/// Safe against concurrent creators: a folder another session creates first is found, not
/// duplicated.
pub(crate) async fn ensure_in(conn: &mut Connection, path: &str) -> Result<Uuid, StoreError> {
    let path = folder_path(path);
    let existing = sqlx::query_scalar("SELECT id FROM folders WHERE path = $1")
        .bind(&path)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let mut id = folder_in(conn, None, "", "").await?;
    let mut current = String::new();
    for name in path.split('/').filter(|name| !name.is_empty()) {
        if !current.is_empty() {
            current.push('/');
        }
        current.push_str(name);
        id = folder_in(conn, Some(id), name, &current).await?;
    }
    Ok(id)
}

async fn folder_in(conn: &mut Connection, parent: Option<Uuid>, name: &str, path: &str) -> Result<Uuid, StoreError> {
    let inserted = sqlx::query_scalar(
        "INSERT INTO folders (id, parent_id, name, path) VALUES ($1, $2, $3, $4)
         ON CONFLICT (path) DO NOTHING RETURNING id",
    )
    .bind(Uuid::now_v7())
    .bind(parent)
    .bind(name)
    .bind(path)
    .fetch_optional(&mut *conn)
    .await?;
    match inserted {
        Some(id) => Ok(id),
        None => Ok(sqlx::query_scalar("SELECT id FROM folders WHERE path = $1")
            .bind(path)
            .fetch_one(&mut *conn)
            .await?),
    }
}
