//! The data bus: each run's published data, and the path of runs that led to a token, which is
//! what subscriptions and conditions read.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use scorch_activity::{Row, Status, Variable};
use scorch_model::template::{Reference, Scope, TemplateError};
use serde_json::Value;

/// One finished run, as later activities see it.
#[derive(Debug)]
pub struct RunData {
    pub status: Status,
    pub error: String,
    pub rows: Vec<Row>,
    pub started_at: Timestamp,
    pub ended_at: Timestamp,
    pub attempt: u32,
    pub loop_attempts: u32,
    pub loop_duration_ms: i64,
}

/// A link in the path of runs behind a token: this step's run, seen through one of its rows.
#[derive(Debug)]
pub struct Frame {
    pub step: usize,
    pub run: Arc<RunData>,
    /// `None` when the run published no rows (only its common data is visible).
    pub row: Option<usize>,
    pub parent: Path,
}

/// The runs behind a token, newest first.
pub type Path = Option<Arc<Frame>>;

/// Extends `parent` with a run seen through `row`.
pub fn extend(parent: &Path, step: usize, run: &Arc<RunData>, row: Option<usize>) -> Path {
    Some(Arc::new(Frame {
        step,
        run: run.clone(),
        row,
        parent: parent.clone(),
    }))
}

/// The instance-wide facts references can name.
pub struct InstanceFacts {
    pub step_index: HashMap<Arc<str>, usize>,
    pub step_names: Vec<Arc<str>>,
    pub variables: HashMap<String, Variable>,
    /// Computer groups' hosts.
    pub groups: HashMap<String, Vec<String>>,
    pub runbook: HashMap<&'static str, Value>,
    pub server: String,
}

/// Resolves references along a path.
pub struct PathScope<'a> {
    pub facts: &'a InstanceFacts,
    pub path: &'a Path,
}

impl PathScope<'_> {
    fn frame_of(&self, step: usize) -> Option<&Frame> {
        let mut cur = self.path.as_deref();
        while let Some(f) = cur {
            if f.step == step {
                return Some(f);
            }
            cur = f.parent.as_deref();
        }
        None
    }
}

fn missing(message: String) -> TemplateError {
    TemplateError { message }
}

impl Scope for PathScope<'_> {
    fn resolve(&self, reference: &Reference) -> Result<Value, TemplateError> {
        match reference {
            Reference::Variable(name) => self
                .facts
                .variables
                .get(name)
                .map(|v| Value::String(v.value.clone()))
                .ok_or_else(|| missing(format!("{{{{ var.{name} }}}}: no global variable named '{name}'"))),
            Reference::Group(name) => self
                .facts
                .groups
                .get(name)
                .map(|hosts| Value::Array(hosts.iter().map(|h| Value::String(h.clone())).collect()))
                .ok_or_else(|| missing(format!("{{{{ group.{name} }}}}: no computer group named '{name}'"))),
            Reference::Runbook(field) => Ok(self.facts.runbook.get(field.as_str()).cloned().unwrap_or(Value::Null)),
            Reference::Activity { activity, field } => {
                let frame = self
                    .facts
                    .step_index
                    .get(activity.as_str())
                    .and_then(|&s| self.frame_of(s))
                    .ok_or_else(|| {
                        missing(format!(
                            "{{{{ {activity}.{field} }}}}: '{activity}' did not run on this path"
                        ))
                    })?;
                if let Some(v) = frame.row.and_then(|r| frame.run.rows[r].get(field.as_str())) {
                    return Ok(v.clone());
                }
                common_field(
                    &self.facts.step_names[frame.step],
                    &self.facts.server,
                    &frame.run,
                    field,
                )
                .ok_or_else(|| {
                    missing(format!(
                        "{{{{ {activity}.{field} }}}}: '{activity}' published no '{field}'"
                    ))
                })
            }
        }
    }
}

/// The common published data every run carries.
pub fn common_field(name: &str, server: &str, run: &RunData, field: &str) -> Option<Value> {
    Some(match field {
        "status" => Value::from(run.status.as_str()),
        "error" => Value::from(run.error.as_str()),
        "started_at" => Value::from(run.started_at.to_string()),
        "ended_at" => Value::from(run.ended_at.to_string()),
        "duration_ms" => Value::from(run.ended_at.duration_since(run.started_at).as_millis() as i64),
        "attempt" => Value::from(run.attempt),
        "activity_name" => Value::from(name),
        "server" => Value::from(server),
        "loop_attempts" => Value::from(run.loop_attempts),
        "loop_duration_ms" => Value::from(run.loop_duration_ms),
        _ => return None,
    })
}
