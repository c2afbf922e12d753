//! `monitor_counter`: an instance when a counter's value comes to meet a condition (`op`,
//! `value`), read with `get_counter` every `interval` (default 5s).

use std::time::Duration;

use scorch_activity::props::Props;
use scorch_activity::{ActivityError, Descriptor, WatchContext, json};

use super::polling::{ActivityProbe, Condition, Polling, Setup, When, field};
use crate::utilities::GetCounter;

pub const TYPE: &str = "monitor_counter";

pub static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: super::CATEGORY,
    summary: "Starts an instance when a counter's value comes to meet a condition.",
    idempotent: true,
    properties: &["counter", "op", "value", "interval"],
    required: &["counter", "op", "value"],
    publishes: &["value", super::TRIGGERED_AT],
};

pub const WATCH: Polling = Polling {
    type_name: TYPE,
    default_interval: Duration::from_secs(5),
    setup,
};

fn setup(props: &Props, _ctx: &WatchContext) -> Result<Setup, ActivityError> {
    let condition = Condition::from_props(props)?;
    let counter = json!({ "counter": props.non_empty("counter")? });
    let probe = ActivityProbe::new(&GetCounter, counter, move |row| condition.holds(field(row, "value")));
    Ok((Box::new(probe), When::Becomes(true)))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use scorch_activity::MemorySettings;

    use scorch_activity::ActivityContext;

    use super::*;
    use crate::monitor::polling::test_support::{Running, WITHIN, setup_error};

    #[tokio::test]
    async fn fires_when_the_counter_comes_to_meet_the_condition() {
        let settings = Arc::new(MemorySettings::default());
        settings.set_counter("Failures", 1);
        let mut probe = ActivityContext::standalone(TYPE, std::env::temp_dir());
        probe.settings = settings.clone();
        let props = json!({"counter": "Failures", "op": "ge", "value": 3, "interval": "50ms"});
        let running = Running::start(WATCH, props, probe);
        running.wait_for_state(false).await;
        settings.set_counter("Failures", 3);
        running.sink.wait_for(1, WITHIN).await;
        // Still true: no second trigger; false then true again: a second one.
        settings.set_counter("Failures", 4);
        tokio::time::sleep(Duration::from_millis(300)).await;
        settings.set_counter("Failures", 0);
        running.wait_for_state(false).await;
        settings.set_counter("Failures", 5);
        running.sink.wait_for(2, WITHIN).await;
        let fired = running.stop().await;
        assert_eq!(fired.len(), 2, "{fired:?}");
        assert_eq!((fired[0].key.as_str(), &fired[0].row["value"]), ("1", &json!(3)));
        assert_eq!((fired[1].key.as_str(), &fired[1].row["value"]), ("2", &json!(5)));
    }

    #[tokio::test]
    async fn bad_properties_stop_it() {
        let err = setup_error(WATCH, json!({"counter": "C", "op": "gt", "value": "many"})).await;
        assert_eq!(err, "monitor_counter: property 'value': 'many' is not a number");
    }
}
