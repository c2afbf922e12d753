//! Monitor runbooks (`spec/runbook-format.md`, "Monitor runbooks"): a runbook whose one start
//! activity is a monitor (`monitor_*`). Its job stays running and each trigger starts an
//! instance that begins with the monitor's run.

use serde_json::Value;

use crate::def::Runbook;

/// The prefix of every monitor activity type.
pub const PREFIX: &str = "monitor_";
/// The monitor whose triggers come from `POST /api/v1/hooks/{hook}`.
pub const WEBHOOK: &str = "monitor_webhook";
/// Longest hook name (it is a URL path segment).
pub const MAX_HOOK_CHARS: usize = 100;

pub fn is_monitor(type_name: &str) -> bool {
    type_name.starts_with(PREFIX)
}

/// A hook name: 1 to 100 of `A-Z a-z 0-9 . _ -`, so it stands in a URL as written.
pub fn check_hook(name: &str) -> Result<(), String> {
    let fits = !name.is_empty()
        && name.len() <= MAX_HOOK_CHARS
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    match fits {
        true => Ok(()),
        false => Err(format!(
            "a hook name is 1 to {MAX_HOOK_CHARS} letters, digits, '.', '_' or '-' (it is a URL path segment), not '{name}'"
        )),
    }
}

/// What the monitor rules find wrong in `rb`, given its start activities (no incoming link):
/// (path, message) pairs. The monitor must be the one start activity, at most one monitor, no
/// job parameters, and a webhook's hook a literal name.
pub(crate) fn problems(rb: &Runbook, starts: &[usize], has_parameters: bool) -> Vec<(String, String)> {
    let monitors: Vec<usize> = (0..rb.activities.len())
        .filter(|&i| is_monitor(&rb.activities[i].ty))
        .collect();
    let mut out = Vec::new();
    let Some(&first) = monitors.first() else {
        return out;
    };
    for &i in &monitors[1..] {
        out.push((
            format!("activities/{i}/type"),
            format!(
                "a runbook has at most one monitor activity; '{}' is a second one",
                rb.activities[i].id
            ),
        ));
    }
    for &i in &monitors {
        if !starts.contains(&i) {
            out.push((
                format!("activities/{i}/type"),
                format!(
                    "a monitor activity can only be the runbook's start activity, but '{}' has incoming links",
                    rb.activities[i].id
                ),
            ));
        }
    }
    let others: Vec<&str> = starts
        .iter()
        .filter(|&&i| !is_monitor(&rb.activities[i].ty))
        .map(|&i| rb.activities[i].id.as_str())
        .collect();
    if !others.is_empty() {
        out.push((
            "links".to_string(),
            format!(
                "a monitor runbook has one start activity, its monitor '{}'; these have no incoming link either: {}",
                rb.activities[first].id,
                others.join(", ")
            ),
        ));
    }
    if has_parameters {
        out.push((
            "activities".to_string(),
            "a monitor runbook takes no job parameters: its instances start with the monitor's published data"
                .to_string(),
        ));
    }
    let a = &rb.activities[first];
    if a.ty == WEBHOOK {
        let path = format!("activities/{first}/properties/hook");
        match a.properties.get("hook") {
            Some(Value::String(hook)) if hook.contains("{{") => out.push((
                path,
                "the hook name must be written out: it cannot hold subscriptions".to_string(),
            )),
            Some(Value::String(hook)) => {
                if let Err(why) = check_hook(hook) {
                    out.push((path, why));
                }
            }
            Some(_) => out.push((path, "the hook name must be text".to_string())),
            None => {} // the descriptor's required properties report it
        }
    }
    out
}

/// The hook name of a runbook definition (the document as stored) whose monitor is
/// `monitor_webhook` (checked by [`problems`]).
pub fn hook(definition: &Value) -> Option<&str> {
    definition["activities"]
        .as_array()?
        .iter()
        .find(|a| a["type"] == WEBHOOK)?["properties"]["hook"]
        .as_str()
}

#[cfg(test)]
mod tests {
    use crate::test_catalog::{AnyProperties, diagnostics};
    use crate::{compile, load};

    fn messages(text: &str) -> String {
        diagnostics(text)
            .iter()
            .map(|d| format!("{}: {}", d.path, d.message))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn a_monitor_runbook_starts_with_its_monitor_and_runs_one_job() {
        let text = "format: 1\nrunbook: Tick\nconcurrency: 5\nactivities:\n  - { id: tick, type: monitor_date_time, properties: { every: 1s } }\n  - { id: j, type: junction }\nlinks:\n  - { from: tick, to: j }\n";
        let plan = compile(&load(text).unwrap(), &AnyProperties).unwrap();
        assert_eq!(plan.monitor, Some(0));
        assert_eq!(plan.runbook.concurrency, 1);
        let plain = "format: 1\nrunbook: P\nactivities:\n  - { id: j, type: junction }\n";
        assert_eq!(compile(&load(plain).unwrap(), &AnyProperties).unwrap().monitor, None);
    }

    #[test]
    fn a_monitor_elsewhere_than_the_one_start_is_refused() {
        let inside = "format: 1\nrunbook: M\nactivities:\n  - { id: j, type: junction }\n  - { id: tick, type: monitor_date_time }\nlinks:\n  - { from: j, to: tick }\n";
        assert!(
            messages(inside).contains("can only be the runbook's start activity"),
            "{}",
            messages(inside)
        );
        let two_starts = "format: 1\nrunbook: M\nactivities:\n  - { id: tick, type: monitor_date_time }\n  - { id: j, type: junction }\n";
        assert!(
            messages(two_starts).contains("these have no incoming link either: j"),
            "{}",
            messages(two_starts)
        );
        let params = "format: 1\nrunbook: M\nactivities:\n  - { id: tick, type: monitor_date_time }\n  - { id: init, type: initialize_data, properties: { parameters: [{ name: A, type: string }] } }\nlinks:\n  - { from: tick, to: init }\n";
        assert!(
            messages(params).contains("takes no job parameters"),
            "{}",
            messages(params)
        );
    }

    #[test]
    fn a_hook_is_a_written_out_url_segment() {
        let hook = |h: &str| {
            format!(
                "format: 1\nrunbook: H\nactivities:\n  - {{ id: h, type: monitor_webhook, properties: {{ hook: '{h}', token: t }} }}\n"
            )
        };
        let plan = compile(&load(&hook("deploy-done.v2")).unwrap(), &AnyProperties).unwrap();
        let definition = serde_json::to_value(&plan.runbook).unwrap();
        assert_eq!(super::hook(&definition), Some("deploy-done.v2"));
        assert!(messages(&hook("a/b")).contains("URL path segment"));
        assert!(messages(&hook("{{ var.H }}")).contains("must be written out"));
    }
}
