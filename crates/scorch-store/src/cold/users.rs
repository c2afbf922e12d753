//! Users, their API tokens, and the roles granted to them on folders.

use std::collections::HashMap;

use sqlx::Row as _;
use sqlx::error::ErrorKind;
use uuid::Uuid;

use super::folders::folder_path;
use super::{B, Connection, Row};
use crate::backend::Backend;
use crate::codec::{from_json, timestamp};
use crate::{Grant, Role, StoreError, TokenInfo, User};

/// The columns [`user`] reads, followed by the query's own clauses.
macro_rules! select_user {
    ($clauses:literal) => {
        concat!("SELECT id, name, admin, password_hash FROM users ", $clauses)
    };
}

pub(crate) async fn create(
    store: &B,
    name: &str,
    password_hash: Option<&str>,
    admin: bool,
) -> Result<User, StoreError> {
    if name.trim().is_empty() {
        return Err(StoreError::Invalid("a user needs a name".into()));
    }
    let id = Uuid::now_v7();
    let inserted = sqlx::query(B::INSERT_USER)
        .bind(id)
        .bind(name)
        .bind(admin)
        .bind(password_hash)
        .bind(B::now())
        .execute(store.pool())
        .await;
    match inserted {
        Err(sqlx::Error::Database(db)) if db.kind() == ErrorKind::UniqueViolation => {
            Err(StoreError::Conflict(format!("user '{name}' already exists")))
        }
        Err(err) => Err(err.into()),
        Ok(_) => Ok(User {
            id,
            name: name.to_string(),
            admin,
            password_hash: password_hash.map(str::to_string),
            grants: Vec::new(),
        }),
    }
}

/// A user with their grants.
pub(crate) async fn get(store: &B, name: &str) -> Result<User, StoreError> {
    let mut conn = store.pool().acquire().await?;
    let row = sqlx::query(select_user!("WHERE name = $1"))
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| missing(name))?;
    let mut user = user(&row)?;
    user.grants = sqlx::query("SELECT folder, role FROM grants WHERE user_id = $1 ORDER BY folder")
        .bind(user.id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(grant)
        .collect::<Result<_, _>>()?;
    Ok(user)
}

/// Every user by name, with their grants.
pub(crate) async fn list(store: &B) -> Result<Vec<User>, StoreError> {
    let users = sqlx::query(select_user!("ORDER BY name"))
        .fetch_all(store.pool())
        .await?;
    let mut grants: HashMap<Uuid, Vec<Grant>> = HashMap::new();
    for row in sqlx::query("SELECT user_id, folder, role FROM grants ORDER BY folder")
        .fetch_all(store.pool())
        .await?
    {
        grants.entry(row.try_get("user_id")?).or_default().push(grant(&row)?);
    }
    users
        .iter()
        .map(|row| {
            let mut user = user(row)?;
            user.grants = grants.remove(&user.id).unwrap_or_default();
            Ok(user)
        })
        .collect()
}

pub(crate) async fn set_password(store: &B, name: &str, password_hash: &str) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE name = $2")
        .bind(password_hash)
        .bind(name)
        .execute(store.pool())
        .await?;
    if done.rows_affected() == 0 {
        return Err(missing(name));
    }
    Ok(())
}

/// Makes a user a system administrator, or no longer one.
pub(crate) async fn set_admin(store: &B, name: &str, admin: bool) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE users SET admin = $1 WHERE name = $2")
        .bind(admin)
        .bind(name)
        .execute(store.pool())
        .await?;
    if done.rows_affected() == 0 {
        return Err(missing(name));
    }
    Ok(())
}

/// Deletes a user with their tokens and grants.
pub(crate) async fn delete(store: &B, name: &str) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    let id: Uuid = sqlx::query_scalar(B::LOCK_USER)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| missing(name))?;
    for sql in [
        "DELETE FROM tokens WHERE user_id = $1",
        "DELETE FROM grants WHERE user_id = $1",
        "DELETE FROM users WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Creates a token in one statement, which finds the user too.
pub(crate) async fn create_token(
    store: &B,
    user: &str,
    token_hash: &str,
    label: &str,
) -> Result<TokenInfo, StoreError> {
    let inserted = sqlx::query_as(B::INSERT_TOKEN)
        .bind(Uuid::now_v7())
        .bind(token_hash)
        .bind(label)
        .bind(user)
        .bind(B::now())
        .fetch_optional(store.pool())
        .await;
    let (id, created_at): (Uuid, i64) = match inserted {
        Ok(Some(row)) => row,
        Ok(None) => return Err(missing(user)),
        Err(sqlx::Error::Database(db)) if db.kind() == ErrorKind::UniqueViolation => {
            return Err(StoreError::Conflict("a token with the same hash already exists".into()));
        }
        Err(err) => return Err(err.into()),
    };
    Ok(TokenInfo {
        id,
        user: user.to_string(),
        label: label.to_string(),
        created_at: timestamp(created_at)?,
        revoked: false,
    })
}

/// The user holding a token that exists and is not revoked. One statement, the grants as a JSON
/// list: every API request authenticates with it.
pub(crate) async fn token_user(store: &B, token_hash: &str) -> Result<Option<User>, StoreError> {
    let row = sqlx::query(B::TOKEN_USER)
        .bind(token_hash)
        .fetch_optional(store.pool())
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut user = user(&row)?;
    let grants: Vec<(String, String)> = from_json(row.try_get("grants")?, "grants")?;
    user.grants = grants
        .into_iter()
        .map(|(folder, role)| {
            Ok(Grant {
                folder,
                role: role_of(&role)?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    user.grants.sort_by(|a, b| a.folder.cmp(&b.folder));
    Ok(Some(user))
}

/// A user's tokens, oldest first.
pub(crate) async fn tokens(store: &B, user: &str) -> Result<Vec<TokenInfo>, StoreError> {
    let mut conn = store.pool().acquire().await?;
    let user_id = user_id(&mut conn, user).await?;
    let rows: Vec<(Uuid, String, i64, bool)> =
        sqlx::query_as("SELECT id, label, created_at, revoked FROM tokens WHERE user_id = $1 ORDER BY created_at, id")
            .bind(user_id)
            .fetch_all(&mut *conn)
            .await?;
    rows.into_iter()
        .map(|(id, label, created_at, revoked)| {
            Ok(TokenInfo {
                id,
                user: user.to_string(),
                label,
                created_at: timestamp(created_at)?,
                revoked,
            })
        })
        .collect()
}

pub(crate) async fn revoke_token(store: &B, id: Uuid) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE tokens SET revoked = true WHERE id = $1")
        .bind(id)
        .execute(store.pool())
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("token {id}")));
    }
    Ok(())
}

pub(crate) async fn revoke_token_hash(store: &B, token_hash: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE tokens SET revoked = true WHERE hash = $1")
        .bind(token_hash)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Grants `role` on a folder path (which need not exist yet), replacing the user's grant there.
/// One statement, which finds the user too.
pub(crate) async fn grant_role(store: &B, user: &str, folder: &str, role: Role) -> Result<(), StoreError> {
    // The WHERE clause also tells SQLite that ON CONFLICT is the upsert's, not a join's.
    let done = sqlx::query(
        "INSERT INTO grants (user_id, folder, role) SELECT u.id, $2, $3 FROM users u WHERE u.name = $1
         ON CONFLICT (user_id, folder) DO UPDATE SET role = excluded.role",
    )
    .bind(user)
    .bind(folder_path(folder))
    .bind(role.as_str())
    .execute(store.pool())
    .await?;
    if done.rows_affected() == 0 {
        return Err(missing(user));
    }
    Ok(())
}

pub(crate) async fn revoke_role(store: &B, user: &str, folder: &str) -> Result<(), StoreError> {
    let folder = folder_path(folder);
    let mut tx = store.begin_write().await?;
    let user_id = user_id(&mut tx, user).await?;
    let done = sqlx::query("DELETE FROM grants WHERE user_id = $1 AND folder = $2")
        .bind(user_id)
        .bind(&folder)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!(
            "a grant to user '{user}' on folder '{folder}'"
        )));
    }
    tx.commit().await?;
    Ok(())
}

async fn user_id(conn: &mut Connection, name: &str) -> Result<Uuid, StoreError> {
    sqlx::query_scalar("SELECT id FROM users WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| missing(name))
}

fn user(row: &Row) -> Result<User, StoreError> {
    Ok(User {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        admin: row.try_get("admin")?,
        password_hash: row.try_get("password_hash")?,
        grants: Vec::new(),
    })
}

fn grant(row: &Row) -> Result<Grant, StoreError> {
    Ok(Grant {
        folder: row.try_get("folder")?,
        role: role_of(row.try_get("role")?)?,
    })
}

fn role_of(text: &str) -> Result<Role, StoreError> {
    Role::parse(text).ok_or_else(|| StoreError::Corrupt(format!("stored role '{text}' is unknown")))
}

fn missing(name: &str) -> StoreError {
    StoreError::NotFound(format!("user '{name}'"))
}
