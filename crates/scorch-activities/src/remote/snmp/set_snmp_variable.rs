//! `set_snmp_variable`: sets one variable on an SNMP agent with a SET request.

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::{CATEGORY, Peer, VALUE_TYPES, describe, encode, parse_oid};

const TYPE: &str = "set_snmp_variable";

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: CATEGORY,
    summary: "Sets a variable on an SNMP agent (v1 or v2c) and publishes the value it took.",
    idempotent: true,
    properties: &[
        "host",
        "port",
        "version",
        "community",
        "oid",
        "value",
        "value_type",
        "timeout",
    ],
    required: &["host", "oid", "value"],
    publishes: &["oid", "value"],
};

pub struct SetSnmpVariable;

#[scorch_activity::async_trait]
impl Activity for SetSnmpVariable {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let oid = parse_oid(TYPE, "oid", &props.non_empty("oid")?)?;
        let value_type = props.choice("value_type", VALUE_TYPES, "string")?;
        let value = encode(TYPE, "value", value_type, &props.str("value")?)?;
        let peer = Peer::from_props(ctx, &props, 161).await?;
        let client = peer.client(ctx).await?;
        let answer = peer.exchange(ctx, client.set(&oid, value)).await?;
        // The agent answers with the value it now holds.
        let set = answer.single().ok_or_else(|| {
            ActivityError::failed(TYPE, &peer.name, format!("no single variable in the answer for {oid}"))
        })?;
        let (value, _) = describe(&set.value).map_err(|why| peer.exception(&set.oid, why))?;
        Ok(ActivityOutput::row(
            row! { "oid" => set.oid.to_string(), "value" => value },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::snmp::GetSnmpVariable;
    use crate::remote::snmp::test_support::NetSnmp;
    use scorch_activity::{ErrorKind, json};

    fn ctx() -> ActivityContext {
        ActivityContext::standalone(TYPE, std::env::temp_dir())
    }

    #[tokio::test]
    async fn sets_a_variable_and_reads_it_back() {
        let Some(agent) = NetSnmp::agent() else { return };
        for (version, location) in [("2c", "Rack 4, row B"), ("1", "Rack 5")] {
            let ctx = ctx();
            let out = SetSnmpVariable
                .run(
                    &ctx,
                    json!({"host": "127.0.0.1", "port": agent.port, "version": version,
                        "community": "private", "oid": "1.3.6.1.2.1.1.6.0", "value": location}),
                )
                .await
                .unwrap();
            assert_eq!(out.rows[0]["oid"], "1.3.6.1.2.1.1.6.0");
            assert_eq!(out.rows[0]["value"], location);
            assert_eq!(ctx.secrets.mask("community private"), "community ******");
            let out = GetSnmpVariable
                .run(
                    &ctx,
                    json!({"host": "127.0.0.1", "port": agent.port, "oid": "1.3.6.1.2.1.1.6.0"}),
                )
                .await
                .unwrap();
            assert_eq!(out.rows[0]["value"], location);
        }
    }

    #[tokio::test]
    async fn the_agent_refusing_fails_with_its_reason() {
        let Some(agent) = NetSnmp::agent() else { return };
        let peer = format!("127.0.0.1:{}", agent.port);
        // The read-only community may not write.
        let err = SetSnmpVariable
            .run(
                &ctx(),
                json!({"host": "127.0.0.1", "port": agent.port, "oid": "1.3.6.1.2.1.1.6.0", "value": "x"}),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert_eq!(err.to_string(), format!("{TYPE}: {peer}: 1.3.6.1.2.1.1.6.0: no access"));
        // sysLocation is a string, not an integer.
        let err = SetSnmpVariable
            .run(
                &ctx(),
                json!({"host": "127.0.0.1", "port": agent.port, "community": "private",
                    "oid": "1.3.6.1.2.1.1.6.0", "value": "7", "value_type": "integer"}),
            )
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{TYPE}: {peer}: 1.3.6.1.2.1.1.6.0: wrong type")
        );
        assert!(!err.to_string().contains("private"));
        let err = SetSnmpVariable
            .run(
                &ctx(),
                json!({"host": "127.0.0.1", "port": agent.port, "community": "private",
                    "oid": "1.3.6.1.2.1.1.1.0", "value": "new description"}),
            )
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{TYPE}: {peer}: 1.3.6.1.2.1.1.1.0: not writable")
        );
    }

    #[tokio::test]
    async fn bad_values_are_named() {
        for (value_type, value, expected) in [
            ("integer", "x", "property 'value': 'x' is not a 32-bit integer"),
            ("ip", "10.0.0", "property 'value': '10.0.0' is not an IPv4 address"),
            ("gauge", "-1", "property 'value': '-1' is not a gauge (0 to 4294967295)"),
            ("oid", "1..3", "property 'value': '1..3' is not a dotted OID"),
            (
                "float",
                "1",
                "property 'value_type': 'float' is not one of integer, string, oid, ip, counter, gauge, timeticks",
            ),
        ] {
            let err = SetSnmpVariable
                .run(
                    &ctx(),
                    json!({"host": "h", "oid": "1.3.6.1.2.1.1.6.0", "value": value, "value_type": value_type}),
                )
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert_eq!(err.to_string(), format!("{TYPE}: {expected}"));
        }
    }
}
