//! `monitor_snmp_trap`: an instance per SNMP trap (v1 or v2c, and v2c informs, which are
//! acknowledged) received on a UDP port of the runbook server holding the monitor. A v1 trap's
//! OID is mapped as RFC 3584 3.1 says (the enterprise, 0, the specific trap; or one of the six
//! standard traps). Traps are events the sender does not repeat: a server taking the monitor
//! over cannot see those sent before, so a trap's key is its source, receive time and a hash of
//! its content, and there is no checkpoint.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use async_snmp::notification::NotificationReceiver;
use async_snmp::{Oid, VarBind};
use scorch_activity::props::Props;
use scorch_activity::{ActivityError, Descriptor, Trigger, TriggerSink, Value, Watch, WatchContext, json, row};

use crate::remote::port_prop;
use crate::remote::snmp::{describe, parse_oid};

pub const TYPE: &str = "monitor_snmp_trap";

pub static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: super::CATEGORY,
    summary: "Starts an instance for each SNMP trap (v1 or v2c) received on a UDP port.",
    idempotent: true,
    properties: &["port", "address", "community", "trap_oid"],
    required: &[],
    publishes: &["source", "trap_oid", "variables", super::TRIGGERED_AT],
};

const DEFAULT_PORT: u16 = 162;

pub struct MonitorSnmpTrap;

#[scorch_activity::async_trait]
impl Watch for MonitorSnmpTrap {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    async fn watch(&self, ctx: WatchContext, sink: Arc<dyn TriggerSink>) -> Result<(), ActivityError> {
        let props = Props::new(TYPE, ctx.properties.clone())?;
        let port = port_prop(&props, "port")?.unwrap_or(DEFAULT_PORT);
        let address = props.str_or("address", "0.0.0.0")?;
        let ip: std::net::IpAddr = address
            .trim()
            .parse()
            .map_err(|_| ActivityError::invalid(TYPE, "address", format!("'{address}' is not an IP address")))?;
        let bind = std::net::SocketAddr::new(ip, port).to_string();
        let prefix = props
            .opt_str("trap_oid")?
            .map(|oid| parse_oid(TYPE, "trap_oid", &oid))
            .transpose()?;
        let mut builder = NotificationReceiver::builder().bind(bind.clone());
        // Without `community`, any community is accepted.
        if let Some(community) = props.opt_str("community")? {
            ctx.probe.secrets.remember(&community);
            builder = builder.community(community.into_bytes());
        }
        let receiver = builder
            .build()
            .await
            .map_err(|e| ActivityError::failed(TYPE, &bind, e))?;
        loop {
            let received = tokio::select! {
                _ = ctx.cancel.cancelled() => return Ok(()),
                received = receiver.recv() => received,
            };
            let received = match received {
                Ok(received) => received,
                Err(e) => {
                    // A datagram the receiver could not read: the next may be fine.
                    let text = format!("{TYPE}: {bind}: {e}");
                    sink.note(&text, &text).await?;
                    continue;
                }
            };
            let Ok(trap_oid) = received.notification.trap_oid() else {
                continue;
            };
            if prefix.as_ref().is_some_and(|prefix| !trap_oid.starts_with(prefix)) {
                continue;
            }
            let source = received.source.ip().to_string();
            let variables = variables(received.notification.varbinds());
            let trigger = Trigger {
                key: key(&source, &trap_oid, &variables, received.notification.uptime()),
                row: row! {
                    "source" => source,
                    "trap_oid" => trap_oid.to_string(),
                    "variables" => variables.to_string(),
                },
            };
            sink.fire(trigger, Value::Null).await?;
        }
    }
}

/// `[{oid, type, value}]`, as `get_snmp_variable` publishes a value (an exception's `type` is
/// `exception`, its `value` the words).
fn variables(varbinds: &[VarBind]) -> Value {
    let items = varbinds.iter().map(|varbind| {
        let (value, kind) = describe(&varbind.value).unwrap_or_else(|words| (words.to_string(), "exception"));
        json!({"oid": varbind.oid.to_string(), "type": kind, "value": value})
    });
    Value::Array(items.collect())
}

/// The source, the time received (ns) and a hash of what the trap says.
fn key(source: &str, trap_oid: &Oid, variables: &Value, uptime: u32) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    (trap_oid.to_string(), variables.to_string(), uptime).hash(&mut hasher);
    let received = jiff::Timestamp::now().as_nanosecond();
    format!("{source}:{received}:{:016x}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use scorch_activity::{Activity, ActivityContext};
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::monitor::test_sink::MemorySink;
    use crate::remote::SendSnmpTrap;

    #[tokio::test]
    async fn fires_for_v1_and_v2c_traps_under_the_oid() {
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cancel = CancellationToken::new();
        let probe = ActivityContext::standalone(TYPE, std::env::temp_dir());
        let ctx = WatchContext {
            properties: json!({"address": "127.0.0.1", "port": port, "community": "public", "trap_oid": "1.3.6.1.4.1.8072"}),
            checkpoint: None,
            cancel: cancel.clone(),
            probe: probe.clone(),
        };
        let sink = Arc::new(MemorySink::default());
        let watching = tokio::spawn(MonitorSnmpTrap.watch(ctx, sink.clone()));
        tokio::time::sleep(Duration::from_millis(200)).await;
        let send = |version: &str, trap_oid: &str| {
            json!({"host": "127.0.0.1", "port": port, "version": version, "trap_oid": trap_oid,
                   "variables": [{"oid": "1.3.6.1.2.1.1.5.0", "value": "disk full"},
                                 {"oid": "1.3.6.1.4.1.8072.2.3.2.1", "type": "integer", "value": 7}]})
        };
        SendSnmpTrap
            .run(&probe, send("2c", "1.3.6.1.4.1.9999.1"))
            .await
            .unwrap();
        SendSnmpTrap
            .run(&probe, send("2c", "1.3.6.1.4.1.8072.2.3.0.1"))
            .await
            .unwrap();
        SendSnmpTrap
            .run(&probe, send("1", "1.3.6.1.4.1.8072.2.3.0.17"))
            .await
            .unwrap();
        let fired = sink.wait_for(2, Duration::from_secs(15)).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel.cancel();
        watching.await.unwrap().unwrap();
        assert_eq!(sink.triggers().len(), 2, "{:?}", sink.triggers());
        let oids: Vec<_> = fired.iter().map(|t| t.row["trap_oid"].clone()).collect();
        assert_eq!(
            oids,
            [json!("1.3.6.1.4.1.8072.2.3.0.1"), json!("1.3.6.1.4.1.8072.2.3.0.17")]
        );
        assert_eq!(fired[0].row["source"], json!("127.0.0.1"));
        let variables: Value = serde_json::from_str(fired[1].row["variables"].as_str().unwrap()).unwrap();
        assert_eq!(
            variables,
            json!([{"oid": "1.3.6.1.2.1.1.5.0", "type": "string", "value": "disk full"},
                   {"oid": "1.3.6.1.4.1.8072.2.3.2.1", "type": "integer", "value": "7"}])
        );
    }

    #[tokio::test]
    async fn a_port_in_use_stops_it() {
        let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let ctx = WatchContext {
            properties: json!({"address": "127.0.0.1", "port": port}),
            checkpoint: None,
            cancel: CancellationToken::new(),
            probe: ActivityContext::standalone(TYPE, std::env::temp_dir()),
        };
        let err = MonitorSnmpTrap
            .watch(ctx, Arc::new(MemorySink::default()))
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("monitor_snmp_trap: 127.0.0.1:{port}: ")),
            "{err}"
        );
    }
}
