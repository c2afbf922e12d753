//! What only the PostgreSQL backend promises: changes reach every process (job changes alone to a
//! process that asks for only those), so do changes to tokens and grants and check-ins (which
//! token and runbook path lookups kept for a moment must see), the listener and the job result reader survive a dropped
//! connection, concurrent openers migrate once, and errors carry no secrets.

use std::sync::Arc;
use std::time::Duration;

use scorch_engine::{InstanceStatus, RunState};
use scorch_store::prelude::*;
use scorch_store::{Change, JobStatus, Listen, NewJob, PgStore, Role, StoreError};
use serde_json::json;
use sqlx::{Connection, PgConnection};

use crate::backends::postgres;
use crate::{DEADLINE, claim, complete, finished_run, instance_start, job, runbook};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_other_processes() {
    let Some(backend) = postgres().await else { return };
    let url = backend.url.clone().unwrap();
    let other = PgStore::open(&url).await.unwrap();
    let mut changes = other.subscribe();
    // Subscribed before the job exists: this store's listener may hear of the job's creation after
    // the other's did.
    let mut here = backend.store.subscribe();
    let rb = runbook(&backend.store, "", "Elsewhere", json!({})).await;
    let created = job(&backend.store, rb).await;
    let pending = Change::Job {
        id: created.id,
        runbook_id: rb,
        status: JobStatus::Pending,
    };
    assert_eq!(
        crate::changes::follow(&mut changes, created.id, &pending).await,
        std::slice::from_ref(&pending)
    );
    // The other process's writes reach this one too.
    other
        .claim_job("rb9", crate::LEASE, crate::ALIVE)
        .await
        .unwrap()
        .expect("a job");
    let running = Change::Job {
        id: created.id,
        runbook_id: rb,
        status: JobStatus::Running,
    };
    assert_eq!(
        crate::changes::follow(&mut here, created.id, &running).await,
        [pending, running]
    );
}

/// A process that listens to job changes only (a runbook server) hears every job change of a job
/// from creation to end, and nothing of its instance or runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_listening_to_jobs_hears_only_job_changes() {
    let Some(backend) = postgres().await else { return };
    let url = backend.url.clone().unwrap();
    let runbook_server = PgStore::open_listening(&url, Listen::Jobs).await.unwrap();
    let mut heard = runbook_server.subscribe();
    let store = backend.store.clone();
    let rb = runbook(&store, "", "Jobs only", json!({})).await;
    let created = job(&store, rb).await;
    let claim = claim(&store, "rb1").await;
    let journal = store.journal();
    journal.instance_started(&instance_start(&claim, "rb1")).await.unwrap();
    journal.run_finished(&finished_run(claim.instance_id, 0)).await.unwrap();
    crate::complete(&store, &claim, "rb1", InstanceStatus::Success).await;
    let job = |status| Change::Job {
        id: created.id,
        runbook_id: rb,
        status,
    };
    let followed = crate::changes::follow(&mut heard, created.id, &job(JobStatus::Completed)).await;
    assert_eq!(
        followed,
        [
            job(JobStatus::Pending),
            job(JobStatus::Running),
            job(JobStatus::Completed)
        ]
    );
    // Whatever else arrived meanwhile is job changes too.
    while let Ok(change) = heard.try_recv() {
        assert!(matches!(change, Change::Job { .. }), "{change:?}");
    }
}

/// Token lookups are kept for a moment, but a revocation or a grant taken away in one process is
/// seen at once there and, through the announcement, in the others (well before the entries
/// would expire on their own), a process that listens to nothing else (a management server)
/// included: it hears no job change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_changes_reach_every_process_token_lookups() {
    let Some(backend) = postgres().await else { return };
    let url = backend.url.clone().unwrap();
    let here = backend.store.clone();
    let other = PgStore::open_listening(&url, Listen::Lookups).await.unwrap();
    let mut heard = other.subscribe();
    // Announced before the revocations below: had the other process listened to jobs, it would
    // have heard of this one before it saw them.
    let rb = runbook(&here, "", "Unheard", json!({})).await;
    job(&here, rb).await;
    here.create_user("ana", None, false).await.unwrap();
    here.grant("ana", "Ops", Role::Operator).await.unwrap();
    here.create_token("ana", "hash-1", "cli").await.unwrap();
    let grants = |user: Option<scorch_store::User>| user.map(|u| u.grants.len());
    // Looked up (and kept) in both processes.
    assert_eq!(grants(other.token_user("hash-1").await.unwrap()), Some(1));
    assert_eq!(grants(here.token_user("hash-1").await.unwrap()), Some(1));

    here.revoke("ana", "Ops").await.unwrap();
    assert_eq!(grants(here.token_user("hash-1").await.unwrap()), Some(0));
    let started = std::time::Instant::now();
    crate::eventually("the other process to see the grant gone", || async {
        (grants(other.token_user("hash-1").await.unwrap()) == Some(0)).then_some(())
    })
    .await;

    here.revoke_token_hash("hash-1").await.unwrap();
    assert!(here.token_user("hash-1").await.unwrap().is_none());
    crate::eventually("the other process to see the token revoked", || async {
        other.token_user("hash-1").await.unwrap().is_none().then_some(())
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "seen only when the entries expired: the announcements did not arrive"
    );
    assert!(
        heard.try_recv().is_err(),
        "a store listening to lookups only heard a change"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_ins_reach_every_process_runbook_path_lookups() {
    let Some(backend) = postgres().await else { return };
    let url = backend.url.clone().unwrap();
    let here = backend.store.clone();
    let other: Arc<dyn Store> = Arc::new(PgStore::open_listening(&url, Listen::Jobs).await.unwrap());
    let id = runbook(&here, "Ops", "Deploy", json!({})).await;
    // Looked up (and kept) in the other process.
    assert_eq!(other.runbook_by_path("Ops", "Deploy").await.unwrap().version, 1);

    runbook(&here, "Ops", "Deploy", json!({})).await;
    let started = std::time::Instant::now();
    crate::eventually("the other process to see the new version", || async {
        (other.runbook_by_path("Ops", "Deploy").await.unwrap().version == 2).then_some(())
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "seen only when the entry expired: the announcement did not arrive"
    );

    // A change made without an announcement (here behind the store's back) is not seen while
    // the lookup is kept; a start refused for an older version makes the process read afresh.
    // First every announcement made so far reaches the other process: notifications arrive in
    // order, so they have once a job change committed after them has.
    let mut heard = other.subscribe_jobs();
    let marker = job(&here, id).await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        match tokio::time::timeout_at(deadline, heard.recv()).await {
            Ok(Ok(Change::Job { id, .. })) if id == marker.id => break,
            Ok(_) => {}
            Err(_) => panic!("the job change did not reach the other process"),
        }
    }
    other.runbook_by_path("Ops", "Deploy").await.unwrap();
    let mut admin = PgConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE runbooks SET checked_out_by = 'zoe' WHERE id = $1")
        .bind(id)
        .execute(&mut admin)
        .await
        .unwrap();
    let kept = other.runbook_by_path("Ops", "Deploy").await.unwrap();
    assert_eq!(kept.checked_out_by, None, "the lookup is kept");
    let parameters = serde_json::Map::new();
    let stale = other
        .create_job(NewJob {
            runbook_id: id,
            version: Some(1),
            parameters: &parameters,
            created_by: "tester",
            parent_job: None,
            awaited: false,
        })
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    let fresh = other.runbook_by_path("Ops", "Deploy").await.unwrap();
    assert_eq!(fresh.checked_out_by.as_deref(), Some("zoe"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_reconnects_after_losing_its_connection() {
    let Some(backend) = postgres().await else { return };
    let store = backend.store.clone();
    let mut changes = store.subscribe();
    let mut job_changes = store.subscribe_jobs();
    let rb = runbook(&store, "", "Reconnect", json!({ "concurrency": 1000 })).await;

    let mut admin = PgConnection::connect(backend.url.as_deref().unwrap()).await.unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(
        !ended.is_empty() && ended.iter().all(|&ok| ok),
        "the listener's session was not found"
    );

    // Changes committed while it reconnects are missed, and every subscriber is told so once it
    // listens again; later ones arrive again.
    let told = tokio::time::timeout(DEADLINE, async {
        loop {
            match job_changes.recv().await {
                Ok(Change::Missed) => break,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(err) => panic!("the change stream ended: {err}"),
            }
        }
    })
    .await;
    assert!(told.is_ok(), "job subscribers were not told that changes were missed");
    let deadline = tokio::time::Instant::now() + DEADLINE;
    'waiting: loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no change arrived after the reconnect"
        );
        let created = job(&store, rb).await;
        let wait = tokio::time::Instant::now() + Duration::from_millis(300);
        while let Ok(received) = tokio::time::timeout_at(wait, changes.recv()).await {
            match received {
                Ok(Change::Job { id, .. }) if id == created.id => break 'waiting,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(err) => panic!("the change stream ended: {err}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_results_are_read_after_the_reader_loses_its_connection() {
    let Some(backend) = postgres().await else { return };
    let store = backend.store.clone();
    let rb = runbook(&store, "", "Reader", json!({ "concurrency": 1000 })).await;
    let first = job(&store, rb).await;
    let taken = claim(&store, "rb1").await;
    let journal = store.journal();
    journal.instance_started(&instance_start(&taken, "rb1")).await.unwrap();
    journal.run_finished(&finished_run(taken.instance_id, 0)).await.unwrap();
    complete(&store, &taken, "rb1", InstanceStatus::Success).await;
    assert_eq!(
        store.job_result(first.id).await.unwrap().job.status,
        JobStatus::Completed
    );

    // The reader keeps its connection: end that session under it (found by its statement's
    // opening, as pg_stat_activity keeps only a statement's first 1,024 bytes).
    let mut admin = PgConnection::connect(backend.url.as_deref().unwrap()).await.unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()
           AND query LIKE '%i.job_id AS instance_job_id%'",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(
        !ended.is_empty() && ended.iter().all(|&ok| ok),
        "the reader's session was not found"
    );

    let second = job(&store, rb).await;
    let answered = store.job_result(second.id).await.expect("read on a new connection");
    assert_eq!(answered.job.status, JobStatus::Pending);
    let again = store.job_result(first.id).await.unwrap();
    assert_eq!(again.instance.map(|i| i.status), Some(InstanceStatus::Success));
    assert_eq!(again.runs.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_openers_migrate_once() {
    let Some(backend) = postgres().await else { return };
    let url = backend.url.clone().unwrap();
    let (a, b, c) = tokio::join!(PgStore::open(&url), PgStore::open(&url), PgStore::open(&url));
    for store in [a, b, c] {
        store.unwrap().ping().await.unwrap();
    }
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(versions, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert_eq!(backend.store.backend(), "postgres");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_fails_clearly_without_secrets() {
    // Only where the server answers can it say that a database is missing.
    let Some(_reachable) = postgres().await else { return };
    let missing =
        crate::backends::database_url(&scorch_store::test_peers::postgres_server(), "scorch_no_such_database");
    // With a password (which trust authentication ignores): it must not be repeated.
    let (scheme, rest) = missing.split_once("://").expect("a URL");
    let with_password = match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or(userinfo);
            format!("{scheme}://{user}:hunter2@{host}")
        }
        None => format!("{scheme}://postgres:hunter2@{rest}"),
    };
    assert!(with_password.contains("hunter2"), "{with_password}");
    match PgStore::open(&with_password).await {
        Err(StoreError::Unavailable(message)) => {
            assert!(message.contains("scorch_no_such_database"), "{message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
        other => panic!("expected Unavailable, got {:?}", other.map(|_| ())),
    }
    match PgStore::open("mysql://localhost/scorch").await {
        Err(StoreError::Invalid(message)) => assert!(message.contains("postgres://"), "{message}"),
        other => panic!("expected Invalid, got {:?}", other.map(|_| ())),
    }
}

/// PostgreSQL text cannot hold NUL: the journal keeps such an error message readable instead of
/// refusing the record (and stopping the instance).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_do_not_stop_the_journal() {
    let Some(backend) = postgres().await else { return };
    let store = backend.store.clone();
    let rb = runbook(&store, "", "Binary", json!({})).await;
    job(&store, rb).await;
    let claim = claim(&store, "rb1").await;
    let journal = store.journal();
    journal.instance_started(&instance_start(&claim, "rb1")).await.unwrap();
    let mut run = finished_run(claim.instance_id, 0);
    run.state = RunState::Finished(scorch_activity::Status::Failed);
    run.error = "bad\0byte".into();
    journal.run_finished(&run).await.unwrap();
    let stored = journal.runs(claim.instance_id).await.unwrap();
    assert_eq!(stored[0].error, "bad\u{fffd}byte");
}

/// A job created for a caller that waits is committed without waiting for the WAL flush;
/// `make_job_durable` returns only once the WAL is flushed past it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn making_an_awaited_job_durable_flushes_the_wal_past_it() {
    let Some(backend) = postgres().await else { return };
    let url = backend.url.clone().unwrap();
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let rb = runbook(&backend.store, "", "Awaited", json!({})).await;
    let parameters = serde_json::Map::new();
    let created = backend
        .store
        .create_job(NewJob {
            runbook_id: rb,
            version: None,
            parameters: &parameters,
            created_by: "alice",
            parent_job: None,
            awaited: true,
        })
        .await
        .unwrap();
    let written: String = sqlx::query_scalar("SELECT pg_current_wal_insert_lsn()::text")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    backend.store.make_job_durable(created.id).await.unwrap();
    let flushed: bool = sqlx::query_scalar("SELECT pg_current_wal_flush_lsn() >= $1::pg_lsn")
        .bind(&written)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(flushed, "the WAL is flushed past the job's creation");
}

/// A value PostgreSQL cannot hold (text with a NUL character) is the request's fault, `Invalid`,
/// not an outage (`Unavailable`, which the API answers 503 and logs as the database being down).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_postgres_cannot_hold_is_invalid_not_an_outage() {
    let Some(backend) = postgres().await else { return };
    let refused = backend.store.set_variable("Greeting", "hel\0lo", false).await;
    assert!(
        matches!(&refused, Err(StoreError::Invalid(why)) if why.contains("cannot be stored")),
        "{refused:?}"
    );
    backend.store.ping().await.unwrap();
}
