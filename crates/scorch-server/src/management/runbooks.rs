//! Runbooks: check-in (a new version), the source of a version (pull), listing, check-out locks.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use scorch_engine::RegistryCatalog;
use scorch_model::{Diagnostic, compile, load};
use scorch_store::{Role, Runbook, StoreError};
use serde::Deserialize;
use serde_json::json;

use super::parse::{folder_path, parse_id};
use super::wire::{CheckIn, CheckedIn, CheckoutState, ErrorBody, ErrorDetail, RunbookItem, RunbookSource};
use crate::api::Query;
use crate::api::audit::record;
use crate::api::{ApiError, AppState, Caller, Json};

/// A check-in's failure: an API error, or a runbook that does not validate (400
/// `invalid_runbook` with every problem).
pub(super) enum CheckInError {
    Api(ApiError),
    Invalid(Vec<String>),
}

impl From<ApiError> for CheckInError {
    fn from(err: ApiError) -> Self {
        CheckInError::Api(err)
    }
}

impl From<StoreError> for CheckInError {
    fn from(err: StoreError) -> Self {
        CheckInError::Api(err.into())
    }
}

impl IntoResponse for CheckInError {
    fn into_response(self) -> Response {
        match self {
            CheckInError::Api(err) => err.into_response(),
            CheckInError::Invalid(diagnostics) => {
                let message = match diagnostics.as_slice() {
                    [one] => format!("the runbook is not valid: {one}"),
                    many => format!(
                        "the runbook is not valid: {} problems, the first: {}",
                        many.len(),
                        many[0]
                    ),
                };
                let body = ErrorBody {
                    error: ErrorDetail {
                        code: "invalid_runbook".into(),
                        message,
                        diagnostics,
                    },
                };
                (StatusCode::BAD_REQUEST, Json(body)).into_response()
            }
        }
    }
}

/// `LINE:COL: KEY: MESSAGE` for each problem (the client prefixes its file name).
fn rendered(diagnostics: Vec<Diagnostic>) -> CheckInError {
    let lines = diagnostics
        .iter()
        .map(|d| {
            let line = d.render("");
            line.strip_prefix(':').map(str::to_string).unwrap_or(line)
        })
        .collect::<Vec<_>>();
    CheckInError::Invalid(if lines.is_empty() {
        vec!["1:1: the runbook does not compile".into()]
    } else {
        lines
    })
}

/// `POST /api/v1/runbooks`: validates the source against this deployment's activity types and
/// stores it as a new version. Needs Author on the folder.
pub(super) async fn check_in(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CheckIn>,
) -> Result<(StatusCode, Json<CheckedIn>), CheckInError> {
    let loaded = load(&body.source).map_err(rendered)?;
    let mut plan = compile(&loaded, &RegistryCatalog(state.plans.registry())).map_err(rendered)?;
    if plan.runbook.name.contains('/') {
        return Err(CheckInError::Invalid(vec![format!(
            "1:1: runbook: the name '{}' must not contain '/' (folders are given by 'folder')",
            plan.runbook.name
        )]));
    }
    let folder = folder_path(body.folder.as_deref().or(plan.runbook.folder.as_deref()).unwrap_or(""))?;
    caller.require(&folder, Role::Author)?;
    // Stored in the folder it was checked in to, which the stored definition names too.
    plan.runbook.folder = (!folder.is_empty()).then(|| folder.clone());
    let (id, version) = state.store.save_plan(&plan, &body.source, caller.name()).await?;
    let name = plan.runbook.name;
    let detail = json!({ "folder": folder, "name": name, "version": version });
    record(&state, &caller, "runbook.check_in", "runbook", Some(id), detail).await;
    tracing::info!(runbook_id = %id, version, folder = %folder, name = %name, actor = caller.name(), "runbook checked in");
    Ok((
        StatusCode::CREATED,
        Json(CheckedIn {
            id,
            folder,
            name,
            version,
        }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    folder: Option<String>,
}

/// `GET /api/v1/runbooks?folder=`: the latest versions the caller may see, under a folder.
pub(super) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<RunbookItem>>, ApiError> {
    let under = query.folder.as_deref().map(folder_path).transpose()?;
    let under = under.filter(|f| !f.is_empty());
    let items = state
        .store
        .list_runbooks(under.as_deref())
        .await?
        .into_iter()
        .filter(|r| caller.can_see(&r.folder))
        .map(|r| RunbookItem {
            id: r.id,
            folder: r.folder,
            name: r.name,
            latest_version: r.latest_version,
            checked_out_by: r.checked_out_by,
            description: r.description,
            updated_at: r.updated_at.to_string(),
        })
        .collect();
    Ok(Json(items))
}

/// A runbook version the caller may see; one they may not is "not found", like a missing one.
async fn visible(state: &AppState, caller: &Caller, id: &str, version: Option<i64>) -> Result<Runbook, ApiError> {
    let id = parse_id(id, "runbook")?;
    match state.store.runbook(id, version).await {
        Ok(rb) if caller.can_see(&rb.folder) => Ok(rb),
        Ok(_) | Err(StoreError::NotFound(_)) => Err(match version {
            Some(v) => ApiError::not_found(format!("runbook {id} version {v} not found")),
            None => ApiError::not_found(format!("runbook {id} not found")),
        }),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SourceQuery {
    version: Option<i64>,
}

/// `GET /api/v1/runbooks/{id}/source?version=`: the text a version was checked in with.
pub(super) async fn source(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<SourceQuery>,
) -> Result<Json<RunbookSource>, ApiError> {
    let rb = visible(&state, &caller, &id, query.version).await?;
    Ok(Json(RunbookSource {
        id: rb.id,
        folder: rb.folder,
        name: rb.name,
        version: rb.version,
        latest_version: rb.latest_version,
        checked_out_by: rb.checked_out_by,
        created_by: rb.body.created_by.clone(),
        created_at: rb.body.created_at.to_string(),
        source: rb.body.source.clone(),
    }))
}

fn lock_state(rb: Runbook) -> CheckoutState {
    CheckoutState {
        id: rb.id,
        folder: rb.folder,
        name: rb.name,
        latest_version: rb.latest_version,
        checked_out_by: rb.checked_out_by,
    }
}

/// `POST /api/v1/runbooks/{id}/checkout`: locks the runbook for the caller's edits. Needs
/// Author; someone else's lock is a 409 naming them.
pub(super) async fn check_out(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CheckoutState>, ApiError> {
    let rb = visible(&state, &caller, &id, None).await?;
    caller.require(&rb.folder, Role::Author)?;
    if let Some(holder) = rb.checked_out_by.as_deref().filter(|h| *h != caller.name()) {
        return Err(ApiError::conflict(format!(
            "runbook '{}' is checked out by {holder}; ask them to check it in, or an administrator to undo the check-out",
            path_of(&rb)
        )));
    }
    state.store.check_out(rb.id, caller.name()).await?;
    record(
        &state,
        &caller,
        "runbook.check_out",
        "runbook",
        Some(rb.id),
        json!({ "folder": rb.folder, "name": rb.name }),
    )
    .await;
    Ok(Json(lock_state(state.store.runbook(rb.id, None).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UndoQuery {
    #[serde(default)]
    force: bool,
}

/// `POST /api/v1/runbooks/{id}/undo-checkout?force=`: releases the caller's lock; `force`
/// releases anyone's and needs Admin on the folder.
pub(super) async fn undo_check_out(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<UndoQuery>,
) -> Result<Json<CheckoutState>, ApiError> {
    let rb = visible(&state, &caller, &id, None).await?;
    if query.force {
        caller.require(&rb.folder, Role::Admin)?;
    } else {
        caller.require(&rb.folder, Role::Author)?;
        if let Some(holder) = rb.checked_out_by.as_deref().filter(|h| *h != caller.name()) {
            return Err(ApiError::conflict(format!(
                "runbook '{}' is checked out by {holder}, not you; an administrator can undo it with force",
                path_of(&rb)
            )));
        }
    }
    state.store.undo_check_out(rb.id, caller.name(), query.force).await?;
    let detail = json!({ "folder": rb.folder, "name": rb.name, "force": query.force, "holder": rb.checked_out_by });
    record(
        &state,
        &caller,
        "runbook.undo_check_out",
        "runbook",
        Some(rb.id),
        detail,
    )
    .await;
    Ok(Json(lock_state(state.store.runbook(rb.id, None).await?)))
}

fn path_of(rb: &Runbook) -> String {
    if rb.folder.is_empty() {
        rb.name.clone()
    } else {
        format!("{}/{}", rb.folder, rb.name)
    }
}
