//! An instance's outcome as a document: the JSON `scorch runbook test --json` prints, which the
//! web service also answers a start that waited with (and `scorch job start --wait --json`
//! prints), so the three stay one shape.

use scorch_engine::{RunRecord, RunState};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

/// The outcome of one instance: the document `scorch runbook test --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunReport {
    /// The runbook's name.
    pub runbook: String,
    /// The instance's status: `running`, `success`, `warning`, `failed` or `canceled`.
    pub status: String,
    #[schema(value_type = Object)]
    pub returns: Map<String, Value>,
    /// Every activity run, in start order.
    pub activities: Vec<ActivityRun>,
    /// Problems the instance met that no activity run shows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// One run (one attempt) of one activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ActivityRun {
    /// The activity's id in the runbook.
    pub id: String,
    pub name: String,
    /// `running`, `success`, `warning` or `failed`.
    pub status: String,
    /// The activity's run for this row, from 1: loop attempts and retries each count.
    pub attempt: u32,
    /// Its published data: one row as an object, several as a list. Encrypted values are
    /// masked.
    pub published: Value,
    #[schema(format = DateTime)]
    pub started_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub ended_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why a failed run failed, as the engine decides on it: `invalid_input`, `failed`,
    /// `transient` (what `retry:` runs again), `timed_out` or `canceled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    /// The published data was cut to the configured cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated: Option<bool>,
    /// The run's order in its instance, from 0: it names the run's live output
    /// (`/api/v1/instances/{id}/activities/{seq}/output`) and its `activity` and `output`
    /// events. Last, so that the document's older keys keep their order.
    pub seq: u64,
}

/// The document of one instance: its status, return data, problems and every activity run.
pub fn document(
    runbook: &str,
    status: &str,
    returns: &Map<String, Value>,
    problems: &[String],
    runs: &[RunRecord],
) -> RunReport {
    RunReport {
        runbook: runbook.to_string(),
        status: status.to_string(),
        returns: returns.clone(),
        activities: runs.iter().map(activity_run).collect(),
        problems: problems.to_vec(),
    }
}

/// One run: `published` is its row, or a list when it published several.
pub fn activity_run(r: &RunRecord) -> ActivityRun {
    let status = match r.state {
        RunState::Finished(s) => s.as_str(),
        RunState::Running => "running",
    };
    let published = match r.rows.as_slice() {
        [] => json!({}),
        [one] => Value::Object(one.clone()),
        many => json!(many),
    };
    ActivityRun {
        id: r.activity_id.to_string(),
        name: r.activity_name.to_string(),
        status: status.to_string(),
        attempt: r.attempt,
        published,
        started_at: r.started_at.to_string(),
        ended_at: r.ended_at.map(|t| t.to_string()),
        duration_ms: r
            .ended_at
            .map(|end| end.duration_since(r.started_at).as_millis() as i64),
        error: (!r.error.is_empty()).then(|| r.error.clone()),
        error_kind: r.error_kind.map(|kind| kind.as_str().to_string()),
        truncated: r.truncated.then_some(true),
        seq: r.seq,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use scorch_activity::Status;
    use uuid::Uuid;

    use super::*;

    fn run(state: RunState, rows: Vec<Map<String, Value>>) -> RunRecord {
        let started_at: jiff::Timestamp = "2026-01-31T08:00:00Z".parse().unwrap();
        RunRecord {
            instance_id: Uuid::nil(),
            seq: 0,
            key: 1,
            activity_id: Arc::from("copy"),
            activity_name: Arc::from("Copy File"),
            attempt: 2,
            state,
            error: String::new(),
            error_kind: None,
            started_at,
            ended_at: matches!(state, RunState::Finished(_))
                .then(|| started_at + jiff::SignedDuration::from_millis(1500)),
            rows: Arc::new(rows),
            truncated: false,
        }
    }

    /// The document's shape is a contract (`spec/runbook-format.md`): key order, optional keys.
    #[test]
    fn documents_keep_the_tester_shape() {
        let one = json!({"path": "a"}).as_object().unwrap().clone();
        let mut failed = run(RunState::Finished(Status::Failed), vec![one.clone(), one.clone()]);
        failed.error = "disk full".into();
        failed.truncated = true;
        let runs = [
            run(RunState::Finished(Status::Success), vec![one]),
            failed,
            run(RunState::Running, vec![]),
        ];
        let returns = json!({"N": 1}).as_object().unwrap().clone();
        let doc = document("Copy", "failed", &returns, &["boom".into()], &runs);
        let text = serde_json::to_string(&doc).unwrap();
        let expected = concat!(
            r#"{"runbook":"Copy","status":"failed","returns":{"N":1},"activities":["#,
            r#"{"id":"copy","name":"Copy File","status":"success","attempt":2,"published":{"path":"a"},"#,
            r#""started_at":"2026-01-31T08:00:00Z","ended_at":"2026-01-31T08:00:01.5Z","duration_ms":1500,"seq":0},"#,
            r#"{"id":"copy","name":"Copy File","status":"failed","attempt":2,"published":[{"path":"a"},{"path":"a"}],"#,
            r#""started_at":"2026-01-31T08:00:00Z","ended_at":"2026-01-31T08:00:01.5Z","duration_ms":1500,"#,
            r#""error":"disk full","truncated":true,"seq":0},"#,
            r#"{"id":"copy","name":"Copy File","status":"running","attempt":2,"published":{},"#,
            r#""started_at":"2026-01-31T08:00:00Z","seq":0}],"problems":["boom"]}"#,
        );
        assert_eq!(text, expected);
        let quiet = document("Copy", "success", &Map::new(), &[], &[]);
        assert_eq!(
            serde_json::to_string(&quiet).unwrap(),
            r#"{"runbook":"Copy","status":"success","returns":{},"activities":[]}"#
        );
    }
}
