//! The management server (port 8135): the Runbook Designer's side. Check-in and check-out of
//! runbook versions, folders, global settings (variables, counters, computer groups, schedules), users, tokens and
//! permissions, the audit trail and retention. JSON under `/api/v1/`, Prometheus metrics at
//! `/metrics`; every route but
//! `/health` and `POST /api/v1/session` needs a bearer token, and every change writes an audit
//! record.

mod admin;
mod folders;
mod parse;
mod runbooks;
mod settings;
mod users;
pub mod wire;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{delete, get, post, put};
use tokio_util::sync::CancellationToken;

use crate::api::names::name_in_path;
use crate::api::settings as shared;
use crate::api::{ApiError, AppState, MAX_BODY_BYTES, guarded, health, session};
use crate::listener::Listener;
use crate::serve::HttpLimits;

/// Every route of the management server.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/runbooks", get(runbooks::list).post(runbooks::check_in))
        .route("/runbooks/{id}/source", get(runbooks::source))
        .route("/runbooks/{id}/checkout", post(runbooks::check_out))
        .route("/runbooks/{id}/undo-checkout", post(runbooks::undo_check_out))
        .route("/folders", get(folders::list).post(folders::create))
        .route("/folders/{*path}", delete(folders::delete))
        .route("/variables", get(settings::variables))
        .route(
            "/variables/{name}",
            get(settings::variable)
                .put(shared::set_variable)
                .delete(shared::delete_variable)
                .route_layer(from_fn_with_state("variable", name_in_path)),
        )
        .route("/counters", get(settings::counters))
        .route(
            "/counters/{name}",
            get(settings::counter)
                .put(shared::set_counter)
                .delete(shared::delete_counter)
                .route_layer(from_fn_with_state("counter", name_in_path)),
        )
        .route("/groups", get(settings::groups))
        .route(
            "/groups/{name}",
            get(settings::group)
                .put(shared::set_group)
                .delete(shared::delete_group)
                .route_layer(from_fn_with_state("computer group", name_in_path)),
        )
        .route("/schedules", get(settings::schedules))
        .route(
            "/schedules/{name}",
            get(shared::schedule)
                .put(shared::set_schedule)
                .delete(shared::delete_schedule)
                .route_layer(from_fn_with_state("schedule", name_in_path)),
        )
        .route("/users", get(users::list).post(users::create))
        .route(
            "/users/{name}",
            get(users::show)
                .delete(users::delete)
                .route_layer(from_fn_with_state("user", name_in_path)),
        )
        .route(
            "/users/{name}/tokens",
            get(users::tokens)
                .post(users::create_token)
                .route_layer(from_fn_with_state("user", name_in_path)),
        )
        .route("/tokens/{id}", delete(users::revoke_token))
        .route("/grants", put(users::grant).delete(users::revoke))
        .route("/session", post(session::login).delete(session::logout))
        .route("/audit", get(admin::audit))
        .route("/purge", post(admin::purge));
    let routes = Router::new()
        .route("/health", get(health::health))
        .route("/metrics", get(crate::metrics::route::metrics))
        .nest("/api/v1", api)
        .fallback(no_route)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state);
    guarded(routes)
}

/// Serves the management server on `listener` within `limits` until `shutdown` (then lets
/// requests in flight finish).
pub async fn serve(listener: impl Into<Listener>, state: AppState, limits: HttpLimits, shutdown: CancellationToken) {
    crate::serve::serve(listener.into(), router(state), limits, shutdown).await;
}

async fn no_route() -> ApiError {
    ApiError::not_found("no such route on the management server (its API is under /api/v1/)")
}
