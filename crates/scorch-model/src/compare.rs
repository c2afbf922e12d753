//! The comparison operators shared by link conditions, loop conditions and `compare_values`.

use std::cmp::Ordering;

use jiff::Timestamp;
use regex::RegexBuilder;
use thiserror::Error;

/// A comparison operator, as written in runbooks (`equals`, `lt`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Equals,
    NotEquals,
    Contains,
    NotContains,
    StartsWith,
    EndsWith,
    Matches,
    NotMatches,
    Lt,
    Le,
    Gt,
    Ge,
    IsEmpty,
    IsNotEmpty,
}

impl Op {
    const ALL: [(Op, &'static str); 14] = [
        (Op::Equals, "equals"),
        (Op::NotEquals, "not_equals"),
        (Op::Contains, "contains"),
        (Op::NotContains, "not_contains"),
        (Op::StartsWith, "starts_with"),
        (Op::EndsWith, "ends_with"),
        (Op::Matches, "matches"),
        (Op::NotMatches, "not_matches"),
        (Op::Lt, "lt"),
        (Op::Le, "le"),
        (Op::Gt, "gt"),
        (Op::Ge, "ge"),
        (Op::IsEmpty, "is_empty"),
        (Op::IsNotEmpty, "is_not_empty"),
    ];

    pub fn parse(text: &str) -> Option<Op> {
        Self::ALL.iter().find(|(_, name)| *name == text).map(|(op, _)| *op)
    }

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(op, _)| *op == self)
            .map(|(_, name)| *name)
            .unwrap_or("equals")
    }

    /// Every operator name, for error messages.
    pub fn names() -> String {
        Self::ALL.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(", ")
    }

    /// Whether the operator ignores its right-hand side.
    pub fn is_unary(self) -> bool {
        matches!(self, Op::IsEmpty | Op::IsNotEmpty)
    }
}

/// How to interpret the two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    /// Links: ordering operators compare as numbers when both sides parse as numbers, else as
    /// RFC 3339 date-times when both do, else fail; the other operators compare text.
    #[default]
    Auto,
    Text,
    Number,
    DateTime,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct CompareOptions {
    pub kind: Kind,
    pub case_sensitive: bool,
    /// `matches` uses `*` and `?` wildcards instead of a regular expression.
    pub wildcards: bool,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CompareError {
    #[error("cannot compare '{left}' and '{right}' with {op}: {why}")]
    Incomparable {
        left: String,
        right: String,
        op: &'static str,
        why: &'static str,
    },
    #[error("invalid pattern '{pattern}': {why}")]
    BadPattern { pattern: String, why: String },
}

/// Evaluates `left OP right`.
pub fn compare(op: Op, left: &str, right: &str, opts: &CompareOptions) -> Result<bool, CompareError> {
    let ordering = |why| -> Result<Ordering, CompareError> {
        ordered(left, right, opts.kind).ok_or(CompareError::Incomparable {
            left: left.to_string(),
            right: right.to_string(),
            op: op.as_str(),
            why,
        })
    };
    let numeric_kind = matches!(opts.kind, Kind::Number | Kind::DateTime);
    Ok(match op {
        Op::IsEmpty => left.trim().is_empty(),
        Op::IsNotEmpty => !left.trim().is_empty(),
        Op::Lt => ordering(ORDER_WHY)? == Ordering::Less,
        Op::Le => ordering(ORDER_WHY)? != Ordering::Greater,
        Op::Gt => ordering(ORDER_WHY)? == Ordering::Greater,
        Op::Ge => ordering(ORDER_WHY)? != Ordering::Less,
        Op::Equals if numeric_kind => ordering(ORDER_WHY)? == Ordering::Equal,
        Op::NotEquals if numeric_kind => ordering(ORDER_WHY)? != Ordering::Equal,
        Op::Equals => text_eq(left, right, opts.case_sensitive) || numbers_equal(left, right),
        Op::NotEquals => !(text_eq(left, right, opts.case_sensitive) || numbers_equal(left, right)),
        Op::Contains => fold(left, opts).contains(&fold(right, opts)),
        Op::NotContains => !fold(left, opts).contains(&fold(right, opts)),
        Op::StartsWith => fold(left, opts).starts_with(&fold(right, opts)),
        Op::EndsWith => fold(left, opts).ends_with(&fold(right, opts)),
        Op::Matches => matches(left, right, opts)?,
        Op::NotMatches => !matches(left, right, opts)?,
    })
}

const ORDER_WHY: &str = "both sides must be numbers or RFC 3339 date-times";

fn fold(text: &str, opts: &CompareOptions) -> String {
    if opts.case_sensitive {
        text.to_string()
    } else {
        text.to_lowercase()
    }
}

fn text_eq(left: &str, right: &str, case_sensitive: bool) -> bool {
    if case_sensitive {
        left == right
    } else {
        left == right || left.to_lowercase() == right.to_lowercase()
    }
}

/// `3` equals `3.0` when both sides are numbers.
fn numbers_equal(left: &str, right: &str) -> bool {
    matches!((number(left), number(right)), (Some(a), Some(b)) if a == b)
}

fn number(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    t.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn datetime(text: &str) -> Option<Timestamp> {
    text.trim().parse::<Timestamp>().ok()
}

fn ordered(left: &str, right: &str, kind: Kind) -> Option<Ordering> {
    let as_numbers = || Some(number(left)?.total_cmp(&number(right)?));
    let as_times = || Some(datetime(left)?.cmp(&datetime(right)?));
    match kind {
        Kind::Number => as_numbers(),
        Kind::DateTime => as_times(),
        Kind::Auto => as_numbers().or_else(as_times),
        Kind::Text => Some(left.cmp(right)),
    }
}

fn matches(text: &str, pattern: &str, opts: &CompareOptions) -> Result<bool, CompareError> {
    let source = if opts.wildcards {
        wildcard_regex(pattern)
    } else {
        pattern.to_string()
    };
    let re = RegexBuilder::new(&source)
        .case_insensitive(!opts.case_sensitive)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| CompareError::BadPattern {
            pattern: pattern.to_string(),
            why: first_line(&e.to_string()),
        })?;
    Ok(re.is_match(text))
}

/// A `*`/`?` wildcard pattern as an anchored regular expression.
pub fn wildcard_regex(pattern: &str) -> String {
    let mut out = String::from("^");
    for c in pattern.chars() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push('$');
    out
}

fn first_line(text: &str) -> String {
    text.lines().last().unwrap_or(text).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auto(op: &str, l: &str, r: &str) -> Result<bool, CompareError> {
        compare(Op::parse(op).unwrap(), l, r, &CompareOptions::default())
    }

    #[test]
    fn operator_table() {
        let cases = [
            ("equals", "Web01", "web01", true),
            ("not_equals", "a", "b", true),
            ("equals", "3", "3.0", true),
            ("contains", "Hello World", "WORLD", true),
            ("not_contains", "Hello", "x", true),
            ("starts_with", "Hello", "he", true),
            ("ends_with", "Hello", "LO", true),
            ("matches", "web01", "^WEB\\d+$", true),
            ("not_matches", "web01", "^db", true),
            ("lt", "9", "10", true),
            ("le", "10", "10", true),
            ("gt", "2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z", true),
            ("ge", "1", "2", false),
            ("is_empty", "  ", "", true),
            ("is_not_empty", "x", "", true),
        ];
        for (op, l, r, want) in cases {
            assert_eq!(auto(op, l, r).unwrap(), want, "{l} {op} {r}");
        }
    }

    #[test]
    fn case_sensitive_and_wildcards() {
        let cs = CompareOptions {
            case_sensitive: true,
            ..Default::default()
        };
        assert!(!compare(Op::Equals, "A", "a", &cs).unwrap());
        let wild = CompareOptions {
            wildcards: true,
            ..Default::default()
        };
        assert!(compare(Op::Matches, "report.TXT", "*.txt", &wild).unwrap());
        assert!(!compare(Op::Matches, "report.txt1", "*.tx?", &wild).unwrap());
    }

    #[test]
    fn incomparable_values_and_bad_patterns_are_errors() {
        let err = auto("lt", "abc", "3").unwrap_err().to_string();
        assert!(err.contains("'abc'") && err.contains("lt"), "{err}");
        assert!(matches!(
            auto("matches", "x", "(").unwrap_err(),
            CompareError::BadPattern { .. }
        ));
        let num = CompareOptions {
            kind: Kind::Number,
            ..Default::default()
        };
        assert!(compare(Op::Equals, "x", "1", &num).is_err());
    }
}
