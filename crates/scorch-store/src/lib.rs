//! The orchestration database: the one source of truth that every role reads and writes.
//!
//! Callers see plain Rust types ([`model`]) and [`StoreError`]; the SQL lives in one module per
//! backend ([`sqlite`] now, PostgreSQL ([`postgres`]) with the same semantics). The store also
//! implements the engine's [`Journal`](scorch_engine::Journal) and the activities'
//! [`GlobalSettings`](scorch_activity::GlobalSettings).

mod broken;
mod error;
mod kept;
pub mod model;
pub mod postgres;
mod run_states;
mod saving;
pub mod sqlite;
mod store;
#[cfg(test)]
mod test_records;
mod versions;

pub use error::StoreError;
pub use model::{
    ActivitySpec, AuditEntry, CounterInfo, Folder, Grant, InstanceRow, Job, JobStatus, NewAudit, ParameterSpec, Role,
    Runbook, RunbookActivity, RunbookBody, RunbookParameter, RunbookServer, RunbookSummary, RunbookVersionInfo,
    SaveRunbook, ServerRegistration, TokenInfo, User, VariableInfo,
};
pub use postgres::{Listen, PgJournal, PgSettings, PgStore};
pub use sqlite::{SqliteJournal, SqliteSettings, SqliteStore};
pub use store::{Change, Claim, InstanceFilter, JobFilter, JobResult, NewJob, PurgeRule, Store};
