//! Users, their API tokens, and the roles granted to them on folders.

use std::collections::HashMap;

use jiff::Timestamp;
use sqlx::Row as _;
use sqlx::error::ErrorKind;
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use uuid::Uuid;

use super::folders::folder_path;
use super::{SqliteStore, from_json, micros, timestamp};
use crate::{Grant, Role, StoreError, TokenInfo, User};

/// The columns [`user`] reads, followed by the query's own clauses.
macro_rules! select_user {
    ($clauses:literal) => {
        concat!("SELECT id, name, admin, password_hash FROM users ", $clauses)
    };
}

pub(super) async fn create(
    store: &SqliteStore,
    name: &str,
    password_hash: Option<&str>,
    admin: bool,
) -> Result<User, StoreError> {
    if name.trim().is_empty() {
        return Err(StoreError::Invalid("a user needs a name".into()));
    }
    let id = Uuid::now_v7();
    let inserted = sqlx::query("INSERT INTO users (id, name, admin, password_hash, created_at) VALUES (?, ?, ?, ?, ?)")
        .bind(id)
        .bind(name)
        .bind(admin)
        .bind(password_hash)
        .bind(micros(Timestamp::now()))
        .execute(&store.pool)
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
pub(super) async fn get(store: &SqliteStore, name: &str) -> Result<User, StoreError> {
    let mut conn = store.pool.acquire().await?;
    let row = sqlx::query(select_user!("WHERE name = ?"))
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| missing(name))?;
    with_grants(&mut conn, &row).await
}

/// Every user by name, with their grants.
pub(super) async fn list(store: &SqliteStore) -> Result<Vec<User>, StoreError> {
    let users = sqlx::query(select_user!("ORDER BY name"))
        .fetch_all(&store.pool)
        .await?;
    let mut grants: HashMap<Uuid, Vec<Grant>> = HashMap::new();
    for row in sqlx::query("SELECT user_id, folder, role FROM grants ORDER BY folder")
        .fetch_all(&store.pool)
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

pub(super) async fn set_password(store: &SqliteStore, name: &str, password_hash: &str) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE users SET password_hash = ? WHERE name = ?")
        .bind(password_hash)
        .bind(name)
        .execute(&store.pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(missing(name));
    }
    Ok(())
}

/// Deletes a user with their tokens and grants.
pub(super) async fn delete(store: &SqliteStore, name: &str) -> Result<(), StoreError> {
    let mut tx = store.pool.begin_with("BEGIN IMMEDIATE").await?;
    let id = user_id(&mut tx, name).await?;
    for sql in [
        "DELETE FROM tokens WHERE user_id = ?",
        "DELETE FROM grants WHERE user_id = ?",
        "DELETE FROM users WHERE id = ?",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn create_token(
    store: &SqliteStore,
    user: &str,
    token_hash: &str,
    label: &str,
) -> Result<TokenInfo, StoreError> {
    let mut tx = store.pool.begin_with("BEGIN IMMEDIATE").await?;
    let user_id = user_id(&mut tx, user).await?;
    let (id, created_at) = (Uuid::now_v7(), micros(Timestamp::now()));
    let inserted = sqlx::query("INSERT INTO tokens (id, user_id, hash, label, created_at) VALUES (?, ?, ?, ?, ?)")
        .bind(id)
        .bind(user_id)
        .bind(token_hash)
        .bind(label)
        .bind(created_at)
        .execute(&mut *tx)
        .await;
    match inserted {
        Err(sqlx::Error::Database(db)) if db.kind() == ErrorKind::UniqueViolation => {
            return Err(StoreError::Conflict("a token with the same hash already exists".into()));
        }
        other => other?,
    };
    tx.commit().await?;
    Ok(TokenInfo {
        id,
        user: user.to_string(),
        label: label.to_string(),
        created_at: timestamp(created_at)?,
        revoked: false,
    })
}

/// The user holding a token that exists and is not revoked.
pub(super) async fn token_user(store: &SqliteStore, token_hash: &str) -> Result<Option<User>, StoreError> {
    // One statement, the grants as a JSON list: this runs for every API request.
    let row = sqlx::query(
        "SELECT u.id, u.name, u.admin, u.password_hash,
             (SELECT json_group_array(json_array(g.folder, g.role)) FROM grants g WHERE g.user_id = u.id) AS grants
         FROM tokens t JOIN users u ON u.id = t.user_id
         WHERE t.hash = ? AND t.revoked = 0",
    )
    .bind(token_hash)
    .fetch_optional(&store.pool)
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
pub(super) async fn tokens(store: &SqliteStore, user: &str) -> Result<Vec<TokenInfo>, StoreError> {
    let mut conn = store.pool.acquire().await?;
    let user_id = user_id(&mut conn, user).await?;
    let rows: Vec<(Uuid, String, i64, bool)> =
        sqlx::query_as("SELECT id, label, created_at, revoked FROM tokens WHERE user_id = ? ORDER BY created_at, id")
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

pub(super) async fn revoke_token(store: &SqliteStore, id: Uuid) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE tokens SET revoked = 1 WHERE id = ?")
        .bind(id)
        .execute(&store.pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("token {id}")));
    }
    Ok(())
}

pub(super) async fn revoke_token_hash(store: &SqliteStore, token_hash: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE tokens SET revoked = 1 WHERE hash = ?")
        .bind(token_hash)
        .execute(&store.pool)
        .await?;
    Ok(())
}

/// Grants `role` on a folder path (which need not exist yet), replacing the user's grant there.
pub(super) async fn grant_role(store: &SqliteStore, user: &str, folder: &str, role: Role) -> Result<(), StoreError> {
    let mut tx = store.pool.begin_with("BEGIN IMMEDIATE").await?;
    let user_id = user_id(&mut tx, user).await?;
    sqlx::query(
        "INSERT INTO grants (user_id, folder, role) VALUES (?, ?, ?)
         ON CONFLICT (user_id, folder) DO UPDATE SET role = excluded.role",
    )
    .bind(user_id)
    .bind(folder_path(folder))
    .bind(role.as_str())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn revoke_role(store: &SqliteStore, user: &str, folder: &str) -> Result<(), StoreError> {
    let folder = folder_path(folder);
    let mut tx = store.pool.begin_with("BEGIN IMMEDIATE").await?;
    let user_id = user_id(&mut tx, user).await?;
    let done = sqlx::query("DELETE FROM grants WHERE user_id = ? AND folder = ?")
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

async fn user_id(conn: &mut SqliteConnection, name: &str) -> Result<Uuid, StoreError> {
    sqlx::query_scalar("SELECT id FROM users WHERE name = ?")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| missing(name))
}

async fn with_grants(conn: &mut SqliteConnection, row: &SqliteRow) -> Result<User, StoreError> {
    let mut user = user(row)?;
    user.grants = sqlx::query("SELECT folder, role FROM grants WHERE user_id = ? ORDER BY folder")
        .bind(user.id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(grant)
        .collect::<Result<_, _>>()?;
    Ok(user)
}

fn user(row: &SqliteRow) -> Result<User, StoreError> {
    Ok(User {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        admin: row.try_get("admin")?,
        password_hash: row.try_get("password_hash")?,
        grants: Vec::new(),
    })
}

fn grant(row: &SqliteRow) -> Result<Grant, StoreError> {
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
