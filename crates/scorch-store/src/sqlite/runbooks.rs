//! Folders, runbooks and their versions.

use std::collections::HashSet;
use std::fmt::Display;
use std::hash::Hash;

use jiff::Timestamp;
use sqlx::Row as _;
use sqlx::sqlite::SqliteConnection;
use uuid::Uuid;

use super::{SqliteStore, from_json, micros, timestamp, to_json};
use scorch_model::Plan;

use crate::{ActivitySpec, ParameterSpec, Runbook, RunbookActivity, RunbookParameter, SaveRunbook, StoreError};

const SELECT_RUNBOOK: &str = "SELECT r.name, r.latest_version, r.checked_out_by, f.path, v.version, v.definition,
         v.source, v.created_at, v.created_by
     FROM runbooks r
     JOIN folders f ON f.id = r.folder_id
     JOIN runbook_versions v ON v.runbook_id = r.id AND v.version = COALESCE(?, r.latest_version)
     WHERE r.id = ?";

const PREVIOUS_PARAMETER_ID: &str =
    "SELECT id FROM runbook_parameters WHERE runbook_id = ? AND version = ? AND name = ?";
const PREVIOUS_ACTIVITY_ID: &str =
    "SELECT id FROM runbook_activities WHERE runbook_id = ? AND version = ? AND activity_key = ?";

impl SqliteStore {
    /// The folder at `path` ('/'-separated, "" for the root), created with its parents if missing.
    pub async fn ensure_folder(&self, path: &str) -> Result<Uuid, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let id = ensure_folder_in(&mut tx, path).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Saves a new version of a runbook and returns its id and version (1 for a new runbook).
    /// Given ids are kept; a runbook saved under a new folder or name moves there.
    pub async fn save_runbook(&self, save: SaveRunbook<'_>) -> Result<(Uuid, i64), StoreError> {
        let name = save.name.trim();
        if name.is_empty() {
            return Err(StoreError::Invalid("a runbook needs a name".into()));
        }
        check_unique("parameter name", save.parameters.iter().map(|p| p.name.as_str()))?;
        check_unique("parameter id", save.parameters.iter().filter_map(|p| p.id))?;
        check_unique("activity id", save.activities.iter().map(|a| a.key.as_str()))?;
        check_unique("activity UUID", save.activities.iter().filter_map(|a| a.id))?;
        let definition = to_json(save.definition)?;

        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let folder_id = ensure_folder_in(&mut tx, save.folder).await?;
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
        let previous: Option<i64> = sqlx::query_scalar("SELECT latest_version FROM runbooks WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let version = previous.map_or(1, |v| v + 1);
        let runbook_sql = if previous.is_some() {
            "UPDATE runbooks SET folder_id = ?, name = ?, latest_version = ? WHERE id = ?"
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
            "INSERT INTO runbook_versions (runbook_id, version, definition, source, created_at, created_by)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(version)
        .bind(definition)
        .bind(save.source)
        .bind(micros(Timestamp::now()))
        .bind(save.author)
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

    /// The latest version of a runbook.
    pub async fn runbook(&self, id: Uuid) -> Result<Runbook, StoreError> {
        self.load_runbook(id, None).await
    }

    /// One version of a runbook (what a job runs).
    pub async fn runbook_version(&self, id: Uuid, version: i64) -> Result<Runbook, StoreError> {
        self.load_runbook(id, Some(version)).await
    }

    /// The latest version of the runbook named `name` in `folder`.
    pub async fn runbook_by_path(&self, folder: &str, name: &str) -> Result<Runbook, StoreError> {
        let folder = folder_path(folder);
        let id: Option<Uuid> = sqlx::query_scalar(
            "SELECT r.id FROM runbooks r JOIN folders f ON f.id = r.folder_id WHERE f.path = ? AND r.name = ?",
        )
        .bind(&folder)
        .bind(name.trim())
        .fetch_optional(&self.pool)
        .await?;
        let id = id.ok_or_else(|| StoreError::NotFound(format!("runbook '{}' in folder '{folder}'", name.trim())))?;
        self.runbook(id).await
    }

    async fn load_runbook(&self, id: Uuid, version: Option<i64>) -> Result<Runbook, StoreError> {
        let row = sqlx::query(SELECT_RUNBOOK)
            .bind(version)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let row = row.ok_or_else(|| match version {
            Some(version) => StoreError::NotFound(format!("runbook {id} version {version}")),
            None => StoreError::NotFound(format!("runbook {id}")),
        })?;
        let version: i64 = row.try_get("version")?;
        let parameters = sqlx::query(
            "SELECT id, name, type, default_value FROM runbook_parameters
             WHERE runbook_id = ? AND version = ? ORDER BY position",
        )
        .bind(id)
        .bind(version)
        .fetch_all(&self.pool)
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
        .fetch_all(&self.pool)
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
        Ok(Runbook {
            id,
            folder: row.try_get("path")?,
            name: row.try_get("name")?,
            version,
            latest_version: row.try_get("latest_version")?,
            checked_out_by: row.try_get("checked_out_by")?,
            definition: from_json(row.try_get("definition")?, "runbook definition")?,
            source: row.try_get("source")?,
            created_at: timestamp(row.try_get("created_at")?)?,
            created_by: row.try_get("created_by")?,
            parameters,
            activities,
        })
    }
}

/// The canonical form of a folder path: trimmed names joined by '/', "" for the root.
fn folder_path(path: &str) -> String {
    path.split('/')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

async fn ensure_folder_in(conn: &mut SqliteConnection, path: &str) -> Result<Uuid, StoreError> {
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

fn check_unique<T: Eq + Hash + Display>(what: &str, items: impl Iterator<Item = T>) -> Result<(), StoreError> {
    let mut seen = HashSet::new();
    for item in items {
        if let Some(duplicate) = seen.replace(item) {
            return Err(StoreError::Invalid(format!("{what} '{duplicate}' appears twice")));
        }
    }
    Ok(())
}

impl SqliteStore {
    /// Saves a checked runbook as a new version, keeping the UUIDs its file carries (`uuid`
    /// keys from an import). Returns the runbook's id and the version made.
    pub async fn save_plan(&self, plan: &Plan, source: &str, author: &str) -> Result<(Uuid, i64), StoreError> {
        let rb = &plan.runbook;
        let definition = serde_json::to_value(rb).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let uuid = |text: &Option<String>| text.as_deref().and_then(|t| Uuid::parse_str(t).ok());
        let parameters = plan
            .parameters
            .iter()
            .map(|p| ParameterSpec {
                id: uuid(&p.uuid),
                name: p.name.clone(),
                type_name: p.ty.clone(),
                default: p.default.as_ref().map(scorch_model::template::value_text),
            })
            .collect();
        let activities = rb
            .activities
            .iter()
            .map(|a| ActivitySpec {
                id: uuid(&a.uuid),
                key: a.id.clone(),
                name: a.display_name().to_string(),
                type_name: a.ty.clone(),
            })
            .collect();
        self.save_runbook(SaveRunbook {
            id: None,
            folder: rb.folder.as_deref().unwrap_or(""),
            name: &rb.name,
            definition: &definition,
            source,
            parameters,
            activities,
            author,
        })
        .await
    }
}
