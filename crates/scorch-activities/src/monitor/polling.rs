//! The one polling loop of the polling monitors (`monitor_counter`, `monitor_service`, ...): every
//! `interval` a [`Probe`] observes whether something is up (a service running, a condition true)
//! and the monitor fires when that becomes what its `when` asks for.
//!
//! The checkpoint is `{"up": bool, "seq": n}`: the last state observed (saved when it changes,
//! so a restart does not fire for a state already reported) and the number of triggers fired,
//! whose next value is the next trigger's key; two servers resuming the same checkpoint thus
//! give the same event the same key. A monitor started without a checkpoint fires at its first
//! poll when the state already is the one `when` waits for (`changes` waits for a change).

use std::sync::Arc;
use std::time::Duration;

use scorch_activity::props::Props;
use scorch_activity::{
    Activity, ActivityContext, ActivityError, Row, Status, Trigger, TriggerSink, Value, Watch, WatchContext, json,
};
use scorch_model::compare::{CompareOptions, Kind, Op, compare};

use crate::remote::duration_prop;

/// What one poll saw.
pub struct Observation {
    /// The state `when` is about: running, reachable, the condition true.
    pub up: bool,
    /// The row published if this poll fires.
    pub row: Row,
}

/// What a polling monitor looks at.
#[scorch_activity::async_trait]
pub trait Probe: Send + Sync {
    /// Looks once. `InvalidInput` stops the monitor; other errors are noted on the job and
    /// the next poll tries again.
    async fn observe(&self, ctx: &ActivityContext) -> Result<Observation, ActivityError>;

    /// Runs after a trigger was recorded (`monitor_service`'s `restart`); an error is noted.
    async fn after_fire(&self, _ctx: &ActivityContext) -> Result<(), ActivityError> {
        Ok(())
    }
}

/// Which observations fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// The state becomes this (it was the other, or unknown).
    Becomes(bool),
    /// The state differs from the last one observed.
    Changes,
}

impl When {
    /// `when`, one of `choices` (the first is the default).
    pub fn from_props(props: &Props, choices: &[(&'static str, When)]) -> Result<Self, ActivityError> {
        let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
        let chosen = props.choice("when", &names, names[0])?;
        Ok(choices
            .iter()
            .find(|(name, _)| *name == chosen)
            .map_or(When::Changes, |(_, when)| *when))
    }

    fn fires(self, before: Option<bool>, now: bool) -> bool {
        match self {
            When::Becomes(target) => now == target && before != Some(target),
            When::Changes => before.is_some_and(|before| before != now),
        }
    }
}

/// A numeric condition: `{op, value}` (lt, le, gt, ge, equals, not_equals).
#[derive(Debug, Clone)]
pub struct Condition {
    op: Op,
    value: String,
}

impl Condition {
    const OPS: [Op; 6] = [Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::Equals, Op::NotEquals];

    /// The condition `property` holds (a mapping `{op, value}`), if set.
    pub fn from_mapping(props: &Props, property: &str) -> Result<Option<Self>, ActivityError> {
        let Some(mapping) = props.get(property) else {
            return Ok(None);
        };
        let inner = Props::new(props.type_name(), mapping.clone())
            .map_err(|_| ActivityError::invalid(props.type_name(), property, "must be a mapping {op, value}"))?;
        Self::parse(
            props.type_name(),
            [property; 2],
            inner.opt_str("op")?,
            inner.opt_str("value")?,
        )
        .map(Some)
    }

    /// The condition of the `op` and `value` properties themselves.
    pub fn from_props(props: &Props) -> Result<Self, ActivityError> {
        Self::parse(
            props.type_name(),
            ["op", "value"],
            Some(props.str("op")?),
            Some(props.str("value")?),
        )
    }

    fn parse(
        type_name: &str,
        [op_property, value_property]: [&str; 2],
        op: Option<String>,
        value: Option<String>,
    ) -> Result<Self, ActivityError> {
        let op_text = op.ok_or_else(|| ActivityError::invalid(type_name, op_property, "needs an op"))?;
        let op = Op::parse(op_text.trim())
            .filter(|op| Self::OPS.contains(op))
            .ok_or_else(|| {
                let why = format!("'{op_text}' is not one of lt, le, gt, ge, equals, not_equals");
                ActivityError::invalid(type_name, op_property, why)
            })?;
        let value = value.ok_or_else(|| ActivityError::invalid(type_name, value_property, "needs a value"))?;
        if value.trim().parse::<f64>().is_err() {
            return Err(ActivityError::invalid(
                type_name,
                value_property,
                format!("'{value}' is not a number"),
            ));
        }
        Ok(Self { op, value })
    }

    /// Whether `observed OP value`.
    pub fn holds(&self, observed: &Value) -> bool {
        let observed = scorch_activity::props::scalar_text(observed).unwrap_or_default();
        let options = CompareOptions {
            kind: Kind::Number,
            ..CompareOptions::default()
        };
        compare(self.op, &observed, &self.value, &options).unwrap_or(false)
    }
}

/// A probe that runs a `get_*` activity and judges its row.
pub struct ActivityProbe {
    pub activity: &'static dyn Activity,
    pub properties: Value,
    /// Whether the row says up.
    pub up: Box<dyn Fn(&Row) -> bool + Send + Sync>,
    /// Set when a failed run means down (a computer that does not answer), not a failed poll:
    /// the row published then (the failed run's own row, when it has one), with `error`.
    pub down_row: Option<Row>,
    /// An activity run after each trigger, with its properties (`monitor_service`'s restart).
    pub then: Option<(&'static dyn Activity, Value)>,
}

impl ActivityProbe {
    pub fn new(
        activity: &'static dyn Activity,
        properties: Value,
        up: impl Fn(&Row) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self {
            activity,
            properties,
            up: Box::new(up),
            down_row: None,
            then: None,
        }
    }
}

#[scorch_activity::async_trait]
impl Probe for ActivityProbe {
    async fn observe(&self, ctx: &ActivityContext) -> Result<Observation, ActivityError> {
        let (row, error) = match self.activity.run(ctx, self.properties.clone()).await {
            Ok(output) => {
                let failed = (output.status == Status::Failed).then_some(output.error);
                (output.rows.into_iter().next(), failed)
            }
            Err(e @ (ActivityError::Failed(_) | ActivityError::Transient(_))) => (None, Some(e.to_string())),
            Err(e) => return Err(e),
        };
        match (error, &self.down_row) {
            (None, _) => {
                let row = row.unwrap_or_default();
                Ok(Observation {
                    up: (self.up)(&row),
                    row,
                })
            }
            (Some(error), Some(down_row)) => {
                let mut row = row.unwrap_or_else(|| down_row.clone());
                row.insert("error".into(), error.into());
                Ok(Observation { up: false, row })
            }
            (Some(error), None) => Err(ActivityError::Failed(error)),
        }
    }

    async fn after_fire(&self, ctx: &ActivityContext) -> Result<(), ActivityError> {
        match &self.then {
            Some((activity, properties)) => activity.run(ctx, properties.clone()).await.map(|_| ()),
            None => Ok(()),
        }
    }
}

/// A row's field, null when absent.
pub fn field<'r>(row: &'r Row, name: &str) -> &'r Value {
    row.get(name).unwrap_or(&Value::Null)
}

/// A polling monitor's probe and when it fires.
pub type Setup = (Box<dyn Probe>, When);

/// A polling monitor: its type, default interval and how it reads its properties.
#[derive(Clone, Copy)]
pub struct Polling {
    pub type_name: &'static str,
    pub default_interval: Duration,
    /// The probe and its `when`, from the monitor's properties (errors are fatal).
    pub setup: fn(&Props, &WatchContext) -> Result<Setup, ActivityError>,
}

#[scorch_activity::async_trait]
impl Watch for Polling {
    fn type_name(&self) -> &'static str {
        self.type_name
    }

    async fn watch(&self, ctx: WatchContext, sink: Arc<dyn TriggerSink>) -> Result<(), ActivityError> {
        let props = Props::new(self.type_name, ctx.properties.clone())?;
        let interval = duration_prop(&props, "interval")?.unwrap_or(self.default_interval);
        let (probe, when) = (self.setup)(&props, &ctx)?;
        let checkpoint = ctx.checkpoint.clone().unwrap_or(Value::Null);
        let mut up = checkpoint["up"].as_bool();
        let mut seq = checkpoint["seq"].as_u64().unwrap_or(0);
        loop {
            let observed = tokio::select! {
                _ = ctx.cancel.cancelled() => return Ok(()),
                observed = probe.observe(&ctx.probe) => observed,
            };
            match observed {
                Ok(observation) => {
                    let before = up.replace(observation.up);
                    if when.fires(before, observation.up) {
                        seq += 1;
                        let trigger = Trigger {
                            key: seq.to_string(),
                            row: observation.row,
                        };
                        sink.fire(trigger, json!({"up": up, "seq": seq})).await?;
                        if let Err(e) = probe.after_fire(&ctx.probe).await {
                            sink.note(&format!("{seq}:{e}"), &e.to_string()).await?;
                        }
                    } else if before != up {
                        sink.save(json!({"up": up, "seq": seq})).await?;
                    }
                }
                Err(ActivityError::Canceled) => return Ok(()),
                Err(e @ ActivityError::InvalidInput(_)) => return Err(e),
                // Noted once per trigger sequence: a probe failing every poll is one note.
                Err(e) => sink.note(&format!("{seq}:{e}"), &e.to_string()).await?,
            }
            tokio::select! {
                _ = ctx.cancel.cancelled() => return Ok(()),
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }
}

#[cfg(test)]
pub mod test_support {
    use std::time::Duration;

    use scorch_activity::{ActivityContext, Trigger, Value, Watch, WatchContext};
    use tokio::task::JoinHandle;
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::monitor::test_sink::MemorySink;

    pub const WITHIN: Duration = Duration::from_secs(15);

    /// A polling monitor running in the background on a [`MemorySink`].
    pub struct Running {
        pub sink: Arc<MemorySink>,
        cancel: CancellationToken,
        task: JoinHandle<Result<(), ActivityError>>,
    }

    impl Running {
        pub fn start(polling: Polling, properties: Value, probe: ActivityContext) -> Self {
            let cancel = CancellationToken::new();
            let ctx = WatchContext {
                properties,
                checkpoint: None,
                cancel: cancel.clone(),
                probe,
            };
            let sink = Arc::new(MemorySink::default());
            let task = tokio::spawn({
                let sink = sink.clone();
                async move { polling.watch(ctx, sink).await }
            });
            Self { sink, cancel, task }
        }

        /// Waits until the monitor has observed the state `up` (and saved or fired it).
        pub async fn wait_for_state(&self, up: bool) {
            let deadline = tokio::time::Instant::now() + WITHIN;
            while self.sink.checkpoint.lock().unwrap().as_ref().map(|c| c["up"].clone()) != Some(up.into()) {
                assert!(tokio::time::Instant::now() < deadline, "state {up} never observed");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }

        /// Stops it and returns what it fired.
        pub async fn stop(self) -> Vec<Trigger> {
            self.cancel.cancel();
            self.task.await.unwrap().unwrap();
            self.sink.triggers()
        }
    }

    /// What a monitor started with `properties` fails with.
    pub async fn setup_error(polling: Polling, properties: Value) -> String {
        let running = Running::start(
            polling,
            properties,
            ActivityContext::standalone(polling.type_name, std::env::temp_dir()),
        );
        running.task.await.unwrap().unwrap_err().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_fires_on_the_edge_it_names() {
        let stops = When::Becomes(false);
        assert!(stops.fires(None, false) && stops.fires(Some(true), false));
        assert!(!stops.fires(Some(false), false) && !stops.fires(Some(false), true));
        assert!(!When::Changes.fires(None, true));
        assert!(When::Changes.fires(Some(false), true) && When::Changes.fires(Some(true), false));
    }

    #[test]
    fn conditions_compare_numbers() {
        let props = Props::new(
            "t",
            json!({"used_percent": {"op": "ge", "value": "90"}, "bad": {"op": "contains", "value": 1}}),
        )
        .unwrap();
        let condition = Condition::from_mapping(&props, "used_percent").unwrap().unwrap();
        assert!(condition.holds(&json!(90.0)) && condition.holds(&json!("95")) && !condition.holds(&json!(89.9)));
        assert!(Condition::from_mapping(&props, "missing").unwrap().is_none());
        let err = Condition::from_mapping(&props, "bad").unwrap_err().to_string();
        assert_eq!(
            err,
            "t: property 'bad': 'contains' is not one of lt, le, gt, ge, equals, not_equals"
        );
    }
}
