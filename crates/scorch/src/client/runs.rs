//! An instance as `job show` and `instance show` print it: a line about it, where it failed
//! (`failed at ACTIVITY: ERROR`), its problems and return data, then every activity run with its
//! status and error. With `--json`, the web service's instance with its `activities` added.

use serde_json::Value;

use super::http::{Api, ClientError};
use super::terminal::table;

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or("")
}

/// The web service's instance `id` (or a short id) with its activity runs as `activities`.
pub async fn instance_with_runs(api: &Api, id: &str) -> Result<Value, ClientError> {
    let mut instance: Value = api.get(&["api", "v1", "instances", id], &[]).await?;
    let full = text(&instance, "id").to_string();
    let runs: Value = api.get(&["api", "v1", "instances", &full, "activities"], &[]).await?;
    instance["activities"] = runs["items"].clone();
    Ok(instance)
}

/// Where an instance failed: its last failed run, `ACTIVITY: ERROR` (the run that ended it, or
/// the last a failure link handled).
pub fn failure(instance: &Value) -> Option<String> {
    let runs = instance["activities"].as_array()?;
    let failed = runs.iter().rev().find(|r| r["status"] == "failed")?;
    let error = failed["error"].as_str().unwrap_or("(no error message)");
    Some(format!("{}: {error}", text(failed, "name")))
}

/// The summary line of `instance`'s failure, when it has one.
pub fn failure_line(instance: &Value) -> Option<String> {
    let at = failure(instance)?;
    Some(match text(instance, "status") {
        "failed" | "canceled" => format!("failed at {at}"),
        // A failure link took over and the instance went on.
        _ => format!("failed at {at} (handled: the instance went on)"),
    })
}

/// The instance as people read it, indented under a job when `nested`.
pub fn print_instance(instance: &Value, nested: bool) {
    let pad = if nested { "  " } else { "" };
    let mut line = format!(
        "{pad}instance   {} {} on {}, started {}",
        text(instance, "id"),
        text(instance, "status"),
        text(instance, "server"),
        text(instance, "started_at")
    );
    if let Some(ended) = instance["ended_at"].as_str() {
        line.push_str(&format!(", ended {ended}"));
    }
    out!("{line}");
    // Under a job, the job's summary line says it already.
    if let Some(failed) = failure_line(instance).filter(|_| !nested) {
        out!("{pad}{failed}");
    }
    for problem in instance["problems"].as_array().into_iter().flatten() {
        out!("{pad}problem    {}", problem.as_str().unwrap_or_default());
    }
    if let Some(returns) = instance["returns"].as_object().filter(|r| !r.is_empty()) {
        out!("{pad}returns    {}", Value::Object(returns.clone()));
    }
    let rows: Vec<Vec<String>> = instance["activities"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|run| {
            vec![
                format!("{pad}{}", text(run, "status")),
                text(run, "name").to_string(),
                run["attempt"].as_u64().unwrap_or(1).to_string(),
                run["duration_ms"]
                    .as_i64()
                    .map_or_else(|| "-".to_string(), |ms| format!("{ms} ms")),
                run["error"].as_str().unwrap_or("").to_string(),
            ]
        })
        .collect();
    if rows.is_empty() {
        out!("{pad}(no activity runs)");
    } else {
        let header = format!("{pad}STATUS");
        table(&[&header, "ACTIVITY", "ATTEMPT", "DURATION", "ERROR"], rows);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_last_failed_run_is_where_it_failed() {
        let instance = json!({
            "status": "failed",
            "activities": [
                { "name": "Check", "status": "failed", "error": "first try" },
                { "name": "Check", "status": "failed", "error": "disk full" },
                { "name": "Report", "status": "success" },
            ]
        });
        assert_eq!(failure_line(&instance).unwrap(), "failed at Check: disk full");
        let handled = json!({ "status": "success", "activities": [{ "name": "Ping", "status": "failed" }] });
        assert_eq!(
            failure_line(&handled).unwrap(),
            "failed at Ping: (no error message) (handled: the instance went on)"
        );
        assert_eq!(failure_line(&json!({ "status": "success", "activities": [] })), None);
    }
}
