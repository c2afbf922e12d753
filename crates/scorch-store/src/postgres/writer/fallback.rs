//! A batch the database refuses: PostgreSQL aborts the whole transaction on an error (SQLite
//! undoes one statement), so the batch is written again one record per transaction, and only the
//! record at fault is refused; a new job refused with its audit record is created without it.

use sqlx::postgres::PgConnection;

use super::Known;
use super::batch::write_batch;
use super::handed_over::Broken;
use super::records::{Created, NewJobRow, Outcome, Reply, Request, Write};
use crate::StoreError;
use scorch_engine::JournalError;

/// Writes `batch` and says what became of each record. A batch the database refuses is written
/// again one record at a time, so that only the records at fault fail.
pub(super) async fn write(
    conn: &mut PgConnection,
    batch: &[Request],
    known: &mut Known,
) -> Result<Vec<Outcome>, sqlx::Error> {
    let all: Vec<&Request> = batch.iter().collect();
    match write_batch(conn, &all, known).await {
        Ok(outcomes) => Ok(outcomes),
        Err(sqlx::Error::Database(first)) => {
            // The transaction was rolled back, and what the writer learnt in it may be undone.
            known.instances.clear();
            if batch.len() == 1 {
                return Ok(vec![
                    refused_alone(conn, &batch[0].write, first.message(), known).await?,
                ]);
            }
            let mut outcomes = Vec::with_capacity(batch.len());
            // Instances whose handed-over record was refused here: their later records in this
            // batch are refused too (the loop marks them broken only once the batch is answered).
            let mut broken = Broken::default();
            for request in batch {
                if let Some(refused) = broken.refusal(&request.write) {
                    outcomes.push(refused);
                    continue;
                }
                let outcome = match write_batch(conn, &[request], known).await {
                    Ok(mut outcome) => outcome.pop().unwrap_or(Ok(Reply::Written)),
                    Err(sqlx::Error::Database(db)) => {
                        known.instances.clear();
                        refused_alone(conn, &request.write, db.message(), known).await?
                    }
                    Err(err) => return Err(err),
                };
                if request.ack.is_none()
                    && let (Err(err), Some(instance)) = (&outcome, request.write.instance_id())
                {
                    broken.instances.break_(instance, err.to_string());
                }
                outcomes.push(outcome);
            }
            Ok(outcomes)
        }
        Err(err) => Err(err),
    }
}

/// The answer for a record the database refused on its own. A job is created again without its
/// audit record (the job exists even when its audit record cannot be written, which its answer
/// then says).
async fn refused_alone(
    conn: &mut PgConnection,
    write: &Write,
    cause: &str,
    known: &mut Known,
) -> Result<Outcome, sqlx::Error> {
    let Write::CreateJob(job) = write else {
        return Ok(write.refused(cause));
    };
    if job.audit.is_none() {
        return Ok(write.refused(cause));
    }
    let bare = Request {
        write: Write::CreateJob(NewJobRow {
            audit: None,
            ..job.clone()
        }),
        ack: None,
    };
    match write_batch(conn, &[&bare], known).await {
        Ok(mut outcomes) => Ok(match outcomes.pop() {
            Some(Ok(Reply::Created(Ok(created)))) => Ok(Reply::Created(Ok(Created {
                audited: Err(StoreError::Unavailable(format!(
                    "job {}: the database refused its audit record: {cause}",
                    job.id
                ))),
                ..created
            }))),
            Some(other) => other,
            None => write.refused(cause),
        }),
        Err(sqlx::Error::Database(db)) => Ok(write.refused(db.message())),
        Err(err) => Err(err),
    }
}

impl Write {
    /// The answer for a record the database refused on its own.
    pub(super) fn refused(&self, cause: &str) -> Outcome {
        let (instance, what) = match self {
            Write::InstanceStarted(start) => (start.instance_id, "its start"),
            Write::Run(run) => (run.instance_id, "a run"),
            Write::InstanceFinished(end) | Write::Finished(end, _) => (end.instance_id, "its end"),
            Write::CreateJob(job) => {
                return Ok(Reply::Created(Err(StoreError::Invalid(format!(
                    "job {}: the database refused it: {cause}",
                    job.id
                )))));
            }
            Write::Barrier => return Ok(Reply::Written),
        };
        Err(JournalError::Unavailable(format!(
            "instance {instance}: the database refused {what}: {cause}"
        )))
    }
}
