use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use thiserror::Error;

/// A global variable's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub value: String,
    /// Masked (`******`) in every record.
    pub encrypted: bool,
}

/// How `modify_counter` changes a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterOp {
    Set(i64),
    Increment(i64),
    Decrement(i64),
    /// Back to the counter's default (0 unless configured).
    Reset,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SettingsError {
    #[error("unknown {kind} '{name}'")]
    NotFound { kind: &'static str, name: String },
    #[error("{0}")]
    Unavailable(String),
}

/// Global settings as activities and the engine see them: the store implements this for a
/// server; [`MemorySettings`] serves the Runbook Tester and tests.
#[async_trait]
pub trait GlobalSettings: Send + Sync {
    async fn variable(&self, name: &str) -> Result<Variable, SettingsError>;
    async fn counter(&self, name: &str) -> Result<i64, SettingsError>;
    /// Applies `op` atomically and returns the new value.
    async fn modify_counter(&self, name: &str, op: CounterOp) -> Result<i64, SettingsError>;
    /// A computer group's hosts, in their order.
    async fn group(&self, name: &str) -> Result<Vec<String>, SettingsError>;
    /// A schedule's definition, as stored (`scorch_model::schedule::Schedule` reads it).
    async fn schedule(&self, name: &str) -> Result<serde_json::Value, SettingsError>;
}

/// Variables, counters and computer groups kept in memory for one process.
#[derive(Debug, Default)]
pub struct MemorySettings {
    variables: Mutex<HashMap<String, Variable>>,
    /// name -> (value, default)
    counters: Mutex<HashMap<String, (i64, i64)>>,
    groups: Mutex<HashMap<String, Vec<String>>>,
    schedules: Mutex<HashMap<String, serde_json::Value>>,
}

impl MemorySettings {
    pub fn set_variable(&self, name: &str, value: &str, encrypted: bool) {
        let var = Variable {
            value: value.to_string(),
            encrypted,
        };
        self.variables
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), var);
    }

    /// Creates a counter whose value and default are `value`.
    pub fn set_counter(&self, name: &str, value: i64) {
        self.counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), (value, value));
    }

    pub fn set_group(&self, name: &str, hosts: Vec<String>) {
        self.groups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), hosts);
    }
}

impl MemorySettings {
    pub fn set_schedule(&self, name: &str, definition: serde_json::Value) {
        self.schedules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), definition);
    }
}

fn not_found(kind: &'static str, name: &str) -> SettingsError {
    SettingsError::NotFound {
        kind,
        name: name.to_string(),
    }
}

#[async_trait]
impl GlobalSettings for MemorySettings {
    async fn variable(&self, name: &str) -> Result<Variable, SettingsError> {
        let vars = self.variables.lock().unwrap_or_else(|e| e.into_inner());
        vars.get(name).cloned().ok_or_else(|| not_found("variable", name))
    }

    async fn counter(&self, name: &str) -> Result<i64, SettingsError> {
        let counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        counters
            .get(name)
            .map(|c| c.0)
            .ok_or_else(|| not_found("counter", name))
    }

    async fn modify_counter(&self, name: &str, op: CounterOp) -> Result<i64, SettingsError> {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let (value, default) = counters.get_mut(name).ok_or_else(|| not_found("counter", name))?;
        *value = match op {
            CounterOp::Set(v) => v,
            CounterOp::Increment(by) => value.saturating_add(by),
            CounterOp::Decrement(by) => value.saturating_sub(by),
            CounterOp::Reset => *default,
        };
        Ok(*value)
    }

    async fn group(&self, name: &str) -> Result<Vec<String>, SettingsError> {
        let groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        groups
            .get(name)
            .cloned()
            .ok_or_else(|| not_found("computer group", name))
    }

    async fn schedule(&self, name: &str) -> Result<serde_json::Value, SettingsError> {
        let schedules = self.schedules.lock().unwrap_or_else(|e| e.into_inner());
        schedules.get(name).cloned().ok_or_else(|| not_found("schedule", name))
    }
}
