//! `monitor_date_time`: an instance at each scheduled time (`every`, `cron` or `at`), keyed by
//! that time, so a time fires once whichever server holds the monitor. The checkpoint is the
//! last scheduled time fired or passed; times that passed while no server held the monitor
//! follow `missed` (`scorch_model::timing::plan`).

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use scorch_activity::props::Props;
use scorch_activity::{ActivityError, Descriptor, Trigger, TriggerSink, Value, Watch, WatchContext, json, row};
use scorch_model::timing::{self, Missed, Plan, Timing};
use tokio_util::sync::CancellationToken;

pub const TYPE: &str = "monitor_date_time";

pub static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: super::CATEGORY,
    summary: "Starts an instance at scheduled times: every interval, on a cron expression or daily at a time.",
    idempotent: true,
    properties: &[
        "every",
        "cron",
        "at",
        "timezone",
        "trigger_immediately",
        "missed",
        "overlap",
    ],
    required: &[],
    publishes: &["scheduled_for", super::TRIGGERED_AT],
};

/// The longest sleep before the wall clock is read again (it may have been set).
const MAX_NAP: Duration = Duration::from_secs(30);
/// The pause before retrying a trigger or a note the database did not take.
const RETRY_PAUSE: Duration = Duration::from_secs(2);

pub struct MonitorDateTime;

struct Settings {
    timing: Timing,
    missed: Missed,
    trigger_immediately: bool,
    /// `overlap: skip`: fire nothing while an instance of this job still runs.
    skip_overlap: bool,
}

impl Settings {
    fn read(properties: Value) -> Result<Settings, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let invalid = |e: String| ActivityError::InvalidInput(format!("{TYPE}: {e}"));
        let timing = Timing::parse(
            props.opt_str("every")?.as_deref(),
            props.opt_str("cron")?.as_deref(),
            props.opt_str("at")?.as_deref(),
            props.opt_str("timezone")?.as_deref(),
        )
        .map_err(invalid)?;
        let skip_overlap = match props.str_or("overlap", "allow")?.as_str() {
            "allow" => false,
            "skip" => true,
            other => return Err(invalid(format!("overlap: '{other}' must be allow or skip"))),
        };
        Ok(Settings {
            timing,
            missed: props.str_or("missed", "once")?.parse().map_err(invalid)?,
            trigger_immediately: props.bool_or("trigger_immediately", false)?,
            skip_overlap,
        })
    }
}

fn read_checkpoint(checkpoint: Option<&Value>) -> Result<Option<Timestamp>, ActivityError> {
    let Some(checkpoint) = checkpoint else {
        return Ok(None);
    };
    checkpoint["last"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .map(Some)
        .ok_or_else(|| ActivityError::Failed(format!("{TYPE}: the checkpoint {checkpoint} has no RFC 3339 'last'")))
}

fn checkpoint(last: Timestamp) -> Value {
    json!({ "last": last.to_string() })
}

#[scorch_activity::async_trait]
impl Watch for MonitorDateTime {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    async fn watch(&self, ctx: WatchContext, sink: Arc<dyn TriggerSink>) -> Result<(), ActivityError> {
        let settings = Settings::read(ctx.properties)?;
        let mut last = read_checkpoint(ctx.checkpoint.as_ref())?;
        loop {
            let plan = timing::plan(
                &settings.timing,
                last,
                Timestamp::now(),
                settings.missed,
                settings.trigger_immediately,
            );
            if !carry_out(&settings, &plan, &*sink, &ctx.cancel).await {
                return Ok(());
            }
            last = Some(plan.last);
            let Some(next) = settings.timing.next_after(plan.last) else {
                // A calendar whose last date has passed: nothing more to fire.
                ctx.cancel.cancelled().await;
                return Ok(());
            };
            if !sleep_until(next, &ctx.cancel).await {
                return Ok(());
            }
        }
    }
}

/// Records the plan's missed times, fires its times and saves its checkpoint; `false` when
/// canceled first.
async fn carry_out(settings: &Settings, plan: &Plan, sink: &dyn TriggerSink, cancel: &CancellationToken) -> bool {
    for t in &plan.missed {
        let (key, text) = (format!("missed {t}"), format!("missed {t}: policy {}", settings.missed));
        if persist(cancel, || sink.note(&key, &text)).await.is_none() {
            return false;
        }
    }
    if plan.more_missed {
        let oldest = plan.missed.first().or(plan.fire.first()).unwrap_or(&plan.last);
        let (key, text) = (
            format!("missed before {oldest}"),
            format!(
                "more times missed before {oldest}, not listed: at most {} are",
                timing::MAX_CATCH_UP
            ),
        );
        if persist(cancel, || sink.note(&key, &text)).await.is_none() {
            return false;
        }
    }
    let mut saved = None;
    for &t in &plan.fire {
        if settings.skip_overlap && sink.busy() {
            let (key, text) = (
                format!("skipped {t}"),
                format!("skipped {t}: previous instance still running"),
            );
            if persist(cancel, || sink.note(&key, &text)).await.is_none() {
                return false;
            }
            continue;
        }
        let trigger = || Trigger {
            key: t.to_string(),
            row: row! { "scheduled_for" => t.to_string() },
        };
        match persist(cancel, || sink.fire(trigger(), checkpoint(t))).await {
            None => return false,
            Some(recorded) => saved = recorded.then_some(t),
        }
    }
    if saved != Some(plan.last) {
        return persist(cancel, || sink.save(checkpoint(plan.last))).await.is_some();
    }
    true
}

/// Runs `op` until the database takes it (each is keyed or idempotent, so a retry never
/// doubles); `None` when canceled first.
async fn persist<T, F, Fut>(cancel: &CancellationToken, mut op: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ActivityError>>,
{
    loop {
        if let Ok(done) = op().await {
            return Some(done);
        }
        tokio::select! {
            _ = cancel.cancelled() => return None,
            _ = tokio::time::sleep(RETRY_PAUSE) => {}
        }
    }
}

/// Sleeps until the wall clock reaches `t`, reading it again at least every [`MAX_NAP`];
/// `false` when canceled first.
async fn sleep_until(t: Timestamp, cancel: &CancellationToken) -> bool {
    loop {
        let left = t.duration_since(Timestamp::now());
        let Ok(left) = Duration::try_from(left) else {
            return true;
        };
        if left.is_zero() {
            return true;
        }
        tokio::select! {
            _ = cancel.cancelled() => return false,
            _ = tokio::time::sleep(left.min(MAX_NAP)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use jiff::SignedDuration;
    use scorch_activity::ActivityContext;
    use tokio::task::JoinHandle;

    use super::*;
    use crate::monitor::test_sink::MemorySink;

    const PATIENCE: Duration = Duration::from_secs(10);

    fn start(
        properties: Value,
        checkpoint: Option<Value>,
        sink: Arc<dyn TriggerSink>,
    ) -> (CancellationToken, JoinHandle<Result<(), ActivityError>>) {
        let cancel = CancellationToken::new();
        let ctx = WatchContext {
            properties,
            checkpoint,
            cancel: cancel.clone(),
            probe: ActivityContext::standalone(TYPE, std::env::temp_dir()),
        };
        (
            cancel.clone(),
            tokio::spawn(async move { MonitorDateTime.watch(ctx, sink).await }),
        )
    }

    async fn stop(cancel: CancellationToken, watching: JoinHandle<Result<(), ActivityError>>) {
        cancel.cancel();
        tokio::time::timeout(PATIENCE, watching)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }

    /// The checkpoint's `last` once it is `expected` (or panics after [`PATIENCE`]).
    async fn wait_for_checkpoint(sink: &MemorySink, expected: Timestamp) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let last = sink.checkpoint.lock().unwrap().clone();
            if read_checkpoint(last.as_ref()).unwrap() == Some(expected) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "checkpoint {last:?}, expected {expected}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn keys(sink: &MemorySink) -> Vec<String> {
        sink.triggers().into_iter().map(|t| t.key).collect()
    }

    fn notes(sink: &MemorySink) -> Vec<String> {
        sink.notes
            .lock()
            .unwrap()
            .iter()
            .map(|(_, text)| text.clone())
            .collect()
    }

    #[tokio::test]
    async fn every_second_fires_on_the_wall_clock() {
        let sink = Arc::new(MemorySink::default());
        let (cancel, watching) = start(json!({"every": "1s"}), None, sink.clone());
        let fired = sink.wait_for(2, PATIENCE).await;
        stop(cancel, watching).await;
        let times: Vec<Timestamp> = fired.iter().map(|t| t.key.parse().unwrap()).collect();
        assert_eq!(times[1].duration_since(times[0]), SignedDuration::from_secs(1));
        assert_eq!(fired[0].row, row! { "scheduled_for" => fired[0].key.clone() });
        let last = read_checkpoint(sink.checkpoint.lock().unwrap().as_ref())
            .unwrap()
            .unwrap();
        assert!(times.contains(&last), "{last}");
    }

    /// A checkpoint three and a half hours back on an hourly timing: three times passed, the
    /// latest half an hour ago.
    async fn after_downtime(missed: &str) -> (Arc<MemorySink>, [String; 3]) {
        let now = Timestamp::from_second(Timestamp::now().as_second()).unwrap();
        let last = now - SignedDuration::from_mins(210);
        let passed = [1, 2, 3].map(|h| (last + SignedDuration::from_hours(h)).to_string());
        let sink = Arc::new(MemorySink::default());
        let properties = json!({"every": "1h", "missed": missed});
        let (cancel, watching) = start(properties, Some(checkpoint(last)), sink.clone());
        wait_for_checkpoint(&sink, passed[2].parse().unwrap()).await;
        stop(cancel, watching).await;
        (sink, passed)
    }

    #[tokio::test]
    async fn missed_skip_notes_every_missed_time() {
        let (sink, passed) = after_downtime("skip").await;
        assert!(keys(&sink).is_empty());
        assert_eq!(notes(&sink), passed.map(|t| format!("missed {t}: policy skip")));
    }

    #[tokio::test]
    async fn missed_once_fires_the_latest() {
        let (sink, passed) = after_downtime("once").await;
        assert_eq!(keys(&sink), [passed[2].clone()]);
        assert_eq!(
            notes(&sink),
            passed[..2]
                .iter()
                .map(|t| format!("missed {t}: policy once"))
                .collect::<Vec<_>>()
        );
    }

    #[tokio::test]
    async fn missed_all_fires_each() {
        let (sink, passed) = after_downtime("all").await;
        assert_eq!(keys(&sink), passed);
        assert!(notes(&sink).is_empty());
    }

    #[tokio::test]
    async fn trigger_immediately_fires_at_the_first_start_only() {
        let sink = Arc::new(MemorySink::default());
        let (cancel, watching) = start(json!({"every": "1h", "trigger_immediately": true}), None, sink.clone());
        let first = sink.wait_for(1, PATIENCE).await;
        stop(cancel, watching).await;
        // Held again with that checkpoint: nothing is due.
        let again = Arc::new(MemorySink::default());
        let saved = sink.checkpoint.lock().unwrap().clone();
        let (cancel, watching) = start(
            json!({"every": "1h", "trigger_immediately": true}),
            saved,
            again.clone(),
        );
        wait_for_checkpoint(&again, first[0].key.parse().unwrap()).await;
        stop(cancel, watching).await;
        assert!(again.triggers().is_empty());
    }

    #[tokio::test]
    async fn overlap_skip_notes_and_moves_on_while_busy() {
        let sink = Arc::new(MemorySink::default());
        sink.busy.store(true, Ordering::SeqCst);
        let properties = json!({"every": "1s", "overlap": "skip", "trigger_immediately": "yes"});
        let (cancel, watching) = start(properties, None, sink.clone());
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while notes(&sink).len() < 2 {
            assert!(tokio::time::Instant::now() < deadline, "{:?}", notes(&sink));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        sink.busy.store(false, Ordering::SeqCst);
        sink.wait_for(1, PATIENCE).await;
        stop(cancel, watching).await;
        let skipped = sink.notes.lock().unwrap().clone();
        assert!(
            skipped
                .iter()
                .all(|(_, text)| text.ends_with(": previous instance still running"))
        );
        let skipped_at: Vec<Timestamp> = skipped
            .iter()
            .map(|(key, _)| key.strip_prefix("skipped ").unwrap().parse().unwrap())
            .collect();
        let first_fired: Timestamp = keys(&sink)[0].parse().unwrap();
        assert!(
            skipped_at.iter().all(|t| *t < first_fired),
            "{skipped:?} then {first_fired}"
        );
    }

    /// Fails its first `fire`, as a database that is briefly down.
    #[derive(Default)]
    struct FlakySink {
        inner: MemorySink,
        failed: AtomicBool,
    }

    #[scorch_activity::async_trait]
    impl TriggerSink for FlakySink {
        async fn fire(&self, trigger: Trigger, checkpoint: Value) -> Result<bool, ActivityError> {
            if !self.failed.swap(true, Ordering::SeqCst) {
                return Err(ActivityError::Transient("database is down".into()));
            }
            self.inner.fire(trigger, checkpoint).await
        }

        async fn save(&self, checkpoint: Value) -> Result<(), ActivityError> {
            self.inner.save(checkpoint).await
        }

        async fn note(&self, key: &str, text: &str) -> Result<(), ActivityError> {
            self.inner.note(key, text).await
        }

        fn busy(&self) -> bool {
            false
        }
    }

    #[tokio::test]
    async fn a_failed_fire_is_retried_for_the_same_time() {
        let sink = Arc::new(FlakySink::default());
        let (cancel, watching) = start(json!({"every": "1h", "trigger_immediately": true}), None, sink.clone());
        let fired = sink.inner.wait_for(1, PATIENCE).await;
        stop(cancel, watching).await;
        assert!(sink.failed.load(Ordering::SeqCst));
        assert_eq!(fired.len(), 1);
        // The retried time is the first start's, not a later one.
        let at: Timestamp = fired[0].key.parse().unwrap();
        assert!(Timestamp::now().duration_since(at) >= SignedDuration::from_secs(1));
    }

    #[tokio::test]
    async fn bad_properties_stop_the_monitor_with_one_line() {
        let sink = Arc::new(MemorySink::default());
        for (properties, expected) in [
            (json!({}), "monitor_date_time: give exactly one of every, cron or at"),
            (
                json!({"at": "08:00", "missed": "never"}),
                "monitor_date_time: missed: 'never' must be skip, once or all",
            ),
            (
                json!({"every": "1m", "overlap": "queue"}),
                "monitor_date_time: overlap: 'queue' must be allow or skip",
            ),
        ] {
            let (_cancel, watching) = start(properties, None, sink.clone());
            assert_eq!(watching.await.unwrap().unwrap_err().to_string(), expected);
        }
        let (_cancel, watching) = start(json!({"every": "1m"}), Some(json!({"last": "yesterday"})), sink.clone());
        assert!(
            watching
                .await
                .unwrap()
                .unwrap_err()
                .to_string()
                .contains("no RFC 3339 'last'")
        );
    }
}
