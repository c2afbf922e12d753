//! `map_published_data`: maps a value to another through an ordered list of pattern rules.

use regex::{Regex, RegexBuilder};
use scorch_activity::props::{Props, parse_bool, scalar_text};
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};
use scorch_model::compare::wildcard_regex;

const TYPE: &str = "map_published_data";

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: "Utilities",
    summary: "Maps a value through ordered `*`/`?` (or regex) rules; the first match gives the output.",
    idempotent: true,
    properties: &["input", "rules", "default", "regex", "case_sensitive"],
    required: &["input", "rules"],
    publishes: &["output"],
};

pub struct MapPublishedData;

#[scorch_activity::async_trait]
impl Activity for MapPublishedData {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, _ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let input = props.str("input")?;
        let rules = rules(&props)?;
        let matched = rules.into_iter().find(|(pattern, _)| pattern.is_match(&input));
        let output = match matched {
            Some((_, value)) => value,
            None => props.str_or("default", "")?,
        };
        Ok(ActivityOutput::row(row! { "output" => output }))
    }
}

/// The rules in order, each compiled to a regex. A rule's own `regex` overrides the activity's.
fn rules(props: &Props) -> Result<Vec<(Regex, String)>, ActivityError> {
    let invalid = |why: String| ActivityError::invalid(TYPE, "rules", why);
    let all_regex = props.bool_or("regex", false)?;
    let case_sensitive = props.bool_or("case_sensitive", false)?;
    let Some(Value::Array(items)) = props.get("rules") else {
        return Err(invalid("must be a list of {pattern, value}".into()));
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let n = index + 1;
            let text = |key| item.get(key).and_then(scalar_text);
            let (Some(pattern), Some(value)) = (text("pattern"), text("value")) else {
                return Err(invalid(format!("rule {n} needs a pattern and a value")));
            };
            let regex = match text("regex") {
                None => all_regex,
                Some(flag) => {
                    parse_bool(&flag).ok_or_else(|| invalid(format!("rule {n}: regex must be true or false")))?
                }
            };
            let source = if regex {
                pattern.clone()
            } else {
                wildcard_regex(&pattern)
            };
            let compiled = RegexBuilder::new(&source)
                .case_insensitive(!case_sensitive)
                .size_limit(1 << 20)
                .build();
            // Regex syntax errors span several lines; their last line says what is wrong.
            let why = |e: regex::Error| e.to_string().lines().last().unwrap_or_default().trim().to_string();
            let compiled = compiled.map_err(|e| invalid(format!("rule {n}: bad pattern '{pattern}': {}", why(e))))?;
            Ok((compiled, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorch_activity::json;

    async fn map(properties: Value) -> Result<String, ActivityError> {
        let ctx = ActivityContext::standalone(TYPE, std::env::temp_dir());
        let out = MapPublishedData.run(&ctx, properties).await?;
        Ok(out.rows[0]["output"].as_str().unwrap().to_string())
    }

    fn rules() -> Value {
        json!([
            {"pattern": "web??", "value": "Web tier"},
            {"pattern": "DB*", "value": "Data tier"},
            {"pattern": "^app-\\d+$", "value": "App tier", "regex": true},
            {"pattern": "*", "value": "Everything else"},
        ])
    }

    #[tokio::test]
    async fn first_matching_rule_wins() {
        let cases = [
            ("WEB01", "Web tier"),
            ("web001", "Everything else"),
            ("db-east", "Data tier"),
            ("app-7", "App tier"),
        ];
        for (input, want) in cases {
            assert_eq!(
                map(json!({"input": input, "rules": rules()})).await.unwrap(),
                want,
                "{input}"
            );
        }
    }

    #[tokio::test]
    async fn default_applies_when_nothing_matches() {
        let rules = json!([{"pattern": "a*", "value": "A"}]);
        assert_eq!(
            map(json!({"input": "b", "rules": rules, "default": "other"}))
                .await
                .unwrap(),
            "other"
        );
        assert_eq!(map(json!({"input": "b", "rules": rules})).await.unwrap(), "");
        let props = json!({"input": "Apple", "rules": rules, "case_sensitive": true, "default": "no"});
        assert_eq!(map(props).await.unwrap(), "no");
    }

    #[tokio::test]
    async fn regex_for_all_rules_and_bad_patterns() {
        let rules = json!([{"pattern": "^\\d+$", "value": "number"}]);
        assert_eq!(
            map(json!({"input": "42", "rules": rules, "regex": true}))
                .await
                .unwrap(),
            "number"
        );
        let bad = json!([{"pattern": "(", "value": "x"}]);
        let err = map(json!({"input": "a", "rules": bad, "regex": "yes"}))
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "map_published_data: property 'rules': rule 1: bad pattern '(': error: unclosed group"
        );
        let err = map(json!({"input": "a", "rules": [{"pattern": "a"}]}))
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "map_published_data: property 'rules': rule 1 needs a pattern and a value"
        );
        let err = map(json!({"input": "a", "rules": "a=b"})).await.unwrap_err();
        assert!(matches!(err, ActivityError::InvalidInput(_)), "{err}");
    }
}
