//! The web service's JSON, separate from the store's types so that either can change without
//! the other: UUIDs as strings, times as RFC 3339 strings, statuses in lowercase. Public
//! because clients (the CLI) deserialize them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::report::{ActivityRun, RunReport};

// ---- runbooks ----

/// A runbook's latest checked-in version, without its definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunbookSummary {
    #[schema(format = "uuid")]
    pub id: String,
    /// '/'-separated folder path; "" is the root.
    pub folder: String,
    pub name: String,
    /// `folder/name` (just the name at the root): what `runbook_path` takes.
    pub path: String,
    pub latest_version: i64,
    /// Who holds it checked out; jobs still run the latest checked-in version.
    pub checked_out_by: Option<String>,
    pub description: Option<String>,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunbookList {
    pub items: Vec<RunbookSummary>,
    /// The `offset` of the next page, when there may be one.
    pub next_offset: Option<u32>,
}

/// A job parameter the runbook declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Parameter {
    #[schema(format = "uuid")]
    pub id: String,
    pub name: String,
    /// `string`, `integer`, `boolean` or `datetime`.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The value it takes when a job does not give one; a parameter without one is required.
    pub default: Option<String>,
}

/// A value the runbook returns (its return data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReturnValue {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
}

/// One version of a runbook, with its parameters and definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunbookDetail {
    #[schema(format = "uuid")]
    pub id: String,
    pub folder: String,
    pub name: String,
    pub path: String,
    pub description: Option<String>,
    /// The version shown (the latest checked-in one).
    pub version: i64,
    pub latest_version: i64,
    pub checked_out_by: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub created_by: String,
    /// In declaration order.
    pub parameters: Vec<Parameter>,
    pub returns: Vec<ReturnValue>,
    /// The runbook definition (`spec/runbook-format.md`) as JSON.
    #[schema(value_type = Object)]
    pub definition: Value,
    /// Whether the caller may start jobs of it (operator or more on its folder).
    pub can_start: bool,
}

/// One checked-in version of a runbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunbookVersion {
    pub version: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub created_by: String,
}

/// A runbook's versions, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunbookVersionList {
    pub items: Vec<RunbookVersion>,
}

// ---- the caller, folders, settings, audit ----

/// The signed-in user and what it may do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub name: String,
    /// A system administrator: sees and may do everything.
    pub admin: bool,
    /// Roles by folder ('/'-separated path; "" is the root), each including its subfolders.
    pub grants: Vec<Grant>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Grant {
    pub folder: String,
    /// `viewer`, `operator`, `author` or `admin`.
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FolderItem {
    /// '/'-separated, like `Operations/Web`.
    pub path: String,
}

/// The folders the caller can see (the root is implied).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FolderList {
    pub items: Vec<FolderItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VariableList {
    pub items: Vec<crate::api::wire::VariableItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CounterList {
    pub items: Vec<crate::api::wire::CounterItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GroupList {
    pub items: Vec<crate::api::wire::GroupItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScheduleList {
    pub items: Vec<crate::api::wire::ScheduleItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditList {
    pub items: Vec<crate::api::wire::AuditItem>,
    pub next_offset: Option<u32>,
}

/// Filters and paging of `GET /api/v1/audit`; the filters given must all hold.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this user's actions (the exact name).
    pub actor: Option<String>,
    /// Only this action (`job.start`), or, ending in `.`, every action it begins (`job.`).
    pub action: Option<String>,
    /// At or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Before this time (RFC 3339).
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// Only records whose actor, action, object type or detail contains this (case-insensitive,
    /// at most 200 characters).
    pub text: Option<String>,
    /// At most this many, newest first (default 50, at most 500).
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

/// Filters of `GET /api/v1/runbooks`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunbookQuery {
    /// Only runbooks in this folder and its subfolders.
    pub folder: Option<String>,
    /// Only runbooks whose name contains this (case-insensitive).
    pub search: Option<String>,
    /// At most this many (default 50, at most 500).
    pub limit: Option<u32>,
    /// Skip this many.
    pub offset: Option<u32>,
}

// ---- jobs ----

/// `POST /api/v1/jobs`: the runbook by `runbook_id` or `runbook_path`, one of the two.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartJob {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = "uuid")]
    pub runbook_id: Option<String>,
    /// `Folder/Sub/Name`, or just `Name` at the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook_path: Option<String>,
    /// Values by parameter name, typed against the runbook's declarations (text forms such as
    /// `"3"` are accepted); missing ones take their default.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub parameters: Map<String, Value>,
    /// Wait for the job to end and answer with its outcome (200), or 202 when `timeout_ms`
    /// passes first.
    #[serde(default)]
    pub wait: bool,
    /// How long `wait` waits (default 30000, at most 300000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// `POST /api/v1/jobs/{id}/rerun`: the body is optional (none: answer at once with the new job).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RerunJob {
    /// Wait for the new job to end and answer with its outcome (200), or 202 when `timeout_ms`
    /// passes first.
    #[serde(default)]
    pub wait: bool,
    /// How long `wait` waits (default 30000, at most 300000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// A request to run a runbook version with parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Job {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = "uuid")]
    pub runbook_id: String,
    /// The runbook version it runs.
    pub version: i64,
    #[schema(value_type = Object)]
    pub parameters: Map<String, Value>,
    /// `pending`, `running`, `completed`, `failed` or `canceled`.
    pub status: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub created_by: String,
    /// The job whose `invoke_runbook` started this one.
    #[schema(format = "uuid")]
    pub parent_job: Option<String>,
    /// The runbook server running it.
    pub claimed_by: Option<String>,
    #[schema(format = "uuid")]
    pub instance_id: Option<String>,
    pub cancel_requested: bool,
    #[schema(format = DateTime)]
    pub ended_at: Option<String>,
    /// Only in the answer of a start that waited for the job to end: the instance's outcome,
    /// the document `scorch runbook test --json` prints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<RunReport>,
    /// Only in lists, for a failed job whose instance has a failed activity run: where it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_activity: Option<FailedActivity>,
}

/// Where a failed job or instance failed: its last failed activity run, with the first line of
/// its error (at most 200 characters; the instance's activity runs hold all of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FailedActivity {
    /// The activity's id in the runbook.
    pub id: String,
    pub name: String,
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JobList {
    pub items: Vec<Job>,
    pub next_offset: Option<u32>,
}

/// Filters of `GET /api/v1/jobs`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    #[param(format = "uuid")]
    pub runbook_id: Option<String>,
    /// `pending`, `running`, `completed`, `failed` or `canceled`.
    pub status: Option<String>,
    /// Created at or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Created before this time (RFC 3339).
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// At most this many, newest first (default 50, at most 500).
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

// ---- instances ----

/// One run of a runbook's graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Instance {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = "uuid")]
    pub job_id: String,
    #[schema(format = "uuid")]
    pub runbook_id: String,
    /// The runbook server that runs (or ran) it.
    pub server: String,
    /// `running`, `success`, `warning`, `failed` or `canceled`.
    pub status: String,
    #[schema(value_type = Object)]
    pub parameters: Map<String, Value>,
    #[schema(value_type = Object)]
    pub returns: Map<String, Value>,
    #[schema(format = DateTime)]
    pub started_at: String,
    #[schema(format = DateTime)]
    pub ended_at: Option<String>,
    /// Why it failed where no activity run shows it (a link condition that could not be
    /// evaluated); absent when there is none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Only in lists, for a failed instance with a failed activity run: where it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_activity: Option<FailedActivity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InstanceList {
    pub items: Vec<Instance>,
    pub next_offset: Option<u32>,
}

/// Filters of `GET /api/v1/instances`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InstanceQuery {
    #[param(format = "uuid")]
    pub runbook_id: Option<String>,
    #[param(format = "uuid")]
    pub job_id: Option<String>,
    /// `running`, `success`, `warning`, `failed` or `canceled`.
    pub status: Option<String>,
    /// Started at or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Started before this time (RFC 3339).
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// At most this many, newest first (default 50, at most 500).
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

/// The activity runs of one instance, in start order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ActivityRunList {
    #[schema(format = "uuid")]
    pub instance_id: String,
    pub items: Vec<ActivityRun>,
}

/// An event `send_platform_event` recorded on an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlatformEvent {
    #[schema(format = "uuid")]
    pub event_id: String,
    /// `information`, `warning` or `error`.
    pub severity: String,
    pub summary: String,
    pub details: String,
    /// The activity that sent it.
    pub activity_id: String,
    pub activity_name: String,
    /// Its run's `seq` in the instance.
    pub seq: u64,
    #[schema(format = DateTime)]
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlatformEventList {
    #[schema(format = "uuid")]
    pub instance_id: String,
    pub items: Vec<PlatformEvent>,
}

// ---- monitor jobs ----

/// A webhook call accepted: its trigger is recorded and its instance starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HookAccepted {
    #[schema(format = "uuid")]
    pub job_id: String,
    #[schema(format = "uuid")]
    pub instance_id: String,
}

/// A monitor job's trigger (it started `instance_id`) or note (a skipped or missed occurrence,
/// or why the monitor stopped: `instance_id` is null and `note` says what).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TriggerItem {
    pub seq: i64,
    pub key: String,
    #[schema(format = "uuid")]
    pub instance_id: Option<String>,
    /// A note's text; null for a trigger.
    pub note: Option<String>,
    #[schema(format = "date-time")]
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TriggerList {
    pub items: Vec<TriggerItem>,
    /// Pass as `after` for the next page; null when this page is the last.
    pub next_after: Option<i64>,
}

// ---- runbook servers ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunbookServer {
    #[schema(format = "uuid")]
    pub id: String,
    pub name: String,
    pub host: String,
    #[schema(format = DateTime)]
    pub heartbeat_at: Option<String>,
    /// Seconds since its last heartbeat.
    pub heartbeat_age_seconds: Option<f64>,
    /// Whether it heartbeated recently (within three heartbeat periods of 2 s).
    pub alive: bool,
    /// Instances it runs at once at most.
    pub max_instances: u32,
    /// Instances running at its last heartbeat.
    pub running: u32,
    /// Integration packs it has.
    pub packs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunbookServerList {
    pub items: Vec<RunbookServer>,
}

// ---- events ----

/// Data of a `job` event: a job was created or changed status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobEvent {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = "uuid")]
    pub runbook_id: String,
    pub status: String,
}

/// Data of an `instance` event: an instance started or ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InstanceEvent {
    #[schema(format = "uuid")]
    pub id: String,
    #[schema(format = "uuid")]
    pub job_id: String,
    #[schema(format = "uuid")]
    pub runbook_id: String,
    pub status: String,
}

/// Data of an `activity` event: an activity run started or finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ActivityEvent {
    #[schema(format = "uuid")]
    pub instance_id: String,
    #[schema(format = "uuid")]
    pub runbook_id: String,
    /// The run's order in its instance, from 0.
    pub seq: u64,
    pub activity_id: String,
    /// `running`, `success`, `warning` or `failed`.
    pub status: String,
}

/// Data of an `output` event: activity run `seq` printed more (its live output); read it with
/// `GET /api/v1/instances/{instance_id}/activities/{seq}/output` from the offset you reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OutputEvent {
    #[schema(format = "uuid")]
    pub instance_id: String,
    #[schema(format = "uuid")]
    pub runbook_id: String,
    /// The run's order in its instance, from 0.
    pub seq: u64,
}

/// Where `GET /api/v1/instances/{id}/activities/{seq}/output` starts.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutputQuery {
    /// Where to start, in bytes of the run's output: 0 (the default) or the `next_offset` of
    /// the previous answer.
    pub offset: Option<u64>,
}

/// A page of an activity run's live output: what it printed on stdout and stderr while it
/// ran, in order, secrets masked. At most 1 MiB is kept per run, then one truncation marker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ActivityOutputPage {
    #[schema(format = "uuid")]
    pub instance_id: String,
    pub seq: u64,
    pub items: Vec<OutputItem>,
    /// Ask again from here for what follows (the same offset when nothing followed yet).
    pub next_offset: u64,
    /// Whether more is stored already: ask again at once rather than waiting for an `output`
    /// event.
    pub more: bool,
}

/// One chunk of live output (whole lines, unless a line is very long).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OutputItem {
    /// Where the text starts in the run's output, in bytes (both streams together).
    pub offset: u64,
    /// `stdout` or `stderr`.
    pub stream: String,
    pub text: String,
}

/// Data of a `lagged` event: the stream fell behind and skipped changes; re-read what you show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LaggedEvent {
    /// How many changes were skipped; 0 when unknown (the web service lost its connection to the
    /// database for a moment).
    pub missed: u64,
}
