//! The journal's records as writes: an instance's start, a run's start or finish (one upsert),
//! an instance's end.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};
use scorch_engine::{InstanceStatus, JournalError, RunRecord};
use sqlx::error::ErrorKind;
use uuid::Uuid;

use super::super::sql::{FINISH_INSTANCE, UPSERT_INSTANCE, UPSERT_RUN};
use super::super::{micros, to_json};
use super::{Write, refusal};
pub(in crate::sqlite) use crate::instance_rows::{EndRow, StartRow};
use crate::run_states::{run_state, state_code};
use crate::{Change, StoreError};

/// A run started or finished (the same upsert).
pub(super) struct RunRow {
    pub(super) instance_id: Uuid,
    pub(super) seq: i64,
    pub(super) key: i64,
    pub(super) activity_id: Arc<str>,
    pub(super) activity_name: Option<Arc<str>>,
    pub(super) attempt: i64,
    pub(super) state: i64,
    pub(super) error: Option<String>,
    pub(super) error_kind: Option<&'static str>,
    pub(super) started_at: i64,
    pub(super) ended_at: Option<i64>,
    pub(super) published: Option<String>,
    pub(super) truncated: bool,
}

impl RunRow {
    pub(super) fn new(run: &RunRecord) -> Result<Self, StoreError> {
        Ok(RunRow {
            instance_id: run.instance_id,
            // Stored as the same 64 bits: SQLite integers are signed.
            seq: run.seq as i64,
            key: run.key as i64,
            activity_id: run.activity_id.clone(),
            activity_name: (run.activity_name != run.activity_id).then(|| run.activity_name.clone()),
            attempt: run.attempt.into(),
            state: state_code(run.state).into(),
            error: (!run.error.is_empty()).then(|| run.error.clone()),
            error_kind: run.error_kind.map(|kind| kind.as_str()),
            started_at: micros(run.started_at),
            ended_at: run.ended_at.map(micros),
            published: if run.rows.is_empty() {
                None
            } else {
                Some(to_json(&*run.rows)?)
            },
            truncated: run.truncated,
        })
    }
}

/// An instance started (or resumed).
impl Write for StartRow {
    type Output = ();
    type Error = JournalError;

    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Result<(), JournalError>> {
        let done = conn.prepare_cached(UPSERT_INSTANCE)?.execute(params![
            self.instance_id,
            self.job_id,
            self.runbook_id,
            self.server,
            self.parameters,
            self.started_at,
        ]);
        match done {
            Ok(rows) if rows > 0 => Ok(Ok(())),
            Ok(_) => Ok(Err(JournalError::NotFound(self.instance_id))),
            Err(err) => refusal(err, |kind| match kind {
                ErrorKind::ForeignKeyViolation => JournalError::Unavailable(format!(
                    "instance {}: job {} or runbook {} is not in the store (create the job before starting it)",
                    self.instance_id, self.job_id, self.runbook_id
                )),
                _ => broke_a_constraint(self.instance_id),
            }),
        }
    }

    fn changes(&self, _: &(), send: &mut dyn FnMut(Change)) {
        send(Change::Instance {
            id: self.instance_id,
            job_id: self.job_id,
            status: InstanceStatus::Running,
        });
    }
}

impl Write for RunRow {
    type Output = ();
    type Error = JournalError;

    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Result<(), JournalError>> {
        let done = conn.prepare_cached(UPSERT_RUN)?.execute(params![
            self.instance_id,
            self.seq,
            self.key,
            &*self.activity_id,
            self.activity_name.as_deref(),
            self.attempt,
            self.state,
            self.error,
            self.error_kind,
            self.started_at,
            self.ended_at,
            self.published,
            self.truncated,
        ]);
        match done {
            Ok(rows) if rows > 0 => Ok(Ok(())),
            Ok(_) => Ok(Err(JournalError::NotFound(self.instance_id))),
            // The instance is unknown: its id came out NULL.
            Err(err) => refusal(err, |kind| match kind {
                ErrorKind::NotNullViolation => JournalError::NotFound(self.instance_id),
                _ => broke_a_constraint(self.instance_id),
            }),
        }
    }

    fn changes(&self, _: &(), send: &mut dyn FnMut(Change)) {
        if let Ok(state) = run_state(self.state) {
            send(Change::ActivityRun {
                instance_id: self.instance_id,
                seq: self.seq as u64,
                activity_id: self.activity_id.to_string(),
                state,
            });
        }
    }
}

/// An instance ended. Its output is the instance's job.
impl Write for EndRow {
    type Output = Uuid;
    type Error = JournalError;

    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Result<Uuid, JournalError>> {
        let job_id = conn
            .prepare_cached(FINISH_INSTANCE)?
            .query_row(
                params![
                    self.status.as_str(),
                    self.returns,
                    self.ended_at,
                    self.problems,
                    self.instance_id
                ],
                |row| row.get(0),
            )
            .optional();
        match job_id {
            Ok(Some(job_id)) => Ok(Ok(job_id)),
            Ok(None) => Ok(Err(JournalError::NotFound(self.instance_id))),
            Err(err) => refusal(err, |_| broke_a_constraint(self.instance_id)),
        }
    }

    fn changes(&self, job_id: &Uuid, send: &mut dyn FnMut(Change)) {
        send(Change::Instance {
            id: self.instance_id,
            job_id: *job_id,
            status: self.status,
        });
    }
}

fn broke_a_constraint(instance_id: Uuid) -> JournalError {
    JournalError::Unavailable(format!("instance {instance_id}: the record breaks a constraint"))
}
