//! `send_snmp_trap`: sends one trap. v2c sends an SNMPv2-Trap PDU whose first variables are
//! sysUpTime.0 and snmpTrapOID.0; v1 sends a Trap-PDU mapped from the trap OID as RFC 3584 3.2
//! says: one of the six standard traps (1.3.6.1.6.3.1.1.5.1-6) becomes its generic trap (0-5);
//! any other is enterprise-specific (generic 6), its last arc the specific trap, the arcs before
//! it the enterprise (less a trailing 0 arc: `ENTERPRISE.0.N`); the agent address is this
//! computer's address toward the receiver. A trap is not acknowledged:
//! `sent` says it left, not that it arrived.

use std::net::{IpAddr, SocketAddr};

use async_snmp::{NotificationPdu, VarBind, Version};
use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::{CATEGORY, Peer, encode, parse_oid};

const TYPE: &str = "send_snmp_trap";

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: CATEGORY,
    summary: "Sends an SNMP trap (v1 or v2c) with variables.",
    idempotent: false,
    properties: &[
        "host",
        "port",
        "version",
        "community",
        "trap_oid",
        "variables",
        "timeout",
    ],
    required: &["host", "trap_oid"],
    publishes: &["sent"],
};

pub struct SendSnmpTrap;

#[scorch_activity::async_trait]
impl Activity for SendSnmpTrap {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let trap_oid = parse_oid(TYPE, "trap_oid", &props.non_empty("trap_oid")?)?;
        let variables = variables(&props)?;
        let peer = Peer::from_props(ctx, &props, 162).await?;
        let client = peer.client(ctx).await?;
        if peer.v1 {
            let v2 = NotificationPdu::trap_v2(Version::V2c, 0, uptime(), &trap_oid, variables)
                .map_err(|e| ActivityError::invalid(TYPE, "trap_oid", e))?;
            let trap = v2
                .to_v1_trap(agent_address(peer.addr))
                .map_err(|e| ActivityError::invalid(TYPE, "trap_oid", e))?;
            peer.exchange(ctx, client.send_v1_trap(trap)).await?;
        } else {
            peer.exchange(ctx, client.send_trap(&trap_oid, uptime(), variables))
                .await?;
        }
        Ok(ActivityOutput::row(row! { "sent" => true }))
    }
}

/// `variables`: a list of `{oid, type, value}` (`type` as `value_type` of `set_snmp_variable`,
/// default string).
fn variables(props: &Props) -> Result<Vec<VarBind>, ActivityError> {
    let items = match props.get("variables") {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ActivityError::invalid(
                TYPE,
                "variables",
                "must be a list of {oid, type, value}",
            ));
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let property = format!("variables[{i}]");
            let item = Props::new(TYPE, item.clone())
                .map_err(|_| ActivityError::invalid(TYPE, &property, "must be a mapping of oid, type, value"))?;
            let field = |name: &str| {
                item.opt_str(name)
                    .map_err(|_| ActivityError::invalid(TYPE, &property, format!("'{name}' must be a single value")))
            };
            let oid = field("oid")?.ok_or_else(|| ActivityError::invalid(TYPE, &property, "'oid' is required"))?;
            let oid = parse_oid(TYPE, &property, &oid)?;
            let value_type = field("type")?
                .unwrap_or_else(|| "string".into())
                .trim()
                .to_ascii_lowercase();
            let text = field("value")?.ok_or_else(|| ActivityError::invalid(TYPE, &property, "'value' is required"))?;
            Ok(VarBind::new(oid, encode(TYPE, &property, &value_type, &text)?))
        })
        .collect()
}

/// A v1 trap's agent address: this computer's IPv4 address toward `receiver` (the route's
/// source address, found by connecting a UDP socket, which sends nothing), else 0.0.0.0.
fn agent_address(receiver: SocketAddr) -> [u8; 4] {
    let local = std::net::UdpSocket::bind(("0.0.0.0", 0))
        .and_then(|probe| probe.connect(receiver).and_then(|()| probe.local_addr()));
    match local.map(|addr| addr.ip()) {
        Ok(IpAddr::V4(ip)) => ip.octets(),
        _ => [0; 4],
    }
}

/// sysUpTime.0 for the trap: how long this host has been up, in hundredths of a second (it
/// wraps at 2^32, as the counter does).
fn uptime() -> u32 {
    let secs = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    ((secs * 100.0) as u64 % (1 << 32)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::snmp::test_support::NetSnmp;
    use scorch_activity::{ErrorKind, json};

    async fn run(properties: Value) -> Result<ActivityOutput, ActivityError> {
        SendSnmpTrap
            .run(&ActivityContext::standalone(TYPE, std::env::temp_dir()), properties)
            .await
    }

    #[tokio::test]
    async fn snmptrapd_receives_v2c_and_v1_traps() {
        let Some(receiver) = NetSnmp::trap_receiver() else {
            return;
        };
        let out = run(
            json!({"host": "127.0.0.1", "port": receiver.port, "trap_oid": "1.3.6.1.4.1.8072.2.3.0.1",
            "variables": [
                {"oid": "1.3.6.1.4.1.8072.2.3.2.1", "type": "integer", "value": 123456},
                {"oid": "1.3.6.1.2.1.1.5.0", "value": "disk full"},
            ]}),
        )
        .await
        .unwrap();
        assert_eq!(out.rows[0]["sent"], true);
        let log = receiver.wait_for("disk full");
        // sysUpTime.0 and snmpTrapOID.0 first, then the variables in order.
        let line = log.lines().find(|l| l.contains("disk full")).unwrap();
        let re = regex::Regex::new(
            r#"^iso\.3\.6\.1\.2\.1\.1\.3\.0 = Timeticks: \(\d+\) [^\t]*\tiso\.3\.6\.1\.6\.3\.1\.1\.4\.1\.0 = OID: iso\.3\.6\.1\.4\.1\.8072\.2\.3\.0\.1\tiso\.3\.6\.1\.4\.1\.8072\.2\.3\.2\.1 = INTEGER: 123456\tiso\.3\.6\.1\.2\.1\.1\.5\.0 = STRING: "disk full"$"#,
        )
        .unwrap();
        assert!(re.is_match(line), "{log}");

        // v1: enterprise 1.3.6.1.4.1.8072.2.3 (the trailing .0 dropped), specific trap 17.
        run(
            json!({"host": "127.0.0.1", "port": receiver.port, "version": "1", "community": "ops",
            "trap_oid": "1.3.6.1.4.1.8072.2.3.0.17",
            "variables": [{"oid": "1.3.6.1.2.1.1.5.0", "type": "string", "value": "v1 trap"}]}),
        )
        .await
        .unwrap();
        let log = receiver.wait_for("v1 trap");
        assert!(log.contains("127.0.0.1 [127.0.0.1] (via UDP: [127.0.0.1]:"), "{log}");
        assert!(log.contains("TRAP, SNMP v1, community ops"), "{log}");
        assert!(
            log.contains("iso.3.6.1.4.1.8072.2.3 Enterprise Specific Trap (17) Uptime:"),
            "{log}"
        );
        // A standard trap maps to its generic number: linkDown is generic 2.
        run(
            json!({"host": "127.0.0.1", "port": receiver.port, "version": "1", "trap_oid": "1.3.6.1.6.3.1.1.5.3",
            "variables": [{"oid": "1.3.6.1.2.1.2.2.1.1.7", "type": "integer", "value": 7}]}),
        )
        .await
        .unwrap();
        let log = receiver.wait_for("Link Down Trap");
        assert!(log.contains("Link Down Trap (0)"), "{log}");
    }

    #[tokio::test]
    async fn bad_variables_are_named() {
        for (variables, expected) in [
            (json!("x"), "property 'variables': must be a list of {oid, type, value}"),
            (json!([{"value": "x"}]), "property 'variables[0]': 'oid' is required"),
            (
                json!([{"oid": "1.3.6.1", "value": "x"}, {"oid": "1.3.6.1"}]),
                "property 'variables[1]': 'value' is required",
            ),
            (
                json!([{"oid": "1.3.6.1", "type": "counter", "value": "-3"}]),
                "property 'variables[0]': '-3' is not a counter (0 to 4294967295)",
            ),
        ] {
            let err = run(json!({"host": "127.0.0.1", "trap_oid": "1.3.6.1.4.1.1.0.1", "variables": variables}))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert_eq!(err.to_string(), format!("{TYPE}: {expected}"));
        }
    }
}
