//! `modify_counter`: sets, increments, decrements or resets a global counter.

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, CounterOp, Descriptor, Value, row};

use super::settings_error;

const TYPE: &str = "modify_counter";

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: "Utilities",
    summary: "Sets, increments, decrements or resets a global counter and publishes its new value.",
    idempotent: false,
    properties: &["counter", "action", "value"],
    required: &["counter", "action"],
    publishes: &["value"],
};

pub struct ModifyCounter;

#[scorch_activity::async_trait]
impl Activity for ModifyCounter {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let name = props.non_empty("counter")?;
        let value = props.i64_or("value", 1)?;
        let op = match props.str("action")?.trim().to_ascii_lowercase().as_str() {
            "set" => CounterOp::Set(value),
            "increment" => CounterOp::Increment(value),
            "decrement" => CounterOp::Decrement(value),
            "reset" => CounterOp::Reset,
            other => {
                let why = format!("'{other}' is not one of set, increment, decrement, reset");
                return Err(ActivityError::invalid(TYPE, "action", why));
            }
        };
        let after = ctx
            .settings
            .modify_counter(&name, op)
            .await
            .map_err(|e| settings_error(TYPE, "counter", &name, e))?;
        Ok(ActivityOutput::row(row! { "value" => after }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::utilities::context_with;
    use scorch_activity::{MemorySettings, json};

    fn ctx() -> ActivityContext {
        let settings = MemorySettings::default();
        settings.set_counter("Runs", 10);
        context_with(TYPE, settings)
    }

    #[tokio::test]
    async fn every_action_publishes_the_value_after() {
        let ctx = ctx();
        let steps = [
            (json!({"action": "increment"}), 11),
            (json!({"action": "Increment", "value": "5"}), 16),
            (json!({"action": "decrement", "value": 20}), -4),
            (json!({"action": "set", "value": 42}), 42),
            (json!({"action": "reset"}), 10),
        ];
        for (mut props, want) in steps {
            props["counter"] = json!("Runs");
            let out = ModifyCounter.run(&ctx, props.clone()).await.unwrap();
            assert_eq!(out.rows[0]["value"], want, "{props}");
        }
    }

    #[tokio::test]
    async fn unknown_counter_and_bad_action_fail() {
        let ctx = ctx();
        let err = ModifyCounter
            .run(&ctx, json!({"counter": "Nope", "action": "increment"}))
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "modify_counter: unknown counter 'Nope'");
        let err = ModifyCounter
            .run(&ctx, json!({"counter": "Runs", "action": "double"}))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "modify_counter: property 'action': 'double' is not one of set, increment, decrement, reset"
        );
        let err = ModifyCounter
            .run(&ctx, json!({"counter": "Runs", "action": "set", "value": "x"}))
            .await
            .unwrap_err();
        assert!(matches!(err, ActivityError::InvalidInput(_)), "{err}");
    }
}
