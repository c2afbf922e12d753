//! Job results (what a start that waits answers with) read for every caller of this process on a
//! connection of its own, with one query for all that asked meanwhile.

use std::collections::HashMap;

use sqlx::Postgres;
use sqlx::Row as _;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::sql::{RESULT_INSTANCE, RESULT_RUN, RESULTS};
use super::{instances, jobs};
use crate::{JobResult, StoreError};

/// Jobs with, once each has ended, its instance and the instance's runs: one read however many
/// (see [`ResultReader`]). Jobs not in the store are missing from the answer.
async fn results(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Result<JobResult, StoreError>>, StoreError> {
    let rows = sqlx::query(RESULTS).bind(ids).fetch_all(conn).await?;
    let mut results = HashMap::with_capacity(ids.len());
    for rows in rows.chunk_by(|a, b| a.try_get::<Uuid, _>("id").ok() == b.try_get::<Uuid, _>("id").ok()) {
        let id: Uuid = rows[0].try_get("id")?;
        results.insert(id, decode_result(rows));
    }
    Ok(results)
}

/// Job `id`'s entry in what [`results`] found.
fn result_of(found: &HashMap<Uuid, Result<JobResult, StoreError>>, id: Uuid) -> Result<JobResult, StoreError> {
    found
        .get(&id)
        .cloned()
        .unwrap_or_else(|| Err(StoreError::NotFound(format!("job {id}"))))
}

/// One job's rows of [`RESULTS`] (at least one).
fn decode_result(rows: &[PgRow]) -> Result<JobResult, StoreError> {
    let first = &rows[0];
    let job = jobs::decode(first)?;
    let (instance, runs) = match job.instance_id {
        Some(instance_id) if job.status.is_final() => {
            if first.try_get::<Option<Uuid>, _>("instance_uuid")?.is_none() {
                return Err(StoreError::NotFound(format!("instance {instance_id}")));
            }
            let instance = instances::decode_as(first, &RESULT_INSTANCE)?;
            let mut runs = Vec::with_capacity(rows.len());
            for row in rows {
                if row.try_get::<Option<i64>, _>("run_seq")?.is_some() {
                    runs.push(instances::decode_run(instance_id, row, &RESULT_RUN)?);
                }
            }
            (Some(instance), runs)
        }
        _ => (None, Vec::new()),
    };
    Ok(JobResult { job, instance, runs })
}

/// Reads job results for every caller of this process, on a connection of its own, with one
/// query for all that asked meanwhile: a web service answering many `wait` requests is woken by
/// one job-end notification for several jobs (a runbook server's writer ends them in one commit),
/// and each would otherwise read its own. The connection plans the read once
/// ([`super::kept_connection`]): on a pool connection PostgreSQL planned it afresh for
/// every read (the number of jobs asked for makes a custom plan look cheaper), which cost more
/// than reading.
#[derive(Debug)]
pub(super) struct ResultReader {
    requests: mpsc::Sender<ResultRequest>,
}

type ResultRequest = (Uuid, oneshot::Sender<Result<JobResult, StoreError>>);

/// Requests one read takes at most.
const MAX_READ: usize = 256;

impl ResultReader {
    pub(super) fn start(pool: PgPool) -> Self {
        let (requests, mut queue) = mpsc::channel::<ResultRequest>(4096);
        tokio::spawn(async move {
            let mut conn = None;
            let mut batch = Vec::with_capacity(MAX_READ);
            while queue.recv_many(&mut batch, MAX_READ).await > 0 {
                let ids: Vec<Uuid> = batch.iter().map(|(id, _)| *id).collect();
                let found = read_kept(&pool, &mut conn, &ids).await;
                for (id, answer) in batch.drain(..) {
                    let _ = answer.send(
                        found
                            .as_ref()
                            .map_err(Clone::clone)
                            .and_then(|found| result_of(found, id)),
                    );
                }
            }
        });
        ResultReader { requests }
    }

    pub(super) async fn read(&self, id: Uuid) -> Result<JobResult, StoreError> {
        let stopped = || StoreError::Unavailable("the job result reader has stopped".into());
        let (answer, answered) = oneshot::channel();
        self.requests.send((id, answer)).await.map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

/// [`results`] on the reader's kept connection. A read that finds the database unavailable is
/// tried once more on a new connection (the kept one may have been closed while idle, or the
/// database restarted).
async fn read_kept(
    pool: &PgPool,
    conn: &mut Option<PoolConnection<Postgres>>,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Result<JobResult, StoreError>>, StoreError> {
    let mut last = None;
    for _ in 0..2 {
        match results(super::kept_connection(conn, pool).await?, ids).await {
            Err(err @ StoreError::Unavailable(_)) => {
                // Dropped, it is closed (see `kept_connection`).
                *conn = None;
                last = Some(err);
            }
            answered => return answered,
        }
    }
    Err(last.expect("a failed read"))
}
