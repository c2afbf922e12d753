use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, async_trait};

/// The starting point: publishes the job's parameters, one field each.
pub struct InitializeData;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: "initialize_data",
    category: "Runbook control",
    summary: "The starting point: declares the job parameters and publishes them.",
    idempotent: true,
    properties: &["parameters"],
    required: &[],
    publishes: &[],
};

#[async_trait]
impl Activity for InitializeData {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    fn published_fields(&self, properties: &Value) -> Option<Vec<String>> {
        let params = properties.get("parameters").and_then(Value::as_array);
        Some(
            params
                .into_iter()
                .flatten()
                .filter_map(|p| p.get("name")?.as_str().map(String::from))
                .collect(),
        )
    }

    /// The parameters were typed and validated when the job was created.
    async fn run(&self, ctx: &ActivityContext, _properties: Value) -> Result<ActivityOutput, ActivityError> {
        Ok(ActivityOutput::row(ctx.parameters.as_ref().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorch_activity::{json, row};
    use std::sync::Arc;

    #[tokio::test]
    async fn publishes_parameters() {
        let mut ctx = ActivityContext::standalone("initialize_data", std::env::temp_dir());
        ctx.parameters = Arc::new(row! {"Who" => "world", "N" => 3});
        let out = InitializeData.run(&ctx, Value::Null).await.unwrap();
        assert_eq!(out.rows, vec![row! {"Who" => "world", "N" => 3}]);
        let props = json!({"parameters": [{"name": "Who"}, {"name": "N", "type": "integer"}]});
        assert_eq!(
            InitializeData.published_fields(&props),
            Some(vec!["Who".to_string(), "N".to_string()])
        );
    }
}
