//! How a run's state and error kind are stored, the same in both backends: states as codes (also
//! in PostgreSQL's change notifications), 0 running, 1 success, 2 warning, 3 failed; error kinds
//! by name.

use scorch_activity::{ErrorKind, Status};
use scorch_engine::RunState;

use crate::StoreError;

pub(crate) fn state_code(state: RunState) -> i16 {
    match state {
        RunState::Running => 0,
        RunState::Finished(Status::Success) => 1,
        RunState::Finished(Status::Warning) => 2,
        RunState::Finished(Status::Failed) => 3,
    }
}

pub(crate) fn run_state(code: i64) -> Result<RunState, StoreError> {
    Ok(match code {
        0 => RunState::Running,
        1 => RunState::Finished(Status::Success),
        2 => RunState::Finished(Status::Warning),
        3 => RunState::Finished(Status::Failed),
        _ => return Err(StoreError::Corrupt(format!("stored run state {code} is unknown"))),
    })
}

/// A stored error kind (none when the run did not fail).
pub(crate) fn error_kind_of(name: Option<&str>) -> Result<Option<ErrorKind>, StoreError> {
    name.map(|name| {
        ErrorKind::parse(name).ok_or_else(|| StoreError::Corrupt(format!("stored error kind '{name}' is unknown")))
    })
    .transpose()
}
