//! The management server's JSON (API wire types), kept apart from the store's types so the
//! database can change without changing the API. Shared with the `scorch` CLI, which sends and
//! reads exactly these.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

// ---- runbooks ----

/// `POST /api/v1/runbooks`: check a runbook in (a new version).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckIn {
    /// The runbook file's text (YAML or JSON), stored as written.
    pub source: String,
    /// Stores the runbook in this folder instead of the one its file names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
}

/// The version a check-in made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckedIn {
    pub id: Uuid,
    pub folder: String,
    pub name: String,
    pub version: i64,
}

/// One runbook in a listing (its latest version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunbookItem {
    pub id: Uuid,
    pub folder: String,
    pub name: String,
    pub latest_version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_out_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// RFC 3339.
    pub updated_at: String,
}

/// `GET /api/v1/runbooks/{id}/source`: one version's text, as it was checked in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunbookSource {
    pub id: Uuid,
    pub folder: String,
    pub name: String,
    pub version: i64,
    pub latest_version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_out_by: Option<String>,
    pub created_by: String,
    /// RFC 3339.
    pub created_at: String,
    pub source: String,
}

/// A runbook's lock after a check-out or an undo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutState {
    pub id: Uuid,
    pub folder: String,
    pub name: String,
    pub latest_version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_out_by: Option<String>,
}

// ---- folders ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderItem {
    pub id: Uuid,
    /// '/'-separated; "" is the root.
    pub path: String,
}

/// `POST /api/v1/folders`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewFolder {
    pub path: String,
}

// ---- users, tokens, permissions ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantItem {
    pub folder: String,
    /// viewer, operator, author or admin.
    pub role: String,
}

/// A user as listed: never with a password or its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserItem {
    pub name: String,
    pub admin: bool,
    /// Whether the user can log in with a password (otherwise tokens only).
    pub has_password: bool,
    pub grants: Vec<GrantItem>,
}

/// `POST /api/v1/users`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default)]
    pub admin: bool,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("name", &self.name)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("admin", &self.admin)
            .finish()
    }
}

/// `POST /api/v1/users/{name}/tokens`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    #[serde(default)]
    pub label: String,
}

/// A token just made: the only time its secret is shown.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub id: Uuid,
    pub user: String,
    pub label: String,
    pub token: String,
}

impl std::fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedToken")
            .field("id", &self.id)
            .field("user", &self.user)
            .field("label", &self.label)
            .field("token", &"***")
            .finish()
    }
}

/// A token as listed (no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenItem {
    pub id: Uuid,
    pub user: String,
    pub label: String,
    /// RFC 3339.
    pub created_at: String,
    pub revoked: bool,
}

/// `PUT /api/v1/grants`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetGrant {
    pub user: String,
    pub folder: String,
    pub role: String,
}

/// `DELETE /api/v1/grants`: the JSON body `{user, folder}` (or, as older clients send it, the
/// query string `?user=..&folder=..`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeGrant {
    pub user: String,
    pub folder: String,
}

// ---- retention ----

/// `POST /api/v1/purge`: removes finished instances outside the last `keep_last` of their
/// runbook and/or older than `older_than_days` (at least one of the two).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purge {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_last: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub older_than_days: Option<u32>,
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purged {
    /// Instances removed (or, on a dry run, that would be).
    pub instances: u64,
    pub dry_run: bool,
}

/// The body of every error answer: `{"error": {"code", "message", "diagnostics"?}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    /// For `invalid_runbook`: every problem, `LINE:COL: KEY: MESSAGE`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<String>,
}
