use crate::source::{Position, SourceMap};

/// One problem in a runbook document: where, which key, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// `/`-separated path of the key (`activities/2/type`); empty for the document.
    pub path: String,
    pub position: Position,
    pub message: String,
}

impl Diagnostic {
    /// `FILE:LINE:COL: KEY: MESSAGE`, the form editors jump to.
    pub fn render(&self, file: &str) -> String {
        let key = key_name(&self.path);
        let Position { line, column } = self.position;
        if key.is_empty() {
            format!("{file}:{line}:{column}: {}", self.message)
        } else {
            format!("{file}:{line}:{column}: {key}: {}", self.message)
        }
    }
}

/// `activities/2/type` as `activities[2].type`.
fn key_name(path: &str) -> String {
    let mut out = String::new();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        if seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    out
}

/// Collects diagnostics, placing each with the source map.
pub(crate) struct Report<'a> {
    pub(crate) map: &'a SourceMap,
    pub(crate) items: Vec<Diagnostic>,
}

impl<'a> Report<'a> {
    pub(crate) fn new(map: &'a SourceMap) -> Self {
        Self { map, items: Vec::new() }
    }

    pub(crate) fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let path = path.into();
        let position = self.map.find(&path);
        self.items.push(Diagnostic {
            path,
            position,
            message: message.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_key() {
        let d = Diagnostic {
            path: "activities/2/type".into(),
            position: Position { line: 9, column: 5 },
            message: "unknown".into(),
        };
        assert_eq!(d.render("a.yaml"), "a.yaml:9:5: activities[2].type: unknown");
    }
}
