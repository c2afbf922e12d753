//! Counters changed the PostgreSQL way (the rest of the global settings is in
//! `super::cold::settings`).

use scorch_activity::{CounterOp, SettingsError};
use sqlx::Postgres;
use sqlx::pool::Pool;

use super::cold::settings::{Settings, not_found, unavailable};

/// A counter change in one statement: the row lock makes concurrent changes queue, each seeing the
/// value the one before wrote; the arithmetic is done in `numeric` and clamped, so it saturates as
/// the in-memory settings do. $1 name, $2 operation, $3 operand.
const MODIFY_COUNTER: &str = "UPDATE counters SET value = CASE $2
         WHEN 'set' THEN $3
         WHEN 'reset' THEN default_value
         ELSE GREATEST(-9223372036854775808::numeric, LEAST(9223372036854775807::numeric,
             value::numeric + CASE $2 WHEN 'increment' THEN $3::numeric ELSE -($3::numeric) END))::bigint
     END
     WHERE name = $1 RETURNING value";

/// Global settings on PostgreSQL, as activities see them: obtained from
/// [`Store::settings`](crate::Store::settings).
pub type PgSettings = Settings;

/// Changes a counter by `op`; its new value.
pub(super) async fn modify_counter(pool: &Pool<Postgres>, name: &str, op: CounterOp) -> Result<i64, SettingsError> {
    let (operation, operand) = match op {
        CounterOp::Set(value) => ("set", value),
        CounterOp::Increment(by) => ("increment", by),
        CounterOp::Decrement(by) => ("decrement", by),
        CounterOp::Reset => ("reset", 0),
    };
    sqlx::query_scalar(MODIFY_COUNTER)
        .bind(name)
        .bind(operation)
        .bind(operand)
        .fetch_optional(pool)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| not_found("counter", name))
}
