//! Schedules (global settings): when runbooks may start and monitors may fire.
//! `spec/runbook-format.md`, "Schedules and computer groups".

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A schedule's definition as stored and as the API, the CLI and `settings.yaml` write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// `mon`..`sun`; empty when `days_of_month` is given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days_of_week: Vec<String>,
    /// `1,3`, `1-21`, `all`, `last`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_of_month: Option<String>,
    /// With `days_of_week`: which of the month's such days (`first`..`fourth`, `last`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub occurrence: Vec<String>,
    /// Permitted hours (`08:00-18:00`), for every permitted day; none: the whole day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hours: Vec<String>,
    /// Dates (`YYYY-MM-DD`) that are allowed or denied whatever the rest says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<Exception>,
    /// An IANA time zone name; UTC by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    pub date: String,
    /// `allow` or `deny`.
    pub rule: String,
}

impl Schedule {
    /// Reads and checks a definition; the error names what is wrong in it.
    pub fn from_value(value: &Value) -> Result<Schedule, String> {
        serde_json::from_value(value.clone()).map_err(|e| e.to_string())
    }

    /// Whether `at` falls within the schedule. (Placeholder until the schedule's rules land.)
    pub fn conforms(&self, _at: jiff::Timestamp) -> bool {
        true
    }
}
