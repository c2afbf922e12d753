//! `monitor_webhook`: an instance per call of `POST /api/v1/hooks/{hook}` on the web service. The
//! web service checks the caller's token and records the trigger itself; the runbook server
//! holding the job starts its instance, so the watcher only waits for the job's end.

use std::sync::Arc;

use scorch_activity::{ActivityError, Descriptor, TriggerSink, Watch, WatchContext};

pub const TYPE: &str = "monitor_webhook";

pub static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: super::CATEGORY,
    summary: "Starts an instance for each authorized POST to /api/v1/hooks/{hook} on the web service.",
    idempotent: true,
    properties: &["hook", "token", "max_body"],
    required: &["hook", "token"],
    publishes: &["body", "json", "headers", "query", "remote_addr", super::TRIGGERED_AT],
};

pub struct MonitorWebhook;

#[scorch_activity::async_trait]
impl Watch for MonitorWebhook {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    async fn watch(&self, ctx: WatchContext, _sink: Arc<dyn TriggerSink>) -> Result<(), ActivityError> {
        ctx.cancel.cancelled().await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use scorch_activity::{ActivityContext, Value};
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::monitor::test_sink::MemorySink;

    #[tokio::test]
    async fn waits_firing_nothing_until_canceled() {
        let cancel = CancellationToken::new();
        let ctx = WatchContext {
            properties: Value::Null,
            checkpoint: None,
            cancel: cancel.clone(),
            probe: ActivityContext::standalone(TYPE, std::env::temp_dir()),
        };
        let sink = Arc::new(MemorySink::default());
        let watching = tokio::spawn(MonitorWebhook.watch(ctx, sink.clone()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!watching.is_finished());
        cancel.cancel();
        watching.await.unwrap().unwrap();
        assert!(sink.triggers().is_empty());
        assert!(sink.wait_for(0, Duration::ZERO).await.is_empty());
    }
}
