//! `get_service_status`: a systemd unit's state.

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::CATEGORY;
use super::systemd::{Systemctl, unit_prop};

const TYPE: &str = "get_service_status";

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: CATEGORY,
    summary: "Reads a systemd unit's state: active and sub state, and whether it is enabled.",
    idempotent: true,
    properties: &["service", "scope"],
    required: &["service"],
    publishes: &["service", "active_state", "sub_state", "enabled"],
};

pub struct GetServiceStatus;

#[scorch_activity::async_trait]
impl Activity for GetServiceStatus {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        status(ctx, &props, &Systemctl::from_props(&props)?).await
    }
}

async fn status(ctx: &ActivityContext, props: &Props, systemctl: &Systemctl) -> Result<ActivityOutput, ActivityError> {
    let unit = unit_prop(props)?;
    let state = systemctl.show(ctx, TYPE, &unit).await?;
    // `enabled-runtime` is enabled until the next boot; `static`, `indirect` and the rest are not.
    let enabled = matches!(state.file_state.as_str(), "enabled" | "enabled-runtime");
    Ok(ActivityOutput::row(row! {
        "service" => unit,
        "active_state" => state.active_state,
        "sub_state" => state.sub_state,
        "enabled" => enabled,
    }))
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
    async fn reads_a_user_units_state() {
        let Some(manager) = UserManager::start() else { return };
        let systemctl = Systemctl::user_at(&manager.runtime_dir());
        let props = Props::new(TYPE, json!({"service": "zsleeper"})).unwrap();
        let out = status(&ctx(), &props, &systemctl).await.unwrap();
        assert_eq!(
            Value::Object(out.rows[0].clone()),
            json!({"service": "zsleeper.service", "active_state": "inactive", "sub_state": "dead", "enabled": false})
        );
        let props = Props::new(TYPE, json!({"service": "nonexistent-unit.service"})).unwrap();
        let err = status(&ctx(), &props, &systemctl).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert_eq!(
            err.to_string(),
            "get_service_status: nonexistent-unit.service: no such unit"
        );
    }

    #[tokio::test]
    async fn no_service_manager_is_a_clear_failure() {
        // No systemd as PID 1 here (a container): the system scope says so.
        if !std::path::Path::new("/run/systemd/system").exists() {
            let err = GetServiceStatus
                .run(&ctx(), json!({"service": "nginx.service"}))
                .await
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                "get_service_status: nginx.service: systemd is not running on this host"
            );
        }
        // A user scope whose manager is not running.
        let dir = tempfile::tempdir().unwrap();
        let props = Props::new(TYPE, json!({"service": "nginx"})).unwrap();
        let err = status(&ctx(), &props, &Systemctl::user_at(dir.path()))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "get_service_status: nginx.service: the user's service manager is not running"
        );
    }

    #[tokio::test]
    async fn bad_input_is_named() {
        for (properties, expected) in [
            (json!({}), "property 'service': is required"),
            (
                json!({"service": "--all"}),
                "property 'service': '--all' is not a unit name",
            ),
            (
                json!({"service": "a b"}),
                "property 'service': 'a b' is not a unit name",
            ),
            (
                json!({"service": "x", "scope": "session"}),
                "property 'scope': 'session' is not one of system, user",
            ),
        ] {
            let err = GetServiceStatus.run(&ctx(), properties).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert_eq!(err.to_string(), format!("{TYPE}: {expected}"));
        }
    }
}
