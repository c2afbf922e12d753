//! What the HTTP roles (web service, management server) share: state, the error type with its
//! stable codes, the authenticated caller, and a JSON body extractor with clear errors.

mod caller;
mod error;
mod json;
mod query;

use std::sync::Arc;

use scorch_store::Store;

pub use caller::Caller;
pub use error::ApiError;
pub use json::Json;
pub use query::Query;

use crate::jobs::JobWaiters;
use crate::plans::Plans;

/// Request bodies larger than this are refused (413) before they are read.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub plans: Arc<Plans>,
    pub waiters: Arc<JobWaiters>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, plans: Arc<Plans>) -> Self {
        let waiters = JobWaiters::start(store.clone());
        Self { store, plans, waiters }
    }
}
