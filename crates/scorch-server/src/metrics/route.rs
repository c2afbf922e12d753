//! `GET /metrics` on the web service and management server: this process's counters and the
//! database's figures. Any signed-in user may read it: it shows only aggregates.

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use super::{CONTENT_TYPE as OPENMETRICS, finish};
use crate::api::{ApiError, AppState, Caller};

pub(crate) async fn metrics(_caller: Caller, State(state): State<AppState>) -> Result<Response, ApiError> {
    let Some(metrics) = &state.metrics else {
        return Err(ApiError::not_found(
            "metrics are off on this server (started with --no-metrics or [metrics] enabled = false)",
        ));
    };
    let mut out = String::with_capacity(16 * 1024);
    metrics.encode(&mut out);
    super::database::encode(&mut out, state.store.as_ref()).await?;
    Ok(([(CONTENT_TYPE, OPENMETRICS), (CACHE_CONTROL, "no-store")], finish(out)).into_response())
}
