//! Folders: the tree that holds runbooks and carries permissions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use scorch_store::Role;
use serde_json::json;

use super::parse::{folder_path, parent_folder};
use super::wire::{FolderItem, NewFolder};
use crate::api::audit::record;
use crate::api::{ApiError, AppState, Caller, Json};

/// `GET /api/v1/folders`: the folders the caller may see, by path.
pub(super) async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<FolderItem>>, ApiError> {
    let mut folders: Vec<FolderItem> = state
        .store
        .folders()
        .await?
        .into_iter()
        .filter(|f| caller.can_see(&f.path))
        .map(|f| FolderItem { id: f.id, path: f.path })
        .collect();
    folders.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Json(folders))
}

/// `POST /api/v1/folders {path}`: creates a folder (and missing parents). Needs Admin on the
/// parent; an existing folder is a 409.
pub(super) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewFolder>,
) -> Result<(StatusCode, Json<FolderItem>), ApiError> {
    let path = folder_path(&body.path)?;
    if path.is_empty() {
        return Err(ApiError::bad_request(
            "the root folder always exists; name a folder to create",
        ));
    }
    caller.require(parent_folder(&path), Role::Admin)?;
    if state.store.folders().await?.iter().any(|f| f.path == path) {
        return Err(ApiError::conflict(format!("folder '{path}' already exists")));
    }
    let id = state.store.ensure_folder(&path).await?;
    record(
        &state,
        &caller,
        "folder.create",
        "folder",
        Some(id),
        json!({ "path": path }),
    )
    .await;
    Ok((StatusCode::CREATED, Json(FolderItem { id, path })))
}

/// `DELETE /api/v1/folders/{path}`: deletes an empty folder. Needs Admin on it.
pub(super) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<String>,
) -> Result<StatusCode, ApiError> {
    let path = folder_path(&path)?;
    if path.is_empty() {
        return Err(ApiError::bad_request("the root folder cannot be deleted"));
    }
    caller.require(&path, Role::Admin)?;
    let folder = state.store.folders().await?.into_iter().find(|f| f.path == path);
    let Some(folder) = folder else {
        return Err(ApiError::not_found(format!("folder '{path}' not found")));
    };
    state.store.delete_folder(&path).await?;
    record(
        &state,
        &caller,
        "folder.delete",
        "folder",
        Some(folder.id),
        json!({ "path": path }),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
