//! An instance's start and end as both backends' writers store them: parameters, return data
//! and problems as JSON columns (NULL when there are none), times as microseconds.

use scorch_engine::{InstanceEnd, InstanceStart, InstanceStatus};
use uuid::Uuid;

use crate::StoreError;
use crate::codec::{micros, to_json};

/// An instance started (or resumed).
pub(crate) struct StartRow {
    pub(crate) instance_id: Uuid,
    pub(crate) job_id: Uuid,
    pub(crate) runbook_id: Uuid,
    pub(crate) server: String,
    pub(crate) parameters: String,
    pub(crate) started_at: i64,
}

impl StartRow {
    pub(crate) fn new(start: &InstanceStart) -> Result<Self, StoreError> {
        Ok(StartRow {
            instance_id: start.instance_id,
            job_id: start.job_id,
            runbook_id: start.runbook_id,
            server: start.server.clone(),
            parameters: to_json(&start.parameters)?,
            started_at: micros(start.started_at),
        })
    }
}

/// An instance ended.
pub(crate) struct EndRow {
    pub(crate) instance_id: Uuid,
    pub(crate) status: InstanceStatus,
    pub(crate) returns: Option<String>,
    pub(crate) ended_at: i64,
    pub(crate) problems: Option<String>,
}

impl EndRow {
    pub(crate) fn new(end: &InstanceEnd) -> Result<Self, StoreError> {
        Ok(EndRow {
            instance_id: end.instance_id,
            status: end.status,
            returns: (!end.returns.is_empty()).then(|| to_json(&end.returns)).transpose()?,
            ended_at: micros(end.ended_at),
            problems: (!end.problems.is_empty()).then(|| to_json(&end.problems)).transpose()?,
        })
    }
}
