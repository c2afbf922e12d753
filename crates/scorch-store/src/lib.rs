//! The orchestration database: the one source of truth that every role reads and writes.
//!
//! Callers see plain Rust types ([`model`]) and [`StoreError`]; the SQL lives in one module per
//! backend ([`sqlite`] now, PostgreSQL beside it later with the same semantics). The store also
//! implements the engine's [`Journal`](scorch_engine::Journal) and the activities'
//! [`GlobalSettings`](scorch_activity::GlobalSettings).

mod error;
pub mod model;
pub mod sqlite;

pub use error::StoreError;
pub use model::{
    ActivitySpec, AuditEntry, InstanceRow, Job, JobStatus, ParameterSpec, Runbook, RunbookActivity, RunbookParameter,
    RunbookServer, SaveRunbook,
};
pub use sqlite::{SqliteJournal, SqliteSettings, SqliteStore};
