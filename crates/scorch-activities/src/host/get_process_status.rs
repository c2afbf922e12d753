//! `get_process_status`: whether processes run, by name glob or pid.

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::{CATEGORY, Target, pid_list};

const TYPE: &str = "get_process_status";

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: CATEGORY,
    summary: "Tells whether processes run on this host, by name (a glob) or pid.",
    idempotent: true,
    properties: &["name", "pid"],
    required: &[],
    publishes: &["running", "count", "pids"],
};

pub struct GetProcessStatus;

#[scorch_activity::async_trait]
impl Activity for GetProcessStatus {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, _ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let target = Target::from_props(&props)?;
        let pids = crate::files::blocking(TYPE, move || Ok(target.find())).await?;
        Ok(ActivityOutput::row(row! {
            "running" => !pids.is_empty(),
            "count" => pids.len(),
            "pids" => pid_list(&pids),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::test_support::{field, invalid, ok};
    use crate::host::test_support::Sleeper;
    use scorch_activity::json;

    #[tokio::test]
    async fn finds_a_process_by_glob_and_by_pid() {
        let dir = tempfile::tempdir().unwrap();
        let sleeper = Sleeper::start(false);
        let glob = format!("{}*", &sleeper.name[..9]);
        let rows = ok(&GetProcessStatus, dir.path(), json!({ "name": glob })).await;
        assert_eq!(field(&rows[0], "running"), "true");
        assert_eq!(field(&rows[0], "count"), "1");
        assert_eq!(field(&rows[0], "pids"), sleeper.pid().to_string());
        let rows = ok(&GetProcessStatus, dir.path(), json!({ "pid": sleeper.pid() })).await;
        assert_eq!(field(&rows[0], "running"), "true");
        assert_eq!(field(&rows[0], "pids"), sleeper.pid().to_string());
    }

    #[tokio::test]
    async fn nothing_running_is_success_with_zero() {
        let dir = tempfile::tempdir().unwrap();
        let mut sleeper = Sleeper::start(false);
        let (name, pid) = (sleeper.name.clone(), sleeper.pid());
        sleeper.child.kill().unwrap();
        let started = std::time::Instant::now();
        while crate::host::is_alive(pid) {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "KILL did not end it"
            );
            std::thread::yield_now();
        }
        // Not yet reaped: a zombie does not count as running.
        let rows = ok(&GetProcessStatus, dir.path(), json!({ "name": name })).await;
        assert_eq!(field(&rows[0], "running"), "false");
        assert_eq!(field(&rows[0], "count"), "0");
        assert_eq!(field(&rows[0], "pids"), "");
        sleeper.ended_by();
        let rows = ok(&GetProcessStatus, dir.path(), json!({ "pid": pid })).await;
        assert_eq!(field(&rows[0], "running"), "false");
    }

    #[tokio::test]
    async fn bad_input_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let err = invalid(&GetProcessStatus, dir.path(), json!({})).await;
        assert_eq!(err, "get_process_status: property 'name': give 'name' or 'pid'");
        let err = invalid(&GetProcessStatus, dir.path(), json!({"name": "a", "pid": 1})).await;
        assert!(err.ends_with("not both"), "{err}");
        let err = invalid(&GetProcessStatus, dir.path(), json!({"pid": -3})).await;
        assert_eq!(err, "get_process_status: property 'pid': '-3' is not a process id");
        let err = invalid(&GetProcessStatus, dir.path(), json!({"name": "[a"})).await;
        assert!(
            err.starts_with("get_process_status: property 'name': bad glob '[a'"),
            "{err}"
        );
    }
}
