//! `scorch instance list|show` through the REST web service. Ids may be short (the web service
//! resolves them: the last 8 hex digits, or a unique prefix).

use serde_json::Value;

use super::connect;
use super::http::ClientError;
use super::jobs::{list_query, pretty, runbook_paths};
use super::runs::{instance_with_runs, print_instance};
use super::terminal::table;
use crate::cli::{Connection, InstanceCommand};

pub async fn run(cmd: InstanceCommand, conn: &Connection) -> Result<(), ClientError> {
    match cmd {
        InstanceCommand::List {
            job,
            runbook,
            status,
            limit,
            json,
        } => list(job, runbook, status, limit, json, conn).await,
        InstanceCommand::Show { id, json } => show(&id, json, conn).await,
    }
}

async fn list(
    job: Option<String>,
    runbook: Option<String>,
    status: Option<String>,
    limit: u32,
    json: bool,
    conn: &Connection,
) -> Result<(), ClientError> {
    let api = connect::web_service(conn)?;
    let mut query = list_query(&api, runbook.as_deref(), status, limit).await?;
    if let Some(job) = job {
        // The full id of a short one.
        let found: Value = api.get(&["api", "v1", "jobs", job.trim()], &[]).await?;
        query.push(("job_id", found["id"].as_str().unwrap_or_default().to_string()));
    }
    let instances: Value = api.get(&["api", "v1", "instances"], &query).await?;
    if json {
        out!("{}", pretty(&instances));
        return Ok(());
    }
    let paths = runbook_paths(&api).await.unwrap_or_default();
    let text = |v: &Value, key: &str| v[key].as_str().unwrap_or("").to_string();
    let rows = instances["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            let runbook = text(i, "runbook_id");
            vec![
                text(i, "id"),
                text(i, "job_id"),
                paths.get(&runbook).cloned().unwrap_or(runbook),
                text(i, "status"),
                text(i, "started_at"),
                text(i, "server"),
            ]
        })
        .collect();
    table(&["INSTANCE", "JOB", "RUNBOOK", "STATUS", "STARTED", "SERVER"], rows);
    Ok(())
}

async fn show(id: &str, json: bool, conn: &Connection) -> Result<(), ClientError> {
    let api = connect::web_service(conn)?;
    let instance = instance_with_runs(&api, id.trim()).await?;
    if json {
        out!("{}", pretty(&instance));
        return Ok(());
    }
    let paths = runbook_paths(&api).await.unwrap_or_default();
    let runbook = instance["runbook_id"].as_str().unwrap_or_default();
    out!("runbook    {}", paths.get(runbook).map_or(runbook, String::as_str));
    out!("job        {}", instance["job_id"].as_str().unwrap_or_default());
    print_instance(&instance, false);
    Ok(())
}
