//! `start_stop_service`: starts, stops, restarts or reloads a systemd unit.

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::CATEGORY;
use super::systemd::{Systemctl, unit_prop};

const TYPE: &str = "start_stop_service";

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: CATEGORY,
    summary: "Starts, stops, restarts or reloads a systemd unit, by default waiting until done.",
    idempotent: true,
    properties: &["service", "action", "wait", "scope"],
    required: &["service", "action"],
    publishes: &["service", "active_state"],
};

pub struct StartStopService;

#[scorch_activity::async_trait]
impl Activity for StartStopService {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        act(ctx, &props, &Systemctl::from_props(&props)?).await
    }
}

async fn act(ctx: &ActivityContext, props: &Props, systemctl: &Systemctl) -> Result<ActivityOutput, ActivityError> {
    let unit = unit_prop(props)?;
    if props.get("action").is_none() {
        return Err(ActivityError::invalid(TYPE, "action", "is required"));
    }
    let action = props.choice("action", &["start", "stop", "restart", "reload"], "start")?;
    let wait = props.bool_or("wait", true)?;
    // An unknown unit fails as such, not with what systemctl says about the action.
    systemctl.show(ctx, TYPE, &unit).await?;
    systemctl.act(ctx, TYPE, &unit, action, wait).await?;
    let state = systemctl.show(ctx, TYPE, &unit).await?;
    Ok(ActivityOutput::row(
        row! { "service" => unit, "active_state" => state.active_state },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::systemd::test_support::UserManager;
    use scorch_activity::{ErrorKind, json};

    fn ctx() -> ActivityContext {
        ActivityContext::standalone(TYPE, std::env::temp_dir())
    }

    #[tokio::test]
    async fn starts_and_stops_a_user_unit() {
        let Some(manager) = UserManager::start() else { return };
        let systemctl = Systemctl::user_at(&manager.runtime_dir());
        let run = |properties: Value| {
            let systemctl = &systemctl;
            async move { act(&ctx(), &Props::new(TYPE, properties).unwrap(), systemctl).await }
        };
        let status = |service: &str| {
            let props = Props::new("get_service_status", json!({ "service": service })).unwrap();
            let systemctl = &systemctl;
            async move {
                systemctl
                    .show(&ctx(), "get_service_status", &unit_prop(&props).unwrap())
                    .await
                    .unwrap()
            }
        };

        let out = run(json!({"service": "zsleeper", "action": "start"})).await.unwrap();
        assert_eq!(
            Value::Object(out.rows[0].clone()),
            json!({"service": "zsleeper.service", "active_state": "active"})
        );
        let state = status("zsleeper").await;
        assert_eq!(
            (state.active_state.as_str(), state.sub_state.as_str()),
            ("active", "running")
        );

        let out = run(json!({"service": "zsleeper.service", "action": "restart"}))
            .await
            .unwrap();
        assert_eq!(out.rows[0]["active_state"], "active");

        // The unit has no ExecReload: systemd's reason comes through.
        let err = run(json!({"service": "zsleeper", "action": "reload"}))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert!(
            err.to_string()
                .starts_with("start_stop_service: zsleeper.service: Failed to reload zsleeper.service"),
            "{err}"
        );

        // Without waiting, the job may still run when the state is read.
        let out = run(json!({"service": "zsleeper", "action": "stop", "wait": false}))
            .await
            .unwrap();
        let state = out.rows[0]["active_state"].as_str().unwrap().to_string();
        assert!(
            ["active", "deactivating", "inactive"].contains(&state.as_str()),
            "{state}"
        );
        let out = run(json!({"service": "zsleeper", "action": "stop"})).await.unwrap();
        assert_eq!(out.rows[0]["active_state"], "inactive");
        let state = status("zsleeper").await;
        assert_eq!(
            (state.active_state.as_str(), state.sub_state.as_str()),
            ("inactive", "dead")
        );

        let err = run(json!({"service": "nonexistent-unit", "action": "start"}))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "start_stop_service: nonexistent-unit.service: no such unit"
        );
    }

    #[tokio::test]
    async fn bad_input_is_named() {
        for (properties, expected) in [
            (json!({"service": "x"}), "property 'action': is required"),
            (
                json!({"service": "x", "action": "kill"}),
                "property 'action': 'kill' is not one of start, stop, restart, reload",
            ),
            (
                json!({"service": "x", "action": "stop", "wait": "maybe"}),
                "property 'wait': expected true or false, got \"maybe\"",
            ),
        ] {
            let err = StartStopService.run(&ctx(), properties).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert_eq!(err.to_string(), format!("{TYPE}: {expected}"));
        }
    }
}
