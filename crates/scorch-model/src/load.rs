//! From text to a [`Runbook`], with every structural problem reported at once.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::def::{ActivityDef, LinkDef, Runbook};
use crate::diagnostic::{Diagnostic, Report};
use crate::source::{self, SourceMap};

/// A runbook document read from text, with its source map for later diagnostics.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub runbook: Runbook,
    pub source_map: SourceMap,
}

/// Reads a runbook document (YAML or JSON).
pub fn load(text: &str) -> Result<Loaded, Vec<Diagnostic>> {
    let (value, map) = source::parse(text).map_err(|e| {
        vec![Diagnostic {
            path: String::new(),
            position: e.position,
            message: format!("not valid YAML: {}", e.message),
        }]
    })?;
    let mut report = Report::new(&map);
    let runbook = from_value(value, &mut report);
    match runbook {
        Some(runbook) if report.items.is_empty() => Ok(Loaded {
            runbook,
            source_map: map,
        }),
        _ => Err(report.items),
    }
}

fn from_value(value: Value, report: &mut Report) -> Option<Runbook> {
    let Value::Object(mut top) = value else {
        report.add(
            "",
            "a runbook document must be a mapping with format, runbook and activities",
        );
        return None;
    };
    match top.get("format") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        Some(other) => {
            report.add(
                "format",
                format!("unsupported format {other}: this version of scorch reads format: 1"),
            );
            return None;
        }
        None => {
            report.add("", "missing 'format: 1' (the runbook format version)");
            return None;
        }
    }
    let activities = take_list::<ActivityDef>(&mut top, "activities", report);
    let links = take_list::<LinkDef>(&mut top, "links", report);
    top.insert("activities".into(), Value::Array(Vec::new()));
    let mut runbook: Runbook = typed(Value::Object(top), "", report)?;
    runbook.activities = activities?;
    runbook.links = links?;
    if runbook.activities.is_empty() {
        report.add("activities", "a runbook needs at least one activity");
    }
    Some(runbook)
}

/// Deserializes each item of a top-level list on its own, so every bad item is reported.
fn take_list<T: DeserializeOwned>(
    top: &mut serde_json::Map<String, Value>,
    key: &str,
    report: &mut Report,
) -> Option<Vec<T>> {
    let items = match top.remove(key) {
        None | Some(Value::Null) => return Some(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            report.add(key, format!("'{key}' must be a list"));
            return None;
        }
    };
    let before = report.items.len();
    let parsed: Vec<T> = items
        .into_iter()
        .enumerate()
        .filter_map(|(i, item)| typed(item, &format!("{key}/{i}"), report))
        .collect();
    (report.items.len() == before).then_some(parsed)
}

fn typed<T: DeserializeOwned>(value: Value, path: &str, report: &mut Report) -> Option<T> {
    match serde_json::from_value(value) {
        Ok(v) => Some(v),
        Err(e) => {
            let message = e.to_string();
            // Point at the offending key when serde names it.
            let key = ["unknown field `", "missing field `"]
                .iter()
                .find_map(|p| message.strip_prefix(p))
                .and_then(|rest| rest.split('`').next());
            let at = match key {
                Some(k) if message.starts_with("unknown") => join(path, k),
                _ => path.to_string(),
            };
            report.add(at, message.replace('`', "'"));
            None
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}/{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_minimal_runbook() {
        let loaded = load("format: 1\nrunbook: R\nactivities:\n  - { id: a, type: junction }\n").unwrap();
        assert_eq!(loaded.runbook.name, "R");
        assert_eq!(loaded.runbook.concurrency, 1);
        assert!(loaded.runbook.logging.published_data);
    }

    #[test]
    fn reports_every_structural_problem() {
        let text = "format: 1\nrunbook: R\nactivities:\n  - { id: a, typo: x, type: t }\n  - { name: b }\nlinks:\n  - { from: a }\n";
        let errs = load(text).unwrap_err();
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert_eq!(errs[0].path, "activities/0/typo");
        assert_eq!(errs[0].position.line, 4);
        assert!(errs[1].message.contains("missing field 'id'"), "{:?}", errs[1]);
        assert_eq!(errs[2].path, "links/0");
    }

    #[test]
    fn rejects_other_formats() {
        let errs = load("format: 2\nrunbook: R\nactivities: []\n").unwrap_err();
        assert!(errs[0].message.contains("format: 1"));
        assert!(load("- a\n").unwrap_err()[0].message.contains("mapping"));
        assert!(load("a: [\n").unwrap_err()[0].message.contains("not valid YAML"));
    }
}
