//! An activity's `properties` with their subscriptions parsed once, rendered per run.

use serde_json::{Map, Value};

use crate::template::{Reference, Scope, Template, TemplateError};

#[derive(Debug, Clone)]
pub enum PropTemplate {
    /// No subscription anywhere below: used as it is.
    Value(Value),
    Template(Template),
    Array(Vec<PropTemplate>),
    Object(Vec<(String, PropTemplate)>),
}

impl PropTemplate {
    /// Parses every string; an error carries the key path (`values/Message`).
    pub fn compile(value: &Value) -> Result<PropTemplate, (String, TemplateError)> {
        let compiled = match value {
            Value::String(s) if s.contains("{{") => {
                let t = Template::parse(s).map_err(|e| (String::new(), e))?;
                if t.is_literal() {
                    PropTemplate::Value(Value::String(t.render_text(&NoScope).unwrap_or_default()))
                } else {
                    PropTemplate::Template(t)
                }
            }
            Value::Array(items) => PropTemplate::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Self::compile(v).map_err(|(p, e)| (prefix(&i.to_string(), &p), e)))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => PropTemplate::Object(
                map.iter()
                    .map(|(k, v)| {
                        Self::compile(v)
                            .map(|t| (k.clone(), t))
                            .map_err(|(p, e)| (prefix(k, &p), e))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => PropTemplate::Value(other.clone()),
        };
        // Collapse all-literal containers into one value (built from the compiled literals, so
        // `\{{` escapes are already resolved).
        let literal = |t: &PropTemplate| match t {
            PropTemplate::Value(v) => Some(v.clone()),
            _ => None,
        };
        Ok(match compiled {
            PropTemplate::Array(items) => match items.iter().map(literal).collect::<Option<Vec<_>>>() {
                Some(values) => PropTemplate::Value(Value::Array(values)),
                None => PropTemplate::Array(items),
            },
            PropTemplate::Object(items) => {
                match items
                    .iter()
                    .map(|(k, t)| literal(t).map(|v| (k.clone(), v)))
                    .collect::<Option<Map<_, _>>>()
                {
                    Some(values) => PropTemplate::Value(Value::Object(values)),
                    None => PropTemplate::Object(items),
                }
            }
            other => other,
        })
    }

    /// Every reference with the key path it sits under.
    pub fn references(&self) -> Vec<(String, &Reference)> {
        let mut out = Vec::new();
        self.collect("", &mut out);
        out
    }

    fn collect<'a>(&'a self, path: &str, out: &mut Vec<(String, &'a Reference)>) {
        match self {
            PropTemplate::Value(_) => {}
            PropTemplate::Template(t) => out.extend(t.references().into_iter().map(|r| (path.to_string(), r))),
            PropTemplate::Array(items) => items
                .iter()
                .enumerate()
                .for_each(|(i, t)| t.collect(&prefix(path, &i.to_string()), out)),
            PropTemplate::Object(items) => items.iter().for_each(|(k, t)| t.collect(&prefix(path, k), out)),
        }
    }

    /// Renders every subscription; an error names the property.
    pub fn render(&self, scope: &dyn Scope) -> Result<Value, String> {
        self.render_at("", scope)
    }

    fn render_at(&self, path: &str, scope: &dyn Scope) -> Result<Value, String> {
        Ok(match self {
            PropTemplate::Value(v) => v.clone(),
            PropTemplate::Template(t) => t
                .render(scope)
                .map_err(|e| format!("property '{path}': {}", e.message))?,
            PropTemplate::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, t)| t.render_at(&prefix(path, &i.to_string()), scope))
                    .collect::<Result<_, _>>()?,
            ),
            PropTemplate::Object(items) => Value::Object(
                items
                    .iter()
                    .map(|(k, t)| t.render_at(&prefix(path, k), scope).map(|v| (k.clone(), v)))
                    .collect::<Result<Map<_, _>, _>>()?,
            ),
        })
    }
}

fn prefix(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}/{b}"),
    }
}

/// Resolves nothing: literal templates (`\{{` escapes only) need no scope.
struct NoScope;

impl Scope for NoScope {
    fn resolve(&self, _: &Reference) -> Result<Value, TemplateError> {
        Err(TemplateError {
            message: "no data here".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_resolve_in_literal_mappings_and_lists() {
        let t = PropTemplate::compile(&json!({"text": "look like \\{{ x }}", "list": ["\\{{ y }}", 1]})).unwrap();
        let PropTemplate::Value(v) = &t else {
            panic!("all literal: {t:?}")
        };
        assert_eq!(v, &json!({"text": "look like {{ x }}", "list": ["{{ y }}", 1]}));
    }
}
