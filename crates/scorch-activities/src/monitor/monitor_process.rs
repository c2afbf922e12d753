//! `monitor_process`: an instance when a process (by name, as `get_process_status` finds it)
//! stops, starts, or either (`when`), checked every `interval`.

use std::time::Duration;

use scorch_activity::props::Props;
use scorch_activity::{ActivityError, Descriptor, WatchContext, json};

use super::polling::{ActivityProbe, Polling, Setup, When, field};
use crate::host::GetProcessStatus;

pub const TYPE: &str = "monitor_process";

pub static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: super::CATEGORY,
    summary: "Starts an instance when a process stops or starts running.",
    idempotent: true,
    properties: &["name", "when", "interval"],
    required: &["name"],
    publishes: &["running", "count", "pids", super::TRIGGERED_AT],
};

pub const WATCH: Polling = Polling {
    type_name: TYPE,
    default_interval: Duration::from_secs(30),
    setup,
};

fn setup(props: &Props, _ctx: &WatchContext) -> Result<Setup, ActivityError> {
    let when = When::from_props(
        props,
        &[
            ("stops", When::Becomes(false)),
            ("starts", When::Becomes(true)),
            ("changes", When::Changes),
        ],
    )?;
    let name = json!({ "name": props.non_empty("name")? });
    let probe = ActivityProbe::new(&GetProcessStatus, name, |row| field(row, "running") == &json!(true));
    Ok((Box::new(probe), when))
}

#[cfg(test)]
mod tests {
    use scorch_activity::ActivityContext;

    use super::*;
    use crate::host::test_support::Sleeper;
    use crate::monitor::polling::test_support::{Running, WITHIN, setup_error};

    #[tokio::test]
    async fn fires_when_the_process_starts_and_when_it_stops() {
        let mut sleeper = Sleeper::start(false);
        let probe = || ActivityContext::standalone(TYPE, std::env::temp_dir());
        let props = |when| json!({"name": sleeper.name, "when": when, "interval": "50ms"});
        let stops = Running::start(WATCH, props("stops"), probe());
        let changes = Running::start(WATCH, props("changes"), probe());
        stops.wait_for_state(true).await;
        changes.wait_for_state(true).await;
        sleeper.child.kill().unwrap();
        sleeper.ended_by();
        let fired = stops.sink.wait_for(1, WITHIN).await;
        changes.sink.wait_for(1, WITHIN).await;
        assert_eq!(fired[0].row["running"], json!(false));
        assert_eq!(fired[0].row["count"], json!(0));
        assert_eq!(stops.stop().await.len(), 1);
        assert_eq!(changes.stop().await.len(), 1);
    }

    #[tokio::test]
    async fn a_bad_when_stops_it() {
        let err = setup_error(WATCH, json!({"name": "x", "when": "sometimes"})).await;
        assert_eq!(
            err,
            "monitor_process: property 'when': 'sometimes' is not one of stops, starts, changes"
        );
    }
}
