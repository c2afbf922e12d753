//! `get_counter`: reads a global counter.

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::settings_error;

const TYPE: &str = "get_counter";

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: "Utilities",
    summary: "Publishes the current value of a global counter.",
    idempotent: true,
    properties: &["counter"],
    required: &["counter"],
    publishes: &["value"],
};

pub struct GetCounter;

#[scorch_activity::async_trait]
impl Activity for GetCounter {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let name = props.non_empty("counter")?;
        let value = ctx
            .settings
            .counter(&name)
            .await
            .map_err(|e| settings_error(TYPE, "counter", &name, e))?;
        Ok(ActivityOutput::row(row! { "value" => value }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::utilities::context_with;
    use scorch_activity::{MemorySettings, json};

    #[tokio::test]
    async fn reads_a_known_counter_and_names_an_unknown_one() {
        let settings = MemorySettings::default();
        settings.set_counter("Failures", 4);
        let ctx = context_with(TYPE, settings);
        let out = GetCounter.run(&ctx, json!({"counter": "Failures"})).await.unwrap();
        assert_eq!(out.rows[0]["value"], 4);
        let err = GetCounter.run(&ctx, json!({"counter": "Nope"})).await.unwrap_err();
        assert_eq!(err.to_string(), "get_counter: unknown counter 'Nope'");
    }
}
