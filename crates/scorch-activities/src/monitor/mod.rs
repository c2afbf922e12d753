//! The monitors of `spec/activities.md`, "Monitoring and scheduling": each a descriptor (the
//! activity half, whose run publishes its trigger's row) and a watcher (what waits for the event
//! while the runbook server holds the monitor job). [`monitors`] is their one list.

use std::sync::Arc;

use scorch_activity::{Activity, MonitorActivity, Watch};

mod listing;
mod monitor_file;
#[cfg(test)]
pub(crate) mod test_sink;
mod webhook;

pub const CATEGORY: &str = "Monitoring and scheduling";

/// Fields every monitor publishes besides its own.
pub const TRIGGERED_AT: &str = "triggered_at";

/// Every standard monitor: its activity and its watcher.
pub fn monitors() -> Vec<(Arc<dyn Activity>, Arc<dyn Watch>)> {
    let all: Vec<(&'static scorch_activity::Descriptor, Arc<dyn Watch>)> = vec![
        (&monitor_file::DESCRIPTOR, Arc::new(monitor_file::MonitorFile)),
        (&webhook::DESCRIPTOR, Arc::new(webhook::MonitorWebhook)),
    ];
    all.into_iter()
        .map(|(descriptor, watch)| (Arc::new(MonitorActivity(*descriptor)) as Arc<dyn Activity>, watch))
        .collect()
}
