//! `invoke_runbook` on a runbook server: the child is a job in the orchestration database,
//! claimed like any other; with `wait`, the parent waits for it through the store.

use std::sync::Arc;
use std::time::Duration;

use scorch_activity::{ActivityContext, ActivityError, Invocation, InvocationResult, RunbookInvoker, async_trait};
use scorch_store::{JobPath, StoreError};

use crate::jobs::{JobWaiters, StartError, newer_version_may_help, start_job};
use crate::plans::Plans;

/// How long a parent waits for a child at most before checking its own cancellation again.
const WAIT_SLICE: Duration = Duration::from_secs(5);

pub struct StoreInvoker {
    pub store: Arc<dyn JobPath>,
    pub plans: Arc<Plans>,
    pub waiters: Arc<JobWaiters>,
}

fn failed(runbook: &str, why: impl std::fmt::Display) -> ActivityError {
    ActivityError::failed("invoke_runbook", runbook, why)
}

#[async_trait]
impl RunbookInvoker for StoreInvoker {
    async fn invoke(&self, ctx: &ActivityContext, inv: Invocation) -> Result<InvocationResult, ActivityError> {
        let (folder, name) = inv.runbook.rsplit_once('/').unwrap_or(("", &inv.runbook));
        let created_by = format!("job {}", ctx.ids.job_id);
        // Taken before the child exists, so the wait need not read it first.
        let mut expected = inv.wait.then(|| self.waiters.expect());
        let mut runbook = self
            .store
            .runbook_by_path(folder.trim_matches('/'), name)
            .await
            .map_err(|e| match e {
                StoreError::NotFound(_) => failed(&inv.runbook, "no runbook has that path"),
                other => ActivityError::Transient(format!("invoke_runbook: {}: {other}", inv.runbook)),
            })?;
        let mut read_again = true;
        let job = loop {
            let started = start_job(
                &self.store,
                &self.plans,
                &runbook,
                &inv.parameters,
                &created_by,
                Some(ctx.ids.job_id),
            )
            .await;
            if read_again && newer_version_may_help(&started) {
                read_again = false;
                if let Ok(fresh) = self.store.runbook(runbook.id, None).await
                    && fresh.version != runbook.version
                {
                    runbook = fresh;
                    continue;
                }
            }
            break started.map_err(|e| match e {
                StartError::Parameters(_) | StartError::Invalid(_) => failed(&inv.runbook, e),
                StartError::Store(s) => ActivityError::Transient(format!("invoke_runbook: {}: {s}", inv.runbook)),
            })?;
        };
        if !inv.wait {
            return Ok(InvocationResult {
                job_id: job.id,
                child_status: "pending".into(),
                returns: Default::default(),
            });
        }
        let job = loop {
            let waited = tokio::select! {
                j = async {
                    match expected.take() {
                        Some(expected) => self.waiters.wait_created(expected, job.id, WAIT_SLICE).await,
                        None => self.waiters.wait(job.id, WAIT_SLICE).await,
                    }
                } => j,
                _ = ctx.cancel.cancelled() => {
                    // The parent was canceled: so is the child.
                    let _ = self.store.cancel_job(job.id).await;
                    return Err(ActivityError::Canceled);
                }
            };
            let current =
                waited.map_err(|e| ActivityError::Transient(format!("invoke_runbook: {}: {e}", inv.runbook)))?;
            if crate::jobs::is_final(current.status) {
                break current;
            }
        };
        let (child_status, returns) = match job.instance_id {
            Some(id) => match self.store.instance(id).await {
                Ok(instance) => (instance.status.as_str().to_string(), instance.returns),
                Err(_) => (job.status.as_str().to_string(), Default::default()),
            },
            None => (job.status.as_str().to_string(), Default::default()),
        };
        Ok(InvocationResult {
            job_id: job.id,
            child_status,
            returns,
        })
    }
}
