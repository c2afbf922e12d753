//! What the scheduler (`instance`) and the execution of one token (`execute`) share: the
//! instance's state every run reads, the token handed from one to the other, and why an
//! instance stops early. Below both, so neither needs the other's internals.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use scorch_activity::{GlobalSettings, OutputSink, Registry, Row, RunbookInvoker, SecretRegistry};
use scorch_model::Plan;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::data::{InstanceFacts, Path};
use crate::{Event, Journal, JournalError, RunKey, RunObserver, RunRecord};

/// Why an instance stopped before its end.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The journal failed: nothing more may run unrecorded.
    Journal(JournalError),
    /// The engine is draining (a graceful stop): the instance is left to be resumed.
    Drained,
}

impl From<JournalError> for Stop {
    fn from(e: JournalError) -> Self {
        Stop::Journal(e)
    }
}

/// A pending run of one activity, with the path of runs that led to it.
pub(crate) struct Token {
    pub step: usize,
    pub key: RunKey,
    pub path: Path,
    /// The firing link's delay.
    pub delay: Duration,
}

/// What the host lends every run: the working directory, `invoke_runbook`'s way to start
/// runbooks, where live output goes and who hears of each run's end.
pub(crate) type HostParts = (
    PathBuf,
    Option<Arc<dyn RunbookInvoker>>,
    Option<Arc<dyn OutputSink>>,
    Option<Arc<dyn RunObserver>>,
);

/// What every run of the instance shares.
pub(crate) struct Shared {
    pub plan: Arc<Plan>,
    pub registry: Arc<Registry>,
    pub journal: Arc<dyn Journal>,
    pub settings: Arc<dyn GlobalSettings>,
    pub secrets: Arc<SecretRegistry>,
    pub facts: InstanceFacts,
    pub job_id: Uuid,
    pub instance_id: Uuid,
    pub parameters: Arc<Row>,
    pub cancel: CancellationToken,
    /// The engine's drain signal: start nothing more, leave the instance resumable.
    pub drain: CancellationToken,
    pub working_dir: PathBuf,
    pub invoker: Option<Arc<dyn RunbookInvoker>>,
    /// Where activities' live output goes; `None` when nobody takes it or the runbook does not
    /// keep published data.
    pub output: Option<Arc<dyn OutputSink>>,
    pub keep_published: bool,
    pub published_cap: usize,
    /// Recorded attempts by key, when resuming.
    pub replay: HashMap<RunKey, RunRecord>,
    pub events: Option<UnboundedSender<Event>>,
    /// Told of each run's end (metrics); set by the engine after construction.
    pub observer: Option<Arc<dyn RunObserver>>,
    seq: AtomicU64,
}

impl Shared {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        plan: Arc<Plan>,
        registry: Arc<Registry>,
        journal: Arc<dyn Journal>,
        settings: Arc<dyn GlobalSettings>,
        secrets: Arc<SecretRegistry>,
        facts: InstanceFacts,
        ids: (Uuid, Uuid),
        parameters: Arc<Row>,
        cancel: (CancellationToken, CancellationToken),
        (working_dir, invoker, output, observer): HostParts,
        published_cap: usize,
        replay: Vec<RunRecord>,
        events: Option<UnboundedSender<Event>>,
    ) -> Self {
        let next_seq = replay.iter().map(|r| r.seq + 1).max().unwrap_or(0);
        Self {
            keep_published: plan.runbook.logging.published_data,
            output: output.filter(|_| plan.runbook.logging.published_data),
            plan,
            registry,
            journal,
            settings,
            secrets,
            facts,
            job_id: ids.0,
            instance_id: ids.1,
            parameters,
            cancel: cancel.0,
            drain: cancel.1,
            working_dir,
            invoker,
            published_cap,
            replay: replay.into_iter().map(|r| (r.key, r)).collect(),
            events,
            observer,
            seq: AtomicU64::new(next_seq),
        }
    }

    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn emit(&self, event: Event) {
        if let Some(tx) = &self.events {
            // A listener that went away does not stop the instance.
            let _ = tx.send(event);
        }
    }
}
