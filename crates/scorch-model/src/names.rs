//! Bounds on the names a runbook document gives things: they end up in the database, in URLs,
//! logs and every message that names them, where a 200,000-character name, or a control
//! character (a NUL, which PostgreSQL cannot store; a newline, which forges log lines), has no
//! place.

/// Runbook names, activity and link display names, runbook server names.
pub const MAX_NAME_CHARS: usize = 256;

/// Activity ids and types, parameter and return value names: what subscriptions, job requests
/// and the catalog spell out.
pub const MAX_ID_CHARS: usize = 128;

/// The folder path (`Operations/Web`), several names deep.
pub const MAX_FOLDER_CHARS: usize = 1024;

/// Activities in one runbook: compiling keeps, for each activity, the set of those that run
/// before it (what its subscriptions may reference), which grows with the square of a chain's
/// length. Orchestrator's largest runbooks hold a few hundred.
pub const MAX_ACTIVITIES: usize = 1000;

/// Hosts in one computer group.
pub const MAX_GROUP_HOSTS: usize = 10_000;

/// A computer group's hosts, trimmed, or why they are not: each a host name, an IPv4 or an IPv6
/// address (at most 255 characters, no spaces or control characters), at least one.
pub fn check_hosts(hosts: &[String]) -> Result<Vec<String>, String> {
    let hosts: Vec<String> = hosts
        .iter()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .collect();
    if hosts.is_empty() {
        return Err("a computer group needs at least one host".into());
    }
    if hosts.len() > MAX_GROUP_HOSTS {
        return Err(format!(
            "{} hosts; a computer group holds at most {MAX_GROUP_HOSTS}",
            hosts.len()
        ));
    }
    for host in &hosts {
        check_name(&format!("host '{host}'"), host, 255)?;
        if host.contains(char::is_whitespace) {
            return Err(format!("host '{host}' holds a space; give one host per entry"));
        }
    }
    Ok(hosts)
}

/// Why `text` is no name of at most `max` characters without control characters; `what` names
/// it (`the runbook name`).
pub(crate) fn check_name(what: &str, text: &str, max: usize) -> Result<(), String> {
    let chars = text.chars().count();
    if chars > max {
        Err(format!("{what} is {chars} characters long; the limit is {max}"))
    } else if let Some(c) = text.chars().find(|c| c.is_control()) {
        Err(format!("{what} holds a control character ({})", c.escape_unicode()))
    } else {
        Ok(())
    }
}

/// How many single-character edits turn `a` into `b` (Levenshtein): how near a typo is to a
/// known name, for "did you mean" hints.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_catalog::{AnyProperties, diagnostics};
    use crate::{compile, load};

    #[test]
    fn a_long_runbook_name_is_refused() {
        let long = "n".repeat(200_000);
        let errs = diagnostics(&format!(
            "format: 1\nrunbook: {long}\nactivities:\n  - {{ id: a, type: junction }}\n"
        ));
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!((errs[0].path.as_str(), errs[0].position.line), ("runbook", 2));
        assert_eq!(
            errs[0].message,
            "the runbook name is 200000 characters long; the limit is 256"
        );
    }

    #[test]
    fn every_long_name_is_reported_where_it_is() {
        let id = "i".repeat(MAX_ID_CHARS + 1);
        let name = "é".repeat(MAX_NAME_CHARS + 1);
        let folder = "f".repeat(MAX_FOLDER_CHARS + 1);
        let text = format!(
            "format: 1\nrunbook: R\nfolder: {folder}\nrunbook_servers: [{name}]\nreturns:\n  - {{ name: {id} }}\n\
             activities:\n  - {{ id: {id}, name: {name}, type: initialize_data, \
             properties: {{ parameters: [{{ name: {id} }}] }} }}\n  - {{ id: b, type: {id} }}\n\
             links:\n  - {{ from: {id}, to: b, name: {name} }}\n"
        );
        let paths: Vec<(String, usize)> = diagnostics(&text)
            .into_iter()
            .filter(|d| d.message.contains("characters long"))
            .map(|d| (d.path, d.position.line))
            .collect();
        let want = [
            ("folder", 3),
            ("runbook_servers/0", 4),
            ("activities/0/id", 8),
            ("activities/0/name", 8),
            ("activities/1/type", 9),
            ("links/0/name", 11),
            ("returns/0/name", 6),
            ("activities/0/properties/parameters/0/name", 8),
        ];
        assert_eq!(paths, want.map(|(p, l)| (p.to_string(), l)));
    }

    #[test]
    fn too_many_activities_are_refused_before_compiling_them() {
        let mut text = String::from("format: 1\nrunbook: Long\nactivities:\n");
        for i in 0..=MAX_ACTIVITIES {
            text.push_str(&format!("  - {{ id: a{i}, type: junction }}\n"));
        }
        let errs = diagnostics(&text);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].message.contains("limit is 1000"), "{errs:?}");
    }

    #[test]
    fn names_with_control_characters_are_refused() {
        let errs =
            diagnostics("format: 1\nrunbook: \"a\\0b\"\nactivities:\n  - { id: a, name: \"x\\ny\", type: junction }\n");
        let messages: Vec<&str> = errs.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages.iter().all(|m| m.contains("control character")), "{messages:?}");
    }

    #[test]
    fn names_at_the_limit_are_accepted() {
        let id = "i".repeat(MAX_ID_CHARS);
        let name = "é".repeat(MAX_NAME_CHARS);
        let text =
            format!("format: 1\nrunbook: {name}\nactivities:\n  - {{ id: {id}, name: {name}, type: junction }}\n");
        assert!(compile(&load(&text).unwrap(), &AnyProperties).is_ok());
    }
}
