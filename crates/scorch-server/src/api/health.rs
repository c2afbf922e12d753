//! `GET /health`: the one route without a token, for load balancers and monitors.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;

use super::json::Json;
use super::state::AppState;
use super::wire::Health;

/// A database that has not answered in this long counts as unavailable.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether the web service can work: 200 when the orchestration database answers, else 503.
#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health",
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "The database answers", body = Health),
        (status = 503, description = "The database does not answer", body = Health),
    )
)]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    match tokio::time::timeout(PING_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => (
            StatusCode::OK,
            Json(Health {
                status: "ok".into(),
                database: "ok".into(),
            }),
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health: the orchestration database does not answer");
            unavailable()
        }
        Err(_) => {
            tracing::warn!("health: the orchestration database did not answer within {PING_TIMEOUT:?}");
            unavailable()
        }
    }
}

fn unavailable() -> (StatusCode, Json<Health>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(Health {
            status: "unavailable".into(),
            database: "unavailable".into(),
        }),
    )
}
