//! The orchestration database: the one source of truth that every role reads and writes.
//!
//! Callers see plain Rust types ([`model`]) and [`StoreError`]; the SQL of the job path lives in
//! one module per backend ([`sqlite`], [`postgres`]) with the same semantics, and that of the cold
//! paths once, in `src/cold/`, which each backend compiles against its own `backend::Backend`. The store also
//! implements the engine's [`Journal`](scorch_engine::Journal) and the activities'
//! [`GlobalSettings`](scorch_activity::GlobalSettings).

mod backend;
mod broken;
mod codec;
mod error;
mod id_match;
mod instance_rows;
mod kept;
mod migrations;
pub mod model;
pub mod postgres;
mod run_states;
mod saving;
pub mod sqlite;
mod store;
mod store_impl;
#[doc(hidden)]
pub mod test_peers;
#[cfg(test)]
mod test_records;
mod versions;

pub use error::StoreError;
pub use id_match::IdMatch;
pub use model::{
    ActivitySpec, AuditEntry, CounterInfo, Folder, Grant, GroupInfo, InstanceRow, Job, JobCount, JobStatus, NewAudit,
    ParameterSpec, Role, Runbook, RunbookActivity, RunbookBody, RunbookParameter, RunbookServer, RunbookSummary,
    RunbookVersionInfo, SaveRunbook, ScheduleInfo, ServerRegistration, TokenInfo, User, VariableInfo,
};
pub use postgres::{Listen, PgJournal, PgSettings, PgStore};
pub use sqlite::{SqliteJournal, SqliteSettings, SqliteStore};
pub use store::{
    Access, AuditFilter, Authoring, Change, Claim, FailedRun, InstanceFilter, JobFilter, JobPath, JobResult, NewJob,
    NewTrigger, Operations, PurgeRule, Store, TriggerRecord,
};

/// The capability traits, whose methods callers holding a `dyn Store` (or one capability) need
/// in scope: `use scorch_store::prelude::*`.
pub mod prelude {
    pub use crate::store::{Access, Authoring, JobPath, Operations, Store};
}
