//! The folder tree that holds runbooks (and that permissions attach to).

use sqlx::Row as _;
use sqlx::sqlite::SqliteConnection;
use uuid::Uuid;

use super::SqliteStore;
use crate::{Folder, StoreError};

pub(super) async fn ensure(store: &SqliteStore, path: &str) -> Result<Uuid, StoreError> {
    let mut tx = store.pool.begin_with("BEGIN IMMEDIATE").await?;
    let id = ensure_in(&mut tx, path).await?;
    tx.commit().await?;
    Ok(id)
}

pub(super) async fn list(store: &SqliteStore) -> Result<Vec<Folder>, StoreError> {
    let rows = sqlx::query("SELECT id, path, parent_id FROM folders ORDER BY path")
        .fetch_all(&store.pool)
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
pub(super) async fn delete(store: &SqliteStore, path: &str) -> Result<(), StoreError> {
    let path = folder_path(path);
    if path.is_empty() {
        return Err(StoreError::Invalid("the root folder cannot be deleted".into()));
    }
    let mut tx = store.pool.begin_with("BEGIN IMMEDIATE").await?;
    let id: Uuid = sqlx::query_scalar("SELECT id FROM folders WHERE path = ?")
        .bind(&path)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("folder '{path}'")))?;
    let (folders, runbooks): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM folders WHERE parent_id = ?1), (SELECT COUNT(*) FROM runbooks WHERE folder_id = ?1)",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    if folders > 0 || runbooks > 0 {
        return Err(StoreError::Conflict(format!(
            "folder '{path}' is not empty: it holds {folders} folder(s) and {runbooks} runbook(s)"
        )));
    }
    sqlx::query("DELETE FROM grants WHERE folder = ?")
        .bind(&path)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM folders WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The canonical form of a folder path: trimmed names joined by '/', "" for the root.
pub(super) fn folder_path(path: &str) -> String {
    path.split('/')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

/// The folder at `path`, created with its parents if missing, inside the caller's transaction.
pub(super) async fn ensure_in(conn: &mut SqliteConnection, path: &str) -> Result<Uuid, StoreError> {
    let mut id = folder_in(conn, None, "", "").await?;
    let mut current = String::new();
    for name in folder_path(path).split('/').filter(|name| !name.is_empty()) {
        if !current.is_empty() {
            current.push('/');
        }
        current.push_str(name);
        id = folder_in(conn, Some(id), name, &current).await?;
    }
    Ok(id)
}

async fn folder_in(
    conn: &mut SqliteConnection,
    parent: Option<Uuid>,
    name: &str,
    path: &str,
) -> Result<Uuid, StoreError> {
    let existing = sqlx::query_scalar("SELECT id FROM folders WHERE path = ?")
        .bind(path)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO folders (id, parent_id, name, path) VALUES (?, ?, ?, ?)")
        .bind(id)
        .bind(parent)
        .bind(name)
        .bind(path)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}
