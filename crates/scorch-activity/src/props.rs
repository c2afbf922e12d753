//! Reading an activity's rendered properties. Subscriptions render to text, so numbers and
//! booleans are accepted either natively or as text (`"3"`, `"true"`, `"yes"`).

use serde_json::{Map, Value};

use crate::ActivityError;

/// An activity's properties with its type name, so every error names both.
pub struct Props {
    type_name: &'static str,
    map: Map<String, Value>,
}

/// Text of a scalar value; `None` for null, arrays and objects.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Parses a boolean the way runbook authors write one.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Some(true),
        "false" | "no" | "0" | "off" | "" => Some(false),
        _ => None,
    }
}

impl Props {
    /// Wraps a rendered `properties` value (null means no properties).
    pub fn new(type_name: &'static str, properties: Value) -> Result<Self, ActivityError> {
        match properties {
            Value::Object(map) => Ok(Self { type_name, map }),
            Value::Null => Ok(Self {
                type_name,
                map: Map::new(),
            }),
            other => Err(ActivityError::InvalidInput(format!(
                "{type_name}: properties must be a mapping, not {other}"
            ))),
        }
    }

    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    fn invalid(&self, name: &str, why: impl std::fmt::Display) -> ActivityError {
        ActivityError::invalid(self.type_name, name, why)
    }

    /// The raw value, if present and not null.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// A required scalar as text.
    pub fn str(&self, name: &str) -> Result<String, ActivityError> {
        self.opt_str(name)?.ok_or_else(|| self.invalid(name, "is required"))
    }

    /// A required scalar as text that must not be empty.
    pub fn non_empty(&self, name: &str) -> Result<String, ActivityError> {
        let text = self.str(name)?;
        if text.is_empty() {
            return Err(self.invalid(name, "must not be empty"));
        }
        Ok(text)
    }

    /// An optional scalar as text.
    pub fn opt_str(&self, name: &str) -> Result<Option<String>, ActivityError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => scalar_text(v)
                .map(Some)
                .ok_or_else(|| self.invalid(name, "must be a single value")),
        }
    }

    pub fn str_or(&self, name: &str, default: &str) -> Result<String, ActivityError> {
        Ok(self.opt_str(name)?.unwrap_or_else(|| default.to_string()))
    }

    pub fn bool_or(&self, name: &str, default: bool) -> Result<bool, ActivityError> {
        match self.get(name) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => scalar_text(v)
                .and_then(|t| parse_bool(&t))
                .ok_or_else(|| self.invalid(name, format!("expected true or false, got {v}"))),
        }
    }

    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>, ActivityError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => scalar_text(v)
                .and_then(|t| t.trim().parse::<i64>().ok())
                .map(Some)
                .ok_or_else(|| self.invalid(name, format!("expected an integer, got {v}"))),
        }
    }

    pub fn i64_or(&self, name: &str, default: i64) -> Result<i64, ActivityError> {
        Ok(self.opt_i64(name)?.unwrap_or(default))
    }

    pub fn i64(&self, name: &str) -> Result<i64, ActivityError> {
        self.opt_i64(name)?.ok_or_else(|| self.invalid(name, "is required"))
    }

    /// A list of texts: a YAML list, or a single scalar as a one-item list. Absent: empty.
    pub fn str_list(&self, name: &str) -> Result<Vec<String>, ActivityError> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| scalar_text(v).ok_or_else(|| self.invalid(name, "items must be single values")))
                .collect(),
            Some(v) => scalar_text(v)
                .map(|t| vec![t])
                .ok_or_else(|| self.invalid(name, "must be a list")),
        }
    }

    /// A mapping of names to texts (`environment: {K: V}`). Absent: empty.
    pub fn str_map(&self, name: &str) -> Result<Vec<(String, String)>, ActivityError> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| {
                    let text = if v.is_null() {
                        Some(String::new())
                    } else {
                        scalar_text(v)
                    };
                    text.map(|t| (k.clone(), t))
                        .ok_or_else(|| self.invalid(name, format!("'{k}' must be a single value")))
                })
                .collect(),
            Some(v) => Err(self.invalid(name, format!("must be a mapping, got {v}"))),
        }
    }

    /// One of a fixed set of words (case-insensitive), or the default when absent.
    pub fn choice<'a>(&self, name: &str, choices: &[&'a str], default: &'a str) -> Result<&'a str, ActivityError> {
        let Some(text) = self.opt_str(name)? else {
            return Ok(default);
        };
        choices
            .iter()
            .find(|c| c.eq_ignore_ascii_case(text.trim()))
            .copied()
            .ok_or_else(|| self.invalid(name, format!("'{text}' is not one of {}", choices.join(", "))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_native_and_text_forms() {
        let p = Props::new("t", json!({"n": "42", "b": "yes", "l": "one", "m": {"A": 1}})).unwrap();
        assert_eq!(p.i64("n").unwrap(), 42);
        assert!(p.bool_or("b", false).unwrap());
        assert_eq!(p.str_list("l").unwrap(), vec!["one"]);
        assert_eq!(p.str_map("m").unwrap(), vec![("A".to_string(), "1".to_string())]);
        assert!(p.bool_or("missing", true).unwrap());
    }

    #[test]
    fn errors_name_type_and_property() {
        let p = Props::new("copy_file", json!({"n": "x"})).unwrap();
        let err = p.i64("n").unwrap_err().to_string();
        assert!(err.starts_with("copy_file: property 'n'"), "{err}");
        assert!(
            p.str("source")
                .unwrap_err()
                .to_string()
                .contains("'source': is required")
        );
    }
}
