//! The monitors of `spec/activities.md`, "Monitoring and scheduling": each a descriptor (the
//! activity half, whose run publishes its trigger's row) and a watcher (what waits for the event
//! while the runbook server holds the monitor job). [`monitors`] is their one list.

use std::sync::Arc;

use scorch_activity::{Activity, MonitorActivity, Watch};

mod check_schedule;
mod date_time;
mod listing;
mod monitor_computer_status;
mod monitor_counter;
mod monitor_disk_space;
mod monitor_file;
mod monitor_folder;
mod monitor_internet_application;
mod monitor_process;
mod monitor_service;
mod monitor_snmp_trap;
mod polling;
#[cfg(test)]
pub(crate) mod test_sink;
mod webhook;

pub use check_schedule::CheckSchedule;

pub const CATEGORY: &str = "Monitoring and scheduling";

/// Fields every monitor publishes besides its own.
pub const TRIGGERED_AT: &str = "triggered_at";

/// Every standard monitor: its activity and its watcher.
pub fn monitors() -> Vec<(Arc<dyn Activity>, Arc<dyn Watch>)> {
    let all: Vec<(&'static scorch_activity::Descriptor, Arc<dyn Watch>)> = vec![
        (&date_time::DESCRIPTOR, Arc::new(date_time::MonitorDateTime)),
        (
            &monitor_computer_status::DESCRIPTOR,
            Arc::new(monitor_computer_status::WATCH),
        ),
        (&monitor_counter::DESCRIPTOR, Arc::new(monitor_counter::WATCH)),
        (&monitor_disk_space::DESCRIPTOR, Arc::new(monitor_disk_space::WATCH)),
        (&monitor_file::DESCRIPTOR, Arc::new(monitor_file::MonitorFile)),
        (&monitor_folder::DESCRIPTOR, Arc::new(monitor_folder::WATCH)),
        (
            &monitor_internet_application::DESCRIPTOR,
            Arc::new(monitor_internet_application::WATCH),
        ),
        (&monitor_process::DESCRIPTOR, Arc::new(monitor_process::WATCH)),
        (&monitor_service::DESCRIPTOR, Arc::new(monitor_service::WATCH)),
        (
            &monitor_snmp_trap::DESCRIPTOR,
            Arc::new(monitor_snmp_trap::MonitorSnmpTrap),
        ),
        (&webhook::DESCRIPTOR, Arc::new(webhook::MonitorWebhook)),
    ];
    all.into_iter()
        .map(|(descriptor, watch)| (Arc::new(MonitorActivity(*descriptor)) as Arc<dyn Activity>, watch))
        .collect()
}
