//! `check_schedule`: whether a time (now by default) conforms to a schedule in global settings.

use jiff::Timestamp;
use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};
use scorch_model::schedule::Schedule;

use crate::utilities::settings_error;

const TYPE: &str = "check_schedule";

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: super::CATEGORY,
    summary: "Publishes whether a time (now by default) conforms to a schedule.",
    idempotent: true,
    properties: &["schedule", "at"],
    required: &["schedule"],
    publishes: &["conforms", "schedule", "at"],
};

pub struct CheckSchedule;

#[scorch_activity::async_trait]
impl Activity for CheckSchedule {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let name = props.non_empty("schedule")?;
        let at = match props.opt_str("at")? {
            None => Timestamp::now(),
            Some(text) => text.trim().parse().map_err(|_| {
                ActivityError::invalid(
                    TYPE,
                    "at",
                    format!("'{text}' is not an RFC 3339 time like 2026-01-05T08:00:00Z"),
                )
            })?,
        };
        let definition = ctx
            .settings
            .schedule(&name)
            .await
            .map_err(|e| settings_error(TYPE, "schedule", &name, e))?;
        let schedule = Schedule::from_value(&definition)
            .map_err(|e| ActivityError::Failed(format!("{TYPE}: schedule '{name}': {e}")))?;
        Ok(ActivityOutput::row(row! {
            "conforms" => schedule.conforms(at),
            "schedule" => name,
            "at" => at.to_string(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use scorch_activity::{MemorySettings, json};

    use super::*;
    use crate::utilities::context_with;

    fn context() -> ActivityContext {
        let settings = MemorySettings::default();
        settings.set_schedule(
            "Business Hours",
            json!({"days_of_week": ["mon", "tue", "wed", "thu", "fri"], "hours": ["08:00-18:00"], "timezone": "Europe/Paris"}),
        );
        settings.set_schedule("Broken", json!({"days_of_week": ["funday"]}));
        context_with(TYPE, settings)
    }

    async fn check(properties: Value) -> Result<ActivityOutput, ActivityError> {
        CheckSchedule.run(&context(), properties).await
    }

    #[tokio::test]
    async fn tells_whether_a_time_conforms() {
        // Monday 2026-01-05 09:00 in Paris is 08:00Z; 19:00 Paris is 18:00Z.
        let inside = check(json!({"schedule": "Business Hours", "at": "2026-01-05T08:00:00Z"}))
            .await
            .unwrap();
        assert_eq!(inside.rows[0]["conforms"], true);
        assert_eq!(inside.rows[0]["schedule"], "Business Hours");
        assert_eq!(inside.rows[0]["at"], "2026-01-05T08:00:00Z");
        let outside = check(json!({"schedule": "Business Hours", "at": "2026-01-05T20:00:00+01:00"}))
            .await
            .unwrap();
        assert_eq!(outside.rows[0]["conforms"], false);
        assert_eq!(outside.rows[0]["at"], "2026-01-05T19:00:00Z");
        let now = check(json!({"schedule": "Business Hours"})).await.unwrap();
        assert!(now.rows[0]["conforms"].is_boolean());
    }

    #[tokio::test]
    async fn errors_name_the_schedule_and_the_fault() {
        let unknown = check(json!({"schedule": "Nope"})).await.unwrap_err();
        assert_eq!(unknown.to_string(), "check_schedule: unknown schedule 'Nope'");
        let broken = check(json!({"schedule": "Broken"})).await.unwrap_err();
        assert_eq!(
            broken.to_string(),
            "check_schedule: schedule 'Broken': days_of_week: 'funday' is not a day: expected mon, tue, wed, thu, fri, sat, sun"
        );
        let bad_time = check(json!({"schedule": "Business Hours", "at": "tomorrow"}))
            .await
            .unwrap_err();
        assert!(
            bad_time.to_string().contains("'tomorrow' is not an RFC 3339 time"),
            "{bad_time}"
        );
        assert!(check(json!({})).await.is_err());
    }
}
