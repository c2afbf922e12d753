//! Property-based fuzzing of everything that reads runbook text: the document reader, the
//! loader and compiler, templates, conditions, comparisons and functions. The property is the
//! crate's invariant: broken input gives an ordinary error value, never a panic, a hang or an
//! allocation the size of an expansion. Case counts keep the file well under 30 s in a debug
//! build; PROPTEST_CASES overrides them.

use proptest::prelude::*;
use proptest::sample::select;
use scorch_model::compare::{CompareOptions, Kind, Op, compare, wildcard_regex};
use scorch_model::condition::any_holds;
use scorch_model::def::ParamDef;
use scorch_model::duration::parse_duration;
use scorch_model::params::{ValueType, bind_parameters};
use scorch_model::source::{MAX_ALIAS_BYTES, MAX_DEPTH, parse};
use scorch_model::template::{MAX_CALL_DEPTH, Reference, Scope, Template, TemplateError, parse_reference};
use scorch_model::{Catalog, Condition, Diagnostic, Status, TypeInfo, compile, functions, load};
use serde_json::{Map, Value, json};

const EXAMPLES: [&str; 6] = [
    include_str!("../../../examples/append-and-copy.runbook.yaml"),
    include_str!("../../../examples/failure-links.runbook.yaml"),
    include_str!("../../../examples/fan-out.runbook.yaml"),
    include_str!("../../../examples/hello.runbook.yaml"),
    include_str!("../../../examples/retry-loop.runbook.yaml"),
    include_str!("../../../examples/script-report.runbook.yaml"),
];

/// `cases` unless PROPTEST_CASES is set (`ProptestConfig::with_cases` would override it).
#[allow(
    clippy::disallowed_methods,
    reason = "PROPTEST_CASES sets the cases, as proptest reads it"
)]
fn config(cases: u32) -> ProptestConfig {
    let from_env = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_some() {
        from_env
    } else {
        ProptestConfig { cases, ..from_env }
    }
}

/// The examples' activity types, taking any lowercase property, a few with required
/// properties and published fields so those checks run too.
struct ExampleTypes;

impl Catalog for ExampleTypes {
    fn describe(&self, type_name: &str, properties: &Value) -> Option<TypeInfo> {
        let (required, published): (&[&str], Option<&[&str]>) = match type_name {
            "return_data" => (&["values"], None),
            "run_program" => (&["program"], Some(&["stdout", "stderr", "exit_code"])),
            "compare_values" => (&[], Some(&["result"])),
            "copy_file" => (&[], Some(&["source_path", "destination_path"])),
            _ if self.type_names().iter().any(|t| t == type_name) => (&[], None),
            _ => return None,
        };
        let strings = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        Some(TypeInfo {
            properties: properties
                .as_object()
                .into_iter()
                .flat_map(Map::keys)
                .filter(|k| k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
                .cloned()
                .collect(),
            required: strings(required),
            published: published.map(strings),
            idempotent: false,
        })
    }

    fn type_names(&self) -> Vec<String> {
        [
            "append_line",
            "compare_values",
            "copy_file",
            "delete_file",
            "delete_folder",
            "format_date_time",
            "initialize_data",
            "junction",
            "map_published_data",
            "read_line",
            "return_data",
            "run_program",
            "run_script",
        ]
        .map(String::from)
        .to_vec()
    }
}

/// Loads and compiles `text`; every diagnostic must be a message placed inside the document.
fn check_runbook(text: &str) {
    let diagnostics = match load(text) {
        Ok(loaded) => match compile(&loaded, &ExampleTypes) {
            Ok(_) => return,
            Err(d) => d,
        },
        Err(d) => d,
    };
    assert!(!diagnostics.is_empty(), "a refused runbook says why");
    // Lines as YAML counts them: a lone CR breaks a line too.
    let lines = text.replace("\r\n", "\n").split(['\n', '\r']).count().max(1);
    for Diagnostic { position, message, .. } in &diagnostics {
        assert!(!message.is_empty());
        assert!(
            (1..=lines + 1).contains(&position.line) && position.column >= 1,
            "{position:?} is outside the document ({lines} lines): {message}"
        );
    }
}

/// Pieces of YAML, JSON and runbook syntax, so random text often means something.
#[rustfmt::skip]
const YAML_TOKENS: &[&str] = &[
    "- ", ": ", "\n", "  ", "    ", "[", "]", "{", "}", ", ", "&a ", "*a", "&b ", "*b", "? ", "---\n", "...\n",
    "\"", "'", "|\n", ">-\n", "# c\n", "!!str ", "!x ", "~", "null", "true", "1", "-2.5e3", "0x1F", "\\", "\t",
    "\u{feff}", "é", "{{ init.Who }}", "format: 1\n", "runbook: R\n", "activities:\n", "  - id: a\n",
    "    type: junction\n", "links:\n", "  - { from: a, to: b }\n", "%YAML 1.2\n",
];

fn yaml_like() -> impl Strategy<Value = String> {
    prop::collection::vec(select(YAML_TOKENS), 0..64).prop_map(|tokens| tokens.concat())
}

/// One edit of a document's text, by bytes or by lines (positions wrap around).
#[derive(Debug, Clone)]
enum Edit {
    Delete { at: usize, len: usize },
    Insert { at: usize, token: &'static str },
    SetByte { at: usize, byte: u8 },
    Lines(LineEdit),
}

#[derive(Debug, Clone)]
enum LineEdit {
    Duplicate(usize),
    Delete(usize),
    Swap(usize, usize),
    Indent(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1..16usize).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), select(YAML_TOKENS)).prop_map(|(at, token)| Edit::Insert { at, token }),
        (any::<usize>(), prop_oneof![b' '..=b'~', any::<u8>()]).prop_map(|(at, byte)| Edit::SetByte { at, byte }),
        any::<usize>().prop_map(|l| Edit::Lines(LineEdit::Duplicate(l))),
        any::<usize>().prop_map(|l| Edit::Lines(LineEdit::Delete(l))),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Lines(LineEdit::Swap(a, b))),
        (any::<usize>(), 0..6usize).prop_map(|(l, n)| Edit::Lines(LineEdit::Indent(l, n))),
    ]
}

/// `text` edited, as text again (a broken UTF-8 sequence becomes U+FFFD).
fn apply(text: &str, edits: &[Edit]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for edit in edits {
        let len = bytes.len();
        match edit {
            Edit::Delete { at, len: n } => drop(bytes.drain(at % (len + 1)..(at % (len + 1) + n).min(len))),
            Edit::Insert { at, token } => drop(bytes.splice(at % (len + 1)..at % (len + 1), token.bytes())),
            Edit::SetByte { at, byte } => {
                if len > 0 {
                    bytes[at % len] = *byte;
                }
            }
            Edit::Lines(edit) => bytes = edit_lines(&bytes, edit),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn edit_lines(bytes: &[u8], edit: &LineEdit) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    let n = lines.len();
    match *edit {
        LineEdit::Duplicate(l) => lines.insert(l % n, lines[l % n].clone()),
        LineEdit::Delete(l) => drop(lines.remove(l % n)),
        LineEdit::Swap(a, b) => lines.swap(a % n, b % n),
        LineEdit::Indent(l, spaces) => drop(lines[l % n].splice(0..0, std::iter::repeat_n(b' ', spaces))),
    }
    lines.join(&b'\n')
}

/// Strings that reach templates, references, durations, numbers and names.
#[rustfmt::skip]
const SCALARS: &[&str] = &[
    "", " ", "x", "init", "init.Who", "{{ init.Who }}", "{{ Upper(init.Who) }}", "{{ Nope(1) }}", "{{", "}}",
    "\\{{ x }}", "{{ var.Region }}", "{{ runbook.name }}", "{{ runbook.color }}", "{{ a.b }} {{ c.d }}",
    "{{ Diff(9.3, 2.1, 2) }}", "{{ Mid('abc', 1, 1) }}", "500ms", "10s", "1h", "99999999999999999999h", "-1s",
    "success", "failed", "warning", "equals", "matches", "lt", "is_empty", "integer", "boolean", "datetime",
    "2026-01-01T00:00:00Z", "junction", "return_data", "run_program", "initialize_data", "values", "parameters",
    "selected_branch", "exit_code", "stdout", "0", "-1", "1e309", "NaN", "é", "a/b", "{{ init.Who",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        select(SCALARS).prop_map(|s| json!(s)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        any::<bool>().prop_map(|b| json!(b)),
        Just(Value::Null),
        ".{0,12}".prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((select(SCALARS), inner), 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

/// One edit of a document's value: at the node the choices lead to, replace it, drop a key or
/// item, or rename a key.
#[derive(Debug, Clone)]
enum ValueEdit {
    Replace(Vec<usize>, Value),
    Remove(Vec<usize>),
    Rename(Vec<usize>, &'static str),
}

fn value_edit() -> impl Strategy<Value = ValueEdit> {
    // Mostly deep, mostly strings: the document keeps its shape and reaches compilation.
    let route = || prop::collection::vec(any::<usize>(), 1..8);
    prop_oneof![
        4 => (route(), select(SCALARS)).prop_map(|(r, s)| ValueEdit::Replace(r, json!(s))),
        1 => (route(), leaf()).prop_map(|(r, v)| ValueEdit::Replace(r, v)),
        1 => (route(), value()).prop_map(|(r, v)| ValueEdit::Replace(r, v)),
        1 => route().prop_map(ValueEdit::Remove),
        1 => (route(), select(SCALARS)).prop_map(|(r, k)| ValueEdit::Rename(r, k)),
    ]
}

/// The container the route leads to (stopping at a scalar), and a child index in it.
fn walk<'v>(mut node: &'v mut Value, route: &[usize]) -> (&'v mut Value, usize) {
    let (last, steps) = route.split_last().unwrap_or((&0, &[]));
    for &step in steps {
        let len = match &*node {
            Value::Array(items) => items.len(),
            Value::Object(map) => map.len(),
            _ => 0,
        };
        if len == 0 {
            break;
        }
        node = match node {
            Value::Array(items) => &mut items[step % len],
            Value::Object(map) => map.values_mut().nth(step % len).expect("in range"),
            scalar => scalar,
        };
    }
    (node, *last)
}

fn apply_value_edit(doc: &mut Value, edit: &ValueEdit) {
    match edit {
        ValueEdit::Replace(route, v) => match walk(doc, route) {
            (Value::Array(items), i) if !items.is_empty() => {
                let len = items.len();
                items[i % len] = v.clone();
            }
            (Value::Object(map), i) if !map.is_empty() => {
                let len = map.len();
                *map.values_mut().nth(i % len).expect("in range") = v.clone();
            }
            (node, _) => *node = v.clone(),
        },
        ValueEdit::Remove(route) => match walk(doc, route) {
            (Value::Array(items), i) if !items.is_empty() => drop(items.remove(i % items.len())),
            (Value::Object(map), i) => drop(remove_nth(map, i)),
            _ => {}
        },
        ValueEdit::Rename(route, key) => {
            if let (Value::Object(map), i) = walk(doc, route)
                && let Some(v) = remove_nth(map, i)
            {
                map.insert(key.to_string(), v);
            }
        }
    }
}

fn remove_nth(map: &mut Map<String, Value>, i: usize) -> Option<Value> {
    let key = map.keys().nth(i.checked_rem(map.len())?)?.clone();
    map.shift_remove(&key)
}

/// Tokens of the template language, and numbers at the edges of what functions accept.
#[rustfmt::skip]
const TEMPLATE_TOKENS: &[&str] = &[
    "{{", "}}", "\\{{", " ", "(", ")", ",", "'", "''", "init.", "Computer Name", "var.", "Region", "runbook.",
    "name", "folder", "a.count", "x", ".", "Upper", "Lower", "Field", "Sum", "Diff", "Mult", "Div", "Instr",
    "Right", "Left", "Mid", "LTrim", "RTrim", "Trim", "Len", "upper", "Nope", "0", "1", "-1", "3.5", "1e309", "NaN",
    "inf", "99999999999", "18446744073709551615", "18446744073709551616", ";", "é", "\n",
];

fn template_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(select(TEMPLATE_TOKENS), 0..40).prop_map(|t| t.concat()),
        any::<String>(),
    ]
}

/// Arguments that functions read as text, numbers, counts and decimal places.
fn function_arg() -> impl Strategy<Value = String> {
    prop_oneof![
        select(TEMPLATE_TOKENS).prop_map(String::from),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        ".{0,16}",
    ]
}

/// Resolves every reference to a value chosen by the reference's text, some of them errors.
struct FuzzScope(Vec<Value>);

impl Scope for FuzzScope {
    fn resolve(&self, reference: &Reference) -> Result<Value, TemplateError> {
        let text = format!("{reference:?}");
        let pick = text.bytes().map(usize::from).sum::<usize>() % (self.0.len() + 1);
        self.0.get(pick).cloned().ok_or_else(|| TemplateError {
            message: format!("no value for {text}"),
        })
    }
}

fn ops() -> impl Strategy<Value = Op> {
    select(Op::names().split(", ").filter_map(Op::parse).collect::<Vec<_>>())
}

fn compare_options() -> impl Strategy<Value = CompareOptions> {
    (
        select(vec![Kind::Auto, Kind::Text, Kind::Number, Kind::DateTime]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(kind, case_sensitive, wildcards)| CompareOptions {
            kind,
            case_sensitive,
            wildcards,
        })
}

/// Text compared and matched: numbers, date-times, patterns.
#[rustfmt::skip]
const OPERANDS: &[&str] = &[
    "", " ", "3", "3.0", "-0", "1e309", "NaN", "2026-01-01T00:00:00Z", "web*", "^a(b", "a{99999}", "(?i)x", "[", "*?*",
];

fn operand() -> impl Strategy<Value = String> {
    prop_oneof![
        select(OPERANDS).prop_map(String::from),
        any::<f64>().prop_map(|f| f.to_string()),
        ".{0,24}",
    ]
}

/// Nesting `depth` deep with one of the forms YAML and JSON nest in.
fn nested(form: usize, depth: usize) -> String {
    let (open, leaf, close) = [
        ("- ", "x", ""),
        ("[", "x", "]"),
        ("{\"a\":", "1", "}"),
        ("{a: ", "1", "}"),
    ][form % 4];
    format!("{}{leaf}{}", open.repeat(depth), close.repeat(depth))
}

/// How many levels of lists and mappings `value` nests, without recursing.
fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(value, 0)];
    while let Some((v, d)) = pending.pop() {
        deepest = deepest.max(d);
        match v {
            Value::Array(items) => pending.extend(items.iter().map(|i| (i, d + 1))),
            Value::Object(map) => pending.extend(map.values().map(|i| (i, d + 1))),
            _ => {}
        }
    }
    deepest
}

#[test]
fn the_examples_compile() {
    for text in EXAMPLES {
        let loaded = load(text).unwrap_or_else(|d| panic!("{d:?}"));
        compile(&loaded, &ExampleTypes).unwrap_or_else(|d| panic!("{d:?}"));
    }
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn any_text_is_a_runbook_or_diagnostics(text in prop_oneof![any::<String>(), yaml_like()]) {
        check_runbook(&text);
    }

    #[test]
    fn edited_examples_are_runbooks_or_diagnostics(
        example in select(EXAMPLES.to_vec()),
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        check_runbook(&apply(example, &edits));
    }

    #[test]
    fn reshaped_examples_are_runbooks_or_diagnostics(
        example in select(EXAMPLES.to_vec()),
        edits in prop::collection::vec(value_edit(), 1..4),
        pretty in any::<bool>(),
    ) {
        let (mut doc, _) = parse(example).expect("the examples parse");
        for edit in &edits {
            apply_value_edit(&mut doc, edit);
        }
        let text = if pretty { serde_json::to_string_pretty(&doc) } else { serde_json::to_string(&doc) };
        check_runbook(&text.expect("a value serializes"));
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// Deep nesting, repeated aliases and nested calls are refused by bound, never expanded
    /// or recursed into.
    #[test]
    fn nesting_and_aliases_stay_within_bounds(
        form in 0..4usize,
        nesting in 0..200_000usize,
        anchored in 0..100_000usize,
        aliases in 0..4_000usize,
        calls in 0..50_000usize,
    ) {
        if let Ok((v, _)) = parse(&nested(form, nesting)) {
            prop_assert!(depth(&v) <= MAX_DEPTH);
        }
        let doc = format!("a: &a '{}'\nb: [{}]\n", "x".repeat(anchored), vec!["*a"; aliases].join(", "));
        match parse(&doc) {
            Ok(_) => prop_assert!(anchored * aliases <= MAX_ALIAS_BYTES),
            Err(e) => prop_assert!(e.message.contains("aliases expand"), "{e:?}"),
        }
        let call = format!("{{{{ {}x.y{} }}}}", "Len(".repeat(calls), ")".repeat(calls));
        prop_assert_eq!(Template::parse(&call).is_ok(), calls <= MAX_CALL_DEPTH);
    }
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn templates_parse_and_render_or_say_why(
        text in template_text(),
        values in prop::collection::vec(leaf(), 0..4),
    ) {
        if let Ok(template) = Template::parse(&text) {
            let _ = template.references();
            let _ = template.is_literal();
            let scope = FuzzScope(values);
            let _ = template.render(&scope);
            let _ = template.render_text(&scope);
        }
        let _ = parse_reference(&text);
        let _ = parse_duration(&text);
    }

    #[test]
    fn functions_answer_or_say_why(
        name in prop_oneof![4 => select(functions::NAMES.to_vec()), 1 => select(TEMPLATE_TOKENS)],
        args in prop::collection::vec(function_arg(), 0..5),
    ) {
        if let Err(why) = functions::call(name, &args) {
            prop_assert!(!why.is_empty());
        }
    }

    #[test]
    fn comparisons_answer_or_say_why(
        op in ops(),
        left in operand(),
        right in operand(),
        opts in compare_options(),
    ) {
        let _ = compare(op, &left, &right, &opts);
        let _ = wildcard_regex(&right);
    }

    #[test]
    fn conditions_hold_or_say_why(
        op in ops(),
        value in template_text(),
        values in prop::collection::vec(leaf(), 0..4),
        case_sensitive in any::<bool>(),
        status in select(vec![Status::Success, Status::Warning, Status::Failed]),
    ) {
        let scope = FuzzScope(values);
        if let Ok(value) = Template::parse(&value) {
            let reference = Reference::Activity { activity: "a".into(), field: "f".into() };
            let _ = Condition::Data { reference, op, value, case_sensitive }.holds(status, &scope);
        }
        let on_status = [Condition::Status(vec![status])];
        prop_assert_eq!(any_holds(&on_status, status, &scope), Ok(true));
    }

    #[test]
    fn parameters_bind_or_say_why(
        ty in select(vec![ValueType::String, ValueType::Integer, ValueType::Boolean, ValueType::DateTime]),
        given in leaf(),
    ) {
        let _ = ty.coerce(&given);
        let def = ParamDef { name: "P".into(), ty: ty.as_str().into(), default: None, uuid: None };
        let given = Map::from_iter([("P".to_string(), given)]);
        let _ = bind_parameters(&[def], &given);
    }
}
