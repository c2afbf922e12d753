//! `GET /api/v1/me` and `GET /api/v1/folders`: who the caller is and which folders it can see,
//! for the console's header, its permissions and its folder tree.

use std::collections::BTreeSet;

use axum::extract::State;

use super::wire::{FolderItem, FolderList, Grant, Me};
use crate::api::wire::ErrorBody;
use crate::api::{ApiError, AppState, Caller, Json};

/// The caller: its name, whether it is an administrator, and its roles by folder.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    operation_id = "get_me",
    tag = "session",
    responses(
        (status = 200, description = "The signed-in user", body = Me),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn me(caller: Caller) -> Json<Me> {
    let user = &caller.0;
    let grants = user
        .grants
        .iter()
        .map(|g| Grant {
            folder: g.folder.clone(),
            role: g.role.as_str().to_string(),
        })
        .collect();
    Json(Me {
        name: user.name.clone(),
        admin: user.admin,
        grants,
    })
}

/// The folders the caller can see, by path, with the folders above them (so a tree can be
/// drawn down to them).
#[utoipa::path(
    get,
    path = "/api/v1/folders",
    operation_id = "list_folders",
    tag = "runbooks",
    responses(
        (status = 200, description = "Visible folders, by path", body = FolderList),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn folders(State(state): State<AppState>, caller: Caller) -> Result<Json<FolderList>, ApiError> {
    let mut paths = BTreeSet::new();
    for folder in state.store.folders().await? {
        if folder.path.is_empty() || !caller.can_see(&folder.path) {
            continue;
        }
        let mut path = folder.path.as_str();
        while paths.insert(path.to_string()) {
            match path.rsplit_once('/') {
                Some((parent, _)) => path = parent,
                None => break,
            }
        }
    }
    let items = paths.into_iter().map(|path| FolderItem { path }).collect();
    Ok(Json(FolderList { items }))
}
