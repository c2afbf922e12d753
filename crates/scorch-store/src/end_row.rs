//! An instance's end as both backends' writers store it: its outcome, with the return data and
//! problems as JSON columns (NULL when there are none).

use scorch_engine::{InstanceEnd, InstanceStatus};
use uuid::Uuid;

use crate::StoreError;
use crate::codec::{micros, to_json};

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
