//! The writer's tests: batches cut and relaxed, broken instances, and batches written on a new
//! database.

use std::sync::Arc;
use std::time::Duration;

use scorch_engine::{InstanceStart, InstanceStatus, Journal, JournalError, RunRecord, RunState};
use serde_json::{Map, json};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::Known;
use super::batch::{relaxed, segments};
use super::fallback::write;
use super::handed_over::Broken;
use super::records::{EndRow, JobEnd, NewJobRow, Reply, Request, RunRow, StartRow, Write};
use crate::prelude::*;
use crate::{JobStatus, NewJob, PgStore, SaveRunbook};

fn request(write: Write) -> Request {
    Request { write, ack: None }
}

fn run(instance_id: Uuid, seq: u64) -> Write {
    Write::Run(RunRow::new(&crate::test_records::running(instance_id, seq)).unwrap())
}

fn end(instance_id: Uuid) -> Write {
    Write::InstanceFinished(EndRow {
        instance_id,
        status: InstanceStatus::Success,
        returns: None,
        ended_at: 0,
        problems: None,
    })
}

fn start(instance_id: Uuid, job_id: Uuid, runbook_id: Uuid) -> Write {
    Write::InstanceStarted(StartRow {
        instance_id,
        job_id,
        runbook_id,
        server: "rb-1".into(),
        parameters: "{}".into(),
        started_at: 0,
    })
}

#[test]
fn a_start_after_an_end_of_its_instance_begins_a_segment() {
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let ids = Uuid::now_v7();
    let batch = [
        request(start(a, ids, ids)),
        request(run(a, 0)),
        request(run(b, 0)),
        request(end(a)),
        request(run(b, 1)),
        request(start(a, ids, ids)),
        request(run(a, 1)),
    ];
    let records: Vec<&Request> = batch.iter().collect();
    let lengths: Vec<usize> = segments(&records).iter().map(|s| s.len()).collect();
    assert_eq!(lengths, [5, 2]);
}

fn new_job(awaited: bool) -> Write {
    new_job_of(Uuid::now_v7(), awaited)
}

fn new_job_of(runbook_id: Uuid, awaited: bool) -> Write {
    Write::CreateJob(NewJobRow {
        id: Uuid::now_v7(),
        runbook_id,
        version: None,
        parameters: "{}".into(),
        created_by: "alice".into(),
        parent_job: None,
        audit: None,
        awaited,
    })
}

/// Awaited new jobs wait for the next durable commit like instance starts; other new jobs
/// make their batch durable.
#[test]
fn batches_of_awaited_new_jobs_and_starts_commit_without_a_flush() {
    let ids = Uuid::now_v7();
    let relaxed_batch = [request(new_job(true)), request(start(ids, ids, ids))];
    assert!(relaxed(&relaxed_batch.iter().collect::<Vec<_>>()));
    let durable_batch = [request(new_job(true)), request(new_job(false))];
    assert!(!relaxed(&durable_batch.iter().collect::<Vec<_>>()));
}

/// A handed-over record that failed stops its instance's later records (awaited or not)
/// until the instance starts again; other instances' records go on.
#[test]
fn a_failed_handed_over_record_refuses_its_instance_until_it_starts_again() {
    let (x, y, ids) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let mut broken = Broken::default();
    let cause = JournalError::Unavailable("connection reset".into());
    broken.deliver(request(run(x, 0)), Err(cause));
    broken.deliver(request(run(y, 0)), Ok(Reply::Written));

    let (ack, mut refused) = oneshot::channel();
    let mut batch = vec![
        Request {
            write: run(x, 1),
            ack: Some(ack),
        },
        request(run(y, 1)),
        request(start(x, ids, ids)),
        request(run(x, 2)),
    ];
    broken.refuse_records_of_broken(&mut batch);
    let kept: Vec<(Option<Uuid>, bool)> = batch
        .iter()
        .map(|r| (r.write.instance_id(), matches!(r.write, Write::InstanceStarted(_))))
        .collect();
    assert_eq!(kept, [(Some(y), false), (Some(x), true), (Some(x), false)]);
    assert!(
        matches!(refused.try_recv(), Ok(Err(JournalError::Unavailable(m))) if m.contains("connection reset")),
        "the awaited record of the broken instance is refused with the first failure's cause"
    );
    assert!(broken.instances.is_empty());
}

/// Runs `test` with a store on a new database (dropped afterwards, whatever the outcome) that
/// holds one runbook and one pending job of it.
async fn on_new_database<F, Fut>(test: F)
where
    F: FnOnce(PgStore, Uuid, crate::Job) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let server = crate::test_peers::postgres_server();
    let name = format!("scorch_test_{}", Uuid::new_v4().simple());
    let mut admin = match PgConnection::connect(&server).await {
        Ok(admin) => admin,
        Err(err) => {
            let peer = format!("PostgreSQL at {server} ({err})");
            return crate::test_peers::peer_missing(&peer, crate::test_peers::POSTGRES_HINT);
        }
    };
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let url = format!("{}/{name}", server.rsplit_once('/').unwrap().0);
    let outcome = async move {
        let store = PgStore::open(&url).await.unwrap();
        let definition = json!({ "format": 1 });
        let (runbook_id, _) = store
            .save_runbook(SaveRunbook {
                id: None,
                folder: "",
                name: "Batch",
                definition: &definition,
                source: "",
                parameters: Vec::new(),
                activities: Vec::new(),
                author: "tester",
            })
            .await
            .unwrap();
        let job = store
            .create_job(NewJob {
                runbook_id,
                version: None,
                parameters: &Map::new(),
                created_by: "tester",
                parent_job: None,
                awaited: false,
            })
            .await
            .unwrap();
        test(store, runbook_id, job).await;
    };
    let result = tokio::spawn(outcome).await;
    sqlx::query(AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
        .execute(&mut admin)
        .await
        .unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic.into_panic());
    }
}

/// A batch the database refuses (here: a run keyed to an instance that the writer wrongly
/// believes it knows, as after a purge) is written again record by record: only the bad
/// record fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_record_does_not_fail_its_batch() {
    on_new_database(|store, runbook_id, job| async move {
        let (instance_id, ghost, stray) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut known = Known::default();
        known.insert(ghost, 987_654_321);
        let batch = [
            request(start(instance_id, job.id, runbook_id)),
            request(run(ghost, 0)),
            request(run(stray, 0)),
            request(run(instance_id, 0)),
            request(start(Uuid::now_v7(), Uuid::now_v7(), runbook_id)),
        ];
        let mut conn = store.pool().acquire().await.unwrap();
        let outcomes = write(&mut conn, &batch, &mut known).await.unwrap();
        // Written again alone, with what the writer knew forgotten, the ghost is found out.
        assert_eq!(outcomes[1], Err(JournalError::NotFound(ghost)));
        assert!(matches!(&outcomes[4], Err(JournalError::Unavailable(m)) if m.contains("not in the store")));
        assert_eq!(
            (&outcomes[0], &outcomes[2], &outcomes[3]),
            (
                &Ok(Reply::Written),
                &Err(JournalError::NotFound(stray)),
                &Ok(Reply::Written)
            )
        );
        let runs = store.journal().runs(instance_id).await.unwrap();
        assert_eq!((runs.len(), runs[0].key), (1, u64::MAX));
    })
    .await;
}

/// When a batch is written again record by record, a handed-over record the database refuses
/// makes the instance's later records in the batch refused too, as later batches would be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_handed_over_record_refuses_its_instance_within_the_batch() {
    on_new_database(|store, runbook_id, job| async move {
        let (instance_id, other) = (Uuid::now_v7(), Uuid::now_v7());
        let mut known = Known::default();
        let mut conn = store.pool().acquire().await.unwrap();
        let started = [request(start(instance_id, job.id, runbook_id)), request(start(other, job.id, runbook_id))];
        write(&mut conn, &started, &mut known).await.unwrap();
        // NUL in text: the database refuses this record alone (the journal's own encoding
        // never makes one; built by hand here).
        let refused = Write::Run(RunRow {
            activity_id: Arc::from("bad\0id"),
            ..RunRow::new(&crate::test_records::running(instance_id, 0)).unwrap()
        });
        let (ack, _acked) = oneshot::channel();
        let awaited = |write| Request { write, ack: Some(ack) };
        let batch = [request(refused), request(run(other, 0)), awaited(run(instance_id, 1))];
        let outcomes = write(&mut conn, &batch, &mut known).await.unwrap();
        assert!(matches!(&outcomes[0], Err(JournalError::Unavailable(_))), "{:?}", outcomes[0]);
        assert_eq!(outcomes[1], Ok(Reply::Written));
        assert!(
            matches!(&outcomes[2], Err(JournalError::Unavailable(m)) if m.contains("an earlier record of it was not written")),
            "{:?}",
            outcomes[2]
        );
        assert!(store.journal().runs(instance_id).await.unwrap().is_empty());
    })
    .await;
}

/// A batch of awaited new jobs commits without waiting for the WAL flush, and one with a new
/// job not awaited waits for it: each is written in a transaction of the test's, which then
/// reads the setting its statement left for the commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_batches_of_awaited_new_jobs_commit_without_a_flush() {
    on_new_database(|store, runbook_id, _| async move {
        let mut conn = store.pool().acquire().await.unwrap();
        for (batch, commit) in [
            (vec![request(new_job_of(runbook_id, true))], "off"),
            (
                vec![
                    request(new_job_of(runbook_id, true)),
                    request(new_job_of(runbook_id, false)),
                ],
                "on",
            ),
        ] {
            let mut tx = conn.begin().await.unwrap();
            let outcomes = write(&mut tx, &batch, &mut Known::default()).await.unwrap();
            assert!(
                outcomes.iter().all(|o| matches!(o, Ok(Reply::Created(Ok(_))))),
                "{outcomes:?}"
            );
            let setting: String = sqlx::query_scalar("SELECT current_setting('synchronous_commit')")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            assert_eq!(setting, commit, "{} new jobs", batch.len());
            tx.rollback().await.unwrap();
        }
    })
    .await;
}

/// Records the engine did not wait for are written by the time a barrier queued after them
/// returns (a job handed back waits for one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_barrier_returns_once_the_records_queued_before_it_are_written() {
    on_new_database(|store, runbook_id, job| async move {
        let journal = &store.shared.journal;
        let instance_id = Uuid::now_v7();
        let start = InstanceStart {
            instance_id,
            job_id: job.id,
            runbook_id,
            runbook_name: "Batch".into(),
            server: "rb-1".into(),
            parameters: Map::new(),
            started_at: jiff::Timestamp::now(),
        };
        journal.instance_started(&start).await.unwrap();
        let finished = RunRecord {
            state: RunState::Finished(scorch_activity::Status::Success),
            ended_at: Some(jiff::Timestamp::now()),
            ..crate::test_records::running(instance_id, 0)
        };
        journal.idempotent_run_finished(&finished).await.unwrap();
        journal.barrier().await.unwrap();
        let written: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM activity_runs r JOIN instances i ON i.id = r.instance_id WHERE i.uuid = $1",
        )
        .bind(instance_id)
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(written, 1);
    })
    .await;
}

/// An instance's start, runs and end (with its job's) in one batch are one statement: the
/// instance is inserted ended, its run keyed to it, its job ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_started_and_ended_in_one_batch_is_written_whole() {
    on_new_database(|store, runbook_id, job| async move {
        let claim = store
            .claim_job("rb-1", Duration::from_secs(60), Duration::from_secs(60))
            .await
            .unwrap()
            .expect("the job");
        let instance_id = claim.instance_id;
        let finished = Write::Finished(
            EndRow {
                instance_id,
                status: InstanceStatus::Warning,
                returns: Some(r#"{"Result":"1"}"#.into()),
                ended_at: 42,
                problems: None,
            },
            JobEnd {
                id: job.id,
                server: "rb-1".into(),
                status: JobStatus::Completed,
            },
        );
        let batch = [
            request(start(instance_id, job.id, runbook_id)),
            request(run(instance_id, 0)),
            request(finished),
        ];
        let mut known = Known::default();
        let mut conn = store.pool().acquire().await.unwrap();
        let outcomes = write(&mut conn, &batch, &mut known).await.unwrap();
        assert_eq!(
            outcomes,
            [Ok(Reply::Written), Ok(Reply::Written), Ok(Reply::Finished(true))]
        );
        assert!(known.instances.is_empty(), "an ended instance is forgotten");
        let result = store.job_result(job.id).await.unwrap();
        assert_eq!(result.job.status, JobStatus::Completed);
        let instance = result.instance.expect("the instance");
        assert_eq!((instance.status, instance.returns.len()), (InstanceStatus::Warning, 1));
        assert_eq!(result.runs.len(), 1);
    })
    .await;
}
