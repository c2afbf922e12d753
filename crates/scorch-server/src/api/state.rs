//! What every handler of both HTTP roles can reach.

use std::sync::Arc;

use scorch_store::Store;

use super::attempts::LoginAttempts;
use crate::jobs::JobWaiters;
use crate::metrics::Metrics;
use crate::plans::Plans;
use crate::secrets::SecretBox;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub plans: Arc<Plans>,
    pub waiters: Arc<JobWaiters>,
    /// Seals encrypted variables before they are stored.
    pub secrets: Arc<SecretBox>,
    /// Password sign-in attempts, limited per user and per address (both roles' together).
    pub logins: Arc<LoginAttempts>,
    /// This process's counters (shared with its runbook server, if it runs one); `None` when
    /// metrics are off.
    pub metrics: Option<Arc<Metrics>>,
}

impl AppState {
    /// With a random encryption key; [`AppState::with_secrets`] sets the configured one.
    pub fn new(store: Arc<dyn Store>, plans: Arc<Plans>) -> Self {
        let waiters = JobWaiters::start(store.clone());
        let secrets = Arc::new(SecretBox::from_hex(&SecretBox::generate_key()).expect("a generated key is valid"));
        Self {
            store,
            waiters,
            secrets,
            logins: LoginAttempts::start(),
            metrics: Some(Metrics::new(plans.registry())),
            plans,
        }
    }

    /// Serves `metrics` (the process's, shared with its runbook server), or none.
    pub fn with_metrics(mut self, metrics: Option<Arc<Metrics>>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Uses the deployment's encryption key (the one its runbook servers open values with).
    pub fn with_secrets(mut self, secrets: Arc<SecretBox>) -> Self {
        self.secrets = secrets;
        self
    }
}
