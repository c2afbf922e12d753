//! `scorch job start|list|show|cancel|rerun` through the REST web service, and `scorch purge`
//! through the management server. Job ids may be short: the web service resolves the last 8 hex
//! digits (as the console shows them) or a unique prefix, and lists the candidates of an
//! ambiguous one.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use scorch_server::management::wire::{Purge, Purged};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::connect;
use super::http::{Api, ClientError, FAILED};
use super::runs::{failure_line, instance_with_runs, print_instance};
use super::terminal::table;
use crate::cli::{Connection, JobCommand, WaitArgs, name_value};

/// How much longer than the server's wait the client waits for the answer.
const WAIT_MARGIN: Duration = Duration::from_secs(30);

pub async fn run(cmd: JobCommand, conn: &Connection) -> u8 {
    let result = match cmd {
        JobCommand::Start {
            path,
            params,
            wait: WaitArgs { wait, timeout, json },
        } => {
            return start(&path, &params, wait, timeout, json, conn).await;
        }
        JobCommand::List {
            runbook,
            status,
            limit,
            json,
        } => list(runbook.as_deref(), status, limit, json, conn).await,
        JobCommand::Show { id, json } => show(&id, json, conn).await,
        JobCommand::Cancel { id } => cancel(&id, conn).await,
        JobCommand::Watch { id } => return super::watch::watch(&id, conn).await,
        JobCommand::Rerun {
            id,
            wait: WaitArgs { wait, timeout, json },
        } => return rerun(&id, wait, timeout, json, conn).await,
    };
    match result {
        Ok(()) => 0,
        Err(e) => e.report(),
    }
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or("")
}

pub(super) fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// `scorch job start`: 0 when started (without --wait); with --wait, exits like `scorch
/// runbook test`: 0 when the instance ends in success or warning, 1 otherwise.
async fn start(path: &str, params: &[String], wait: bool, timeout: u64, json: bool, conn: &Connection) -> u8 {
    let mut parameters = Map::new();
    for p in params {
        match name_value(p, "--param") {
            Ok((name, value)) => {
                parameters.insert(name, Value::String(value));
            }
            Err(e) => return ClientError::invalid(e).report(),
        }
    }
    let api = match connect::web_service(conn) {
        Ok(api) => api,
        Err(e) => return e.report(),
    };
    let trimmed = path.trim();
    let mut body = json!({ "parameters": parameters, "wait": wait });
    if Uuid::parse_str(trimmed).is_ok() {
        body["runbook_id"] = json!(trimmed);
    } else {
        body["runbook_path"] = json!(trimmed.trim_matches('/'));
    }
    if wait {
        body["timeout_ms"] = json!(timeout.saturating_mul(1000));
    }
    let limit = wait.then(|| Duration::from_secs(timeout) + WAIT_MARGIN);
    let url = api.url(&["api", "v1", "jobs"], &[]);
    let (status, job): (StatusCode, Value) = match api.exchange(Method::POST, url, Some(&body), limit).await {
        Ok(answer) => answer,
        Err(e) => return e.report(),
    };
    let started = format!("started job {} ({trimmed})", text(&job, "id"));
    answered(status, &job, wait, timeout, json, &started)
}

/// What a start or a rerun answered. Without `wait`: `started` and the job's status (or the
/// job's JSON), 0. With it: the outcome, exiting like `scorch runbook test` (0 on success or
/// warning, 1 otherwise, and 1 when the job is still running after `timeout` seconds).
fn answered(status: StatusCode, job: &Value, wait: bool, timeout: u64, json: bool, started: &str) -> u8 {
    let id = text(job, "id");
    if !wait {
        if json {
            out!("{}", pretty(job));
        } else {
            out!("{started}: {}", text(job, "status"));
        }
        return 0;
    }
    let result = &job["result"];
    if status == StatusCode::ACCEPTED || result.is_null() {
        eprintln!(
            "scorch: job {id} is still {} after {timeout}s; follow it with `scorch job show {id}`",
            text(job, "status")
        );
        return FAILED;
    }
    let outcome = text(result, "status");
    if json {
        out!("{}", pretty(result));
    } else {
        print_outcome(job, result);
    }
    match outcome {
        "success" | "warning" => 0,
        _ => FAILED,
    }
}

/// A finished job's outcome for people: each activity run, then the status and return data.
fn print_outcome(job: &Value, result: &Value) {
    for run in result["activities"].as_array().into_iter().flatten() {
        let mut line = format!("  {:<8} {}", text(run, "status"), text(run, "name"));
        if let Some(ms) = run["duration_ms"].as_i64() {
            line.push_str(&format!(" ({ms} ms)"));
        }
        if let Some(error) = run["error"].as_str() {
            line.push_str(&format!(": {error}"));
        }
        out!("{line}");
    }
    for problem in result["problems"].as_array().into_iter().flatten() {
        out!("  problem: {}", problem.as_str().unwrap_or_default());
    }
    out!(
        "job {} {}: {}",
        text(job, "id"),
        text(job, "status"),
        text(result, "status")
    );
    if let Some(returns) = result["returns"].as_object().filter(|r| !r.is_empty()) {
        for (name, value) in returns {
            let shown = value.as_str().map(str::to_string).unwrap_or_else(|| value.to_string());
            out!("  {name} = {shown}");
        }
    }
}

/// The runbooks the caller may see on the web service: id -> FOLDER/NAME.
pub(super) async fn runbook_paths(api: &Api) -> Result<HashMap<String, String>, ClientError> {
    let mut paths = HashMap::new();
    let mut offset = 0u32;
    loop {
        let page: Value = api
            .get(
                &["api", "v1", "runbooks"],
                &[("limit", "500".into()), ("offset", offset.to_string())],
            )
            .await?;
        for r in page["items"].as_array().into_iter().flatten() {
            paths.insert(text(r, "id").to_string(), text(r, "path").to_string());
        }
        match page["next_offset"].as_u64() {
            Some(next) if next > u64::from(offset) => offset = next as u32,
            _ => return Ok(paths),
        }
    }
}

/// A runbook's id from FOLDER/NAME (or an id as is).
pub(super) async fn runbook_id(api: &Api, path: &str) -> Result<String, ClientError> {
    let trimmed = path.trim().trim_matches('/');
    if Uuid::parse_str(trimmed).is_ok() {
        return Ok(trimmed.to_string());
    }
    let paths = runbook_paths(api).await?;
    paths
        .into_iter()
        .find(|(_, p)| p == trimmed)
        .map(|(id, _)| id)
        .ok_or_else(|| {
            ClientError::failed(format!(
                "runbook '{trimmed}' not found (or not in a folder you may see)"
            ))
        })
}

/// The query of a list (jobs or instances): a page of `limit`, of one runbook (FOLDER/NAME or
/// id) and one status when given.
pub(super) async fn list_query(
    api: &Api,
    runbook: Option<&str>,
    status: Option<String>,
    limit: u32,
) -> Result<Vec<(&'static str, String)>, ClientError> {
    let mut query = vec![("limit", limit.to_string())];
    if let Some(runbook) = runbook {
        query.push(("runbook_id", runbook_id(api, runbook).await?));
    }
    if let Some(status) = status {
        query.push(("status", status));
    }
    Ok(query)
}

async fn list(
    runbook: Option<&str>,
    status: Option<String>,
    limit: u32,
    json: bool,
    conn: &Connection,
) -> Result<(), ClientError> {
    let api = connect::web_service(conn)?;
    let query = list_query(&api, runbook, status, limit).await?;
    let jobs: Value = api.get(&["api", "v1", "jobs"], &query).await?;
    if json {
        out!("{}", pretty(&jobs));
        return Ok(());
    }
    let paths = runbook_paths(&api).await.unwrap_or_default();
    let rows = jobs["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|j| {
            let runbook = text(j, "runbook_id");
            vec![
                text(j, "id").to_string(),
                paths.get(runbook).cloned().unwrap_or_else(|| runbook.to_string()),
                text(j, "status").to_string(),
                text(j, "created_at").to_string(),
                text(j, "created_by").to_string(),
            ]
        })
        .collect();
    table(&["JOB", "RUNBOOK", "STATUS", "CREATED", "BY"], rows);
    Ok(())
}

/// `scorch job show`: the job, where it failed, and each of its instances with every activity
/// run; `--json`: the web service's job with its `instances`, each with its `activities`.
async fn show(id: &str, json: bool, conn: &Connection) -> Result<(), ClientError> {
    let api = connect::web_service(conn)?;
    let mut job: Value = api.get(&["api", "v1", "jobs", id.trim()], &[]).await?;
    let full = text(&job, "id").to_string();
    let listed: Value = api
        .get(
            &["api", "v1", "instances"],
            &[("job_id", full), ("limit", "500".into())],
        )
        .await?;
    let mut instances = Vec::new();
    // Oldest first, as they ran.
    for listed in listed["items"].as_array().into_iter().flatten().rev() {
        instances.push(instance_with_runs(&api, text(listed, "id")).await?);
    }
    job["instances"] = Value::Array(instances);
    if json {
        out!("{}", pretty(&job));
        return Ok(());
    }
    let paths = runbook_paths(&api).await.unwrap_or_default();
    let runbook = text(&job, "runbook_id");
    out!("job        {}", text(&job, "id"));
    out!(
        "runbook    {} (version {})",
        paths.get(runbook).map_or(runbook, String::as_str),
        job["version"]
    );
    out!(
        "status     {}{}",
        text(&job, "status"),
        if job["cancel_requested"] == true {
            " (cancel requested)"
        } else {
            ""
        }
    );
    let instances = job["instances"].as_array().cloned().unwrap_or_default();
    // Where it failed comes first: the last instance is the one that ended the job.
    if let Some(failed) = instances.last().and_then(failure_line) {
        out!("{failed}");
    }
    out!(
        "created    {} by {}",
        text(&job, "created_at"),
        text(&job, "created_by")
    );
    if let Some(ended) = job["ended_at"].as_str() {
        out!("ended      {ended}");
    }
    if let Some(server) = job["claimed_by"].as_str() {
        out!("server     {server}");
    }
    if let Some(parent) = job["parent_job"].as_str() {
        out!("parent     job {parent} (its invoke_runbook started this one)");
    }
    if let Some(params) = job["parameters"].as_object().filter(|p| !p.is_empty()) {
        out!("parameters {}", Value::Object(params.clone()));
    }
    for instance in &instances {
        print_instance(instance, true);
    }
    Ok(())
}

/// `scorch job rerun`: the runbook's latest version with the job's parameters.
async fn rerun(id: &str, wait: bool, timeout: u64, json: bool, conn: &Connection) -> u8 {
    let run = async {
        let api = connect::web_service(conn)?;
        // The full id first: a short one may be ambiguous, and the answer names the original.
        let original: Value = api.get(&["api", "v1", "jobs", id.trim()], &[]).await?;
        let original_id = text(&original, "id").to_string();
        let mut body = json!({ "wait": wait });
        if wait {
            body["timeout_ms"] = json!(timeout.saturating_mul(1000));
        }
        let limit = wait.then(|| Duration::from_secs(timeout) + WAIT_MARGIN);
        let url = api.url(&["api", "v1", "jobs", &original_id, "rerun"], &[]);
        let (status, job): (StatusCode, Value) = api.exchange(Method::POST, url, Some(&body), limit).await?;
        let runbook: Value = api
            .get(&["api", "v1", "runbooks", text(&job, "runbook_id")], &[])
            .await?;
        let started = format!(
            "started job {original_id} ({} version {}) again as job {}",
            text(&runbook, "path"),
            job["version"],
            text(&job, "id")
        );
        Ok::<_, ClientError>((status, job, started))
    };
    match run.await {
        Ok((status, job, started)) => {
            if wait && !json {
                out!("{started}");
            }
            answered(status, &job, wait, timeout, json, &started)
        }
        Err(e) => e.report(),
    }
}

async fn cancel(id: &str, conn: &Connection) -> Result<(), ClientError> {
    let api = connect::web_service(conn)?;
    let job: Value = api
        .post(&["api", "v1", "jobs", id.trim(), "cancel"], &json!({}))
        .await?;
    if job["status"] == "canceled" {
        out!("job {} canceled", text(&job, "id"));
    } else {
        out!(
            "job {} is {}: cancellation requested (its runbook server stops it)",
            text(&job, "id"),
            text(&job, "status")
        );
    }
    Ok(())
}

/// `scorch purge`.
pub async fn purge(
    runbook: Option<String>,
    keep_last: Option<u32>,
    older_than_days: Option<u32>,
    dry_run: bool,
    conn: &Connection,
) -> Result<(), ClientError> {
    if keep_last.is_none() && older_than_days.is_none() {
        return Err(ClientError::invalid(
            "say what to purge: --keep-last N, --older-than-days D, or both",
        ));
    }
    let api = connect::management(conn)?;
    let runbook_id = match runbook {
        Some(path) => Some(super::runbooks::resolve(&api, &path).await?.id),
        None => None,
    };
    let body = Purge {
        runbook_id,
        keep_last,
        older_than_days,
        dry_run,
    };
    let purged: Purged = api.post(&["api", "v1", "purge"], &body).await?;
    if dry_run {
        out!(
            "would delete {} instances (dry run: nothing was deleted)",
            purged.instances
        );
    } else {
        out!("deleted {} instances", purged.instances);
    }
    Ok(())
}
