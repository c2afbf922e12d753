//! `get_snmp_variable`: reads one or more variables from an SNMP agent with one GET request.

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::{CATEGORY, Peer, describe, parse_oid};

const TYPE: &str = "get_snmp_variable";

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: CATEGORY,
    summary: "Reads variables from an SNMP agent (v1 or v2c): one row per OID.",
    idempotent: true,
    properties: &["host", "port", "version", "community", "oid", "oids", "timeout"],
    required: &["host"],
    publishes: &["oid", "value", "type"],
};

pub struct GetSnmpVariable;

#[scorch_activity::async_trait]
impl Activity for GetSnmpVariable {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let oids = oids(&props)?;
        let peer = Peer::from_props(ctx, &props, 161).await?;
        let client = peer.client(ctx).await?;
        let answer = peer.exchange(ctx, client.get_many(&oids)).await?;
        if answer.varbinds.len() != oids.len() {
            return Err(ActivityError::failed(
                TYPE,
                &peer.name,
                format!("asked for {} variables, got {}", oids.len(), answer.varbinds.len()),
            ));
        }
        let mut rows = Vec::with_capacity(oids.len());
        for varbind in &answer.varbinds {
            let (value, kind) = describe(&varbind.value).map_err(|why| peer.exception(&varbind.oid, why))?;
            rows.push(row! { "oid" => varbind.oid.to_string(), "value" => value, "type" => kind });
        }
        Ok(ActivityOutput::rows(rows))
    }
}

/// `oid`, or `oids` (a list): exactly one of them.
fn oids(props: &Props) -> Result<Vec<async_snmp::Oid>, ActivityError> {
    let one = props.opt_str("oid")?.filter(|s| !s.trim().is_empty());
    let many = props.str_list("oids")?;
    match (one, many.is_empty()) {
        (Some(oid), true) => Ok(vec![parse_oid(TYPE, "oid", &oid)?]),
        (None, false) => many.iter().map(|oid| parse_oid(TYPE, "oids", oid)).collect(),
        (Some(_), false) => Err(ActivityError::invalid(TYPE, "oid", "give 'oid' or 'oids', not both")),
        (None, true) => Err(ActivityError::invalid(TYPE, "oid", "give 'oid' or 'oids'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::snmp::test_support::{NetSnmp, free_udp_port};
    use scorch_activity::{ErrorKind, json};

    async fn run(properties: Value) -> Result<ActivityOutput, ActivityError> {
        GetSnmpVariable
            .run(&ActivityContext::standalone(TYPE, std::env::temp_dir()), properties)
            .await
    }

    #[tokio::test]
    async fn reads_variables_in_v1_and_v2c() {
        let Some(agent) = NetSnmp::agent() else { return };
        for version in ["1", "2c"] {
            let out = run(json!({"host": "127.0.0.1", "port": agent.port, "version": version,
                "oid": "1.3.6.1.2.1.1.1.0"}))
            .await
            .unwrap();
            assert_eq!(out.rows.len(), 1);
            assert_eq!(out.rows[0]["oid"], "1.3.6.1.2.1.1.1.0");
            assert_eq!(out.rows[0]["type"], "string");
            assert!(out.rows[0]["value"].as_str().unwrap().starts_with("Linux"), "{out:?}");
        }
        // sysUpTime.0, sysDescr.0 and sysObjectID.0 in one request: a row each, in order.
        let out = run(json!({"host": "localhost", "port": agent.port,
            "oids": [".1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0"]}))
        .await
        .unwrap();
        let rows: Vec<(&str, &str)> = out
            .rows
            .iter()
            .map(|r| (r["oid"].as_str().unwrap(), r["type"].as_str().unwrap()))
            .collect();
        assert_eq!(
            rows,
            [
                ("1.3.6.1.2.1.1.3.0", "timeticks"),
                ("1.3.6.1.2.1.1.1.0", "string"),
                ("1.3.6.1.2.1.1.2.0", "oid")
            ]
        );
        assert!(out.rows[0]["value"].as_str().unwrap().parse::<u32>().is_ok());
        assert!(out.rows[2]["value"].as_str().unwrap().starts_with("1.3.6.1.4.1."));
    }

    #[tokio::test]
    async fn a_missing_variable_fails_naming_it() {
        let Some(agent) = NetSnmp::agent() else { return };
        let peer = format!("127.0.0.1:{}", agent.port);
        // v2c answers with a noSuchObject value, v1 with the noSuchName error status.
        for version in ["2c", "1"] {
            let err = run(json!({"host": "127.0.0.1", "port": agent.port, "version": version,
                "oids": ["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.99.0"]}))
            .await
            .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Failed);
            assert_eq!(
                err.to_string(),
                format!("{TYPE}: {peer}: 1.3.6.1.2.1.1.99.0: no such object")
            );
        }
        let err = run(json!({"host": "127.0.0.1", "port": agent.port, "oid": "1.3.6.1.2.1.1.1.99"}))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{TYPE}: {peer}: 1.3.6.1.2.1.1.1.99: no such instance")
        );
    }

    #[tokio::test]
    async fn a_wrong_community_times_out_and_stays_secret() {
        let Some(agent) = NetSnmp::agent() else { return };
        let ctx = ActivityContext::standalone(TYPE, std::env::temp_dir());
        let started = std::time::Instant::now();
        let err = GetSnmpVariable
            .run(
                &ctx,
                json!({"host": "127.0.0.1", "port": agent.port, "community": "s3cret-community",
                    "oid": "1.3.6.1.2.1.1.1.0", "timeout": "600ms"}),
            )
            .await
            .unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(3));
        assert_eq!(err.kind(), ErrorKind::Transient);
        assert_eq!(
            err.to_string(),
            format!(
                "{TYPE}: 127.0.0.1:{}: no answer within 600ms (no agent listening, or a wrong community, which agents ignore)",
                agent.port
            )
        );
        assert!(!err.to_string().contains("s3cret"));
        assert_eq!(ctx.secrets.mask("s3cret-community"), "******");
    }

    #[tokio::test]
    async fn nobody_listening_or_no_such_host_fails() {
        let port = free_udp_port();
        let err = run(json!({"host": "127.0.0.1", "port": port, "oid": "1.3.6.1.2.1.1.1.0", "timeout": 1}))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transient);
        assert_eq!(
            err.to_string(),
            format!(
                "{TYPE}: 127.0.0.1:{port}: no answer within 1s (no agent listening, or a wrong community, which agents ignore)"
            )
        );
        let err = run(json!({"host": "nonexistent.invalid", "oid": "1.3.6.1.2.1.1.1.0"}))
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("{TYPE}: nonexistent.invalid: cannot resolve the host name")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn cancel_stops_the_wait() {
        let ctx = ActivityContext::standalone(TYPE, std::env::temp_dir());
        let cancel = ctx.cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            cancel.cancel();
        });
        let started = std::time::Instant::now();
        let err = GetSnmpVariable
            .run(
                &ctx,
                json!({"host": "127.0.0.1", "port": free_udp_port(), "oid": "1.3.6.1.2.1.1.1.0", "timeout": "60s"}),
            )
            .await
            .unwrap_err();
        assert_eq!(err, ActivityError::Canceled);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[tokio::test]
    async fn bad_input_is_named() {
        for (properties, expected) in [
            (json!({"host": "h"}), "property 'oid': give 'oid' or 'oids'"),
            (
                json!({"host": "h", "oid": "1.3.6.x"}),
                "property 'oid': '1.3.6.x' is not a dotted OID",
            ),
            (
                json!({"host": "h", "oid": "1.3", "oids": ["1.3"]}),
                "property 'oid': give 'oid' or 'oids', not both",
            ),
            (
                json!({"host": "h", "oid": "1.3", "version": "3"}),
                "property 'version': '3' is not one of 1, 2c",
            ),
            (json!({"oid": "1.3"}), "property 'host': is required"),
        ] {
            let err = run(properties).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert_eq!(err.to_string(), format!("{TYPE}: {expected}"));
        }
    }
}
