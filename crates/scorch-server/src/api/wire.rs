//! The JSON both HTTP roles speak (errors, health, global settings, sign-in, the audit trail),
//! kept apart from the store's types. Public because clients (the CLI) send and read these.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable` when the service cannot work.
    pub status: String,
    /// `ok` or `unavailable`: whether the orchestration database answers.
    pub database: String,
}

/// An error: a stable machine-readable `code` and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable: `bad_request`, `invalid_parameters`, `unauthenticated`, `forbidden`,
    /// `not_found`, `method_not_allowed`, `conflict`, `job_finished`, `runbook_not_runnable`,
    /// `body_too_large`, `unsupported_media_type`, `database_unavailable`, `ambiguous_id`.
    pub code: String,
    pub message: String,
    /// For `ambiguous_id`: some of the jobs or instances the id may name, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<IdCandidate>,
}

/// A job or instance a short id may name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IdCandidate {
    #[schema(format = "uuid")]
    pub id: String,
    /// Its runbook, `FOLDER/NAME`.
    pub runbook: String,
    /// When the job was created, or the instance started (RFC 3339).
    pub created_at: String,
}

// ---- global settings ----

/// A variable as listed: an encrypted one never carries its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VariableItem {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub encrypted: bool,
}

/// `PUT /api/v1/variables/{name}`.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetVariable {
    pub value: String,
    #[serde(default)]
    pub encrypted: bool,
}

impl std::fmt::Debug for SetVariable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.encrypted { "***" } else { self.value.as_str() };
        f.debug_struct("SetVariable")
            .field("value", &value)
            .field("encrypted", &self.encrypted)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CounterItem {
    pub name: String,
    pub value: i64,
    /// The value a reset returns to.
    pub default: i64,
}

/// `PUT /api/v1/counters/{name}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetCounter {
    pub value: i64,
}

/// A computer group: `{{ group.NAME }}` in a host property runs the activity once per host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GroupItem {
    pub name: String,
    /// Host names or addresses, in order.
    pub hosts: Vec<String>,
}

/// `PUT /api/v1/groups/{name}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetGroup {
    pub hosts: Vec<String>,
}

/// A schedule: when runbooks that name it may start and monitors may fire. `definition` is the
/// object `PUT /api/v1/schedules/{name}` takes (`days_of_week`, `days_of_month`, `occurrence`,
/// `hours`, `exceptions`, `timezone`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScheduleItem {
    pub name: String,
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
}

// ---- sign-in ----

/// `POST /api/v1/session`: log in with a password.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user)
            .field("password", &"***")
            .finish()
    }
}

/// A session token (a new API token labelled "session").
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Session {
    pub token: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Session { token: *** }")
    }
}

// ---- audit ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditItem {
    pub id: i64,
    /// RFC 3339.
    pub at: String,
    pub actor: String,
    pub action: String,
    pub object_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = "uuid")]
    pub object_id: Option<Uuid>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}
