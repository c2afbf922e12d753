use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, async_trait};

/// Sets the instance's return data; the engine types the values as the runbook declares.
pub struct ReturnData;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: "return_data",
    category: "Runbook control",
    summary: "Sets the runbook's return data (names declared in its returns).",
    idempotent: true,
    properties: &["values"],
    required: &["values"],
    publishes: &[],
};

#[async_trait]
impl Activity for ReturnData {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    fn published_fields(&self, properties: &Value) -> Option<Vec<String>> {
        Some(
            properties
                .get("values")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, _)| k.clone())
                .collect(),
        )
    }

    async fn run(&self, _ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(DESCRIPTOR.type_name, properties)?;
        match props.get("values") {
            Some(Value::Object(values)) => Ok(ActivityOutput::row(values.clone())),
            _ => Err(ActivityError::invalid(
                DESCRIPTOR.type_name,
                "values",
                "must be a mapping of NAME: value",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorch_activity::json;

    #[tokio::test]
    async fn publishes_values_or_rejects_non_mappings() {
        let ctx = ActivityContext::standalone("return_data", std::env::temp_dir());
        let out = ReturnData.run(&ctx, json!({"values": {"A": "1"}})).await.unwrap();
        assert_eq!(out.rows[0]["A"], "1");
        let err = ReturnData.run(&ctx, json!({"values": "x"})).await.unwrap_err();
        assert!(err.to_string().contains("return_data: property 'values'"));
    }
}
