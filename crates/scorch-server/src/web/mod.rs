//! The REST web service (port 81): operations on runbooks, jobs, instances and runbook servers,
//! JSON under `/api/v1/`, an OpenAPI document at `/openapi.json`, a live event stream, Prometheus
//! metrics at `/metrics`, and an unauthenticated `/health`. Wire types ([`wire`]) are separate from the store's.
//!
//! Every route but `/health` takes a [`Caller`](crate::api::Caller) (bearer token), and what a
//! caller may see follows its roles on the runbooks' folders: a runbook in a folder it cannot
//! see does not exist for it (404, absent from lists).

mod access;
mod account;
mod audit;
mod convert;
mod events;
mod failures;
mod hooks;
mod ids;
mod instances;
mod jobs;
mod openapi;
mod platform_events;
mod runbooks;
mod servers;
mod settings;
mod shutdown;
mod triggers;
pub mod wire;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, put};
use axum::{Extension, Router};
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use jobs::{DEFAULT_WAIT_MS, MAX_WAIT_MS};
pub use openapi::{document as openapi_document, json as openapi_json};

use shutdown::Shutdown;

use crate::api::names::name_in_path;
use crate::api::settings as shared;
use crate::api::{ApiError, AppState, MAX_BODY_BYTES, guarded, health, session};
use crate::listener::Listener;
use crate::serve::HttpLimits;

/// The web service's routes on `state`, without CORS. Its event streams and waiting starts
/// end only with their clients: [`serve`] also ends them at shutdown.
pub fn router(state: AppState) -> Router {
    app(state, CancellationToken::new())
}

fn app(state: AppState, shutdown: CancellationToken) -> Router {
    let routes = Router::new()
        .route("/health", get(health::health))
        .route("/openapi.json", get(openapi::openapi))
        .route("/metrics", get(crate::metrics::route::metrics))
        .route("/api/v1/session", post(session::login).delete(session::logout))
        .route("/api/v1/me", get(account::me))
        .route("/api/v1/folders", get(account::folders))
        .route("/api/v1/runbooks", get(runbooks::list))
        .route("/api/v1/runbooks/{id}", get(runbooks::show))
        .route("/api/v1/runbooks/{id}/versions", get(runbooks::versions))
        .route("/api/v1/jobs", get(jobs::list).post(jobs::start))
        .route("/api/v1/jobs/{id}", get(jobs::show))
        .route("/api/v1/jobs/{id}/cancel", post(jobs::cancel))
        .route("/api/v1/jobs/{id}/rerun", post(jobs::rerun))
        .route("/api/v1/jobs/{id}/triggers", get(triggers::list))
        .route("/api/v1/instances", get(instances::list))
        .route("/api/v1/instances/{id}", get(instances::show))
        .route("/api/v1/instances/{id}/activities", get(instances::activities))
        .route("/api/v1/instances/{id}/activities/{seq}/output", get(instances::output))
        .route("/api/v1/instances/{id}/events", get(platform_events::list))
        .route("/api/v1/runbook-servers", get(servers::list))
        .route("/api/v1/hooks/{hook}", post(hooks::call))
        .route("/api/v1/events", get(events::stream))
        .route("/api/v1/variables", get(settings::variables))
        .route(
            "/api/v1/variables/{name}",
            put(shared::set_variable)
                .delete(shared::delete_variable)
                .route_layer(from_fn_with_state("variable", name_in_path)),
        )
        .route("/api/v1/counters", get(settings::counters))
        .route(
            "/api/v1/counters/{name}",
            put(shared::set_counter)
                .delete(shared::delete_counter)
                .route_layer(from_fn_with_state("counter", name_in_path)),
        )
        .route("/api/v1/groups", get(settings::groups))
        .route(
            "/api/v1/groups/{name}",
            put(shared::set_group)
                .delete(shared::delete_group)
                .route_layer(from_fn_with_state("computer group", name_in_path)),
        )
        .route("/api/v1/schedules", get(settings::schedules))
        .route(
            "/api/v1/schedules/{name}",
            get(shared::schedule)
                .put(shared::set_schedule)
                .delete(shared::delete_schedule)
                .route_layer(from_fn_with_state("schedule", name_in_path)),
        )
        .route("/api/v1/audit", get(audit::list))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(Extension(Shutdown(shutdown)))
        .with_state(state);
    guarded(routes)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route: the API is under /api/v1/ (see /openapi.json)")
}

/// Browsers may call the API from exactly these origins (the console's), no others.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| match HeaderValue::from_str(o.trim_end_matches('/')) {
            Ok(v) => Some(v),
            Err(_) => {
                tracing::warn!(origin = %o, "ignoring a console origin that is not a valid header value");
                None
            }
        })
        .collect();
    if allowed.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(allowed))
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// Serves the web service on `listener` until `shutdown`, then stops gracefully: it takes no new
/// connections, ends event streams and waiting starts, and lets requests in flight finish.
/// `console_origins` are the origins browsers may call from (CORS); `limits` bound what clients
/// may take.
pub async fn serve(
    listener: impl Into<Listener>,
    state: AppState,
    console_origins: Vec<String>,
    limits: HttpLimits,
    shutdown: CancellationToken,
) {
    let mut app = app(state, shutdown.clone());
    if let Some(cors) = cors(&console_origins) {
        app = app.layer(cors);
    }
    crate::serve::serve(listener.into(), app, limits, shutdown).await;
}
