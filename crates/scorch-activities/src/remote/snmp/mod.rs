//! SNMP v1 and v2c: reading and setting an agent's variables, and sending traps. `async-snmp`
//! encodes and decodes the PDUs, matches answers to requests by id and retransmits; this module
//! reads the common properties, turns values to and from text, and words the errors. A reply is
//! one UDP datagram (at most 64 KiB), so what is read from a peer is bounded by that.
//!
//! The spec lists these activities under "The runbook server's own host", so that is their
//! category, though they reach other computers.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use async_snmp::{Auth, Client, Oid, Retry, UdpHandle, Value};
use scorch_activity::ActivityContext;
use scorch_activity::ActivityError;
use scorch_activity::props::Props;

use super::{cancelable, peer_name, port_prop, resolve, timeout_prop, transient_io};
use crate::io_words::io_why;

mod get_snmp_variable;
mod send_snmp_trap;
mod set_snmp_variable;

pub use get_snmp_variable::GetSnmpVariable;
pub use send_snmp_trap::SendSnmpTrap;
pub use set_snmp_variable::SetSnmpVariable;

const CATEGORY: &str = crate::host::CATEGORY;

/// How long a request may wait for its answer, retransmit included, unless `timeout` says.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The `value_type` words a set or a trap variable takes, and what a get publishes as `type`.
const VALUE_TYPES: &[&str] = &["integer", "string", "oid", "ip", "counter", "gauge", "timeticks"];

/// An agent or trap receiver and how to talk to it: `host`, `port`, `version`, `community`,
/// `timeout`.
struct Peer {
    type_name: &'static str,
    /// `host:port`, as errors name it.
    name: String,
    addr: SocketAddr,
    v1: bool,
    community: String,
    timeout: Duration,
}

impl Peer {
    /// Reads the common properties and resolves the host. A community other than `public` is a
    /// credential: it is masked wherever the run is recorded.
    async fn from_props(ctx: &ActivityContext, props: &Props, default_port: u16) -> Result<Self, ActivityError> {
        let type_name = props.type_name();
        let host = props.non_empty("host")?;
        let port = port_prop(props, "port")?.unwrap_or(default_port);
        let v1 = props.choice("version", &["1", "2c"], "2c")? == "1";
        let community = props.str_or("community", "public")?;
        if community != "public" {
            ctx.secrets.remember(&community);
        }
        let timeout = timeout_prop(props, DEFAULT_TIMEOUT)?;
        // UDP cannot tell which address has an agent: like net-snmp, prefer IPv4.
        let addrs = resolve(ctx, type_name, &host, port).await?;
        let addr = *addrs.iter().find(|a| a.is_ipv4()).unwrap_or(&addrs[0]);
        Ok(Self {
            type_name,
            name: peer_name(&host, port),
            addr,
            v1,
            community,
            timeout,
        })
    }

    /// A client that sends a request once and retransmits it once, each waiting half the
    /// timeout for the answer.
    async fn client(&self, ctx: &ActivityContext) -> Result<Client<UdpHandle>, ActivityError> {
        let auth = if self.v1 {
            Auth::v1(self.community.as_str())
        } else {
            Auth::v2c(self.community.as_str())
        };
        let connect = Client::builder(self.addr, auth)
            .request_timeout(self.timeout / 2)
            .send_timeout(self.timeout)
            .retry(Retry::fixed(1, Duration::ZERO).expect("one retransmit is a valid policy"))
            .connect();
        cancelable(ctx, connect).await?.map_err(|e| self.error(&e))
    }

    /// Runs one exchange with the peer, bounded by the timeout and canceled with the job.
    async fn exchange<T>(
        &self,
        ctx: &ActivityContext,
        work: impl Future<Output = async_snmp::Result<T>>,
    ) -> Result<T, ActivityError> {
        // The client's own timeouts end a silent exchange first; this bounds all the rest.
        match cancelable(ctx, tokio::time::timeout(self.timeout + Duration::from_secs(1), work)).await? {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(e)) => Err(self.error(&e)),
            Err(_) => Err(self.timed_out()),
        }
    }

    fn timed_out(&self) -> ActivityError {
        ActivityError::Transient(format!(
            "{}: {}: no answer within {:?} (no agent listening, or a wrong community, which agents ignore)",
            self.type_name, self.name, self.timeout
        ))
    }

    /// The one-line error for a failed exchange, naming the OID the agent blamed, if any.
    fn error(&self, e: &async_snmp::Error) -> ActivityError {
        use async_snmp::Error as E;
        match e.exchange_source() {
            E::Timeout { .. } => self.timed_out(),
            E::Network { source, .. } if transient_io(source) => {
                ActivityError::Transient(format!("{}: {}: {}", self.type_name, self.name, io_why(source)))
            }
            E::Network { source, .. } => ActivityError::failed(self.type_name, &self.name, io_why(source)),
            E::Snmp { status, oid, .. } => {
                let words = status_words(&status.to_string());
                match oid {
                    Some(oid) => ActivityError::Failed(format!("{}: {}: {oid}: {words}", self.type_name, self.name)),
                    None => ActivityError::failed(self.type_name, &self.name, words),
                }
            }
            other => {
                let text = other.to_string().replace(['\r', '\n'], " ");
                ActivityError::failed(self.type_name, &self.name, text)
            }
        }
    }

    /// The error for an exception value in an answer (`noSuchObject` and its kin).
    fn exception(&self, oid: &Oid, why: &str) -> ActivityError {
        ActivityError::Failed(format!("{}: {}: {oid}: {why}", self.type_name, self.name))
    }
}

/// An SNMP error-status name (`noAccess`, `notWritable`) as words (`no access`, `not writable`);
/// v1's `noSuchName` reads as v2c's `no such object`.
fn status_words(name: &str) -> String {
    if name == "noSuchName" {
        return "no such object".into();
    }
    let mut words = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    words
}

/// An OID in dotted form (a leading dot allowed).
pub(crate) fn parse_oid(type_name: &str, property: &str, text: &str) -> Result<Oid, ActivityError> {
    let oid = Oid::parse(text.trim())
        .ok()
        .filter(|oid| oid.len() >= 2 && oid.validate().is_ok())
        .ok_or_else(|| ActivityError::invalid(type_name, property, format!("'{text}' is not a dotted OID")))?;
    Ok(oid)
}

/// A value as published: its text and its type word. Strings that are not UTF-8 text come out
/// as colon-separated hex (`00:1a:2b`). `Err` holds the words for an exception value.
pub(crate) fn describe(value: &Value) -> Result<(String, &'static str), &'static str> {
    Ok(match value {
        Value::Integer(n) => (n.to_string(), "integer"),
        Value::OctetString(bytes) => (bytes_text(bytes), "string"),
        Value::ObjectIdentifier(oid) => (oid.to_string(), "oid"),
        Value::IpAddress(ip) => (Ipv4Addr::from(*ip).to_string(), "ip"),
        Value::Counter32(n) => (n.to_string(), "counter"),
        Value::Gauge32(n) | Value::UInteger32(n) => (n.to_string(), "gauge"),
        Value::TimeTicks(n) => (n.to_string(), "timeticks"),
        Value::Counter64(n) => (n.to_string(), "counter64"),
        Value::Opaque(bytes) => (hex(bytes), "opaque"),
        Value::Null => (String::new(), "null"),
        Value::NoSuchObject => return Err("no such object"),
        Value::NoSuchInstance => return Err("no such instance"),
        Value::EndOfMibView => return Err("end of MIB view"),
        _ => return Err("a value of a type this client does not know"),
    })
}

fn bytes_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) => text.into(),
        _ => hex(bytes),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// A value from its text and one of [`VALUE_TYPES`]; `property` names what held the text.
fn encode(type_name: &str, property: &str, value_type: &str, text: &str) -> Result<Value, ActivityError> {
    let bad = |what: &str| ActivityError::invalid(type_name, property, format!("'{text}' is not {what}"));
    let trimmed = text.trim();
    Ok(match value_type {
        "integer" => Value::Integer(trimmed.parse().map_err(|_| bad("a 32-bit integer"))?),
        "string" => Value::from(text),
        "oid" => Value::ObjectIdentifier(parse_oid(type_name, property, text)?),
        "ip" => Value::from(trimmed.parse::<Ipv4Addr>().map_err(|_| bad("an IPv4 address"))?),
        "counter" => Value::Counter32(trimmed.parse().map_err(|_| bad("a counter (0 to 4294967295)"))?),
        "gauge" => Value::Gauge32(trimmed.parse().map_err(|_| bad("a gauge (0 to 4294967295)"))?),
        "timeticks" => Value::TimeTicks(trimmed.parse().map_err(|_| bad("timeticks (hundredths of a second)"))?),
        other => {
            return Err(ActivityError::invalid(
                type_name,
                property,
                format!("unknown type '{other}' (one of {})", VALUE_TYPES.join(", ")),
            ));
        }
    })
}

#[cfg(test)]
mod test_support;
