//! The store's plain types: what callers pass in and get back, whatever the backend.

use jiff::Timestamp;
use scorch_engine::InstanceStatus;
use serde_json::{Map, Value};
use uuid::Uuid;

/// A new version of a runbook. Each save makes a version; given ids are kept, so runbooks,
/// parameters and activities imported from Orchestrator keep their GUIDs.
#[derive(Debug, Clone)]
pub struct SaveRunbook<'a> {
    /// `None`: the runbook already at `folder`/`name`, or a new one.
    pub id: Option<Uuid>,
    /// '/'-separated; created when missing; "" is the root.
    pub folder: &'a str,
    pub name: &'a str,
    pub definition: &'a Value,
    /// The text the author wrote (YAML or JSON), kept as written.
    pub source: &'a str,
    pub parameters: Vec<ParameterSpec>,
    pub activities: Vec<ActivitySpec>,
    pub author: &'a str,
}

/// A parameter as saved. `id: None` keeps the id the same-named parameter had in the previous
/// version, or makes a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterSpec {
    pub id: Option<Uuid>,
    pub name: String,
    pub type_name: String,
    pub default: Option<String>,
}

/// An activity as saved. `id: None` keeps the id the activity with the same key had in the
/// previous version, or makes a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivitySpec {
    pub id: Option<Uuid>,
    /// The activity's id in the runbook file (`init`).
    pub key: String,
    pub name: String,
    pub type_name: String,
}

/// One version of a runbook, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Runbook {
    pub id: Uuid,
    /// '/'-joined folder path; "" is the root.
    pub folder: String,
    pub name: String,
    pub version: i64,
    pub latest_version: i64,
    pub checked_out_by: Option<String>,
    pub definition: Value,
    pub source: String,
    pub created_at: Timestamp,
    pub created_by: String,
    /// In declaration order.
    pub parameters: Vec<RunbookParameter>,
    /// In declaration order.
    pub activities: Vec<RunbookActivity>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookParameter {
    pub id: Uuid,
    pub name: String,
    pub type_name: String,
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookActivity {
    pub id: Uuid,
    pub key: String,
    pub name: String,
    pub type_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    Pending,
    Running,
    Completed,
    Failed,
    Canceled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Running => "running",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Canceled => "canceled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Running,
            Self::Completed,
            Self::Failed,
            Self::Canceled,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// A request to run a runbook version with parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: Uuid,
    pub runbook_id: Uuid,
    pub version: i64,
    pub parameters: Map<String, Value>,
    pub status: JobStatus,
    pub created_at: Timestamp,
    pub created_by: String,
}

/// One run of a runbook's graph.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceRow {
    pub id: Uuid,
    pub job_id: Uuid,
    pub runbook_id: Uuid,
    pub server: String,
    pub status: InstanceStatus,
    pub parameters: Map<String, Value>,
    pub returns: Map<String, Value>,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookServer {
    pub id: Uuid,
    pub name: String,
    pub host: String,
    pub max_instances: u32,
    pub heartbeat_at: Option<Timestamp>,
}

/// One change or job event: who did what to which object, when.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<Uuid>,
    pub detail: Value,
}
