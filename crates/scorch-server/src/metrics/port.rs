//! A runbook server's own metrics port, off unless configured: its only listener (a runbook
//! server otherwise opens no port). It cannot check users, so scrapers send a token shared with
//! it; it serves this process's counters and the server's own load.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::text::encode_registry;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use super::database::{ServerLoad, register_servers};
use super::{CONTENT_TYPE as OPENMETRICS, Metrics, finish};
use crate::api::{ApiError, guarded};
use crate::auth::token_hash;
use crate::listener::Listener;
use crate::serve::HttpLimits;

/// The shortest token the port accepts: a guessable one would expose it.
pub const MIN_TOKEN_CHARS: usize = 16;

/// What the port serves.
pub struct MetricsPort {
    pub metrics: Arc<Metrics>,
    /// The token scrapers send (`Authorization: Bearer <token>`).
    pub token: String,
    /// The runbook server's name and capacity, for its load.
    pub server: String,
    pub max_instances: u32,
}

impl MetricsPort {
    /// Refuses a token too short to keep the port private.
    pub fn check_token(token: &str) -> Result<(), String> {
        match token.trim().chars().count() {
            0 => Err(
                "the runbook server's metrics port needs a token (--metrics-token or SCORCH_METRICS_TOKEN): \
                      it cannot check users, so scrapers send the token it is given"
                    .into(),
            ),
            n if n < MIN_TOKEN_CHARS => Err(format!(
                "--metrics-token: {n} characters is too short to keep the metrics port private; \
                 use at least {MIN_TOKEN_CHARS} (e.g. `openssl rand -hex 16`)"
            )),
            _ => Ok(()),
        }
    }
}

/// The port's one route: `GET /metrics`.
pub fn router(port: MetricsPort) -> Router {
    let routes = Router::new()
        .route("/metrics", get(metrics))
        .fallback(async || ApiError::not_found("no such route: this port serves GET /metrics only"))
        .with_state(Arc::new(port));
    guarded(routes)
}

/// Serves the port on `listener` until `shutdown`.
pub async fn serve(listener: impl Into<Listener>, port: MetricsPort, limits: HttpLimits, shutdown: CancellationToken) {
    crate::serve::serve(listener.into(), router(port), limits, shutdown).await;
}

async fn metrics(State(port): State<Arc<MetricsPort>>, headers: HeaderMap) -> Result<Response, ApiError> {
    let sent = crate::api::bearer(&headers)?;
    // Compared as hashes, so the time taken says nothing of how much of the token matched.
    if token_hash(sent) != token_hash(port.token.trim()) {
        return Err(ApiError::unauthenticated(
            "the token is not this runbook server's metrics token",
        ));
    }
    let mut out = String::with_capacity(8 * 1024);
    port.metrics.encode(&mut out);
    let mut registry = Registry::default();
    let load = ServerLoad {
        name: port.server.clone(),
        running: u32::try_from(port.metrics.running.get()).unwrap_or_default(),
        max_instances: port.max_instances,
        heartbeat_age: None,
    };
    register_servers(&mut registry, [load]);
    encode_registry(&mut out, &registry).expect("writing to a String cannot fail");
    Ok(([(CONTENT_TYPE, OPENMETRICS), (CACHE_CONTROL, "no-store")], finish(out)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_that_would_not_keep_the_port_private_are_refused() {
        assert!(MetricsPort::check_token("").unwrap_err().contains("needs a token"));
        assert!(MetricsPort::check_token("   ").unwrap_err().contains("needs a token"));
        assert!(
            MetricsPort::check_token("0123456789abcde")
                .unwrap_err()
                .contains("at least 16")
        );
        assert_eq!(MetricsPort::check_token("0123456789abcdef"), Ok(()));
    }
}
