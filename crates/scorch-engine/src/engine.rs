//! The entry point: an [`Engine`] runs (or resumes) instances of compiled runbooks.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;
use scorch_activity::{GlobalSettings, OutputSink, Registry, Row, RunbookInvoker, SecretRegistry, SettingsError};
use scorch_model::Plan;
use serde_json::Value;
use thiserror::Error;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::data::InstanceFacts;
use crate::instance::{self, Outcome};
use crate::shared::{Shared, Stop};
use crate::{Event, InstanceEnd, InstanceStart, Journal, JournalError, RunObserver};

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Activity runs of one instance in flight at once; fan-out beyond it waits in a queue.
    pub max_parallel: usize,
    /// Published data recorded per run; past it rows are cut and marked `_truncated`.
    pub published_cap_bytes: usize,
    /// This runbook server's name (`{{ runbook.server }}`, the common `server` field).
    pub server: String,
    /// Where activities resolve relative paths and start processes.
    pub working_dir: PathBuf,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_parallel: 64,
            published_cap_bytes: 256 * 1024,
            server: "local".into(),
            working_dir: std::env::current_dir().unwrap_or_else(|_| std::env::temp_dir()),
        }
    }
}

#[derive(Debug, Error)]
pub enum EngineError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("global settings: {0}")]
    Settings(#[from] SettingsError),
    /// The engine was drained before the instance ended; resume it from the journal.
    #[error("stopped before the instance ended (the engine is draining); it resumes from its journal")]
    Drained,
    /// What was asked cannot run as it is (a monitor's property that does not render).
    #[error("{0}")]
    Invalid(String),
}

impl From<Stop> for EngineError {
    fn from(stop: Stop) -> Self {
        match stop {
            Stop::Journal(e) => EngineError::Journal(e),
            Stop::Drained => EngineError::Drained,
        }
    }
}

/// One instance to run.
pub struct InstanceRequest {
    pub plan: Arc<Plan>,
    pub runbook_id: Uuid,
    pub job_id: Uuid,
    pub instance_id: Uuid,
    /// The job's parameters, already bound (`scorch_model::params::bind_parameters`).
    pub parameters: Row,
    pub cancel: CancellationToken,
    /// Live progress, if someone listens.
    pub events: Option<UnboundedSender<Event>>,
    /// Continue an instance the journal already holds instead of starting it.
    pub resume: bool,
}

impl InstanceRequest {
    /// A new instance of `plan` outside any job (benchmarks and tests): nil runbook and job ids,
    /// no parameters, no listener.
    pub fn standalone(plan: Arc<Plan>) -> Self {
        InstanceRequest {
            plan,
            runbook_id: Uuid::nil(),
            job_id: Uuid::nil(),
            instance_id: Uuid::now_v7(),
            parameters: Row::new(),
            cancel: CancellationToken::new(),
            events: None,
            resume: false,
        }
    }
}

/// An instance that has run to its end, the end not yet journaled ([`Engine::run_to_end`]).
#[derive(Debug)]
pub struct Ended {
    pub outcome: Outcome,
    /// What to hand to [`Journal::instance_finished`] (or a store's equivalent).
    pub end: InstanceEnd,
}

pub struct Engine {
    registry: Arc<Registry>,
    journal: Arc<dyn Journal>,
    settings: Arc<dyn GlobalSettings>,
    config: EngineConfig,
    drain: CancellationToken,
    invoker: Option<Arc<dyn RunbookInvoker>>,
    output: Option<Arc<dyn OutputSink>>,
    observer: Option<Arc<dyn RunObserver>>,
}

impl Engine {
    pub fn new(
        registry: Arc<Registry>,
        journal: Arc<dyn Journal>,
        settings: Arc<dyn GlobalSettings>,
        config: EngineConfig,
    ) -> Self {
        Self {
            registry,
            journal,
            settings,
            config,
            drain: CancellationToken::new(),
            invoker: None,
            output: None,
            observer: None,
        }
    }

    /// Tells `observer` of every activity run's end.
    pub fn with_observer(mut self, observer: Arc<dyn RunObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Lets `invoke_runbook` start runbooks through `invoker`.
    pub fn with_invoker(mut self, invoker: Arc<dyn RunbookInvoker>) -> Self {
        self.invoker = Some(invoker);
        self
    }

    /// Sends what activities print while they run (their live output) to `sink`, for runbooks
    /// that keep published data.
    pub fn with_output(mut self, sink: Arc<dyn OutputSink>) -> Self {
        self.output = Some(sink);
        self
    }

    /// A graceful stop: every instance finishes the runs in flight, starts nothing more and
    /// returns [`EngineError::Drained`], to be resumed from its journal (here or elsewhere).
    pub fn drain(&self) {
        self.drain.cancel();
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Runs the instance to its end and records the outcome.
    pub async fn run(&self, req: InstanceRequest) -> Result<Outcome, EngineError> {
        let Ended { outcome, end } = self.run_to_end(req).await?;
        self.journal.instance_finished(&end).await?;
        Ok(outcome)
    }

    /// Runs the instance like [`Engine::run`] but leaves its end for the caller to journal, with
    /// writes of its own in the same commit where its store can (a runbook server ends the job
    /// with it). Until the end is journaled, the instance is running: a resume continues it.
    #[tracing::instrument(name = "instance", skip_all, fields(
        job_id = %req.job_id,
        instance_id = %req.instance_id,
        runbook = %req.plan.runbook.name,
        resume = req.resume,
    ))]
    pub async fn run_to_end(&self, req: InstanceRequest) -> Result<Ended, EngineError> {
        let started_at = Timestamp::now();
        // A resumed instance is recorded as started again (by this server), keeping its first
        // start time; one taken over before its start was journaled simply starts.
        let replay = match req.resume {
            true => match self.journal.runs(req.instance_id).await {
                Ok(runs) => runs,
                Err(JournalError::NotFound(_)) => Vec::new(),
                Err(e) => return Err(e.into()),
            },
            false => Vec::new(),
        };
        let start = InstanceStart {
            instance_id: req.instance_id,
            job_id: req.job_id,
            runbook_id: req.runbook_id,
            runbook_name: req.plan.runbook.name.clone(),
            server: self.config.server.clone(),
            parameters: req.parameters.clone(),
            started_at,
        };
        self.journal.instance_started(&start).await?;
        let (settings, secrets) = self.prefetch(&req.plan).await?;
        let facts = facts(
            &req.plan,
            (req.job_id, req.instance_id),
            &self.config.server,
            started_at,
            settings,
        );
        let shared = Shared::new(
            req.plan.clone(),
            self.registry.clone(),
            self.journal.clone(),
            self.settings.clone(),
            secrets,
            facts,
            (req.job_id, req.instance_id),
            Arc::new(req.parameters),
            (req.cancel, self.drain.clone()),
            (
                self.config.working_dir.clone(),
                self.invoker.clone(),
                self.output.clone(),
                self.observer.clone(),
            ),
            self.config.published_cap_bytes,
            replay,
            req.events,
        );
        let outcome = instance::run(Arc::new(shared), self.config.max_parallel).await?;
        tracing::debug!(status = outcome.status.as_str(), "instance ended");
        let end = InstanceEnd {
            instance_id: req.instance_id,
            status: outcome.status,
            returns: outcome.returns.clone(),
            ended_at: Timestamp::now(),
            problems: outcome.problems.clone(),
        };
        Ok(Ended { outcome, end })
    }
}

/// The variables and computer groups a plan references, and the secrets among them.
type Prefetched = (HashMap<String, scorch_activity::Variable>, HashMap<String, Vec<String>>);

impl Engine {
    /// What `plan` references of the global settings, read once for an instance (or a watcher),
    /// with its encrypted variables' values remembered as secrets.
    pub(crate) async fn prefetch(&self, plan: &Plan) -> Result<(Prefetched, Arc<SecretRegistry>), SettingsError> {
        let settings = &self.settings;
        let variables = prefetch(&plan.variables, |name| async move { settings.variable(&name).await }).await?;
        let groups = prefetch(&plan.groups, |name| async move { settings.group(&name).await }).await?;
        let secrets = Arc::new(SecretRegistry::default());
        for var in variables.values().filter(|v| v.encrypted) {
            secrets.remember(&var.value);
        }
        Ok(((variables, groups), secrets))
    }

    pub(crate) fn settings(&self) -> &Arc<dyn GlobalSettings> {
        &self.settings
    }

    pub(crate) fn invoker(&self) -> Option<Arc<dyn RunbookInvoker>> {
        self.invoker.clone()
    }
}

/// The global settings `names` name, by name. One that does not exist is left out: it is
/// reported where a reference to it is rendered, naming the activity.
async fn prefetch<T, Fut>(names: &[String], get: impl Fn(String) -> Fut) -> Result<HashMap<String, T>, SettingsError>
where
    Fut: std::future::Future<Output = Result<T, SettingsError>>,
{
    let mut found = HashMap::new();
    for name in names {
        match get(name.clone()).await {
            Ok(value) => {
                found.insert(name.clone(), value);
            }
            Err(SettingsError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(found)
}

pub(crate) fn facts(
    plan: &Plan,
    (job_id, instance_id): (Uuid, Uuid),
    server: &str,
    started_at: Timestamp,
    (variables, groups): Prefetched,
) -> InstanceFacts {
    let rb = &plan.runbook;
    let runbook = HashMap::from([
        ("name", Value::from(rb.name.as_str())),
        ("folder", Value::from(rb.folder.clone().unwrap_or_default())),
        ("job_id", Value::from(job_id.to_string())),
        ("instance_id", Value::from(instance_id.to_string())),
        ("server", Value::from(server)),
        ("started_at", Value::from(started_at.to_string())),
    ]);
    InstanceFacts {
        step_index: plan.steps.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect(),
        step_names: plan.steps.iter().map(|s| s.name.clone()).collect(),
        variables,
        groups,
        runbook,
        server: server.to_string(),
    }
}
