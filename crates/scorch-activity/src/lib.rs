//! The activity SDK: what an activity (standard or from an integration pack) is written against.
//!
//! An activity never sees the database or the engine: everything it may use arrives through
//! [`ActivityContext`]. It receives its properties already rendered (subscriptions resolved) as a
//! JSON object and returns an [`ActivityOutput`]: a status and rows of published data.

mod context;
mod error;
mod invoker;
pub mod live;
mod monitor;
mod output;
pub mod process;
pub mod props;
mod registry;
mod settings;

pub use context::{ActivityContext, RunIds, SecretRegistry};
pub use error::{ActivityError, ErrorKind};
pub use invoker::{Invocation, InvocationResult, RunbookInvoker};
pub use live::{LiveOutput, OutputChunk, OutputSink, Stream};
pub use monitor::{MonitorActivity, Trigger, TriggerSink, Watch, WatchContext};
pub use output::{ActivityOutput, Row, Status};
pub use registry::Registry;
pub use settings::{CounterOp, GlobalSettings, MemorySettings, SettingsError, Variable};

pub use async_trait::async_trait;
pub use serde_json::{Value, json};

/// Static facts about an activity type, used for validation, documentation and the engine's
/// resume rules.
#[derive(Debug, Clone, Copy)]
pub struct Descriptor {
    /// The type name runbooks use (`copy_file`, or `PACK.ACTIVITY` for a pack).
    pub type_name: &'static str,
    /// Category in the activity reference ("System", "Files and folders", ...).
    pub category: &'static str,
    /// One line for the activity reference.
    pub summary: &'static str,
    /// Running it twice has the same effect as once: the engine re-runs an interrupted idempotent
    /// run after a failover, and fails a non-idempotent one with `interrupted`.
    pub idempotent: bool,
    /// Property names the activity accepts; anything else is a validation error.
    pub properties: &'static [&'static str],
    /// Property names that must be present.
    pub required: &'static [&'static str],
    /// Published field names (besides the common published data).
    pub publishes: &'static [&'static str],
}

/// One activity type. Implementations are stateless: one value serves every run.
#[async_trait]
pub trait Activity: Send + Sync {
    fn descriptor(&self) -> &Descriptor;

    /// The published fields given these (unrendered) properties, when they depend on them;
    /// `None` means "any field may be published" (a script writing `NAME=VALUE` lines).
    /// The default is the descriptor's fixed list.
    fn published_fields(&self, _properties: &Value) -> Option<Vec<String>> {
        Some(self.descriptor().publishes.iter().map(|s| s.to_string()).collect())
    }

    /// Runs once. `properties` is the rendered `properties` object of the runbook's activity.
    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError>;
}
