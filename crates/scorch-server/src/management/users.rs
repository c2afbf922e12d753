//! Users, API tokens, folder grants, and password log-in. Administrators manage users; a folder
//! Admin may grant on their folder; anyone may manage their own tokens. Passwords are stored as
//! argon2 hashes and tokens as SHA-256: neither secret is ever returned, logged or audited.

use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::StatusCode;
use scorch_store::{Role, StoreError, User};
use serde_json::json;

use super::parse::{folder_path, parse_id};
use super::wire::{CreatedToken, GrantItem, NewToken, NewUser, RevokeGrant, SetGrant, TokenItem, UserItem};
use crate::api::Query;
use crate::api::audit::record;
use crate::api::names::{check_name, check_name_length};
use crate::api::{ApiError, AppState, Caller, Json};
use crate::auth::{MAX_PASSWORD, MIN_PASSWORD, hash_password_in_turn, new_token, token_hash};

const MAX_LABEL: usize = 200;

fn user_item(u: User) -> UserItem {
    UserItem {
        name: u.name,
        admin: u.admin,
        has_password: u.password_hash.is_some(),
        grants: u
            .grants
            .into_iter()
            .map(|g| GrantItem {
                folder: g.folder,
                role: g.role.as_str().to_string(),
            })
            .collect(),
    }
}

/// A user by name, or 404.
async fn find_user(state: &AppState, name: &str) -> Result<User, ApiError> {
    match state.store.user(name).await {
        Ok(u) => Ok(u),
        Err(StoreError::NotFound(_)) => Err(ApiError::not_found(format!("user '{name}' not found"))),
        Err(e) => Err(e.into()),
    }
}

/// Argon2 is slow on purpose: run it off the async workers, in turn.
async fn hash(password: String) -> Result<String, ApiError> {
    hash_password_in_turn(password).await.map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "hashing the password failed",
        )
    })
}

/// `GET /api/v1/users` (admin).
pub(super) async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<UserItem>>, ApiError> {
    caller.require_admin()?;
    let mut users: Vec<UserItem> = state.store.users().await?.into_iter().map(user_item).collect();
    users.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(users))
}

/// `GET /api/v1/users/{name}` (admin, or the user themself).
pub(super) async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<UserItem>, ApiError> {
    if name != caller.name() {
        caller.require_admin()?;
    }
    Ok(Json(user_item(find_user(&state, &name).await?)))
}

/// `POST /api/v1/users {name, password?, admin?}` (admin).
pub(super) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewUser>,
) -> Result<(StatusCode, Json<UserItem>), ApiError> {
    caller.require_admin()?;
    check_name("user", &body.name)?;
    let password_hash = match body.password {
        Some(password) => {
            let chars = password.chars().count();
            if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&chars) {
                return Err(ApiError::bad_request(format!(
                    "a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters"
                )));
            }
            Some(hash(password).await?)
        }
        None => None,
    };
    match state.store.user(&body.name).await {
        Ok(_) => return Err(ApiError::conflict(format!("user '{}' already exists", body.name))),
        Err(StoreError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let user = state
        .store
        .create_user(&body.name, password_hash.as_deref(), body.admin)
        .await?;
    let detail = json!({ "name": user.name, "admin": user.admin, "password": user.password_hash.is_some() });
    record(&state, &caller, "user.create", "user", Some(user.id), detail).await;
    Ok((StatusCode::CREATED, Json(user_item(user))))
}

/// `DELETE /api/v1/users/{name}` (admin; not oneself, so the last administrator cannot lock
/// everyone out by mistake).
pub(super) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    if name == caller.name() {
        return Err(ApiError::conflict(
            "you cannot delete yourself; another administrator can",
        ));
    }
    let user = find_user(&state, &name).await?;
    state.store.delete_user(&name).await?;
    record(
        &state,
        &caller,
        "user.delete",
        "user",
        Some(user.id),
        json!({ "name": name }),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Administrators manage everyone's tokens; others only their own.
fn require_self_or_admin(caller: &Caller, user: &str) -> Result<(), ApiError> {
    if user == caller.name() {
        Ok(())
    } else {
        caller.require_admin()
    }
}

/// `POST /api/v1/users/{name}/tokens {label}`: a new token, whose secret is shown this once.
pub(super) async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    require_self_or_admin(&caller, &name)?;
    if body.label.len() > MAX_LABEL || body.label.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "a token label has at most {MAX_LABEL} bytes and no control characters"
        )));
    }
    let user = find_user(&state, &name).await?;
    let token = new_token();
    let info = state
        .store
        .create_token(&user.name, &token_hash(&token), &body.label)
        .await?;
    record(
        &state,
        &caller,
        "token.create",
        "token",
        Some(info.id),
        json!({ "user": user.name, "label": info.label }),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            id: info.id,
            user: info.user,
            label: info.label,
            token,
        }),
    ))
}

/// `GET /api/v1/users/{name}/tokens`: the user's tokens, without secrets.
pub(super) async fn tokens(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Vec<TokenItem>>, ApiError> {
    require_self_or_admin(&caller, &name)?;
    let user = find_user(&state, &name).await?;
    let items = state
        .store
        .tokens(&user.name)
        .await?
        .into_iter()
        .map(|t| TokenItem {
            id: t.id,
            user: t.user,
            label: t.label,
            created_at: t.created_at.to_string(),
            revoked: t.revoked,
        })
        .collect();
    Ok(Json(items))
}

/// `DELETE /api/v1/tokens/{id}`: revokes a token (administrators: any; others: their own).
pub(super) async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, "token")?;
    if !caller.0.admin {
        let own = state.store.tokens(caller.name()).await?;
        if !own.iter().any(|t| t.id == id) {
            return Err(ApiError::forbidden(
                "you may revoke only your own tokens; an administrator can revoke any",
            ));
        }
    }
    state.store.revoke_token(id).await?;
    record(&state, &caller, "token.revoke", "token", Some(id), json!({})).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/grants {user, folder, role}`: needs Admin on the folder.
pub(super) async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<SetGrant>,
) -> Result<Json<UserItem>, ApiError> {
    let folder = folder_path(&body.folder)?;
    let role = Role::parse(&body.role).ok_or_else(|| {
        ApiError::bad_request(format!(
            "role '{}': use one of viewer, operator, author, admin",
            body.role
        ))
    })?;
    check_name_length("user", &body.user)?;
    caller.require(&folder, Role::Admin)?;
    let user = find_user(&state, &body.user).await?;
    existing_folder(&state, &caller, &folder).await?;
    state.store.grant(&user.name, &folder, role).await?;
    let detail = json!({ "user": user.name, "folder": folder, "role": role.as_str() });
    record(&state, &caller, "grant.set", "user", Some(user.id), detail).await;
    Ok(Json(user_item(find_user(&state, &user.name).await?)))
}

/// A grant's folder must exist (the root always does): a role on a mistyped folder would give
/// nothing, silently. The 404 suggests the nearest folders the caller can see.
async fn existing_folder(state: &AppState, caller: &Caller, folder: &str) -> Result<(), ApiError> {
    if folder.is_empty() {
        return Ok(());
    }
    let folders = state.store.folders().await?;
    if folders.iter().any(|f| f.path == folder) {
        return Ok(());
    }
    let visible: Vec<&str> = folders
        .iter()
        .map(|f| f.path.as_str())
        .filter(|p| !p.is_empty() && caller.can_see(p))
        .collect();
    let hint = match nearest(folder, &visible).as_slice() {
        [] => String::new(),
        near => format!(
            " (did you mean {}?)",
            near.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(" or ")
        ),
    };
    Err(ApiError::not_found(format!(
        "folder '{folder}' does not exist{hint}; create it with `scorch folder create {folder}`, then grant again"
    )))
}

/// Up to three of `names` near `wanted`: those it starts, or that start it, or a few edits away
/// (case aside), nearest first.
fn nearest<'a>(wanted: &str, names: &[&'a str]) -> Vec<&'a str> {
    let wanted = wanted.to_lowercase();
    let mut near: Vec<(usize, &str)> = names
        .iter()
        .filter_map(|name| {
            let lower = name.to_lowercase();
            let distance = scorch_model::names::edit_distance(&wanted, &lower);
            let prefix = lower.starts_with(&wanted) || wanted.starts_with(&lower);
            (prefix || distance <= (wanted.chars().count() / 3).max(2)).then_some((distance, *name))
        })
        .collect();
    near.sort();
    near.into_iter().take(3).map(|(_, name)| name).collect()
}

/// What `DELETE /api/v1/grants` names: a JSON body `{user, folder}`, or (as the CLI sends it)
/// the query string `?user=&folder=`, which wins when there is one.
pub(super) struct Revocation(RevokeGrant);

impl FromRequest<AppState> for Revocation {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        if request.uri().query().is_some_and(|q| !q.is_empty()) {
            let (mut parts, _) = request.into_parts();
            let Query(named) = Query::from_request_parts(&mut parts, state).await?;
            return Ok(Self(named));
        }
        let Json(named) = Json::from_request(request, state).await?;
        Ok(Self(named))
    }
}

/// `DELETE /api/v1/grants {user, folder}`: needs Admin on the folder.
pub(super) async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Revocation(named): Revocation,
) -> Result<Json<UserItem>, ApiError> {
    let folder = folder_path(&named.folder)?;
    check_name_length("user", &named.user)?;
    caller.require(&folder, Role::Admin)?;
    let user = find_user(&state, &named.user).await?;
    state.store.revoke(&user.name, &folder).await?;
    record(
        &state,
        &caller,
        "grant.revoke",
        "user",
        Some(user.id),
        json!({ "user": user.name, "folder": folder }),
    )
    .await;
    Ok(Json(user_item(find_user(&state, &user.name).await?)))
}

#[cfg(test)]
mod tests {
    use super::nearest;

    #[test]
    fn near_folders_are_typos_and_prefixes_nearest_first() {
        let folders = ["Ops", "Operations/Web", "Finance", "Opera"];
        assert_eq!(nearest("Operations", &folders), ["Operations/Web", "Opera"]);
        assert_eq!(nearest("finanse", &folders), ["Finance"]);
        assert!(nearest("Marketing", &folders).is_empty());
    }
}
