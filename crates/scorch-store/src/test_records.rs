//! Records the backends' unit tests write.

use std::sync::Arc;

use jiff::Timestamp;
use scorch_engine::{RunRecord, RunState};
use uuid::Uuid;

/// A run of activity `init`, just started, at `seq` of `instance_id`.
pub fn running(instance_id: Uuid, seq: u64) -> RunRecord {
    RunRecord {
        instance_id,
        seq,
        key: u64::MAX,
        activity_id: Arc::from("init"),
        activity_name: Arc::from("init"),
        attempt: 1,
        state: RunState::Running,
        error: String::new(),
        error_kind: None,
        started_at: Timestamp::now(),
        ended_at: None,
        rows: Arc::new(Vec::new()),
        truncated: false,
    }
}
