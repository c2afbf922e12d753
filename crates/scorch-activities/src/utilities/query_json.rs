//! `query_json`: runs a JSONPath (RFC 9535) query and publishes one row per match.

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};
use serde_json_path::JsonPath;

use super::document;

const TYPE: &str = "query_json";

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: "Utilities",
    summary: "Queries JSON text or a JSON file with a JSONPath expression; one row per match.",
    idempotent: true,
    properties: &["json", "file", "path"],
    required: &["path"],
    publishes: &["value"],
};

pub struct QueryJson;

#[scorch_activity::async_trait]
impl Activity for QueryJson {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let expression = props.non_empty("path")?;
        let path = JsonPath::parse(&expression)
            .map_err(|e| ActivityError::invalid(TYPE, "path", format!("invalid JSONPath '{expression}': {e}")))?;
        let doc = document(ctx, &props, "json").await?;
        let json: Value = serde_json::from_str(&doc.text)
            .map_err(|e| ActivityError::failed(TYPE, &doc.name, format!("invalid JSON: {e}")))?;
        let rows = path
            .query(&json)
            .all()
            .into_iter()
            .map(|found| match found {
                Value::String(text) => row! { "value" => text.as_str() },
                other => row! { "value" => other.to_string() },
            })
            .collect();
        Ok(ActivityOutput::rows(rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorch_activity::json;

    async fn query(properties: Value) -> Result<Vec<Value>, ActivityError> {
        let ctx = ActivityContext::standalone(TYPE, std::env::temp_dir());
        let out = QueryJson.run(&ctx, properties).await?;
        Ok(out.rows.into_iter().map(|mut r| r.remove("value").unwrap()).collect())
    }

    const SERVERS: &str =
        r#"{"servers": [{"name": "web01", "port": 80, "tags": ["a"]}, {"name": "db01", "port": 5432}]}"#;

    #[tokio::test]
    async fn publishes_strings_as_is_and_other_json_compact() {
        let names = query(json!({"json": SERVERS, "path": "$.servers[*].name"}))
            .await
            .unwrap();
        assert_eq!(names, vec![json!("web01"), json!("db01")]);
        let ports = query(json!({"json": SERVERS, "path": "$.servers[?@.port > 100].port"}))
            .await
            .unwrap();
        assert_eq!(ports, vec![json!("5432")]);
        let first = query(json!({"json": SERVERS, "path": "$.servers[0]"})).await.unwrap();
        assert_eq!(first, vec![json!(r#"{"name":"web01","port":80,"tags":["a"]}"#)]);
        assert!(
            query(json!({"json": SERVERS, "path": "$.nothing"}))
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn reads_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("servers.json");
        std::fs::write(&file, SERVERS).unwrap();
        let ports = query(json!({"file": file.to_str().unwrap(), "path": "$..port"}))
            .await
            .unwrap();
        assert_eq!(ports, vec![json!("80"), json!("5432")]);
        std::fs::write(&file, "[1,]").unwrap();
        let err = query(json!({"file": file.to_str().unwrap(), "path": "$"}))
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!(
                "query_json: {}: invalid JSON: trailing comma at line 1 column 4",
                file.display()
            )
        );
    }

    #[tokio::test]
    async fn invalid_json_or_path_is_a_clear_error() {
        let err = query(json!({"json": "{oops", "path": "$"}))
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "query_json: json: invalid JSON: key must be a string at line 1 column 2"
        );
        let err = query(json!({"json": "{}", "path": "$.["}))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("query_json: property 'path': invalid JSONPath '$.[': "),
            "{err}"
        );
        assert!(!err.contains('\n'), "{err}");
    }
}
