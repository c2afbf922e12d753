//! What the watcher of a monitor runbook is given: its monitor's properties rendered once, when
//! a runbook server takes the monitor job, and a context for the activities it probes with.

use jiff::Timestamp;
use scorch_activity::{ActivityContext, LiveOutput, Row, RunIds, WatchContext};
use scorch_model::Plan;
use serde_json::Value;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::data::PathScope;
use crate::engine::facts;
use crate::{Engine, EngineError};

impl Engine {
    /// The watch context of monitor runbook `plan`'s job `job_id`: the monitor's properties
    /// rendered with the global settings they name (`{{ var.X }}`) and the runbook's facts, the
    /// watcher's `checkpoint`, and a probe context canceled with `cancel`. `Invalid` when the
    /// plan has no monitor or a property does not render.
    pub async fn watch_context(
        &self,
        plan: &Plan,
        job_id: Uuid,
        checkpoint: Option<Value>,
        cancel: CancellationToken,
    ) -> Result<WatchContext, EngineError> {
        let step = plan
            .monitor
            .map(|i| &plan.steps[i])
            .ok_or_else(|| EngineError::Invalid(format!("runbook '{}' has no monitor", plan.runbook.name)))?;
        let (settings, secrets) = self.prefetch(plan).await?;
        let server = &self.config().server;
        let facts = facts(plan, (job_id, Uuid::nil()), server, Timestamp::now(), settings);
        let scope = PathScope {
            facts: &facts,
            path: &None,
        };
        let properties = step
            .properties
            .render(&scope)
            .map_err(|why| EngineError::Invalid(format!("{}: {why}", step.type_name)))?;
        let probe = ActivityContext {
            ids: RunIds {
                job_id,
                instance_id: Uuid::nil(),
                runbook: plan.runbook.name.clone(),
                activity_id: step.id.to_string(),
                activity_name: step.name.to_string(),
                server: server.clone(),
                attempt: 1,
            },
            cancel: cancel.clone(),
            deadline: None,
            parameters: Arc::new(Row::new()),
            settings: self.settings().clone(),
            secrets,
            working_dir: self.config().working_dir.clone(),
            runbooks: self.invoker(),
            output: LiveOutput::default(),
        };
        Ok(WatchContext {
            properties,
            checkpoint,
            cancel,
            probe,
        })
    }
}
