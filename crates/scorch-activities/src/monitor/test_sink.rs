//! For tests: a [`TriggerSink`] that keeps what it is told in memory, as the runbook server's
//! would in the database (a key fires once), and lets a test wait for triggers.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use scorch_activity::{ActivityError, Trigger, TriggerSink, Value};
use tokio::sync::Notify;

#[derive(Default)]
pub struct MemorySink {
    pub fired: Mutex<Vec<Trigger>>,
    pub notes: Mutex<Vec<(String, String)>>,
    pub checkpoint: Mutex<Option<Value>>,
    /// What `busy` answers.
    pub busy: AtomicBool,
    changed: Notify,
}

impl MemorySink {
    /// The triggers fired so far.
    pub fn triggers(&self) -> Vec<Trigger> {
        self.fired.lock().unwrap().clone()
    }

    /// Waits until `n` triggers have fired (or panics after `within`), and returns them.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Trigger> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let changed = self.changed.notified();
            let fired = self.triggers();
            if fired.len() >= n {
                return fired;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                panic!(
                    "{n} triggers expected within {within:?}, got {}: {fired:?}",
                    fired.len()
                );
            }
        }
    }
}

#[scorch_activity::async_trait]
impl TriggerSink for MemorySink {
    async fn fire(&self, trigger: Trigger, checkpoint: Value) -> Result<bool, ActivityError> {
        let mut fired = self.fired.lock().unwrap();
        if fired.iter().any(|t| t.key == trigger.key) {
            return Ok(false);
        }
        fired.push(trigger);
        *self.checkpoint.lock().unwrap() = Some(checkpoint);
        self.changed.notify_waiters();
        Ok(true)
    }

    async fn save(&self, checkpoint: Value) -> Result<(), ActivityError> {
        *self.checkpoint.lock().unwrap() = Some(checkpoint);
        self.changed.notify_waiters();
        Ok(())
    }

    async fn note(&self, key: &str, text: &str) -> Result<(), ActivityError> {
        let mut notes = self.notes.lock().unwrap();
        if !notes.iter().any(|(k, _)| k == key) {
            notes.push((key.to_string(), text.to_string()));
        }
        self.changed.notify_waiters();
        Ok(())
    }

    fn busy(&self) -> bool {
        self.busy.load(Ordering::SeqCst)
    }
}
