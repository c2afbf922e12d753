//! A runbook version's parameters and activities inserted the SQLite way, a statement each (the
//! rest of saving, and reading, is in `crate::cold::runbooks`).

use sqlx::sqlite::SqliteConnection;
use uuid::Uuid;

use crate::{SaveRunbook, StoreError};

pub(super) async fn insert_parts(
    conn: &mut SqliteConnection,
    id: Uuid,
    version: i64,
    save: &SaveRunbook<'_>,
    parameter_ids: &[Uuid],
    activity_ids: &[Uuid],
) -> Result<(), StoreError> {
    for (position, (parameter, parameter_id)) in save.parameters.iter().zip(parameter_ids).enumerate() {
        sqlx::query(
            "INSERT INTO runbook_parameters (runbook_id, version, id, position, name, type, default_value)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(version)
        .bind(parameter_id)
        .bind(position as i64)
        .bind(&parameter.name)
        .bind(&parameter.type_name)
        .bind(parameter.default.as_deref())
        .execute(&mut *conn)
        .await?;
    }
    for (position, (activity, activity_id)) in save.activities.iter().zip(activity_ids).enumerate() {
        sqlx::query(
            "INSERT INTO runbook_activities (runbook_id, version, id, position, activity_key, name, type)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(version)
        .bind(activity_id)
        .bind(position as i64)
        .bind(&activity.key)
        .bind(&activity.name)
        .bind(&activity.type_name)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
