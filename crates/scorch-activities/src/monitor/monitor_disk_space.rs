//! `monitor_disk_space`: an instance when the used share of a file system comes to meet a
//! condition (`used_percent: {op, value}`), as `get_disk_space_status` sees it every `interval`.

use std::time::Duration;

use scorch_activity::props::Props;
use scorch_activity::{ActivityError, Descriptor, WatchContext, json};

use super::polling::{ActivityProbe, Condition, Polling, Setup, When, field};
use crate::host::GetDiskSpaceStatus;

pub const TYPE: &str = "monitor_disk_space";

pub static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: super::CATEGORY,
    summary: "Starts an instance when the used share of a disk comes to meet a condition.",
    idempotent: true,
    properties: &["path", "used_percent", "interval"],
    required: &["path", "used_percent"],
    publishes: &["path", "total_bytes", "free_bytes", "used_percent", super::TRIGGERED_AT],
};

pub const WATCH: Polling = Polling {
    type_name: TYPE,
    default_interval: Duration::from_secs(30),
    setup,
};

fn setup(props: &Props, _ctx: &WatchContext) -> Result<Setup, ActivityError> {
    let condition = Condition::from_mapping(props, "used_percent")?
        .ok_or_else(|| ActivityError::invalid(TYPE, "used_percent", "is required"))?;
    let path = json!({ "path": props.non_empty("path")? });
    let probe = ActivityProbe::new(&GetDiskSpaceStatus, path, move |row| {
        condition.holds(field(row, "used_percent"))
    });
    Ok((Box::new(probe), When::Becomes(true)))
}

#[cfg(test)]
mod tests {
    use scorch_activity::ActivityContext;

    use super::*;
    use crate::monitor::polling::test_support::{Running, WITHIN, setup_error};

    #[tokio::test]
    async fn fires_once_while_the_condition_holds() {
        let dir = tempfile::tempdir().unwrap();
        let probe = || ActivityContext::standalone(TYPE, dir.path().to_path_buf());
        let props = |op| json!({"path": ".", "used_percent": {"op": op, "value": 101}, "interval": "50ms"});
        let always = Running::start(WATCH, props("lt"), probe());
        let never = Running::start(WATCH, props("ge"), probe());
        let fired = always.sink.wait_for(1, WITHIN).await;
        never.wait_for_state(false).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(fired[0].row["path"], json!(dir.path().join(".").display().to_string()));
        assert!(fired[0].row["total_bytes"].as_u64().unwrap() > 0);
        assert_eq!(always.stop().await.len(), 1);
        assert!(never.stop().await.is_empty());
    }

    #[tokio::test]
    async fn a_missing_condition_stops_it() {
        let err = setup_error(WATCH, json!({"path": "/"})).await;
        assert_eq!(err, "monitor_disk_space: property 'used_percent': is required");
    }
}
