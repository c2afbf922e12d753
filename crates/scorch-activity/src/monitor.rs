//! Monitors: what waits for an event and starts an instance of a monitor runbook for each one.
//!
//! A monitor activity type (`monitor_*`) is two things. As an [`crate::Activity`] it is the first
//! run of every instance its job starts: that run publishes the trigger's row, which the host
//! hands it as the instance's parameters ([`MonitorActivity`]). As a [`Watch`] it is what the
//! runbook server holding the monitor job runs while the job lives: it waits for its event and
//! reports each one to a [`TriggerSink`], which records it durably (with the watcher's
//! checkpoint) before the instance starts.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Row};

/// One event a watcher saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    /// The event's identity within its job: the same event seen again (by the server that takes
    /// the monitor over, or a poll after a notification) has the same key, and is recorded once.
    /// A time-based monitor uses the scheduled time (RFC 3339); a file monitor the change, path
    /// and modification time.
    pub key: String,
    /// The published row (the monitor's fields; the host adds `triggered_at`).
    pub row: Row,
}

/// Where a watcher reports. Implemented by the host (the runbook server, or a test).
#[async_trait]
pub trait TriggerSink: Send + Sync {
    /// Records `trigger` and the watcher's new `checkpoint` in one commit, durable before this
    /// returns; the host then starts its instance. `Ok(false)`: not fired, because this key was
    /// recorded before (nothing is written then), or because the runbook's schedule forbids it
    /// now (the host records the skip). An error means the database did not take it: the
    /// watcher retries later or stops with the error.
    async fn fire(&self, trigger: Trigger, checkpoint: Value) -> Result<bool, ActivityError>;

    /// Saves the checkpoint alone: the state a change-based monitor compares with next (a
    /// folder's listing, a service's last state) when what changed fired nothing.
    async fn save(&self, checkpoint: Value) -> Result<(), ActivityError>;

    /// Records an event the operator can see on the job without firing: a skipped or missed
    /// occurrence, a peer that cannot be reached. `key` makes it recorded once, as for `fire`.
    async fn note(&self, key: &str, text: &str) -> Result<(), ActivityError>;

    /// Whether an instance this job started is still running (`overlap: skip`).
    fn busy(&self) -> bool;
}

/// What a watcher is given when the runbook server takes its monitor job.
#[derive(Clone)]
pub struct WatchContext {
    /// The monitor activity's properties, rendered (variables resolved) once when the job is
    /// taken.
    pub properties: Value,
    /// What the watcher last saved for this job (with a trigger or through
    /// [`TriggerSink::save`]); `None` the first time the job is held.
    pub checkpoint: Option<Value>,
    /// Canceled when the job is canceled or the server stops: return promptly.
    pub cancel: CancellationToken,
    /// A context for running other activities (a polling monitor runs its `get_*` activity):
    /// settings, secrets, working directory; its `cancel` is `cancel`.
    pub probe: ActivityContext,
}

/// The waiting half of a monitor activity type.
#[async_trait]
pub trait Watch: Send + Sync {
    /// The monitor activity's type name (its [`crate::Activity`] is registered under it too).
    fn type_name(&self) -> &'static str;

    /// Waits for events and fires each, until `ctx.cancel`. Returns `Ok` when canceled; an error
    /// (bad properties, a folder that does not exist) stops the monitor and fails its job with
    /// the error's one line.
    async fn watch(&self, ctx: WatchContext, sink: Arc<dyn TriggerSink>) -> Result<(), ActivityError>;
}

/// The activity half of a monitor type: its run inside an instance publishes one row, the
/// trigger's, which the host passed as the instance's parameters.
pub struct MonitorActivity(pub Descriptor);

#[async_trait]
impl Activity for MonitorActivity {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }

    async fn run(&self, ctx: &ActivityContext, _properties: Value) -> Result<ActivityOutput, ActivityError> {
        Ok(ActivityOutput::row((*ctx.parameters).clone()))
    }
}
