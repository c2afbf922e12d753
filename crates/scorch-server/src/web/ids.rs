//! Jobs and instances by their id as people type it ([`IdMatch`]): the full UUID, the last 8 hex
//! digits the console shows, or a unique prefix. A fragment is looked up among what the caller may
//! see, a few candidates at most: none is a 404, several a 409 `ambiguous_id` listing them.

use axum::http::StatusCode;
use scorch_store::{IdMatch, InstanceFilter, InstanceRow, Job, JobFilter, Runbook, StoreError};
use uuid::Uuid;

use super::access::{visible_runbook, visible_runbooks};
use super::convert;
use crate::api::wire::IdCandidate;
use crate::api::{ApiError, AppState, Caller};

/// How many matches an ambiguous fragment lists.
const CANDIDATES: u32 = 5;

/// What a path's `{id}` says: "job", "instance".
fn fragment(text: &str, what: &str) -> Result<IdMatch, ApiError> {
    IdMatch::parse(text).ok_or_else(|| {
        ApiError::bad_request(format!(
            "'{text}' is not a {what} id: give its UUID, its last {} hex digits, or at least {} of its first",
            IdMatch::TAIL_DIGITS,
            IdMatch::MIN_DIGITS
        ))
    })
}

/// 404 for a runbook the caller may not see: the job or instance does not exist for it.
async fn runbook_of(state: &AppState, caller: &Caller, id: Uuid, missing: ApiError) -> Result<Runbook, ApiError> {
    match visible_runbook(state, caller, id).await {
        Ok(runbook) => Ok(runbook),
        Err(e) if e.status == StatusCode::NOT_FOUND => Err(missing),
        Err(e) => Err(e),
    }
}

/// Several matches: 409 naming each with its runbook and time.
async fn ambiguous(
    state: &AppState,
    caller: &Caller,
    text: &str,
    what: &str,
    found: Vec<(Uuid, Uuid, jiff::Timestamp)>,
) -> ApiError {
    let mut candidates = Vec::with_capacity(found.len());
    for (id, runbook_id, at) in found {
        let runbook = match visible_runbook(state, caller, runbook_id).await {
            Ok(r) => convert::path(&r.folder, &r.name),
            Err(_) => runbook_id.to_string(),
        };
        candidates.push(IdCandidate {
            id: id.to_string(),
            runbook,
            created_at: at.to_string(),
        });
    }
    let shown: Vec<String> = candidates.iter().map(|c| c.id.clone()).collect();
    ApiError::ambiguous_id(
        format!(
            "{what} id '{text}' is ambiguous: it may be {}; give more digits",
            shown.join(", ")
        ),
        candidates,
    )
}

/// The one of `found` (matches of a fragment, as many as [`CANDIDATES`]) the text names: 404 for
/// none, 409 listing them for several. `key` gives each one's id, runbook and time.
async fn the_one<T>(
    state: &AppState,
    caller: &Caller,
    text: &str,
    what: &str,
    mut found: Vec<T>,
    key: impl Fn(&T) -> (Uuid, Uuid, jiff::Timestamp),
    missing: ApiError,
) -> Result<T, ApiError> {
    match found.len() {
        0 => Err(missing),
        1 => Ok(found.remove(0)),
        _ => {
            let found = found.iter().map(key).collect();
            Err(ambiguous(state, caller, text.trim(), what, found).await)
        }
    }
}

/// A store read by exact id, with its `NotFound` as the caller's 404.
fn or_missing<T>(read: Result<T, StoreError>, missing: ApiError) -> Result<T, ApiError> {
    read.map_err(|e| match e {
        StoreError::NotFound(_) => missing,
        other => other.into(),
    })
}

/// A job the caller may see (404 otherwise), with its runbook's latest version.
pub async fn visible_job(state: &AppState, caller: &Caller, text: &str) -> Result<(Job, Runbook), ApiError> {
    let id = fragment(text, "job")?;
    let missing = || ApiError::not_found(format!("job {} not found", text.trim()));
    let job = match id.exact() {
        Some(exact) => or_missing(state.store.job(exact).await, missing())?,
        None => {
            let filter = JobFilter {
                id: Some(id),
                runbooks: visible_runbooks(state, caller, None).await?,
                limit: CANDIDATES,
                ..JobFilter::default()
            };
            let jobs = state.store.list_jobs(&filter).await?;
            let key = |j: &Job| (j.id, j.runbook_id, j.created_at);
            the_one(state, caller, text, "job", jobs, key, missing()).await?
        }
    };
    let runbook = runbook_of(state, caller, job.runbook_id, missing()).await?;
    Ok((job, runbook))
}

/// An instance the caller may see, or 404.
pub async fn visible_instance(state: &AppState, caller: &Caller, text: &str) -> Result<InstanceRow, ApiError> {
    let id = fragment(text, "instance")?;
    let missing = || ApiError::not_found(format!("instance {} not found", text.trim()));
    let instance = match id.exact() {
        Some(exact) => or_missing(state.store.instance(exact).await, missing())?,
        None => {
            let filter = InstanceFilter {
                id: Some(id),
                runbooks: visible_runbooks(state, caller, None).await?,
                limit: CANDIDATES,
                ..InstanceFilter::default()
            };
            let instances = state.store.list_instances(&filter).await?;
            let key = |i: &InstanceRow| (i.id, i.runbook_id, i.started_at);
            the_one(state, caller, text, "instance", instances, key, missing()).await?
        }
    };
    runbook_of(state, caller, instance.runbook_id, missing()).await?;
    Ok(instance)
}
