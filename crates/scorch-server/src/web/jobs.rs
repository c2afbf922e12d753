//! Jobs: start (optionally waiting for the outcome), list, read, cancel. Starting and canceling
//! need Operator on the runbook's folder and write an audit record.

use std::time::Duration;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use scorch_store::{JobFilter, JobResult, JobStatus, NewAudit, Role, Runbook, StoreError};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::access::{opt_uuid, status, time, uuid, visible_runbook, visible_runbooks};
use super::convert;
use super::failures::failures_by_instance;
use super::ids::visible_job;
use super::shutdown::Shutdown;
use super::wire::{Job, JobList, JobQuery, RerunJob, StartJob};
use crate::api::Query;
use crate::api::paging::{next_offset, page};
use crate::api::wire::ErrorBody;
use crate::api::{ApiError, AppState, Caller, Json};
use crate::jobs::{StartError, is_final, newer_version_may_help, start_job_audited};
use crate::report;
use crate::report::RunReport;

pub const DEFAULT_WAIT_MS: u64 = 30_000;
pub const MAX_WAIT_MS: u64 = 300_000;
const JOB_STATUSES: &str = "pending, running, completed, failed, canceled";

/// Starts a runbook: creates a pending job for its latest checked-in version with the
/// parameters typed against its declarations. With `wait`, answers once the job has ended.
#[utoipa::path(
    post,
    path = "/api/v1/jobs",
    operation_id = "start_job",
    tag = "jobs",
    request_body = StartJob,
    responses(
        (status = 201, description = "The job was created (without `wait`)", body = Job),
        (status = 200, description = "The job ended (with `wait`); `result` holds its outcome", body = Job),
        (status = 202, description = "The job is still running when the wait timed out", body = Job),
        (status = 400, description = "Malformed body, or parameters that do not fit (`invalid_parameters`)", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The caller is not an operator on the runbook's folder", body = ErrorBody),
        (status = 404, description = "No such runbook, or not in a folder the caller can see", body = ErrorBody),
        (status = 409, description = "The stored runbook cannot run here (`runbook_not_runnable`), or was checked in again while the start was being made, twice (`conflict`: start again)", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
    )
)]
pub async fn start(
    State(state): State<AppState>,
    Extension(shutdown): Extension<Shutdown>,
    caller: Caller,
    Json(body): Json<StartJob>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let timeout = wait_timeout(body.timeout_ms)?;
    // Taken before the job exists, so the wait need not read it first.
    let expected = body.wait.then(|| state.waiters.expect());
    let runbook = find_runbook(&state, &caller, &body).await?;
    let (job, runbook) = start_latest(&state, &caller, runbook, &body.parameters, body.wait, None).await?;
    answer(&state, &shutdown, expected, job, &runbook, timeout).await
}

/// Runs a job again: its runbook's latest checked-in version (which may be newer than the one
/// the job ran: the answer's `version` says) with the job's parameters. Needs Operator on the
/// runbook's folder; audited as `job.rerun`, naming the original job.
#[utoipa::path(
    post,
    path = "/api/v1/jobs/{id}/rerun",
    operation_id = "rerun_job",
    tag = "jobs",
    params(("id" = String, Path, description = "The job to run again: its UUID, its last 8 hex digits, or a unique prefix of at least 4")),
    request_body(content = RerunJob, description = "Optional: wait for the new job's outcome, as a start does"),
    responses(
        (status = 201, description = "The new job was created (without `wait`)", body = Job),
        (status = 200, description = "The new job ended (with `wait`); `result` holds its outcome", body = Job),
        (status = 202, description = "The new job is still running when the wait timed out", body = Job),
        (status = 400, description = "The id is malformed, or the job's parameters do not fit the latest version (`invalid_parameters`)", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The caller is not an operator on the runbook's folder", body = ErrorBody),
        (status = 404, description = "No such job, or its runbook is not in a folder the caller can see", body = ErrorBody),
        (status = 409, description = "A short id that names several jobs (`ambiguous_id`), or the latest version cannot run here (`runbook_not_runnable`)", body = ErrorBody),
    )
)]
pub async fn rerun(
    State(state): State<AppState>,
    Extension(shutdown): Extension<Shutdown>,
    caller: Caller,
    Path(id): Path<String>,
    body: Option<Json<RerunJob>>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let Json(body) = body.unwrap_or_default();
    let timeout = wait_timeout(body.timeout_ms)?;
    let (original, runbook) = visible_job(&state, &caller, &id).await?;
    let expected = body.wait.then(|| state.waiters.expect());
    let (job, runbook) = start_latest(
        &state,
        &caller,
        runbook,
        &original.parameters,
        body.wait,
        Some(original.id),
    )
    .await?;
    answer(&state, &shutdown, expected, job, &runbook, timeout).await
}

/// Starts `runbook`'s latest version for `caller` (Operator on its folder) with its audit record
/// in the same commit: `job.start`, or `job.rerun` naming the job it runs again. A check-in racing
/// the start reads the runbook again, once.
async fn start_latest(
    state: &AppState,
    caller: &Caller,
    mut runbook: Runbook,
    parameters: &Map<String, Value>,
    wait: bool,
    rerun_of: Option<Uuid>,
) -> Result<(scorch_store::Job, Runbook), ApiError> {
    let action = if rerun_of.is_some() { "job.rerun" } else { "job.start" };
    let mut read_again = true;
    let (job, audited) = loop {
        caller.require(&runbook.folder, Role::Operator)?;
        let mut detail =
            json!({ "runbook_id": runbook.id.to_string(), "runbook": path_of(&runbook), "version": runbook.version });
        if let Some(original) = rerun_of {
            detail["rerun_of"] = json!(original.to_string());
        }
        let entry = NewAudit {
            actor: caller.name(),
            action,
            object_type: "job",
            object_id: None,
            detail: &detail,
        };
        // The job and its audit record are written in one commit (where the store can).
        let started = start_job_audited(
            &state.store,
            &state.plans,
            &runbook,
            parameters,
            caller.name(),
            entry,
            // A start that waits answers once the job has ended, its durable end covering its
            // creation, or after `make_job_durable`.
            wait,
        )
        .await;
        if read_again && newer_version_may_help(&started) {
            read_again = false;
            let fresh = visible_runbook(state, caller, runbook.id).await?;
            if fresh.version != runbook.version {
                runbook = fresh;
                continue;
            }
        }
        break started.map_err(|e| start_error(e, &runbook))?;
    };
    if let Err(e) = audited {
        // The job is already created: a retry would start it twice.
        tracing::error!(job_id = %job.id, action, error = %e, "cannot write the audit record");
    }
    Ok((job, runbook))
}

/// The answer to a start: 201 with the job, or with `wait` its outcome once it has ended (200),
/// or the job as it is when `timeout` passes first (202).
async fn answer(
    state: &AppState,
    shutdown: &Shutdown,
    expected: Option<crate::jobs::Expected>,
    job: scorch_store::Job,
    runbook: &Runbook,
    timeout: Duration,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let Some(expected) = expected else {
        return Ok((StatusCode::CREATED, Json(convert::job(&job))));
    };
    let waited = tokio::select! {
        waited = state.waiters.wait_result_created(expected, job.id, timeout) => waited,
        // Shutting down: answer with the job as it is rather than hold the shutdown up.
        _ = shutdown.0.cancelled() => state.store.job_result(job.id).await,
    }?;
    let mut answer = convert::job(&waited.job);
    if is_final(waited.job.status) {
        answer.result = Some(outcome(&runbook.name, &waited));
        return Ok((StatusCode::OK, Json(answer)));
    }
    // Told of before its end: on disk first.
    state.store.make_job_durable(job.id).await?;
    Ok((StatusCode::ACCEPTED, Json(answer)))
}

fn start_error(e: StartError, runbook: &Runbook) -> ApiError {
    match e {
        StartError::Parameters(problems) => {
            let why = format!(
                "the parameters do not fit runbook '{}': {}",
                path_of(runbook),
                problems.join("; ")
            );
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_parameters", why)
        }
        StartError::Invalid(why) => ApiError::new(StatusCode::CONFLICT, "runbook_not_runnable", why),
        StartError::Store(e) => e.into(),
    }
}

fn wait_timeout(ms: Option<u64>) -> Result<Duration, ApiError> {
    match ms.unwrap_or(DEFAULT_WAIT_MS) {
        ms if ms <= MAX_WAIT_MS => Ok(Duration::from_millis(ms)),
        ms => Err(ApiError::bad_request(format!(
            "timeout_ms: {ms} is more than the maximum of {MAX_WAIT_MS}"
        ))),
    }
}

/// The runbook a start names by id or by path; 404 when it does not exist or is invisible.
async fn find_runbook(state: &AppState, caller: &Caller, body: &StartJob) -> Result<Runbook, ApiError> {
    match (&body.runbook_id, &body.runbook_path) {
        (Some(id), None) => visible_runbook(state, caller, uuid(id, "runbook id")?).await,
        (None, Some(path)) => {
            let path = path.trim().trim_matches('/');
            let (folder, name) = path.rsplit_once('/').unwrap_or(("", path));
            let missing = || ApiError::not_found(format!("runbook '{path}' not found"));
            match state.store.runbook_by_path(folder, name).await {
                Ok(runbook) if caller.can_see(&runbook.folder) => Ok(runbook),
                Ok(_) | Err(StoreError::NotFound(_)) => Err(missing()),
                Err(e) => Err(e.into()),
            }
        }
        _ => Err(ApiError::bad_request(
            "give the runbook to start as runbook_id or runbook_path (one of the two)",
        )),
    }
}

fn path_of(runbook: &Runbook) -> String {
    convert::path(&runbook.folder, &runbook.name)
}

/// The outcome of an ended job: its instance's status, return data and activity runs.
fn outcome(runbook: &str, result: &JobResult) -> RunReport {
    match &result.instance {
        Some(instance) => report::document(
            runbook,
            instance.status.as_str(),
            &instance.returns,
            &instance.problems,
            &result.runs,
        ),
        // Canceled (or failed) before any runbook server took it: there is no instance.
        None => report::document(runbook, result.job.status.as_str(), &Default::default(), &[], &[]),
    }
}

/// Records a job start or cancel. The job is already changed, so a failed audit write is
/// logged rather than answered as an error (a retry would start the job twice).
async fn audit(state: &AppState, caller: &Caller, action: &str, job: Uuid, detail: &Value) {
    let entry = NewAudit {
        actor: caller.name(),
        action,
        object_type: "job",
        object_id: Some(job),
        detail,
    };
    if let Err(e) = state.store.audit(entry).await {
        tracing::error!(job_id = %job, action, error = %e, "cannot write the audit record");
    }
}

/// Lists jobs of the runbooks the caller can see, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/jobs",
    operation_id = "list_jobs",
    tag = "jobs",
    params(JobQuery),
    responses(
        (status = 200, description = "Jobs, newest first", body = JobList),
        (status = 400, description = "A query value is malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<JobQuery>,
) -> Result<Json<JobList>, ApiError> {
    let (limit, offset) = page(q.limit, q.offset)?;
    let runbook_id = opt_uuid(q.runbook_id.as_deref(), "runbook id")?;
    let filter = JobFilter {
        id: None,
        runbook_id,
        runbooks: visible_runbooks(&state, &caller, runbook_id).await?,
        status: status(q.status.as_deref(), JobStatus::parse, JOB_STATUSES)?,
        since: time(q.since.as_deref(), "since")?,
        until: time(q.until.as_deref(), "until")?,
        limit,
        offset,
    };
    let jobs = state.store.list_jobs(&filter).await?;
    let failed: Vec<_> = jobs
        .iter()
        .filter(|j| j.status == JobStatus::Failed)
        .filter_map(|j| j.instance_id)
        .collect();
    let mut failures = failures_by_instance(&state, &failed).await?;
    let items: Vec<Job> = jobs
        .iter()
        .map(|job| Job {
            failed_activity: job.instance_id.and_then(|i| failures.remove(&i)),
            ..convert::job(job)
        })
        .collect();
    let next_offset = next_offset(items.len(), limit, offset);
    Ok(Json(JobList { items, next_offset }))
}

/// One job.
#[utoipa::path(
    get,
    path = "/api/v1/jobs/{id}",
    operation_id = "get_job",
    tag = "jobs",
    params(("id" = String, Path, description = "The job's id: its UUID, its last 8 hex digits, or a unique prefix of at least 4")),
    responses(
        (status = 200, description = "The job", body = Job),
        (status = 400, description = "The id is not a UUID nor a part of one", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such job, or its runbook is not in a folder the caller can see", body = ErrorBody),
        (status = 409, description = "A short id that names several jobs (`ambiguous_id`, with `candidates`)", body = ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    let (job, _) = visible_job(&state, &caller, &id).await?;
    Ok(Json(convert::job(&job)))
}

/// Cancels a job: a pending one at once, a running one by its runbook server (its running
/// activities are stopped, their processes killed), after which it ends `canceled`.
#[utoipa::path(
    post,
    path = "/api/v1/jobs/{id}/cancel",
    operation_id = "cancel_job",
    tag = "jobs",
    params(("id" = String, Path, description = "The job's id: its UUID, its last 8 hex digits, or a unique prefix of at least 4")),
    responses(
        (status = 200, description = "The job, canceled or with its cancellation requested", body = Job),
        (status = 400, description = "The id is not a UUID nor a part of one", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The caller is not an operator on the runbook's folder", body = ErrorBody),
        (status = 404, description = "No such job, or its runbook is not in a folder the caller can see", body = ErrorBody),
        (status = 409, description = "The job has already ended (`job_finished`), or a short id names several jobs (`ambiguous_id`)", body = ErrorBody),
    )
)]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    let (job, runbook) = visible_job(&state, &caller, &id).await?;
    caller.require(&runbook.folder, Role::Operator)?;
    match state.store.cancel_job(job.id).await {
        Ok(canceled) => {
            let detail = json!({ "runbook_id": runbook.id.to_string(), "runbook": path_of(&runbook) });
            audit(&state, &caller, "job.cancel", job.id, &detail).await;
            Ok(Json(convert::job(&canceled)))
        }
        Err(StoreError::Conflict(_)) => {
            let now = state.store.job(job.id).await.map(|j| j.status).unwrap_or(job.status);
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "job_finished",
                format!(
                    "cannot change the job status to canceled: job {} has already ended ({})",
                    job.id,
                    now.as_str()
                ),
            ))
        }
        Err(e) => Err(e.into()),
    }
}
