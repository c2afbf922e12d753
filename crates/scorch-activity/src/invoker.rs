use async_trait::async_trait;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{ActivityContext, ActivityError};

/// A child runbook to start.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// `FOLDER/NAME` (or `NAME` in the root folder).
    pub runbook: String,
    pub parameters: Map<String, Value>,
    /// Wait for the child to end and collect its return data.
    pub wait: bool,
}

/// What became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationResult {
    pub job_id: Uuid,
    /// The child instance's status (`success`, `warning`, `failed`, `canceled`), or the job's
    /// (`pending`) when not waited for.
    pub child_status: String,
    /// The child's return data (empty when not waited for).
    pub returns: Map<String, Value>,
}

/// Starts runbooks on behalf of `invoke_runbook`: a runbook server creates a child job in the
/// orchestration database; the Runbook Tester runs the child in process.
#[async_trait]
pub trait RunbookInvoker: Send + Sync {
    async fn invoke(&self, ctx: &ActivityContext, invocation: Invocation) -> Result<InvocationResult, ActivityError>;
}
