//! The records callers queue for the writer, each encoded by its caller (JSON included) so that
//! the writer only binds and executes, and the answers they get.

use std::sync::Arc;

use scorch_engine::{JournalError, RunRecord, RunState};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::super::{micros, to_json};
pub(super) use crate::instance_rows::{EndRow, StartRow};
use crate::run_states::{run_state, state_code};
use crate::{Change, JobStatus, StoreError};

/// What became of a record: written (with what the writer answers for it), or refused. A job the
/// database refuses is answered in the reply, with the store's error.
pub(super) type Outcome = Result<Reply, JournalError>;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Reply {
    /// A journal record written.
    Written,
    /// A job created (its version and creation time, and its audit record's fate), or why not.
    Created(Result<Created, StoreError>),
    /// An instance's end written, and whether its job was ended (false: the server does not hold
    /// the job).
    Finished(bool),
}

/// A job the writer created.
#[derive(Debug, Clone, PartialEq)]
pub(in crate::postgres) struct Created {
    pub(in crate::postgres) version: i64,
    pub(in crate::postgres) created_at: i64,
    /// Whether its audit record, if it had one, was written too.
    pub(in crate::postgres) audited: Result<(), StoreError>,
}

pub(super) struct Request {
    pub(super) write: Write,
    /// Who waits for the outcome; nobody for a record handed over (see
    /// [`PgJournal::hand_over`](super::PgJournal::hand_over)).
    pub(super) ack: Option<oneshot::Sender<Outcome>>,
}

/// A record encoded by its caller (JSON included), so the writer only binds and executes.
pub(super) enum Write {
    InstanceStarted(StartRow),
    Run(RunRow),
    InstanceFinished(EndRow),
    /// An instance's end and its job's, in one statement.
    Finished(EndRow, JobEnd),
    CreateJob(NewJobRow),
    /// Writes nothing: answered once every record queued before it has been written (or refused).
    Barrier,
}

pub(super) struct RunRow {
    pub(super) instance_id: Uuid,
    pub(super) seq: i64,
    pub(super) key: i64,
    pub(super) activity_id: Arc<str>,
    pub(super) activity_name: Option<Arc<str>>,
    pub(super) attempt: i32,
    pub(super) state: i16,
    pub(super) error: Option<String>,
    pub(super) error_kind: Option<&'static str>,
    pub(super) started_at: i64,
    pub(super) ended_at: Option<i64>,
    pub(super) published: Option<String>,
    pub(super) truncated: bool,
    /// The finish of an idempotent run, which may commit without waiting for its WAL flush.
    pub(super) relaxed: bool,
}

/// A job's end by the server holding it.
pub(in crate::postgres) struct JobEnd {
    pub(in crate::postgres) id: Uuid,
    pub(in crate::postgres) server: String,
    pub(in crate::postgres) status: JobStatus,
}

/// A new job, and the audit record of its creation if it has one.
#[derive(Clone)]
pub(in crate::postgres) struct NewJobRow {
    pub(in crate::postgres) id: Uuid,
    pub(in crate::postgres) runbook_id: Uuid,
    pub(in crate::postgres) version: Option<i64>,
    pub(in crate::postgres) parameters: String,
    pub(in crate::postgres) created_by: String,
    pub(in crate::postgres) parent_job: Option<Uuid>,
    pub(in crate::postgres) audit: Option<AuditRow>,
    /// [`crate::NewJob::awaited`]: committed without waiting for the WAL flush.
    pub(in crate::postgres) awaited: bool,
}

#[derive(Clone)]
pub(in crate::postgres) struct AuditRow {
    pub(in crate::postgres) actor: String,
    pub(in crate::postgres) action: String,
    pub(in crate::postgres) object_type: String,
    pub(in crate::postgres) detail: Option<String>,
}

impl RunRow {
    pub(super) fn new(run: &RunRecord) -> Result<Self, StoreError> {
        Ok(RunRow {
            instance_id: run.instance_id,
            // Stored as the same 64 bits: PostgreSQL integers are signed.
            seq: run.seq as i64,
            key: run.key as i64,
            activity_id: text(&run.activity_id),
            activity_name: (run.activity_name != run.activity_id).then(|| text(&run.activity_name)),
            attempt: i32::try_from(run.attempt)
                .map_err(|_| StoreError::Invalid(format!("attempt {} is out of range", run.attempt)))?,
            state: state_code(run.state),
            error: (!run.error.is_empty()).then(|| text(&run.error)),
            error_kind: run.error_kind.map(|kind| kind.as_str()),
            started_at: micros(run.started_at),
            ended_at: run.ended_at.map(micros),
            published: if run.rows.is_empty() {
                None
            } else {
                Some(to_json(&*run.rows)?)
            },
            truncated: run.truncated,
            relaxed: false,
        })
    }

    pub(super) fn change(&self) -> Change {
        Change::ActivityRun {
            instance_id: self.instance_id,
            seq: self.seq as u64,
            activity_id: self.activity_id.to_string(),
            state: run_state(self.state.into()).unwrap_or(RunState::Running),
        }
    }
}

/// PostgreSQL text cannot hold NUL (SQLite's can): a NUL in an error message (a program's
/// output) or a name becomes U+FFFD rather than make the database refuse the record. JSON values
/// need nothing: the encoder escapes NUL.
fn text<T: std::ops::Deref<Target = str> + Clone + From<String>>(value: &T) -> T {
    if value.contains('\0') {
        value.replace('\0', "\u{fffd}").into()
    } else {
        value.clone()
    }
}

impl Write {
    /// The instance the record is about (none for a new job).
    pub(super) fn instance_id(&self) -> Option<Uuid> {
        match self {
            Write::InstanceStarted(start) => Some(start.instance_id),
            Write::Run(run) => Some(run.instance_id),
            Write::InstanceFinished(end) | Write::Finished(end, _) => Some(end.instance_id),
            Write::CreateJob(_) | Write::Barrier => None,
        }
    }
}
