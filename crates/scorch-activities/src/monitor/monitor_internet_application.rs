//! `monitor_internet_application`: an instance when an internet service stops or starts
//! answering as it should (`when`), as `get_internet_application_status` (with the same
//! properties) sees it every `interval`. A service that does not answer, or answers wrongly, is
//! the `unavailable` state, not a failed poll: its row says why, in `error`.

use std::time::Duration;

use scorch_activity::props::Props;
use scorch_activity::{ActivityError, Descriptor, WatchContext, row};

use super::polling::{ActivityProbe, Polling, Setup, When};
use crate::remote::GetInternetApplicationStatus;

pub const TYPE: &str = "monitor_internet_application";

pub static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: super::CATEGORY,
    summary: "Starts an instance when a web page, mail, FTP, DNS or TCP service stops or starts answering as it should.",
    idempotent: true,
    properties: &[
        "kind",
        "url",
        "host",
        "port",
        "contains",
        "case_sensitive",
        "lookup",
        "expected_address",
        "timeout",
        "when",
        "interval",
    ],
    required: &[],
    publishes: &[
        "kind",
        "host",
        "port",
        "response_ms",
        "status_code",
        "body",
        "greeting",
        "addresses",
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
            ("unavailable", When::Becomes(false)),
            ("available", When::Becomes(true)),
            ("changes", When::Changes),
        ],
    )?;
    let mut probe = ActivityProbe::new(&GetInternetApplicationStatus, ctx.properties.clone(), |_| true);
    let host = match props.opt_str("host")? {
        Some(host) => host,
        None => props.str_or("url", "")?,
    };
    probe.down_row = Some(row! {
        "kind" => props.str_or("kind", "http")?,
        "host" => host,
        "port" => props.str_or("port", "")?,
    });
    Ok((Box::new(probe), when))
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use scorch_activity::{ActivityContext, json};

    use super::*;
    use crate::monitor::polling::test_support::{Running, WITHIN};

    /// A web server answering `200 OK` until dropped.
    fn web_server() -> (u16, std::sync::mpsc::Sender<()>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            while stopped.try_recv() == Err(std::sync::mpsc::TryRecvError::Empty) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        let mut request = [0u8; 4096];
                        let _ = stream.read(&mut request);
                        let _ =
                            stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
                }
            }
        });
        (port, stop)
    }

    #[tokio::test]
    async fn fires_when_the_site_stops_answering() {
        let (port, stop) = web_server();
        let probe = ActivityContext::standalone(TYPE, std::env::temp_dir());
        let url = format!("http://127.0.0.1:{port}/");
        let props = json!({"url": url, "contains": "ok", "timeout": "1s", "when": "changes", "interval": "50ms"});
        let running = Running::start(WATCH, props, probe);
        running.wait_for_state(true).await;
        drop(stop);
        let fired = running.sink.wait_for(1, WITHIN).await;
        assert_eq!(fired[0].row["kind"], json!("http"));
        assert_eq!(fired[0].row["host"], json!(url));
        assert!(!fired[0].row["error"].as_str().unwrap().is_empty(), "{fired:?}");
        assert_eq!(running.stop().await.len(), 1);
    }
}
