//! `monitor_service`: an instance when a systemd service stops, starts, or either (`when`), as
//! `get_service_status` sees it every `interval`; with `restart`, the service is started again
//! (`start_stop_service`) after each trigger.

use std::time::Duration;

use scorch_activity::props::Props;
use scorch_activity::{ActivityError, Descriptor, WatchContext, json};

use super::polling::{ActivityProbe, Polling, Setup, When, field};
use crate::host::{GetServiceStatus, StartStopService};

pub const TYPE: &str = "monitor_service";

pub static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: super::CATEGORY,
    summary: "Starts an instance when a service stops or starts; can start it again.",
    idempotent: true,
    properties: &["service", "scope", "when", "restart", "interval"],
    required: &["service"],
    publishes: &["service", "active_state", "sub_state", "enabled", super::TRIGGERED_AT],
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
    let service = props.non_empty("service")?;
    let scope = props.choice("scope", &["system", "user"], "system")?;
    let mut probe = ActivityProbe::new(&GetServiceStatus, json!({"service": service, "scope": scope}), |row| {
        field(row, "active_state") == &json!("active")
    });
    if props.bool_or("restart", false)? {
        probe.then = Some((
            &StartStopService,
            json!({"service": service, "scope": scope, "action": "start"}),
        ));
    }
    Ok((Box::new(probe), when))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::polling::test_support::setup_error;

    // Watching a real service needs the monitor to reach a test's own systemd user manager,
    // which `get_service_status` only finds through the environment: not tested here.
    #[tokio::test]
    async fn bad_properties_stop_it() {
        let err = setup_error(WATCH, json!({"service": "nginx", "restart": "maybe"})).await;
        assert_eq!(
            err,
            "monitor_service: property 'restart': expected true or false, got \"maybe\""
        );
    }
}
