//! Activities that reach other computers and services (category "Other computers and services").

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use scorch_activity::{ActivityContext, ActivityError};

use crate::io_words::io_why;

mod database;
mod get_computer_status;
mod get_internet_application_status;
mod http_clients;
mod invoke_web_service;
mod probes;
mod send_email;
mod send_platform_event;
mod send_syslog_message;
#[cfg(test)]
mod smtp_peer;
pub(crate) mod snmp;
mod ssh;

pub use database::{QueryDatabase, WriteToDatabase};
pub use get_computer_status::GetComputerStatus;
pub use get_internet_application_status::GetInternetApplicationStatus;
pub use invoke_web_service::InvokeWebService;
pub use send_email::SendEmail;
pub use send_platform_event::{PLATFORM_EVENT_TYPE, SendPlatformEvent};
pub use send_syslog_message::SendSyslogMessage;
pub use snmp::{GetSnmpVariable, SendSnmpTrap, SetSnmpVariable};
pub use ssh::RunSshCommand;

const CATEGORY: &str = "Other computers and services";

/// Whether a connection error is worth retrying (the peer may come back).
fn transient_io(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::TimedOut
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::NotConnected
    )
}

/// `host:port` as a peer is named in errors (an IPv6 address in brackets).
fn peer_name(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The addresses of `host` (a name, an IPv4 or an IPv6 address, brackets allowed).
async fn resolve(
    ctx: &ActivityContext,
    type_name: &str,
    host: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, ActivityError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let cannot =
        |why: String| ActivityError::Failed(format!("{type_name}: {host}: cannot resolve the host name: {why}"));
    let found = cancelable(ctx, tokio::net::lookup_host((bare, port)))
        .await?
        .map_err(|e| cannot(io_why(&e)))?;
    let addrs: Vec<SocketAddr> = found.collect();
    if addrs.is_empty() {
        return Err(cannot("no addresses".into()));
    }
    Ok(addrs)
}

/// Runs `work` unless the job is canceled first.
pub(crate) async fn cancelable<T>(ctx: &ActivityContext, work: impl Future<Output = T>) -> Result<T, ActivityError> {
    tokio::select! {
        out = work => Ok(out),
        () = ctx.cancel.cancelled() => Err(ActivityError::Canceled),
    }
}

/// `timeout`: a duration (`500ms`, `5s`, `1m`) or a number of seconds.
fn timeout_prop(
    props: &scorch_activity::props::Props,
    default: std::time::Duration,
) -> Result<std::time::Duration, ActivityError> {
    Ok(duration_prop(props, "timeout")?.unwrap_or(default))
}

/// A duration property, when set: a duration (`500ms`, `5s`, `1m`) or a number of seconds,
/// more than zero.
pub(crate) fn duration_prop(
    props: &scorch_activity::props::Props,
    name: &str,
) -> Result<Option<std::time::Duration>, ActivityError> {
    let duration = zero_or_more_duration_prop(props, name)?;
    if duration.is_some_and(|d| d.is_zero()) {
        return Err(ActivityError::invalid(
            props.type_name(),
            name,
            "must be more than zero",
        ));
    }
    Ok(duration)
}

/// A duration property, when set, as [`duration_prop`] reads it, where zero is allowed (a
/// monitor's `settle: 0s`).
pub(crate) fn zero_or_more_duration_prop(
    props: &scorch_activity::props::Props,
    name: &str,
) -> Result<Option<std::time::Duration>, ActivityError> {
    let type_name = props.type_name();
    Ok(Some(match props.get(name) {
        None | Some(scorch_activity::Value::Null) => return Ok(None),
        Some(scorch_activity::Value::Number(n)) => {
            let secs = n.as_f64().filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e9);
            let secs =
                secs.ok_or_else(|| ActivityError::invalid(type_name, name, format!("'{n}' is not a duration")))?;
            std::time::Duration::from_secs_f64(secs)
        }
        Some(_) => {
            let text = props.str(name)?;
            scorch_model::duration::parse_duration(&text).map_err(|why| ActivityError::invalid(type_name, name, why))?
        }
    }))
}

/// `port`, when set: 1 to 65535.
pub(crate) fn port_prop(props: &scorch_activity::props::Props, name: &str) -> Result<Option<u16>, ActivityError> {
    match props.opt_i64(name)? {
        None => Ok(None),
        Some(port) => {
            u16::try_from(port).ok().filter(|p| *p > 0).map(Some).ok_or_else(|| {
                ActivityError::invalid(props.type_name(), name, format!("{port} is not a port (1-65535)"))
            })
        }
    }
}

/// `500ms`, `5s`, `1.5s`: a duration as errors show it.
fn show_duration(duration: std::time::Duration) -> String {
    if duration.subsec_millis() == 0 && duration.as_secs() > 0 {
        format!("{}s", duration.as_secs())
    } else if duration.as_secs() == 0 {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{}s", duration.as_secs_f64())
    }
}

/// `text` on one line, its runs of white space (new lines too) as single spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
