//! Where failed jobs and instances failed, for their lists: each one's last failed activity run,
//! read for a whole page at once.

use std::collections::HashMap;

use uuid::Uuid;

use super::convert;
use super::wire::FailedActivity;
use crate::api::{ApiError, AppState};

/// Where each of the failed `instances` failed (those with a failed activity run), in one read.
pub async fn failures_by_instance(
    state: &AppState,
    instances: &[Uuid],
) -> Result<HashMap<Uuid, FailedActivity>, ApiError> {
    let runs = state.store.failed_runs(instances).await?;
    Ok(runs
        .iter()
        .map(|run| (run.instance_id, convert::failed_activity(run)))
        .collect())
}
