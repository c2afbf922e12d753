//! `monitor_computer_status`: an instance when a computer stops or starts answering (`when`), as
//! `get_computer_status` (with the same properties) sees it every `interval`. A computer that
//! does not answer is the `unreachable` state, not a failed poll: its row says
//! `reachable: false` and why, in `error`.

use std::time::Duration;

use scorch_activity::props::Props;
use scorch_activity::{ActivityError, Descriptor, WatchContext, json, row};

use super::polling::{ActivityProbe, Polling, Setup, When, field};
use crate::remote::GetComputerStatus;

pub const TYPE: &str = "monitor_computer_status";

pub static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: super::CATEGORY,
    summary: "Starts an instance when a computer stops or starts answering (TCP or ping).",
    idempotent: true,
    properties: &["host", "port", "count", "timeout", "when", "interval"],
    required: &["host"],
    publishes: &[
        "host",
        "address",
        "reachable",
        "response_ms",
        "packets_received_percent",
        "error",
        super::TRIGGERED_AT,
    ],
};

pub const WATCH: Polling = Polling {
    type_name: TYPE,
    default_interval: Duration::from_secs(30),
    setup,
};

fn setup(props: &Props, ctx: &WatchContext) -> Result<Setup, ActivityError> {
    let when = When::from_props(
        props,
        &[
            ("unreachable", When::Becomes(false)),
            ("reachable", When::Becomes(true)),
            ("changes", When::Changes),
        ],
    )?;
    let mut probe = ActivityProbe::new(&GetComputerStatus, ctx.properties.clone(), |row| {
        field(row, "reachable") == &json!(true)
    });
    probe.down_row = Some(row! {
        "host" => props.non_empty("host")?,
        "address" => "",
        "reachable" => false,
        "response_ms" => 0,
        "packets_received_percent" => 0,
    });
    Ok((Box::new(probe), when))
}

#[cfg(test)]
mod tests {
    use scorch_activity::ActivityContext;

    use super::*;
    use crate::monitor::polling::test_support::{Running, WITHIN};

    #[tokio::test]
    async fn fires_when_the_port_stops_answering() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let probe = ActivityContext::standalone(TYPE, std::env::temp_dir());
        let props = json!({"host": "127.0.0.1", "port": port, "timeout": "1s", "interval": "50ms"});
        let running = Running::start(WATCH, props, probe);
        running.wait_for_state(true).await;
        drop(listener);
        let fired = running.sink.wait_for(1, WITHIN).await;
        assert_eq!(fired[0].row["reachable"], json!(false));
        assert_eq!(fired[0].row["host"], json!("127.0.0.1"));
        assert!(
            fired[0].row["error"]
                .as_str()
                .unwrap()
                .starts_with("get_computer_status: 127.0.0.1:"),
            "{fired:?}"
        );
        assert_eq!(running.stop().await.len(), 1);
    }
}
