//! `send_platform_event`: records an event on the instance, for operators: the web service lists
//! an instance's events (`GET /api/v1/instances/{id}/events`) and the console shows them. The
//! event is the run's published row, so it is journaled with the run and kept as long as it.

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::CATEGORY;

/// The type name, which the web service looks for among an instance's runs.
pub const PLATFORM_EVENT_TYPE: &str = "send_platform_event";

const MAX_SUMMARY_CHARS: usize = 200;
const MAX_DETAILS_CHARS: usize = 2000;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: PLATFORM_EVENT_TYPE,
    category: CATEGORY,
    summary: "Records an event (information, warning or error) on the instance, shown by the API and the console.",
    idempotent: true,
    properties: &["severity", "summary", "details"],
    required: &["summary"],
    publishes: &["event_id", "severity", "summary", "details"],
};

pub struct SendPlatformEvent;

#[scorch_activity::async_trait]
impl Activity for SendPlatformEvent {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, _ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(PLATFORM_EVENT_TYPE, properties)?;
        let severity = props.choice("severity", &["information", "warning", "error"], "information")?;
        let summary = bounded(&props, "summary", MAX_SUMMARY_CHARS)?;
        if summary.trim().is_empty() {
            return Err(ActivityError::invalid(PLATFORM_EVENT_TYPE, "summary", "is empty"));
        }
        let details = bounded(&props, "details", MAX_DETAILS_CHARS)?;
        Ok(ActivityOutput::row(row! {
            "event_id" => uuid::Uuid::now_v7().to_string(),
            "severity" => severity,
            "summary" => summary,
            "details" => details,
        }))
    }
}

/// A text property of at most `max` characters (empty when unset).
fn bounded(props: &Props, name: &str, max: usize) -> Result<String, ActivityError> {
    let text = props.opt_str(name)?.unwrap_or_default();
    let chars = text.chars().count();
    if chars > max {
        return Err(ActivityError::invalid(
            PLATFORM_EVENT_TYPE,
            name,
            format!("is {chars} characters long; at most {max}"),
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorch_activity::json;

    async fn run(properties: Value) -> Result<ActivityOutput, ActivityError> {
        let ctx = ActivityContext::standalone(PLATFORM_EVENT_TYPE, std::env::temp_dir());
        SendPlatformEvent.run(&ctx, properties).await
    }

    #[tokio::test]
    async fn publishes_the_event_with_a_fresh_id() {
        let a = run(json!({ "summary": "Disk low", "details": "/var at 95%", "severity": "warning" }))
            .await
            .unwrap();
        let row = &a.rows[0];
        assert_eq!(
            (row["severity"].as_str(), row["summary"].as_str()),
            (Some("warning"), Some("Disk low"))
        );
        assert_eq!(row["details"], "/var at 95%");
        let b = run(json!({ "summary": "Disk low" })).await.unwrap();
        assert_eq!(b.rows[0]["severity"], "information");
        assert_ne!(row["event_id"], b.rows[0]["event_id"]);
        assert!(uuid::Uuid::parse_str(row["event_id"].as_str().unwrap()).is_ok());
    }

    #[tokio::test]
    async fn bounds_and_choices_are_checked() {
        let err = |v| async move { run(v).await.unwrap_err().to_string() };
        let long = "x".repeat(201);
        assert!(
            err(json!({ "summary": long }))
                .await
                .contains("201 characters long; at most 200")
        );
        let long = "é".repeat(2001);
        assert!(
            err(json!({ "summary": "s", "details": long }))
                .await
                .contains("at most 2000")
        );
        assert!(
            err(json!({ "summary": "s", "severity": "fatal" }))
                .await
                .contains("severity")
        );
        assert!(err(json!({ "summary": "  " })).await.contains("empty"));
        assert!(run(json!({ "summary": "é".repeat(200) })).await.is_ok());
    }
}
