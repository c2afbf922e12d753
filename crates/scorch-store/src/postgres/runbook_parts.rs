//! A runbook version's parameters and activities inserted the PostgreSQL way, one statement for
//! each list whatever its length (the rest of saving, and reading, is in `crate::cold::runbooks`).

use sqlx::postgres::PgConnection;
use uuid::Uuid;

use crate::{SaveRunbook, StoreError};

pub(super) async fn insert_parts(
    conn: &mut PgConnection,
    id: Uuid,
    version: i64,
    save: &SaveRunbook<'_>,
    parameter_ids: &[Uuid],
    activity_ids: &[Uuid],
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO runbook_parameters (runbook_id, version, id, position, name, type, default_value)
         SELECT $1, $2, p.id, p.position::integer - 1, p.name, p.type, p.default_value
         FROM UNNEST($3::uuid[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY
             AS p(id, name, type, default_value, position)",
    )
    .bind(id)
    .bind(version)
    .bind(parameter_ids)
    .bind(save.parameters.iter().map(|p| p.name.as_str()).collect::<Vec<_>>())
    .bind(save.parameters.iter().map(|p| p.type_name.as_str()).collect::<Vec<_>>())
    .bind(save.parameters.iter().map(|p| p.default.as_deref()).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO runbook_activities (runbook_id, version, id, position, activity_key, name, type)
         SELECT $1, $2, a.id, a.position::integer - 1, a.activity_key, a.name, a.type
         FROM UNNEST($3::uuid[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY
             AS a(id, activity_key, name, type, position)",
    )
    .bind(id)
    .bind(version)
    .bind(activity_ids)
    .bind(save.activities.iter().map(|a| a.key.as_str()).collect::<Vec<_>>())
    .bind(save.activities.iter().map(|a| a.name.as_str()).collect::<Vec<_>>())
    .bind(save.activities.iter().map(|a| a.type_name.as_str()).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
