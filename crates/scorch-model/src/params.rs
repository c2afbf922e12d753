//! Typed parameters and return values: `string`, `integer`, `boolean`, `datetime` (RFC 3339).

use serde_json::{Map, Value};

use crate::def::ParamDef;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    String,
    Integer,
    Boolean,
    DateTime,
}

pub const TYPE_NAMES: &str = "string, integer, boolean, datetime";

impl ValueType {
    pub fn parse(text: &str) -> Option<ValueType> {
        match text {
            "string" => Some(ValueType::String),
            "integer" => Some(ValueType::Integer),
            "boolean" => Some(ValueType::Boolean),
            "datetime" => Some(ValueType::DateTime),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Integer => "integer",
            ValueType::Boolean => "boolean",
            ValueType::DateTime => "datetime",
        }
    }

    /// `value` as this type, accepting text forms (`"3"`, `"true"`); an error says why not.
    pub fn coerce(self, value: &Value) -> Result<Value, String> {
        let text = match value {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => String::new(),
            other => return Err(format!("expected a {}, got {other}", self.as_str())),
        };
        match self {
            ValueType::String => Ok(Value::String(match value {
                Value::String(s) => s.clone(),
                _ => text,
            })),
            ValueType::Integer => text
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| format!("'{text}' is not an integer")),
            ValueType::Boolean => match text.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Ok(Value::Bool(true)),
                "false" | "no" | "0" => Ok(Value::Bool(false)),
                _ => Err(format!("'{text}' is not a boolean (true or false)")),
            },
            ValueType::DateTime => text
                .parse::<jiff::Timestamp>()
                .map(|_| Value::String(text.clone()))
                .map_err(|_| format!("'{text}' is not an RFC 3339 date-time (like 2026-01-31T08:00:00Z)")),
        }
    }
}

/// Checks and types a job's parameters against the declarations: every error, each naming
/// its parameter. Missing parameters take their default; one without a default is an error.
pub fn bind_parameters(defs: &[ParamDef], given: &Map<String, Value>) -> Result<Map<String, Value>, Vec<String>> {
    let mut out = Map::new();
    let mut errors = Vec::new();
    for name in given.keys() {
        if !defs.iter().any(|d| &d.name == name) {
            let known = defs.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ");
            errors.push(format!("unknown parameter '{name}' (this runbook takes: {known})"));
        }
    }
    for def in defs {
        let ty = ValueType::parse(&def.ty).unwrap_or(ValueType::String);
        match given.get(&def.name).or(def.default.as_ref()) {
            Some(v) => match ty.coerce(v) {
                Ok(v) => {
                    out.insert(def.name.clone(), v);
                }
                Err(why) => errors.push(format!("parameter '{}': {why}", def.name)),
            },
            None => errors.push(format!(
                "parameter '{}' ({}) is required: it has no default",
                def.name,
                ty.as_str()
            )),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(name: &str, ty: &str, default: Option<Value>) -> ParamDef {
        ParamDef {
            name: name.into(),
            ty: ty.into(),
            default,
            uuid: None,
        }
    }

    #[test]
    fn binds_with_defaults_and_types() {
        let defs = [
            def("N", "integer", Some(json!(3))),
            def("B", "boolean", None),
            def("S", "string", None),
        ];
        let given = json!({"B": "yes", "S": "x"});
        let bound = bind_parameters(&defs, given.as_object().unwrap()).unwrap();
        assert_eq!(Value::Object(bound), json!({"N": 3, "B": true, "S": "x"}));
    }

    #[test]
    fn reports_every_problem() {
        let defs = [def("N", "integer", None), def("T", "datetime", None)];
        let given = json!({"N": "three", "T": "yesterday", "X": 1});
        let errors = bind_parameters(&defs, given.as_object().unwrap()).unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors.iter().any(|e| e.contains("'N'") && e.contains("not an integer")));
        assert!(errors.iter().any(|e| e.contains("unknown parameter 'X'")));
    }
}
