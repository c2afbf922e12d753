//! Link and loop conditions, compiled.

use crate::compare::{CompareOptions, Op, compare};
use crate::status::Status;
use crate::template::{Reference, Scope, Template, value_text};

#[derive(Debug, Clone)]
pub enum Condition {
    /// The source run's status is one of these.
    Status(Vec<Status>),
    /// A published field compared with a value (which may hold subscriptions).
    Data {
        reference: Reference,
        op: Op,
        value: Template,
        case_sensitive: bool,
    },
}

impl Condition {
    /// Whether the condition holds for a run that ended `status`, reading data from `scope`.
    pub fn holds(&self, status: Status, scope: &dyn Scope) -> Result<bool, String> {
        match self {
            Condition::Status(list) => Ok(list.contains(&status)),
            Condition::Data {
                reference,
                op,
                value,
                case_sensitive,
            } => {
                // A run that published no rows has no such field: it compares as empty text.
                let left = scope.resolve(reference).unwrap_or(serde_json::Value::Null);
                let right = value.render_text(scope).map_err(|e| e.message)?;
                let opts = CompareOptions {
                    case_sensitive: *case_sensitive,
                    ..Default::default()
                };
                compare(*op, &value_text(&left), &right, &opts).map_err(|e| e.to_string())
            }
        }
    }
}

/// True when any condition holds (an empty list holds nowhere).
pub fn any_holds(conditions: &[Condition], status: Status, scope: &dyn Scope) -> Result<bool, String> {
    for c in conditions {
        if c.holds(status, scope)? {
            return Ok(true);
        }
    }
    Ok(false)
}
