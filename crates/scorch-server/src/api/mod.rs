//! What the HTTP roles (web service, management server) share: state, the error type with its
//! stable codes, the authenticated caller, a JSON body extractor with clear errors, the limits
//! on request heads, and the limits on sign-in attempts.

mod attempts;
mod caller;
mod edge;
mod error;
mod json;
mod query;
pub mod session;

use std::sync::Arc;

use scorch_store::Store;

pub use attempts::LoginAttempts;
pub use caller::Caller;
pub(crate) use edge::guarded;
pub use edge::{MAX_HEADER_BYTES, MAX_URI_BYTES};
pub use error::ApiError;
pub use json::Json;
pub use query::Query;

use crate::jobs::JobWaiters;
use crate::plans::Plans;
use crate::secrets::SecretBox;

/// Request bodies larger than this are refused (413) before they are read.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

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
}

impl AppState {
    /// With a random encryption key; [`AppState::with_secrets`] sets the configured one.
    pub fn new(store: Arc<dyn Store>, plans: Arc<Plans>) -> Self {
        let waiters = JobWaiters::start(store.clone());
        let secrets = Arc::new(SecretBox::from_hex(&SecretBox::generate_key()).expect("a generated key is valid"));
        Self {
            store,
            plans,
            waiters,
            secrets,
            logins: LoginAttempts::start(),
        }
    }

    /// Uses the deployment's encryption key (the one its runbook servers open values with).
    pub fn with_secrets(mut self, secrets: Arc<SecretBox>) -> Self {
        self.secrets = secrets;
        self
    }
}
