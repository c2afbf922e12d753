use scorch_activity::props::Props;
use scorch_activity::{
    Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Invocation, Row, Value, async_trait,
};

/// Starts another runbook as a child job; with `wait`, publishes its status and return data.
pub struct InvokeRunbook;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: "invoke_runbook",
    category: "Runbook control",
    summary: "Starts another runbook (FOLDER/NAME) and, with wait, publishes its status and return data.",
    idempotent: false,
    properties: &["runbook", "parameters", "wait"],
    required: &["runbook"],
    publishes: &["job_id", "child_status"],
};

#[async_trait]
impl Activity for InvokeRunbook {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    /// The child's return data is known only when the child is: any field may be published.
    fn published_fields(&self, _properties: &Value) -> Option<Vec<String>> {
        None
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let type_name = DESCRIPTOR.type_name;
        let props = Props::new(type_name, properties)?;
        let runbook = props.non_empty("runbook")?;
        let parameters = match props.get("parameters") {
            None => Default::default(),
            Some(Value::Object(map)) => map.clone(),
            Some(other) => {
                return Err(ActivityError::invalid(
                    type_name,
                    "parameters",
                    format!("must be a mapping, got {other}"),
                ));
            }
        };
        let wait = props.bool_or("wait", true)?;
        let Some(invoker) = &ctx.runbooks else {
            return Err(ActivityError::failed(
                type_name,
                &runbook,
                "this host cannot start runbooks",
            ));
        };
        let result = invoker
            .invoke(
                ctx,
                Invocation {
                    runbook: runbook.clone(),
                    parameters,
                    wait,
                },
            )
            .await?;
        let mut row = Row::new();
        row.insert("job_id".into(), Value::from(result.job_id.to_string()));
        row.insert("child_status".into(), Value::from(result.child_status.as_str()));
        row.extend(result.returns);
        if wait && matches!(result.child_status.as_str(), "failed" | "canceled") {
            let why = format!(
                "the child runbook ended {} (job {})",
                result.child_status, result.job_id
            );
            return Ok(ActivityOutput::failed(
                format!("{type_name}: {runbook}: {why}"),
                vec![row],
            ));
        }
        Ok(ActivityOutput::row(row))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use scorch_activity::{InvocationResult, RunbookInvoker, json};
    use uuid::Uuid;

    use super::*;

    /// Answers every invocation with a fixed child outcome, recording what it was asked.
    struct Fixed(&'static str, std::sync::Mutex<Vec<Invocation>>);

    #[async_trait]
    impl RunbookInvoker for Fixed {
        async fn invoke(&self, _: &ActivityContext, inv: Invocation) -> Result<InvocationResult, ActivityError> {
            let wait = inv.wait;
            self.1.lock().unwrap().push(inv);
            let mut returns = scorch_activity::Row::new();
            if wait {
                returns.insert("Answer".into(), json!(42));
            }
            Ok(InvocationResult {
                job_id: Uuid::nil(),
                child_status: self.0.into(),
                returns,
            })
        }
    }

    fn ctx(invoker: Arc<Fixed>) -> ActivityContext {
        let mut ctx = ActivityContext::standalone("invoke_runbook", std::env::temp_dir());
        ctx.runbooks = Some(invoker);
        ctx
    }

    #[tokio::test]
    async fn publishes_the_child_status_and_return_data() {
        let invoker = Arc::new(Fixed("success", Default::default()));
        let props = json!({"runbook": "Ops/Child", "parameters": {"Who": "x"}});
        let out = InvokeRunbook.run(&ctx(invoker.clone()), props).await.unwrap();
        assert_eq!(out.rows[0]["child_status"], "success");
        assert_eq!(out.rows[0]["Answer"], 42);
        let asked = invoker.1.lock().unwrap();
        assert_eq!((asked[0].runbook.as_str(), asked[0].wait), ("Ops/Child", true));
        assert_eq!(asked[0].parameters["Who"], "x");
    }

    #[tokio::test]
    async fn a_failed_child_fails_the_activity_and_no_invoker_is_a_clear_error() {
        let invoker = Arc::new(Fixed("failed", Default::default()));
        let out = InvokeRunbook
            .run(&ctx(invoker), json!({"runbook": "Child"}))
            .await
            .unwrap();
        assert_eq!(out.status, scorch_activity::Status::Failed);
        assert!(out.error.contains("ended failed"), "{}", out.error);
        let bare = ActivityContext::standalone("invoke_runbook", std::env::temp_dir());
        let err = InvokeRunbook.run(&bare, json!({"runbook": "Child"})).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "invoke_runbook: Child: this host cannot start runbooks"
        );
    }
}
