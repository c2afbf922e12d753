//! `get_variable`: reads a global variable; an encrypted one is masked in every record.

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::settings_error;

const TYPE: &str = "get_variable";

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: "Utilities",
    summary: "Publishes the value of a global variable (masked in records when encrypted).",
    idempotent: true,
    properties: &["variable"],
    required: &["variable"],
    publishes: &["value"],
};

pub struct GetVariable;

#[scorch_activity::async_trait]
impl Activity for GetVariable {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let name = props.non_empty("variable")?;
        let variable = ctx
            .settings
            .variable(&name)
            .await
            .map_err(|e| settings_error(TYPE, "variable", &name, e))?;
        if variable.encrypted {
            // Later activities get the real value; journals and API answers show `******`.
            ctx.secrets.remember(&variable.value);
        }
        Ok(ActivityOutput::row(row! { "value" => variable.value }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::utilities::context_with;
    use scorch_activity::{MemorySettings, json};

    fn ctx() -> ActivityContext {
        let settings = MemorySettings::default();
        settings.set_variable("Region", "eu-west", false);
        settings.set_variable("Api Key", "s3cret", true);
        context_with(TYPE, settings)
    }

    #[tokio::test]
    async fn plain_and_encrypted_variables() {
        let ctx = ctx();
        let out = GetVariable.run(&ctx, json!({"variable": "Region"})).await.unwrap();
        assert_eq!(out.rows[0]["value"], "eu-west");
        assert!(ctx.secrets.is_empty());
        let out = GetVariable.run(&ctx, json!({"variable": "Api Key"})).await.unwrap();
        assert_eq!(out.rows[0]["value"], "s3cret");
        assert_eq!(ctx.secrets.mask("key=s3cret"), "key=******");
    }

    #[tokio::test]
    async fn unknown_variable_fails() {
        let err = GetVariable.run(&ctx(), json!({"variable": "Nope"})).await.unwrap_err();
        assert_eq!(err.to_string(), "get_variable: unknown variable 'Nope'");
    }
}
