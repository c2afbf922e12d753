//! Subscriptions: `{{ ACTIVITY.FIELD }}`, `{{ var.NAME }}`, `{{ group.NAME }}`, `{{ runbook.FIELD }}` and the data
//! manipulation functions (`{{ Upper(init.Name) }}`), parsed once when a runbook is compiled.

use serde_json::Value;
use thiserror::Error;

use crate::functions;

/// A reference to data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// Published data of an activity that ran earlier on this path.
    Activity {
        activity: String,
        field: String,
    },
    Variable(String),
    /// A computer group: its hosts, as a list.
    Group(String),
    Runbook(String),
}

/// An expression inside `{{ }}` or a function argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Ref(Reference),
    Text(String),
    Number(String),
    Call { name: String, args: Vec<Expr> },
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Expr(Expr),
}

/// A parsed string: text and placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{message}")]
pub struct TemplateError {
    pub message: String,
}

fn err(message: impl Into<String>) -> TemplateError {
    TemplateError {
        message: message.into(),
    }
}

/// Deepest nesting of function calls in a placeholder (`Upper(Trim(x))` is 2): parsing,
/// rendering and listing references recurse once per level, and a runbook needs a handful.
pub const MAX_CALL_DEPTH: usize = 32;

/// Supplies the values references resolve to.
pub trait Scope {
    fn resolve(&self, reference: &Reference) -> Result<Value, TemplateError>;
}

/// The runbook fields `{{ runbook.FIELD }}` may name.
pub const RUNBOOK_FIELDS: [&str; 6] = ["name", "folder", "job_id", "instance_id", "server", "started_at"];

impl Template {
    /// Parses `text`; a string without `{{` is one literal part.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("\\{{") {
                literal.push_str("{{");
                rest = after;
            } else if let Some(after) = rest.strip_prefix("{{") {
                let end = after
                    .find("}}")
                    .ok_or_else(|| err(format!("'{{{{' without a closing '}}}}' in \"{text}\"")))?;
                if !literal.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut literal)));
                }
                parts.push(Part::Expr(parse_expr(&after[..end])?));
                rest = &after[end + 2..];
            } else {
                let c = rest.chars().next().unwrap_or_default();
                literal.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        if !literal.is_empty() || parts.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template { parts })
    }

    /// Whether the template holds any placeholder.
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    /// Every reference in the template, including those inside function calls.
    pub fn references(&self) -> Vec<&Reference> {
        let mut out = Vec::new();
        for part in &self.parts {
            if let Part::Expr(e) = part {
                collect_refs(e, &mut out);
            }
        }
        out
    }

    /// Renders the template. One placeholder alone keeps its value's native type.
    pub fn render(&self, scope: &dyn Scope) -> Result<Value, TemplateError> {
        if let [Part::Expr(e)] = self.parts.as_slice() {
            return eval(e, scope);
        }
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Expr(e) => out.push_str(&value_text(&eval(e, scope)?)),
            }
        }
        Ok(Value::String(out))
    }

    /// Renders to text.
    pub fn render_text(&self, scope: &dyn Scope) -> Result<String, TemplateError> {
        self.render(scope).map(|v| value_text(&v))
    }
}

/// A value as text the way subscriptions insert it: strings bare, lists one item a line.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join("\n"),
        other => other.to_string(),
    }
}

fn collect_refs<'a>(expr: &'a Expr, out: &mut Vec<&'a Reference>) {
    match expr {
        Expr::Ref(r) => out.push(r),
        Expr::Call { args, .. } => args.iter().for_each(|a| collect_refs(a, out)),
        _ => {}
    }
}

fn eval(expr: &Expr, scope: &dyn Scope) -> Result<Value, TemplateError> {
    match expr {
        Expr::Ref(r) => scope.resolve(r),
        Expr::Text(t) => Ok(Value::String(t.clone())),
        Expr::Number(n) => Ok(Value::String(n.clone())),
        Expr::Call { name, args } => {
            let values = args
                .iter()
                .map(|a| eval(a, scope).map(|v| value_text(&v)))
                .collect::<Result<Vec<_>, _>>()?;
            functions::call(name, &values).map(Value::String).map_err(err)
        }
    }
}

/// Parses the inside of `{{ }}`.
fn parse_expr(source: &str) -> Result<Expr, TemplateError> {
    let text = source.trim();
    if text.is_empty() {
        return Err(err("empty placeholder '{{ }}'"));
    }
    let mut parser = ExprParser {
        src: text,
        pos: 0,
        open_calls: 0,
    };
    let expr = parser.expr(true)?;
    parser.skip_ws();
    if parser.pos < text.len() {
        return Err(err(format!(
            "unexpected '{}' in '{{{{ {text} }}}}'",
            &text[parser.pos..]
        )));
    }
    Ok(expr)
}

struct ExprParser<'a> {
    src: &'a str,
    pos: usize,
    open_calls: usize,
}

impl<'a> ExprParser<'a> {
    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.src.len() - trimmed.len();
    }

    /// `top`: the whole placeholder, where a reference's field runs to the end.
    fn expr(&mut self, top: bool) -> Result<Expr, TemplateError> {
        self.skip_ws();
        let rest = self.rest();
        if rest.starts_with('\'') {
            return self.quoted();
        }
        let ident_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let after_ident = rest[ident_len..].trim_start();
        if ident_len > 0 && after_ident.starts_with('(') && !rest.starts_with(|c: char| c.is_ascii_digit()) {
            if self.open_calls == MAX_CALL_DEPTH {
                return Err(err(format!("functions nest deeper than {MAX_CALL_DEPTH} levels")));
            }
            let name = rest[..ident_len].to_string();
            self.pos += rest.len() - after_ident.len() + 1;
            self.open_calls += 1;
            let call = self.call(name);
            self.open_calls -= 1;
            return call;
        }
        // A number, or a reference running to the end (top) or to the next ',' / ')'.
        let end = if top {
            rest.len()
        } else {
            rest.find([',', ')']).unwrap_or(rest.len())
        };
        let token = rest[..end].trim();
        self.pos += end;
        if token.parse::<f64>().is_ok() {
            return Ok(Expr::Number(token.to_string()));
        }
        parse_reference(token).map(Expr::Ref)
    }

    fn quoted(&mut self) -> Result<Expr, TemplateError> {
        let mut out = String::new();
        let mut chars = self.rest()[1..].char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if chars.peek().map(|(_, n)| *n) == Some('\'') {
                    chars.next();
                    out.push('\'');
                    continue;
                }
                self.pos += i + 2;
                return Ok(Expr::Text(out));
            }
            out.push(c);
        }
        Err(err(format!("unterminated quoted text in '{{{{ {} }}}}'", self.src)))
    }

    fn call(&mut self, name: String) -> Result<Expr, TemplateError> {
        if !functions::exists(&name) {
            return Err(err(format!(
                "unknown function '{name}' (known: {})",
                functions::NAMES.join(", ")
            )));
        }
        let mut args = Vec::new();
        self.skip_ws();
        if let Some(r) = self.rest().strip_prefix(')') {
            self.pos = self.src.len() - r.len();
            return Ok(Expr::Call { name, args });
        }
        loop {
            args.push(self.expr(false)?);
            self.skip_ws();
            match self.rest().chars().next() {
                Some(',') => self.pos += 1,
                Some(')') => {
                    self.pos += 1;
                    return Ok(Expr::Call { name, args });
                }
                _ => {
                    return Err(err(format!(
                        "missing ')' after the arguments of {name} in '{{{{ {} }}}}'",
                        self.src
                    )));
                }
            }
        }
    }
}

/// `init.Computer Name`, `var.Region`, `runbook.name`.
pub fn parse_reference(token: &str) -> Result<Reference, TemplateError> {
    let (head, field) = token
        .split_once('.')
        .map(|(h, f)| (h.trim(), f.trim()))
        .ok_or_else(|| {
            err(format!(
                "'{token}' is not a reference: write ACTIVITY_ID.FIELD, var.NAME, group.NAME or runbook.FIELD"
            ))
        })?;
    if head.is_empty() || field.is_empty() || !crate::is_identifier(head) {
        return Err(err(format!(
            "'{token}' is not a reference: write ACTIVITY_ID.FIELD, var.NAME, group.NAME or runbook.FIELD"
        )));
    }
    Ok(match head {
        "var" => Reference::Variable(field.to_string()),
        "group" => Reference::Group(field.to_string()),
        "runbook" => {
            if !RUNBOOK_FIELDS.contains(&field) {
                return Err(err(format!(
                    "unknown runbook field '{field}' (known: {})",
                    RUNBOOK_FIELDS.join(", ")
                )));
            }
            Reference::Runbook(field.to_string())
        }
        _ => Reference::Activity {
            activity: head.to_string(),
            field: field.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct TestScope;
    impl Scope for TestScope {
        fn resolve(&self, r: &Reference) -> Result<Value, TemplateError> {
            match r {
                Reference::Activity { activity, field } if activity == "init" && field == "Computer Name" => {
                    Ok(json!("web01"))
                }
                Reference::Activity { field, .. } if field == "count" => Ok(json!(3)),
                Reference::Variable(v) => Ok(json!(format!("var:{v}"))),
                Reference::Runbook(f) => Ok(json!(format!("rb:{f}"))),
                Reference::Group(g) => Ok(json!([format!("{g}1"), format!("{g}2")])),
                other => Err(err(format!("no {other:?}"))),
            }
        }
    }

    fn render(text: &str) -> Value {
        Template::parse(text).unwrap().render(&TestScope).unwrap()
    }

    #[test]
    fn references_and_text() {
        assert_eq!(render("Hello {{ init.Computer Name }}!"), json!("Hello web01!"));
        assert_eq!(render("{{ a.count }}"), json!(3));
        assert_eq!(render("n={{a.count}}"), json!("n=3"));
        assert_eq!(
            render("{{ var.Region }}/{{ runbook.name }}"),
            json!("var:Region/rb:name")
        );
        assert_eq!(render("\\{{ literal }}"), json!("{{ literal }}"));
        assert_eq!(render("plain"), json!("plain"));
    }

    #[test]
    fn a_group_alone_stays_a_list() {
        assert_eq!(render("{{ group.web }}"), json!(["web1", "web2"]));
        assert_eq!(render("hosts: {{ group.web }}"), json!("hosts: web1\nweb2"));
    }

    #[test]
    fn functions_nest_and_take_references() {
        assert_eq!(render("{{ Upper(init.Computer Name) }}"), json!("WEB01"));
        assert_eq!(render("{{ Len(Upper('it''s')) }}"), json!("4"));
        assert_eq!(render("{{ Sum(a.count, 2, 4) }}"), json!("9"));
        assert_eq!(render("{{ Mid('Take from the middle', 5, 4) }}"), json!("from"));
    }

    #[test]
    fn parse_errors_are_clear() {
        let e = |t: &str| Template::parse(t).unwrap_err().message;
        assert!(e("{{ init.x").contains("closing"));
        assert!(e("{{ Nope(1) }}").contains("unknown function 'Nope'"));
        assert!(e("{{ nodot }}").contains("not a reference"));
        assert!(e("{{ runbook.color }}").contains("unknown runbook field"));
        assert!(e("{{ Upper('x' }}").contains("missing ')'"));
    }

    #[test]
    fn references_are_listed() {
        let t = Template::parse("{{ Upper(init.Name) }} {{ var.X }}").unwrap();
        assert_eq!(t.references().len(), 2);
    }

    /// 100,000 nested calls once overflowed the stack: parsing recursed once per call.
    #[test]
    fn call_nesting_is_bounded() {
        let nested = |depth: usize| format!("{{{{ {}'x'{} }}}}", "Upper(".repeat(depth), ")".repeat(depth));
        assert_eq!(render(&nested(MAX_CALL_DEPTH)), json!("X"));
        let e = Template::parse(&nested(100_000)).unwrap_err();
        assert_eq!(e.message, "functions nest deeper than 32 levels");
    }
}
