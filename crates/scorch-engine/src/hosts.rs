//! One run per host. Where an activity's `host` renders to a list (`{{ group.NAME }}`, a computer
//! group, or a list written out) or it is given `hosts: [..]`, the activity runs once per host, a
//! bounded number at a time, and its rows are the hosts' rows in the hosts' order. Activities see
//! one `host` and know nothing of this.

use futures_util::stream::{self, StreamExt};
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Status, Value};
use scorch_model::plan::HOSTS;

/// Hosts one run works on at once: enough to hide network latency, few enough not to flood a
/// runbook server's sockets (or a peer's connection limit).
const PARALLEL_HOSTS: usize = 32;
/// Hosts one run may fan out to.
const MAX_HOSTS: usize = 10_000;

/// Runs `activity` once, or once per host when its properties name several.
pub(crate) async fn run(
    activity: &dyn Activity,
    ctx: &ActivityContext,
    properties: Value,
) -> Result<ActivityOutput, ActivityError> {
    let type_name = activity.descriptor().type_name;
    let Some(hosts) = host_list(type_name, &properties)? else {
        return activity.run(ctx, properties).await;
    };
    let runs = hosts.into_iter().map(|host| {
        let mut one = properties.clone();
        if let Value::Object(map) = &mut one {
            map.remove(HOSTS);
            map.insert("host".into(), Value::String(host.clone()));
        }
        (host, one)
    });
    let results: Vec<_> = stream::iter(runs)
        .map(|(host, properties)| async move { (host, activity.run(ctx, properties).await) })
        .buffered(PARALLEL_HOSTS)
        .collect()
        .await;
    merge(type_name, results)
}

/// The hosts to run on, or `None` when the properties name one host (or none).
fn host_list(type_name: &str, properties: &Value) -> Result<Option<Vec<String>>, ActivityError> {
    let Value::Object(map) = properties else {
        return Ok(None);
    };
    let invalid = |why: &str| ActivityError::invalid(type_name, HOSTS, why);
    let given = match (map.get("host"), map.get(HOSTS)) {
        (Some(host), Some(hosts)) if !host.is_null() && !hosts.is_null() => {
            return Err(invalid("give host or hosts, not both"));
        }
        (Some(Value::Array(list)), _) | (_, Some(Value::Array(list))) => list.clone(),
        // Text: one host a line or between commas (a group inside a longer template).
        (_, Some(Value::String(text))) => text.split([',', '\n']).map(|h| Value::String(h.to_string())).collect(),
        (_, Some(other)) if !other.is_null() => return Err(invalid("must be a list of hosts")),
        _ => return Ok(None),
    };
    let mut hosts = Vec::new();
    for item in given {
        // A group inside a written-out list (`hosts: ["{{ group.web }}", db1]`) is spliced in.
        let items = match item {
            Value::Array(inner) => inner,
            one => vec![one],
        };
        for host in items {
            let host = match host {
                Value::String(s) => s.trim().to_string(),
                Value::Number(n) => n.to_string(),
                other => return Err(invalid(&format!("{other} is not a host name or address"))),
            };
            if !host.is_empty() {
                hosts.push(host);
            }
        }
    }
    if hosts.is_empty() {
        return Err(invalid("no hosts (the list or computer group is empty)"));
    }
    if hosts.len() > MAX_HOSTS {
        return Err(invalid(&format!("{} hosts; at most {MAX_HOSTS}", hosts.len())));
    }
    Ok(Some(hosts))
}

/// The hosts' rows in order. The run fails when any host failed, naming the first; a cancel
/// anywhere cancels the whole run.
fn merge(
    type_name: &str,
    results: Vec<(String, Result<ActivityOutput, ActivityError>)>,
) -> Result<ActivityOutput, ActivityError> {
    let total = results.len();
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let mut warnings = Vec::new();
    for (host, result) in results {
        match result {
            Ok(output) => {
                rows.extend(output.rows);
                match output.status {
                    Status::Failed => failures.push(output.error),
                    Status::Warning => warnings.push(output.error),
                    _ => {}
                }
            }
            Err(ActivityError::Canceled) => return Err(ActivityError::Canceled),
            Err(e) => failures.push(named(type_name, &host, e.to_string())),
        }
    }
    let summary = |list: &[String]| match list.len() {
        1 => list[0].clone(),
        n => format!("{} (and {} more of {total} hosts)", list[0], n - 1),
    };
    Ok(if !failures.is_empty() {
        ActivityOutput::failed(summary(&failures), rows)
    } else if !warnings.is_empty() {
        ActivityOutput::warning(summary(&warnings), rows)
    } else {
        ActivityOutput::rows(rows)
    })
}

/// An error that does not say which host it came from, made to.
fn named(type_name: &str, host: &str, error: String) -> String {
    if error.contains(host) {
        return error;
    }
    let rest = error.strip_prefix(&format!("{type_name}: ")).unwrap_or(&error);
    format!("{type_name}: {host}: {rest}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorch_activity::{Descriptor, async_trait, json};

    /// Publishes its host; fails on hosts starting with "bad".
    struct Echo;

    const ECHO: Descriptor = Descriptor {
        type_name: "echo_host",
        category: "Test",
        summary: "",
        idempotent: true,
        properties: &["host"],
        required: &["host"],
        publishes: &["host"],
    };

    #[async_trait]
    impl Activity for Echo {
        fn descriptor(&self) -> &Descriptor {
            &ECHO
        }

        async fn run(&self, _ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
            let host = properties["host"].as_str().unwrap().to_string();
            if host.starts_with("bad") {
                return Err(ActivityError::Failed(format!("echo_host: {host}: refused")));
            }
            let row = json!({ "host": host }).as_object().unwrap().clone();
            Ok(ActivityOutput::row(row))
        }
    }

    async fn run_with(properties: Value) -> Result<ActivityOutput, ActivityError> {
        let ctx = ActivityContext::standalone("echo_host", std::env::temp_dir());
        run(&Echo, &ctx, properties).await
    }

    fn hosts_of(output: &ActivityOutput) -> Vec<&str> {
        output.rows.iter().map(|r| r["host"].as_str().unwrap()).collect()
    }

    #[tokio::test]
    async fn one_host_runs_once() {
        let out = run_with(json!({ "host": "a" })).await.unwrap();
        assert_eq!(hosts_of(&out), ["a"]);
    }

    #[tokio::test]
    async fn a_list_runs_once_per_host_in_order() {
        let out = run_with(json!({ "host": ["a", "b", "c"] })).await.unwrap();
        assert_eq!(hosts_of(&out), ["a", "b", "c"]);
        let out = run_with(json!({ "hosts": [["a", "b"], "c", 7] })).await.unwrap();
        assert_eq!(hosts_of(&out), ["a", "b", "c", "7"]);
        let out = run_with(json!({ "hosts": "a, b\nc" })).await.unwrap();
        assert_eq!(hosts_of(&out), ["a", "b", "c"]);
    }

    #[tokio::test]
    async fn a_failed_host_fails_the_run_and_keeps_the_others_rows() {
        let out = run_with(json!({ "hosts": ["a", "bad1", "b", "bad2"] })).await.unwrap();
        assert_eq!(out.status, Status::Failed);
        assert_eq!(out.error, "echo_host: bad1: refused (and 1 more of 4 hosts)");
        assert_eq!(hosts_of(&out), ["a", "b"]);
    }

    #[tokio::test]
    async fn bad_lists_are_refused() {
        let err = |v| async move { run_with(v).await.unwrap_err().to_string() };
        assert!(err(json!({ "host": "a", "hosts": ["b"] })).await.contains("not both"));
        assert!(err(json!({ "hosts": [] })).await.contains("no hosts"));
        assert!(err(json!({ "hosts": [{ "x": 1 }] })).await.contains("not a host"));
    }
}
