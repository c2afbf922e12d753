//! What both backends check before saving a runbook version, and the settings they keep in
//! columns: one implementation, so SQLite and PostgreSQL refuse the same saves the same way.

use std::collections::HashSet;
use std::fmt::Display;
use std::hash::Hash;

use serde_json::Value;

use crate::{SaveRunbook, StoreError};

/// What a claim honours and a listing shows, from the definition (the serde form of
/// `scorch_model::Runbook`): stored in columns so that SQL can use them.
pub(crate) struct RunSettings {
    pub(crate) concurrency: u32,
    /// Preferred runbook servers, in failover order.
    pub(crate) runbook_servers: Vec<String>,
    pub(crate) description: Option<String>,
}

/// Checks a save and returns the runbook's trimmed name and its settings.
pub(crate) fn check<'a>(save: &SaveRunbook<'a>) -> Result<(&'a str, RunSettings), StoreError> {
    let name = save.name.trim();
    if name.is_empty() {
        return Err(StoreError::Invalid("a runbook needs a name".into()));
    }
    unique("parameter name", save.parameters.iter().map(|p| p.name.as_str()))?;
    unique("parameter id", save.parameters.iter().filter_map(|p| p.id))?;
    unique("activity id", save.activities.iter().map(|a| a.key.as_str()))?;
    unique("activity UUID", save.activities.iter().filter_map(|a| a.id))?;
    Ok((name, RunSettings::of(save.definition)?))
}

impl RunSettings {
    fn of(definition: &Value) -> Result<Self, StoreError> {
        let concurrency = match definition.get("concurrency") {
            None | Some(Value::Null) => 1,
            Some(value) => value.as_u64().filter(|&c| c >= 1).ok_or_else(|| {
                StoreError::Invalid(format!("concurrency {value}: expected a whole number of at least 1"))
            })?,
        };
        let runbook_servers: Vec<String> = match definition.get("runbook_servers") {
            None | Some(Value::Null) => Vec::new(),
            Some(value) => serde_json::from_value(value.clone()).map_err(|_| {
                StoreError::Invalid(format!(
                    "runbook_servers {value}: expected a list of runbook server names"
                ))
            })?,
        };
        Ok(RunSettings {
            concurrency: u32::try_from(concurrency).unwrap_or(u32::MAX),
            runbook_servers,
            description: definition
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }
}

/// The conflict of a runbook checked out by someone else.
pub(crate) fn checked_out(name: &str, holder: &str) -> StoreError {
    StoreError::Conflict(format!(
        "runbook '{name}' is checked out by {holder}: they must check it in, or an administrator undo the check-out"
    ))
}

fn unique<T: Eq + Hash + Display>(what: &str, items: impl Iterator<Item = T>) -> Result<(), StoreError> {
    let mut seen = HashSet::new();
    for item in items {
        if let Some(duplicate) = seen.replace(item) {
            return Err(StoreError::Invalid(format!("{what} '{duplicate}' appears twice")));
        }
    }
    Ok(())
}
