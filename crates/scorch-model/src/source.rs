//! Reads a runbook document (YAML, or JSON, which YAML 1.2 contains) into a JSON value plus the
//! line and column of every key and list item, so validation can point at the source.
//!
//! What a document may cost is bounded here, before anything is built past a bound: its nesting
//! depth, its node count and the text its aliases add. The source map grows linearly with the
//! input. The input's own size is the caller's to bound (the HTTP API caps request bodies).

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};

/// Deepest nesting of lists and mappings, aliases included. A runbook needs about six levels
/// (document, activities, activity, properties, and some data inside them); the bound keeps
/// every recursive walk of the value (serde, templates, drop) far from the end of the stack.
pub const MAX_DEPTH: usize = 64;

/// Most text (scalar and key bytes) aliases may add to a document, so a small document cannot
/// alias a large anchor into gigabytes: it is rejected before the copies are made.
pub const MAX_ALIAS_BYTES: usize = 16 * 1024 * 1024;

/// Most nodes a document may have, alias expansions included (the billion laughs).
pub const MAX_NODES: usize = 1_000_000;

/// Where something is in the source: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// The document's node in a [`SourceMap`].
const DOCUMENT: usize = 0;

/// Positions of the document's keys and list items, found by path (`activities/2/type`; the
/// empty path is the document). A tree of nodes, so each costs its own segment, not its path.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    /// By node: the document, then each key and list item in document order.
    positions: Vec<Position>,
    /// A list's item nodes, in order.
    items: HashMap<usize, Vec<usize>>,
    /// A mapping's key nodes, by (mapping node, key).
    keys: HashMap<(usize, Box<str>), usize>,
}

impl SourceMap {
    /// The position of `path`, or of its closest ancestor that has one.
    pub fn find(&self, path: &str) -> Position {
        let mut node = DOCUMENT;
        let mut rest = path;
        while !rest.is_empty() {
            // A key may hold '/' itself: try the longest segment first.
            let segment_ends = rest.match_indices('/').map(|(i, _)| i).chain([rest.len()]);
            let Some((child, end)) = segment_ends
                .rev()
                .find_map(|end| self.child(node, &rest[..end]).map(|child| (child, end)))
            else {
                break;
            };
            node = child;
            rest = rest[end..].strip_prefix('/').unwrap_or_default();
        }
        self.positions.get(node).copied().unwrap_or_default()
    }

    fn child(&self, node: usize, segment: &str) -> Option<usize> {
        let item = || self.items.get(&node)?.get(segment.parse::<usize>().ok()?).copied();
        item().or_else(|| self.keys.get(&(node, segment.into())).copied())
    }

    fn add(&mut self, position: Position) -> usize {
        self.positions.push(position);
        self.positions.len() - 1
    }

    /// The next item of list `parent`.
    fn add_item(&mut self, parent: usize, position: Position) -> usize {
        let node = self.add(position);
        self.items.entry(parent).or_default().push(node);
        node
    }

    fn add_key(&mut self, parent: usize, key: &str, position: Position) -> usize {
        let node = self.add(position);
        self.keys.insert((parent, key.into()), node);
        node
    }
}

/// A document that could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub position: Position,
    pub message: String,
}

/// What a value costs, known as it is built, so an alias is measured before it is copied.
#[derive(Debug, Clone, Copy)]
struct Size {
    nodes: usize,
    /// Bytes of scalar and key text.
    bytes: usize,
    /// Levels of lists and mappings: 0 for a scalar.
    height: usize,
}

impl Size {
    const EMPTY_COLLECTION: Size = Size {
        nodes: 1,
        bytes: 0,
        height: 1,
    };

    fn scalar(text: &str) -> Size {
        Size {
            nodes: 1,
            bytes: text.len(),
            height: 0,
        }
    }

    fn add_child(&mut self, child: Size) {
        self.nodes += child.nodes;
        self.bytes += child.bytes;
        self.height = self.height.max(child.height + 1);
    }
}

/// A list or mapping being read.
struct Frame {
    node: usize,
    /// The anchor id, 0 for none.
    anchor: usize,
    size: Size,
    content: Content,
}

enum Content {
    List(Vec<Value>),
    /// `key`: the key waiting for its value, with its node.
    Mapping {
        map: Map<String, Value>,
        key: Option<(String, usize)>,
    },
}

struct Anchored {
    value: Value,
    size: Size,
}

/// Builds the value from parser events.
#[derive(Default)]
struct Reader {
    source_map: SourceMap,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    root: Option<Value>,
    nodes: usize,
    alias_bytes: usize,
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
    let mut reader = Reader::default();
    reader.source_map.add(Position { line: 1, column: 1 });
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            let pos = Position {
                line: e.marker().line(),
                column: e.marker().col() + 1,
            };
            // The scanner reads a whole flow collection ahead, and stops at 255 levels itself.
            match e.info() {
                "recursion limit exceeded" => too_deep(pos),
                info => syntax(pos, info),
            }
        })?;
        reader.read(event, position(&span))?;
    }
    Ok((reader.root.unwrap_or(Value::Null), reader.source_map))
}

impl Reader {
    fn read(&mut self, event: Event, pos: Position) -> Result<(), SyntaxError> {
        if let Some(Frame {
            node,
            size,
            content: Content::Mapping { map, key: key @ None },
            ..
        }) = self.stack.last_mut()
        {
            match event {
                Event::Scalar(text, ..) => {
                    if map.contains_key(text.as_ref()) {
                        return Err(syntax(pos, format!("duplicate key '{text}'")));
                    }
                    size.bytes += text.len();
                    let key_node = self.source_map.add_key(*node, &text, pos);
                    *key = Some((text.into_owned(), key_node));
                    return Ok(());
                }
                Event::Alias(_) => return Err(syntax(pos, "an alias cannot be a mapping key here")),
                Event::SequenceStart(..) | Event::MappingStart(..) => {
                    return Err(syntax(pos, "complex mapping keys are not supported"));
                }
                _ => {}
            }
        }
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let quoted = style != ScalarStyle::Plain || tag.as_ref().is_some_and(|t| t.suffix == "str");
                let size = Size::scalar(&text);
                let value = if quoted {
                    Value::String(text.into_owned())
                } else {
                    plain_scalar(&text)
                };
                self.count(size, pos)?;
                if anchor > 0 {
                    self.anchor(anchor, &value, size);
                }
                self.place(pos);
                self.attach(value, size);
                Ok(())
            }
            Event::Alias(id) => self.alias(id, pos),
            Event::SequenceStart(anchor, _) => self.open(anchor, Content::List(Vec::new()), pos),
            Event::MappingStart(anchor, _) => self.open(
                anchor,
                Content::Mapping {
                    map: Map::new(),
                    key: None,
                },
                pos,
            ),
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = self.stack.pop().ok_or_else(|| syntax(pos, "unbalanced document"))?;
                let value = match frame.content {
                    Content::List(items) => Value::Array(items),
                    Content::Mapping { map, .. } => Value::Object(map),
                };
                if frame.anchor > 0 {
                    self.anchor(frame.anchor, &value, frame.size);
                }
                self.attach(value, frame.size);
                Ok(())
            }
            Event::DocumentStart(_) if self.root.is_some() => {
                Err(syntax(pos, "a runbook file holds one document; found a second '---'"))
            }
            _ => Ok(()),
        }
    }

    fn alias(&mut self, id: usize, pos: Position) -> Result<(), SyntaxError> {
        let anchored = self.anchors.get(&id).ok_or_else(|| syntax(pos, "unknown alias"))?;
        let size = anchored.size;
        self.alias_bytes += size.bytes;
        if self.alias_bytes > MAX_ALIAS_BYTES {
            return Err(syntax(
                pos,
                format!(
                    "aliases expand the document past the limit of {} MiB",
                    MAX_ALIAS_BYTES >> 20
                ),
            ));
        }
        if self.stack.len() + size.height > MAX_DEPTH {
            return Err(too_deep(pos));
        }
        let value = anchored.value.clone();
        self.count(size, pos)?;
        self.place(pos);
        self.attach(value, size);
        Ok(())
    }

    fn open(&mut self, anchor: usize, content: Content, pos: Position) -> Result<(), SyntaxError> {
        if self.stack.len() == MAX_DEPTH {
            return Err(too_deep(pos));
        }
        self.count(Size::EMPTY_COLLECTION, pos)?;
        let node = self.place(pos);
        self.stack.push(Frame {
            node,
            anchor,
            size: Size::EMPTY_COLLECTION,
            content,
        });
        Ok(())
    }

    fn count(&mut self, size: Size, pos: Position) -> Result<(), SyntaxError> {
        self.nodes += size.nodes;
        if self.nodes > MAX_NODES {
            return Err(syntax(pos, "document too large (too many nodes or alias expansions)"));
        }
        Ok(())
    }

    fn anchor(&mut self, id: usize, value: &Value, size: Size) {
        self.anchors.insert(
            id,
            Anchored {
                value: value.clone(),
                size,
            },
        );
    }

    /// The node of a value starting at `pos`: the document, the next list item, or its key's
    /// (a mapping's value always has its key: `read` takes keys first).
    fn place(&mut self, pos: Position) -> usize {
        match self.stack.last() {
            None => DOCUMENT,
            Some(Frame {
                node,
                content: Content::List(_),
                ..
            }) => self.source_map.add_item(*node, pos),
            Some(Frame {
                content: Content::Mapping { key, .. },
                ..
            }) => key.as_ref().map_or(DOCUMENT, |(_, node)| *node),
        }
    }

    fn attach(&mut self, value: Value, size: Size) {
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(value);
            return;
        };
        frame.size.add_child(size);
        match &mut frame.content {
            Content::List(items) => items.push(value),
            Content::Mapping { map, key } => {
                if let Some((k, _)) = key.take() {
                    map.insert(k, value);
                }
            }
        }
    }
}

fn too_deep(pos: Position) -> SyntaxError {
    syntax(pos, format!("lists and mappings nest deeper than {MAX_DEPTH} levels"))
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
    fn aliases_of_small_anchors_are_copied() {
        let (v, map) = parse("step: &s {type: junction, props: [1, 2]}\nall:\n  - *s\n  - *s\n").unwrap();
        assert_eq!(v["all"][0], v["step"]);
        assert_eq!(v["all"][1]["props"][1], 2);
        assert_eq!(map.find("all/1/props"), Position { line: 4, column: 5 });
    }

    #[test]
    fn keys_holding_slashes_are_found() {
        let (_, map) = parse("a/b:\n  c: 1\n").unwrap();
        assert_eq!(map.find("a/b/c"), Position { line: 2, column: 3 });
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

    /// 900 KB anchored once and aliased 10,000 times would expand to 9 GB.
    #[test]
    fn alias_expansion_is_bounded_in_bytes() {
        let mut doc = format!("big: &big \"{}\"\ncopies:\n", "x".repeat(900_000));
        doc.push_str(&"  - *big\n".repeat(10_000));
        let started = std::time::Instant::now();
        let err = parse(&doc).unwrap_err();
        assert!(err.message.contains("aliases expand"), "{err:?}");
        let first_refused = 3 + MAX_ALIAS_BYTES / 900_000;
        assert_eq!(
            err.position,
            Position {
                line: first_refused,
                column: 5
            }
        );
        assert!(started.elapsed().as_secs() < 10, "took {:?}", started.elapsed());
    }

    fn deep(open: &str, leaf: &str, close: &str, depth: usize) -> String {
        format!("{}{leaf}{}", open.repeat(depth), close.repeat(depth))
    }

    /// Runs on the test thread's default stack: deep input must be refused, not recursed into.
    #[test]
    fn nesting_is_bounded() {
        let refused = |doc: &str| parse(doc).unwrap_err();
        for doc in [
            deep("- ", "x", "", 450_000),
            deep("[", "x", "]", 450_000),
            deep("{\"a\":", "1", "}", 450_000),
            format!("activities:\n  {}", deep("- ", "x", "", 450_000)),
        ] {
            let err = refused(&doc);
            assert!(err.message.contains("nest deeper than 64 levels"), "{err:?}");
        }
        let err = refused(&deep("- ", "x", "", 450_000));
        assert_eq!(
            err.position,
            Position {
                line: 1,
                column: 2 * MAX_DEPTH + 1
            }
        );
        let (v, _) = parse(&deep("[", "x", "]", MAX_DEPTH)).unwrap();
        assert!(v.is_array());
    }

    #[test]
    fn aliases_count_towards_the_depth() {
        let anchored = format!("a: &a {}\n", deep("[", "x", "]", MAX_DEPTH - 2));
        assert!(parse(&format!("{anchored}b: [*a]\n")).is_ok());
        let err = parse(&format!("{anchored}b: [[*a]]\n")).unwrap_err();
        assert!(err.message.contains("nest deeper"), "{err:?}");
    }

    /// Each of 50,000 items under a 100 KB key once cost a copy of the key (5 GB).
    #[test]
    fn source_map_is_linear_in_the_input() {
        let key = "k".repeat(100_000);
        let doc = format!("? {key}\n: [{}1]\n", "1, ".repeat(49_999));
        let (v, map) = parse(&doc).unwrap();
        assert_eq!(v[&key].as_array().map(Vec::len), Some(50_000));
        assert_eq!(map.find(&format!("{key}/49999")).column, 4 + 3 * 49_999);
    }
}
