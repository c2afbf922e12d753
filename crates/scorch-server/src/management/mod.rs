//! The management server (port 8135): the Runbook Designer's side. Check-in and check-out of
//! runbook versions, folders, global settings (variables, counters), users, tokens and
//! permissions, the audit trail and retention. JSON under `/api/v1/`; every route but
//! `/health` and `POST /api/v1/session` needs a bearer token, and every change writes an audit
//! record.

pub(crate) mod admin;
mod folders;
mod runbooks;
pub(crate) mod settings;
mod users;
pub mod wire;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::api::{ApiError, AppState, Caller, MAX_BODY_BYTES, guarded, session};
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
                .put(settings::set_variable)
                .delete(settings::delete_variable)
                .route_layer(from_fn_with_state("variable", name_in_path)),
        )
        .route("/counters", get(settings::counters))
        .route(
            "/counters/{name}",
            get(settings::counter)
                .put(settings::set_counter)
                .delete(settings::delete_counter)
                .route_layer(from_fn_with_state("counter", name_in_path)),
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
        .route("/health", get(crate::web::health::health))
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

/// A UUID from the path, or 400.
fn parse_id(text: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::bad_request(format!("'{text}' is not a {what} id (a UUID)")))
}

/// A folder path as stored: '/'-separated, no leading or trailing '/', "" for the root. Refuses
/// empty, `.` and `..` segments and control characters.
pub(crate) fn folder_path(text: &str) -> Result<String, ApiError> {
    let trimmed = text.trim().trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if trimmed.len() > 1024 {
        return Err(ApiError::bad_request("a folder path is at most 1024 bytes"));
    }
    let mut segments = Vec::new();
    for segment in trimmed.split('/') {
        let segment = segment.trim();
        if segment.is_empty() || segment == "." || segment == ".." || segment.chars().any(char::is_control) {
            return Err(ApiError::bad_request(format!(
                "folder '{text}': write the path as names joined by '/' (no empty, '.' or '..' parts)"
            )));
        }
        segments.push(segment);
    }
    Ok(segments.join("/"))
}

/// The folder holding `path` ("" for a top-level folder).
pub(crate) fn parent_folder(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(parent, _)| parent)
}

/// Names of variables, counters and users are at most this long.
pub(crate) const MAX_NAME_BYTES: usize = 128;

/// A name for a variable, counter or user: 1 to 128 bytes, no '/', no control characters,
/// no surrounding spaces.
pub(crate) fn check_name(what: &str, name: &str) -> Result<(), ApiError> {
    check_name_length(what, name)?;
    let ok = !name.is_empty() && name.trim() == name && !name.contains('/') && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{what} name '{name}': use 1 to {MAX_NAME_BYTES} bytes without '/', control characters or surrounding spaces"
        )))
    }
}

/// A name no longer than names may be, so that looking an over-long one up is a 400 rather than
/// a search. The name is not repeated: it may be huge.
pub(crate) fn check_name_length(what: &str, name: &str) -> Result<(), ApiError> {
    if name.len() > MAX_NAME_BYTES {
        return Err(ApiError::bad_request(format!(
            "{what} name: {} bytes long; the limit is {MAX_NAME_BYTES}",
            name.len()
        )));
    }
    Ok(())
}

/// Route middleware that refuses a `{name}` in the path longer than names may be (400 naming
/// `what`) before any handler looks it up: `route_layer(from_fn_with_state("user", name_in_path))`.
pub(crate) async fn name_in_path(
    State(what): State<&'static str>,
    Path(name): Path<String>,
    request: Request,
    next: Next,
) -> Response {
    match check_name_length(what, &name) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

/// Writes the audit record of a change. The change is already committed, so a failure to
/// record it is logged rather than turned into an error the caller would take for a failed
/// change.
pub(crate) async fn audit(
    state: &AppState,
    caller: &Caller,
    action: &str,
    object_type: &str,
    object_id: Option<Uuid>,
    detail: Value,
) {
    let entry = scorch_store::NewAudit {
        actor: caller.name(),
        action,
        object_type,
        object_id,
        detail: &detail,
    };
    if let Err(e) = state.store.audit(entry).await {
        tracing::error!(error = %e, action, actor = caller.name(), "cannot write the audit record of a change");
    }
}

/// RFC 3339 text of a timestamp.
fn time(at: jiff::Timestamp) -> String {
    at.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_paths_are_normalised() {
        assert_eq!(folder_path("").unwrap(), "");
        assert_eq!(folder_path("/").unwrap(), "");
        assert_eq!(folder_path("/ops/daily/").unwrap(), "ops/daily");
        assert_eq!(folder_path("ops").unwrap(), "ops");
        for bad in ["ops//daily", "ops/../x", "./ops", "a/\u{7}"] {
            assert!(folder_path(bad).is_err(), "{bad}");
        }
        assert_eq!(parent_folder("ops/daily"), "ops");
        assert_eq!(parent_folder("ops"), "");
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("variable", "smtp_host").is_ok());
        let long = "n".repeat(MAX_NAME_BYTES + 1);
        for bad in ["", " x", "a/b", "a\nb", long.as_str()] {
            assert!(check_name("variable", bad).is_err(), "{bad:?}");
        }
    }
}
