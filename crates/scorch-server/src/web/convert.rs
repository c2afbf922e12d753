//! Store types into wire types.

use jiff::Timestamp;
use scorch_store as store;
use serde_json::Value;

use super::wire;

fn time(t: Timestamp) -> String {
    t.to_string()
}

/// `folder/name`, or just the name at the root.
pub fn path(folder: &str, name: &str) -> String {
    if folder.is_empty() {
        name.to_string()
    } else {
        format!("{folder}/{name}")
    }
}

pub fn runbook_summary(r: &store::RunbookSummary) -> wire::RunbookSummary {
    wire::RunbookSummary {
        id: r.id.to_string(),
        folder: r.folder.clone(),
        name: r.name.clone(),
        path: path(&r.folder, &r.name),
        latest_version: r.latest_version,
        checked_out_by: r.checked_out_by.clone(),
        description: r.description.clone(),
        updated_at: time(r.updated_at),
    }
}

pub fn runbook_version(v: store::RunbookVersionInfo) -> wire::RunbookVersion {
    wire::RunbookVersion {
        version: v.version,
        created_at: time(v.created_at),
        created_by: v.created_by,
    }
}

pub fn runbook_detail(r: &store::Runbook, can_start: bool) -> wire::RunbookDetail {
    let returns = r
        .body
        .definition
        .get("returns")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    wire::RunbookDetail {
        id: r.id.to_string(),
        folder: r.folder.clone(),
        name: r.name.clone(),
        path: path(&r.folder, &r.name),
        description: r
            .body
            .definition
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        version: r.version,
        latest_version: r.latest_version,
        checked_out_by: r.checked_out_by.clone(),
        created_at: time(r.body.created_at),
        created_by: r.body.created_by.clone(),
        parameters: r
            .body
            .parameters
            .iter()
            .map(|p| wire::Parameter {
                id: p.id.to_string(),
                name: p.name.clone(),
                type_name: p.type_name.clone(),
                default: p.default.clone(),
            })
            .collect(),
        returns: returns
            .iter()
            .map(|v| wire::ReturnValue {
                name: v.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
                type_name: v.get("type").and_then(Value::as_str).unwrap_or("string").to_string(),
            })
            .collect(),
        definition: r.body.definition.clone(),
        can_start,
    }
}

pub fn job(j: &store::Job) -> wire::Job {
    wire::Job {
        id: j.id.to_string(),
        runbook_id: j.runbook_id.to_string(),
        version: j.version,
        parameters: j.parameters.clone(),
        status: j.status.as_str().to_string(),
        created_at: time(j.created_at),
        created_by: j.created_by.clone(),
        parent_job: j.parent_job.map(|id| id.to_string()),
        claimed_by: j.claimed_by.clone(),
        instance_id: j.instance_id.map(|id| id.to_string()),
        cancel_requested: j.cancel_requested,
        ended_at: j.ended_at.map(time),
        result: None,
        failed_activity: None,
    }
}

pub fn instance(i: &store::InstanceRow) -> wire::Instance {
    wire::Instance {
        id: i.id.to_string(),
        job_id: i.job_id.to_string(),
        runbook_id: i.runbook_id.to_string(),
        server: i.server.clone(),
        status: i.status.as_str().to_string(),
        parameters: i.parameters.clone(),
        returns: i.returns.clone(),
        started_at: time(i.started_at),
        ended_at: i.ended_at.map(time),
        problems: i.problems.clone(),
        failed_activity: None,
    }
}

/// The longest error a list item carries, in characters.
const SHORT_ERROR: usize = 200;

/// Where a failed instance failed, for a list: the error's first line, shortened.
pub fn failed_activity(run: &store::FailedRun) -> wire::FailedActivity {
    let line = run
        .error
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim();
    let error = match line.char_indices().nth(SHORT_ERROR) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_string(),
    };
    wire::FailedActivity {
        id: run.activity_id.clone(),
        name: run.activity_name.clone(),
        error,
    }
}

/// A runbook server as seen at `now`; alive when it heartbeated within `alive_within`.
pub fn server(s: &store::RunbookServer, now: Timestamp, alive_within: std::time::Duration) -> wire::RunbookServer {
    let age = s.heartbeat_at.map(|at| now.duration_since(at).as_secs_f64().max(0.0));
    wire::RunbookServer {
        id: s.id.to_string(),
        name: s.name.clone(),
        host: s.host.clone(),
        heartbeat_at: s.heartbeat_at.map(time),
        heartbeat_age_seconds: age.map(|a| (a * 1000.0).round() / 1000.0),
        alive: age.is_some_and(|a| a <= alive_within.as_secs_f64()),
        max_instances: s.max_instances,
        running: s.running,
        packs: s.packs.clone(),
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn failed(error: &str) -> wire::FailedActivity {
        failed_activity(&store::FailedRun {
            instance_id: Uuid::nil(),
            activity_id: "copy".into(),
            activity_name: "Copy the backup".into(),
            error: error.into(),
        })
    }

    #[test]
    fn a_lists_error_is_its_first_line_cut_to_200_characters() {
        assert_eq!(failed("\n  disk full  \nat /srv\n").error, "disk full");
        assert_eq!(failed("").error, "");
        let long = "é".repeat(250);
        let cut = failed(&long).error;
        assert_eq!(cut.chars().count(), 201);
        assert!(cut.starts_with(&"é".repeat(200)) && cut.ends_with('…'), "{cut}");
        assert_eq!(failed(&"x".repeat(200)).error, "x".repeat(200));
        let named = failed("boom");
        assert_eq!((named.id.as_str(), named.name.as_str()), ("copy", "Copy the backup"));
    }
}
