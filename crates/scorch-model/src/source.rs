//! Reads a runbook document (YAML, or JSON, which YAML 1.2 contains) into a JSON value plus the
//! line and column of every key and list item, so validation can point at the source.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};

/// Where something is in the source: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Positions by path (`activities/2/type`); the empty path is the document.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    positions: HashMap<String, Position>,
}

impl SourceMap {
    /// The position of `path`, or of its closest ancestor that has one.
    pub fn find(&self, path: &str) -> Position {
        let mut p = path;
        loop {
            if let Some(pos) = self.positions.get(p) {
                return *pos;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return self.positions.get("").copied().unwrap_or_default(),
            }
        }
    }
}

/// A document that could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub position: Position,
    pub message: String,
}

/// Upper bound on nodes (including alias expansions): a document past it is rejected rather
/// than allowed to exhaust memory.
const MAX_NODES: usize = 1_000_000;

enum Frame {
    Seq {
        path: String,
        items: Vec<Value>,
    },
    Map {
        path: String,
        map: Map<String, Value>,
        key: Option<String>,
        key_pos: Position,
    },
}

fn position(span: &Span) -> Position {
    Position {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

fn syntax(position: Position, message: impl Into<String>) -> SyntaxError {
    SyntaxError {
        position,
        message: message.into(),
    }
}

/// Parses `text` into a value and its source map.
pub fn parse(text: &str) -> Result<(Value, SourceMap), SyntaxError> {
    let mut map = SourceMap::default();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Value> = HashMap::new();
    let mut open_anchors: Vec<(usize, usize)> = Vec::new(); // (anchor id, stack depth)
    let mut root: Option<Value> = None;
    let mut nodes = 0usize;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            syntax(
                Position {
                    line: e.marker().line(),
                    column: e.marker().col() + 1,
                },
                e.info(),
            )
        })?;
        let pos = position(&span);
        // The path a new node at this point gets, or None when it is a mapping key.
        let child_path = match stack.last() {
            None => Some(String::new()),
            Some(Frame::Seq { path, items }) => Some(join(path, &items.len().to_string())),
            Some(Frame::Map { path, key: Some(k), .. }) => Some(join(path, k)),
            Some(Frame::Map { key: None, .. }) => None,
        };
        let value = match event {
            Event::Scalar(text, style, anchor, tag) => {
                if child_path.is_none() {
                    let Some(Frame::Map {
                        map: m,
                        key,
                        key_pos,
                        path,
                    }) = stack.last_mut()
                    else {
                        unreachable!()
                    };
                    if m.contains_key(text.as_ref()) {
                        return Err(syntax(pos, format!("duplicate key '{text}'")));
                    }
                    map.positions.insert(join(path, &text), pos);
                    *key = Some(text.into_owned());
                    *key_pos = pos;
                    continue;
                }
                let quoted = style != ScalarStyle::Plain || tag.as_ref().is_some_and(|t| t.suffix == "str");
                let v = if quoted {
                    Value::String(text.into_owned())
                } else {
                    plain_scalar(&text)
                };
                if anchor > 0 {
                    anchors.insert(anchor, v.clone());
                }
                Some(v)
            }
            Event::Alias(id) => {
                let v = anchors.get(&id).cloned().ok_or_else(|| syntax(pos, "unknown alias"))?;
                nodes += count(&v);
                if child_path.is_none() {
                    return Err(syntax(pos, "an alias cannot be a mapping key here"));
                }
                Some(v)
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if child_path.is_none() => {
                return Err(syntax(pos, "complex mapping keys are not supported"));
            }
            Event::SequenceStart(anchor, _) => {
                let path = child_path.clone().unwrap_or_default();
                map.positions.entry(path.clone()).or_insert(pos);
                if anchor > 0 {
                    open_anchors.push((anchor, stack.len()));
                }
                stack.push(Frame::Seq {
                    path,
                    items: Vec::new(),
                });
                None
            }
            Event::MappingStart(anchor, _) => {
                let path = child_path.clone().unwrap_or_default();
                map.positions.entry(path.clone()).or_insert(pos);
                if anchor > 0 {
                    open_anchors.push((anchor, stack.len()));
                }
                stack.push(Frame::Map {
                    path,
                    map: Map::new(),
                    key: None,
                    key_pos: pos,
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let v = match stack.pop() {
                    Some(Frame::Seq { items, .. }) => Value::Array(items),
                    Some(Frame::Map { map, .. }) => Value::Object(map),
                    None => return Err(syntax(pos, "unbalanced document")),
                };
                if let Some(&(anchor, depth)) = open_anchors.last()
                    && depth == stack.len()
                {
                    anchors.insert(anchor, v.clone());
                    open_anchors.pop();
                }
                Some(v)
            }
            Event::DocumentStart(_) if root.is_some() => {
                return Err(syntax(pos, "a runbook file holds one document; found a second '---'"));
            }
            _ => None,
        };
        let Some(value) = value else { continue };
        nodes += 1;
        if nodes > MAX_NODES {
            return Err(syntax(pos, "document too large (too many nodes or alias expansions)"));
        }
        if let Some(p) = child_path.as_ref()
            && !p.is_empty()
        {
            map.positions.entry(p.clone()).or_insert(pos);
        }
        match stack.last_mut() {
            None => root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map { map: m, key, .. }) => {
                if let Some(k) = key.take() {
                    m.insert(k, value);
                }
            }
        }
    }
    map.positions.insert(String::new(), Position { line: 1, column: 1 });
    Ok((root.unwrap_or(Value::Null), map))
}

fn join(path: &str, segment: &str) -> String {
    if path.is_empty() {
        segment.to_string()
    } else {
        format!("{path}/{segment}")
    }
}

fn count(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(count).sum::<usize>(),
        Value::Object(m) => 1 + m.values().map(count).sum::<usize>(),
        _ => 1,
    }
}

/// YAML 1.2 core schema resolution of a plain scalar.
fn plain_scalar(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return Value::Number(i.into());
    }
    let looks_numeric =
        text.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) && text.bytes().any(|b| b.is_ascii_digit());
    if looks_numeric && let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
        return Value::Number(n);
    }
    Value::String(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_positions() {
        let text = "format: 1\nrunbook: X\nactivities:\n  - id: a\n    type: 'true'\n    n: 2.5\n    s: \"3\"\n";
        let (v, map) = parse(text).unwrap();
        assert_eq!(v["format"], 1);
        assert_eq!(v["activities"][0]["type"], "true");
        assert_eq!(v["activities"][0]["n"], 2.5);
        assert_eq!(v["activities"][0]["s"], "3");
        assert_eq!(map.find("activities/0/type"), Position { line: 5, column: 5 });
        assert_eq!(map.find("activities/0"), Position { line: 4, column: 5 });
        assert_eq!(map.find("activities/0/missing"), Position { line: 4, column: 5 });
    }

    #[test]
    fn json_is_accepted() {
        let (v, _) = parse(r#"{"format": 1, "activities": [{"id": "a", "ok": true}]}"#).unwrap();
        assert_eq!(v["activities"][0]["ok"], true);
    }

    #[test]
    fn anchors_and_aliases() {
        let (v, _) = parse("a: &x {k: 1}\nb: *x\n").unwrap();
        assert_eq!(v["b"]["k"], 1);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.position.line >= 1, "{err:?}");
        let dup = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!((dup.position.line, dup.message.as_str()), (2, "duplicate key 'a'"));
    }

    #[test]
    fn billion_laughs_is_bounded() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = format!("*a{}", i - 1);
            doc.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        assert!(parse(&doc).unwrap_err().message.contains("too large"));
    }
}
