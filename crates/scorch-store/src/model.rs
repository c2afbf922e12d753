//! The store's plain types: what callers pass in and get back, whatever the backend.

use std::sync::Arc;

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

/// One version of a runbook, as read back: the runbook as it is now around the version's body.
#[derive(Debug, Clone, PartialEq)]
pub struct Runbook {
    pub id: Uuid,
    /// '/'-joined folder path; "" is the root.
    pub folder: String,
    pub name: String,
    pub version: i64,
    pub latest_version: i64,
    pub checked_out_by: Option<String>,
    /// Shared: stores keep a version's body once, and every read of it (a job start, a claim)
    /// shares it rather than copy it.
    pub body: Arc<RunbookBody>,
}

/// What a runbook version holds; it never changes once checked in.
#[derive(Debug, PartialEq)]
pub struct RunbookBody {
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

    /// Whether a job in this status has ended.
    pub fn is_final(self) -> bool {
        matches!(self, JobStatus::Completed | JobStatus::Failed | JobStatus::Canceled)
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

/// How many jobs are in one status ([`Operations::job_counts`](crate::Operations::job_counts)).
#[derive(Debug, Clone, PartialEq)]
pub struct JobCount {
    pub status: JobStatus,
    pub jobs: u64,
    /// The oldest job's creation: for pending jobs, how long the queue has waited.
    pub oldest_created_at: Timestamp,
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
    /// The job whose `invoke_runbook` started this one.
    pub parent_job: Option<Uuid>,
    /// The runbook server holding it (while running).
    pub claimed_by: Option<String>,
    /// Its instance, once claimed.
    pub instance_id: Option<Uuid>,
    pub cancel_requested: bool,
    pub ended_at: Option<Timestamp>,
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
    /// Why it failed where no activity run shows it (see `InstanceEnd::problems`).
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookServer {
    pub id: Uuid,
    pub name: String,
    pub host: String,
    pub max_instances: u32,
    /// Instances running at its last heartbeat.
    pub running: u32,
    /// Integration packs it has.
    pub packs: Vec<String>,
    pub heartbeat_at: Option<Timestamp>,
}

/// What a runbook server says of itself when it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRegistration {
    pub name: String,
    pub host: String,
    pub max_instances: u32,
    pub packs: Vec<String>,
}

/// A folder of the tree; the root has the empty path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    pub id: Uuid,
    pub path: String,
    pub parent_id: Option<Uuid>,
}

/// A runbook's latest version, without its definition.
#[derive(Debug, Clone, PartialEq)]
pub struct RunbookSummary {
    pub id: Uuid,
    pub folder: String,
    pub name: String,
    pub latest_version: i64,
    pub checked_out_by: Option<String>,
    pub description: Option<String>,
    pub updated_at: Timestamp,
}

/// One checked-in version of a runbook, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookVersionInfo {
    pub version: i64,
    pub created_at: Timestamp,
    pub created_by: String,
}

/// A variable as listed: encrypted values are never returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableInfo {
    pub name: String,
    /// `None` when encrypted.
    pub value: Option<String>,
    pub encrypted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterInfo {
    pub name: String,
    pub value: i64,
    pub default: i64,
}

/// A computer group: a name and its hosts, in their order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfo {
    pub name: String,
    pub hosts: Vec<String>,
}

/// A schedule: a name and its definition, as given (`scorch_model::schedule::Schedule` reads it).
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleInfo {
    pub name: String,
    pub definition: serde_json::Value,
}

/// What a user may do in a folder (and its subfolders); each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Read runbooks, jobs and instances.
    Viewer,
    /// Also start and cancel jobs.
    Operator,
    /// Also check runbooks out and in.
    Author,
    /// Also manage permissions on the folder.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Author => "author",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Role::Viewer, Role::Operator, Role::Author, Role::Admin]
            .into_iter()
            .find(|r| r.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// '/'-separated folder path; "" is the root (everything).
    pub folder: String,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub name: String,
    /// An administrator of the whole system: users, settings, every folder.
    pub admin: bool,
    /// argon2 PHC string; `None` for token-only users.
    pub password_hash: Option<String>,
    pub grants: Vec<Grant>,
}

impl User {
    /// The user's role on `folder`: the strongest grant on it or an ancestor; admins have
    /// `Admin` everywhere.
    pub fn role_on(&self, folder: &str) -> Option<Role> {
        if self.admin {
            return Some(Role::Admin);
        }
        let within =
            |g: &&Grant| g.folder.is_empty() || folder == g.folder || folder.starts_with(&format!("{}/", g.folder));
        self.grants.iter().filter(within).map(|g| g.role).max()
    }
}

/// A token as listed (its secret is never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: Uuid,
    pub user: String,
    pub label: String,
    pub created_at: Timestamp,
    pub revoked: bool,
}

/// An audit record to write.
#[derive(Debug, Clone)]
pub struct NewAudit<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: Option<Uuid>,
    pub detail: &'a Value,
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
