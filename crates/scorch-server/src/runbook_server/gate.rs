//! A runbook's `schedule:` (`spec/runbook-format.md`, "Schedules and computer groups"): a job
//! that starts outside it ends at once as `canceled`, and a monitor does not fire outside it.

use std::sync::Arc;

use jiff::Timestamp;
use scorch_activity::GlobalSettings;
use scorch_model::schedule::Schedule;

/// The schedule a runbook names, read from the global settings when asked (an operator's change
/// applies to the next start or trigger).
#[derive(Clone)]
pub(super) struct Gate {
    pub schedule: Option<String>,
    pub settings: Arc<dyn GlobalSettings>,
}

impl Gate {
    /// Why nothing may start at `at`, or `None` when it may: `outside schedule NAME`, or that
    /// the schedule cannot be read (a missing schedule refuses rather than runs unchecked).
    pub(super) async fn refuses(&self, at: Timestamp) -> Option<String> {
        let name = self.schedule.as_deref()?;
        let schedule = match self.settings.schedule(name).await {
            Ok(definition) => Schedule::from_value(&definition),
            Err(e) => Err(e.to_string()),
        };
        match schedule {
            Ok(schedule) if schedule.conforms(at) => None,
            Ok(_) => Some(format!("outside schedule {name}")),
            Err(why) => Some(format!("schedule {name} cannot be applied: {why}")),
        }
    }
}
