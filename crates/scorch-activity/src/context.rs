use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{GlobalSettings, LiveOutput, Row, RunbookInvoker};

/// Who is running: the identities an activity may publish or log.
#[derive(Debug, Clone, Default)]
pub struct RunIds {
    pub job_id: Uuid,
    pub instance_id: Uuid,
    pub runbook: String,
    pub activity_id: String,
    pub activity_name: String,
    pub server: String,
    /// The run's attempt, from 1: every loop attempt and every retry counts.
    pub attempt: u32,
}

/// Secret values seen during an instance (encrypted variables). Records (journal, API, tester
/// output) replace them with `******`; the data bus keeps the real value for later activities.
#[derive(Debug, Default)]
pub struct SecretRegistry(Mutex<Vec<String>>);

impl SecretRegistry {
    pub fn remember(&self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !all.iter().any(|s| s == secret) {
            all.push(secret.to_string());
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
    }

    /// `text` with every known secret replaced by `******`.
    pub fn mask(&self, text: &str) -> String {
        let all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        all.iter()
            .fold(text.to_string(), |t, s| t.replace(s.as_str(), "******"))
    }

    /// `text` masked as [`mask`](Self::mask) does, and also each line (of 4 characters or more) of
    /// a secret that spans lines: live output is sent line by line, where a multi-line secret (a
    /// key file) never stands whole.
    pub fn mask_by_line(&self, text: &str) -> String {
        let masked = self.mask(text);
        let all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let lines = all
            .iter()
            .filter(|s| s.contains('\n'))
            .flat_map(|s| s.split('\n'))
            .map(|line| line.trim_end_matches('\r'))
            .filter(|line| line.trim().chars().count() >= 4);
        lines.fold(masked, |t, line| t.replace(line, "******"))
    }
}

/// Everything an activity run may use. Built by the engine for each run (attempt).
#[derive(Clone)]
pub struct ActivityContext {
    pub ids: RunIds,
    /// Canceled when the job is canceled or the server shuts down: stop promptly.
    pub cancel: CancellationToken,
    /// When the activity's `timeout` ends it, if it has one. The engine also drops the run's
    /// future then; [`crate::process`] kills process trees on drop.
    pub deadline: Option<Instant>,
    /// The job's parameters, typed and validated (read by `initialize_data`).
    pub parameters: Arc<Row>,
    /// Global variables and counters.
    pub settings: Arc<dyn GlobalSettings>,
    pub secrets: Arc<SecretRegistry>,
    /// Where relative paths resolve and processes start.
    pub working_dir: PathBuf,
    /// Starts other runbooks (`invoke_runbook`), where the host can.
    pub runbooks: Option<Arc<dyn RunbookInvoker>>,
    /// What the activity prints while it runs (a program's stdout and stderr), streamed to
    /// whoever watches the instance: see [`crate::live`].
    pub output: LiveOutput,
}

impl ActivityContext {
    /// A context for running one activity outside any engine: tests and tools.
    pub fn standalone(activity_type: &str, working_dir: PathBuf) -> Self {
        Self {
            ids: RunIds {
                activity_id: activity_type.to_string(),
                activity_name: activity_type.to_string(),
                attempt: 1,
                ..RunIds::default()
            },
            cancel: CancellationToken::new(),
            deadline: None,
            parameters: Arc::new(Row::new()),
            settings: Arc::new(crate::MemorySettings::default()),
            secrets: Arc::new(SecretRegistry::default()),
            working_dir,
            runbooks: None,
            output: LiveOutput::default(),
        }
    }

    /// `path` resolved against the working directory.
    pub fn resolve_path(&self, path: &str) -> PathBuf {
        self.working_dir.join(path)
    }
}
