//! Users, their API tokens, and the roles granted to them on folders.

use std::collections::HashMap;

use sqlx::Row as _;
use sqlx::error::ErrorKind;
use sqlx::postgres::{PgConnection, PgRow};
use uuid::Uuid;

use super::folders::folder_path;
use super::{PgStore, timestamp};
use crate::{Grant, Role, StoreError, TokenInfo, User};

/// The columns [`user`] reads, followed by the query's own clauses.
macro_rules! select_user {
    ($clauses:literal) => {
        concat!("SELECT id, name, admin, password_hash FROM users ", $clauses)
    };
}

pub(super) async fn create(
    store: &PgStore,
    name: &str,
    password_hash: Option<&str>,
    admin: bool,
) -> Result<User, StoreError> {
    if name.trim().is_empty() {
        return Err(StoreError::Invalid("a user needs a name".into()));
    }
    let id = Uuid::now_v7();
    let inserted = sqlx::query(
        "INSERT INTO users (id, name, admin, password_hash, created_at) VALUES ($1, $2, $3, $4, scorch_now_us())",
    )
    .bind(id)
    .bind(name)
    .bind(admin)
    .bind(password_hash)
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
pub(super) async fn get(store: &PgStore, name: &str) -> Result<User, StoreError> {
    let mut conn = store.pool().acquire().await?;
    let row = sqlx::query(select_user!("WHERE name = $1"))
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| missing(name))?;
    with_grants(&mut conn, &row).await
}

/// Every user by name, with their grants.
pub(super) async fn list(store: &PgStore) -> Result<Vec<User>, StoreError> {
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

pub(super) async fn set_password(store: &PgStore, name: &str, password_hash: &str) -> Result<(), StoreError> {
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

/// Deletes a user with their tokens and grants.
pub(super) async fn delete(store: &PgStore, name: &str) -> Result<(), StoreError> {
    let mut tx = store.pool().begin().await?;
    let id: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE name = $1 FOR UPDATE")
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

pub(super) async fn create_token(
    store: &PgStore,
    user: &str,
    token_hash: &str,
    label: &str,
) -> Result<TokenInfo, StoreError> {
    let inserted = sqlx::query_as(
        "INSERT INTO tokens (id, user_id, hash, label, created_at)
         SELECT $1, u.id, $2, $3, scorch_now_us() FROM users u WHERE u.name = $4
         RETURNING id, created_at",
    )
    .bind(Uuid::now_v7())
    .bind(token_hash)
    .bind(label)
    .bind(user)
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

/// The user holding a token that exists and is not revoked.
/// One read (every request authenticates with it): the user and their grants, as two arrays.
pub(super) async fn token_user(store: &PgStore, token_hash: &str) -> Result<Option<User>, StoreError> {
    let row = sqlx::query(
        "SELECT u.id, u.name, u.admin, u.password_hash,
             ARRAY(SELECT g.folder FROM grants g WHERE g.user_id = u.id ORDER BY g.folder) AS grant_folders,
             ARRAY(SELECT g.role FROM grants g WHERE g.user_id = u.id ORDER BY g.folder) AS grant_roles
         FROM tokens t JOIN users u ON u.id = t.user_id
         WHERE t.hash = $1 AND NOT t.revoked",
    )
    .bind(token_hash)
    .fetch_optional(store.pool())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut user = user(&row)?;
    let folders: Vec<String> = row.try_get("grant_folders")?;
    let roles: Vec<String> = row.try_get("grant_roles")?;
    user.grants = folders
        .into_iter()
        .zip(roles)
        .map(|(folder, role)| {
            Ok(Grant {
                role: Role::parse(&role)
                    .ok_or_else(|| StoreError::Corrupt(format!("stored role '{role}' is unknown")))?,
                folder,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(Some(user))
}

/// A user's tokens, oldest first.
pub(super) async fn tokens(store: &PgStore, user: &str) -> Result<Vec<TokenInfo>, StoreError> {
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

pub(super) async fn revoke_token(store: &PgStore, id: Uuid) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE tokens SET revoked = true WHERE id = $1")
        .bind(id)
        .execute(store.pool())
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("token {id}")));
    }
    Ok(())
}

pub(super) async fn revoke_token_hash(store: &PgStore, token_hash: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE tokens SET revoked = true WHERE hash = $1")
        .bind(token_hash)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Grants `role` on a folder path (which need not exist yet), replacing the user's grant there.
pub(super) async fn grant_role(store: &PgStore, user: &str, folder: &str, role: Role) -> Result<(), StoreError> {
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

pub(super) async fn revoke_role(store: &PgStore, user: &str, folder: &str) -> Result<(), StoreError> {
    let folder = folder_path(folder);
    let mut conn = store.pool().acquire().await?;
    let user_id = user_id(&mut conn, user).await?;
    let done = sqlx::query("DELETE FROM grants WHERE user_id = $1 AND folder = $2")
        .bind(user_id)
        .bind(&folder)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!(
            "a grant to user '{user}' on folder '{folder}'"
        )));
    }
    Ok(())
}

async fn user_id(conn: &mut PgConnection, name: &str) -> Result<Uuid, StoreError> {
    sqlx::query_scalar("SELECT id FROM users WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| missing(name))
}

async fn with_grants(conn: &mut PgConnection, row: &PgRow) -> Result<User, StoreError> {
    let mut user = user(row)?;
    user.grants = sqlx::query("SELECT folder, role FROM grants WHERE user_id = $1 ORDER BY folder")
        .bind(user.id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(grant)
        .collect::<Result<_, _>>()?;
    Ok(user)
}

fn user(row: &PgRow) -> Result<User, StoreError> {
    Ok(User {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        admin: row.try_get("admin")?,
        password_hash: row.try_get("password_hash")?,
        grants: Vec::new(),
    })
}

fn grant(row: &PgRow) -> Result<Grant, StoreError> {
    let role: &str = row.try_get("role")?;
    Ok(Grant {
        folder: row.try_get("folder")?,
        role: Role::parse(role).ok_or_else(|| StoreError::Corrupt(format!("stored role '{role}' is unknown")))?,
    })
}

fn missing(name: &str) -> StoreError {
    StoreError::NotFound(format!("user '{name}'"))
}
