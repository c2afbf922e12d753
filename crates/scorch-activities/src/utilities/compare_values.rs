//! `compare_values`: compares two values with a link operator and publishes the result.

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};
use scorch_model::compare::{CompareOptions, Kind, Op, compare};

const TYPE: &str = "compare_values";

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: "Utilities",
    summary: "Compares two texts, numbers or date-times and publishes whether the comparison holds.",
    idempotent: true,
    properties: &["kind", "left", "op", "right", "case_sensitive", "regex"],
    required: &["left", "op"],
    publishes: &["result", "left", "right"],
};

pub struct CompareValues;

#[scorch_activity::async_trait]
impl Activity for CompareValues {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, _ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        // Without a kind, values compare the way link conditions do.
        let kind = match props.choice("kind", &["auto", "text", "number", "datetime"], "auto")? {
            "text" => Kind::Text,
            "number" => Kind::Number,
            "datetime" => Kind::DateTime,
            _ => Kind::Auto,
        };
        let op_name = props.str("op")?;
        let op = Op::parse(&op_name.trim().to_ascii_lowercase())
            .ok_or_else(|| ActivityError::invalid(TYPE, "op", format!("'{op_name}' is not one of {}", Op::names())))?;
        let left = props.str("left")?;
        let right = props.str_or("right", "")?;
        let options = CompareOptions {
            kind,
            case_sensitive: props.bool_or("case_sensitive", false)?,
            // As in the system we re-create, `matches` takes `*` and `?` wildcards by default.
            wildcards: !props.bool_or("regex", false)?,
        };
        let result = compare(op, &left, &right, &options).map_err(|e| ActivityError::Failed(format!("{TYPE}: {e}")))?;
        Ok(ActivityOutput::row(
            row! { "result" => result, "left" => left, "right" => right },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorch_activity::{Status, json};

    async fn compare_values(properties: Value) -> Result<ActivityOutput, ActivityError> {
        CompareValues
            .run(&ActivityContext::standalone(TYPE, std::env::temp_dir()), properties)
            .await
    }

    async fn result(properties: Value) -> bool {
        let out = compare_values(properties.clone()).await.unwrap();
        assert_eq!(out.status, Status::Success, "{properties}");
        out.rows[0]["result"].as_bool().unwrap()
    }

    #[tokio::test]
    async fn publishes_the_result_and_both_values() {
        let out = compare_values(json!({"kind": "number", "left": "10", "op": "gt", "right": 9}))
            .await
            .unwrap();
        assert_eq!(out.rows[0], row! { "result" => true, "left" => "10", "right" => "9" });
        let out = compare_values(json!({"left": "a", "op": "equals", "right": "b"}))
            .await
            .unwrap();
        assert_eq!((out.status, &out.rows[0]["result"]), (Status::Success, &json!(false)));
    }

    #[tokio::test]
    async fn text_is_case_insensitive_and_matches_wildcards_unless_told() {
        assert!(result(json!({"kind": "text", "left": "Web01", "op": "equals", "right": "web01"})).await);
        assert!(!result(json!({"left": "Web01", "op": "equals", "right": "web01", "case_sensitive": true})).await);
        assert!(result(json!({"left": "report.TXT", "op": "matches", "right": "*.txt"})).await);
        assert!(!result(json!({"left": "report.txt", "op": "matches", "right": "^report"})).await);
        assert!(result(json!({"left": "report.txt", "op": "matches", "right": "^report", "regex": true})).await);
        let when = json!({"kind": "datetime", "left": "2026-01-02T00:00:00Z", "op": "lt", "right": "2026-01-03T00:00:00+01:00"});
        assert!(result(when).await);
        assert!(result(json!({"left": "", "op": "is_empty"})).await);
    }

    #[tokio::test]
    async fn bad_op_pattern_or_value_fails() {
        let err = compare_values(json!({"left": "1", "op": "between", "right": "2"}))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("compare_values: property 'op': 'between' is not one of equals, "),
            "{err}"
        );
        let err = compare_values(json!({"kind": "number", "left": "ten", "op": "lt", "right": "2"}))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ActivityError::Failed(m) if m.starts_with("compare_values: cannot compare 'ten'")),
            "{err}"
        );
        let err = compare_values(json!({"left": "a", "op": "matches", "right": "(", "regex": true}))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "compare_values: invalid pattern '(': error: unclosed group"
        );
    }
}
