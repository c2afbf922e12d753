//! The job queue: claiming with leases, concurrency, preferred servers, failover, cancellation.

use std::time::Duration;

use scorch_store::{Claim, JobFilter, JobStatus, Store, StoreError};
use serde_json::json;
use uuid::Uuid;

use crate::TestDb;

const LEASE: Duration = Duration::from_secs(60);
const ALIVE: Duration = Duration::from_secs(30);
/// A lease that has run out by the time anyone else looks.
const EXPIRED: Duration = Duration::ZERO;

async fn claim(db: &TestDb, server: &str) -> Option<Claim> {
    db.store.claim_job(server, LEASE, ALIVE).await.expect("claim")
}

/// The id of the job `server` claims, or None.
async fn claimed(db: &TestDb, server: &str) -> Option<Uuid> {
    claim(db, server).await.map(|c| c.job.id)
}

#[tokio::test]
async fn claims_take_the_oldest_job_first() {
    let db = TestDb::new().await;
    let runbook = db.runbook_with("Ops", "Queue", json!({ "concurrency": 10 })).await;
    let mut jobs = Vec::new();
    for _ in 0..3 {
        jobs.push(db.create_job(runbook).await.id);
    }
    let mut instances = Vec::new();
    for &expected in &jobs {
        let claim = claim(&db, "rb-1").await.expect("a job to claim");
        assert_eq!(claim.job.id, expected);
        assert!(!claim.resume);
        assert_eq!(
            (claim.job.status, claim.job.claimed_by.as_deref()),
            (JobStatus::Running, Some("rb-1"))
        );
        assert_eq!(claim.job.instance_id, Some(claim.instance_id));
        assert_eq!((claim.runbook.id, claim.runbook.version), (runbook, 1));
        assert_eq!(claim.runbook.folder, "Ops");
        assert_eq!(db.store.job(expected).await.unwrap(), claim.job);
        instances.push(claim.instance_id);
    }
    instances.sort();
    instances.dedup();
    assert_eq!(instances.len(), 3, "each job has its own instance");
    assert!(claim(&db, "rb-1").await.is_none(), "nothing left to claim");
}

#[tokio::test]
async fn a_claim_runs_the_jobs_version() {
    let db = TestDb::new().await;
    let runbook = db.runbook_with("", "Versions", json!({ "description": "one" })).await;
    let job = db.create_job(runbook).await;
    db.runbook_with("", "Versions", json!({ "description": "two" })).await;
    let claim = claim(&db, "rb-1").await.unwrap();
    assert_eq!((claim.job.id, claim.runbook.version), (job.id, 1));
    assert_eq!(claim.runbook.body.definition["description"], "one");
}

#[tokio::test]
async fn concurrency_limits_the_running_jobs_of_each_runbook() {
    let db = TestDb::new().await;
    let one = db.runbook("", "One at a time").await;
    let two = db.runbook_with("", "Two at a time", json!({ "concurrency": 2 })).await;
    let a1 = db.create_job(one).await.id;
    let a2 = db.create_job(one).await.id;
    let b1 = db.create_job(two).await.id;
    let b2 = db.create_job(two).await.id;
    let b3 = db.create_job(two).await.id;

    // a2 waits for a1 (concurrency 1, the default); b3 waits for b1 or b2.
    assert_eq!(claimed(&db, "rb-1").await, Some(a1));
    assert_eq!(claimed(&db, "rb-2").await, Some(b1));
    assert_eq!(claimed(&db, "rb-1").await, Some(b2));
    assert_eq!(claimed(&db, "rb-2").await, None);

    db.store.finish_job(b1, "rb-2", JobStatus::Failed).await.unwrap();
    assert_eq!(claimed(&db, "rb-2").await, Some(b3));
    assert_eq!(claimed(&db, "rb-2").await, None);
    db.store.finish_job(a1, "rb-1", JobStatus::Completed).await.unwrap();
    assert_eq!(claimed(&db, "rb-2").await, Some(a2));
}

#[tokio::test]
async fn preferred_servers_hand_over_to_the_next_live_one() {
    let db = TestDb::new().await;
    for server in ["primary", "standby", "other"] {
        db.server(server).await;
    }
    let runbook = db
        .runbook_with(
            "",
            "Preferred",
            json!({ "concurrency": 5, "runbook_servers": ["primary", "standby"] }),
        )
        .await;
    let free = db.runbook_with("", "Anywhere", json!({ "concurrency": 5 })).await;

    // Everyone alive: only the primary takes it; anyone takes a runbook without preferences.
    let first = db.create_job(runbook).await.id;
    assert_eq!(claimed(&db, "standby").await, None);
    assert_eq!(claimed(&db, "other").await, None);
    assert_eq!(claimed(&db, "primary").await, Some(first));
    let anywhere = db.create_job(free).await.id;
    assert_eq!(claimed(&db, "other").await, Some(anywhere));

    // The primary's heartbeat is stale: the standby takes over, nobody else.
    db.kill("primary").await;
    let second = db.create_job(runbook).await.id;
    assert_eq!(claimed(&db, "other").await, None);
    assert_eq!(claimed(&db, "primary").await, None);
    assert_eq!(claimed(&db, "standby").await, Some(second));

    // No listed server is alive: any server outside the list takes it (a listed one cannot).
    db.kill("standby").await;
    let third = db.create_job(runbook).await.id;
    assert_eq!(claimed(&db, "primary").await, None);
    assert_eq!(claimed(&db, "standby").await, None);
    assert_eq!(claimed(&db, "other").await, Some(third));

    // The primary comes back.
    db.server("primary").await;
    let fourth = db.create_job(runbook).await.id;
    assert_eq!(claimed(&db, "other").await, None);
    assert_eq!(claimed(&db, "primary").await, Some(fourth));
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_with_the_same_instance() {
    let db = TestDb::new().await;
    let runbook = db.runbook_with("", "Failover", json!({ "concurrency": 5 })).await;
    let first = db.create_job(runbook).await.id;
    let dead = db.store.claim_job("rb-dead", EXPIRED, ALIVE).await.unwrap().unwrap();
    assert_eq!(dead.job.id, first);
    let newer = db.create_job(runbook).await.id;

    // The orphan is older than the pending job, so it goes first, to be resumed.
    let taken = claim(&db, "rb-2").await.unwrap();
    assert_eq!(taken.job.id, first);
    assert!(taken.resume);
    assert_eq!(taken.instance_id, dead.instance_id);
    assert_eq!(
        (taken.job.status, taken.job.claimed_by.as_deref()),
        (JobStatus::Running, Some("rb-2"))
    );
    let fresh = claim(&db, "rb-2").await.unwrap();
    assert_eq!((fresh.job.id, fresh.resume), (newer, false));

    // A live lease is not taken; the dead server can neither renew nor end the job any more.
    assert_eq!(claimed(&db, "rb-3").await, None);
    assert_eq!(
        db.store.renew_leases("rb-dead", &[first], LEASE).await.unwrap(),
        Vec::<Uuid>::new()
    );
    assert!(matches!(
        db.store.finish_job(first, "rb-dead", JobStatus::Completed).await,
        Err(StoreError::Conflict(_))
    ));
    db.store.renew_leases("rb-2", &[first, newer], LEASE).await.unwrap();
    assert_eq!(claimed(&db, "rb-3").await, None);

    db.store.finish_job(first, "rb-2", JobStatus::Completed).await.unwrap();
    let done = db.store.job(first).await.unwrap();
    assert_eq!(done.status, JobStatus::Completed);
    assert!(done.ended_at.is_some());
    assert_eq!(
        claimed(&db, "rb-3").await,
        None,
        "a finished job is never claimed again"
    );
}

#[tokio::test]
async fn renewing_keeps_a_lease_alive() {
    let db = TestDb::new().await;
    let runbook = db.runbook("", "Renew").await;
    let job = db.create_job(runbook).await.id;
    db.store.claim_job("rb-1", EXPIRED, ALIVE).await.unwrap().unwrap();
    // Renewed before anyone looked: the job stays with rb-1.
    assert_eq!(
        db.store.renew_leases("rb-1", &[job], LEASE).await.unwrap(),
        Vec::<Uuid>::new()
    );
    assert_eq!(claimed(&db, "rb-2").await, None);
    assert_eq!(db.store.job(job).await.unwrap().claimed_by.as_deref(), Some("rb-1"));
}

#[tokio::test]
async fn a_released_job_is_resumed_by_the_next_claim() {
    let db = TestDb::new().await;
    let runbook = db.runbook("", "Drain").await;
    let job = db.create_job(runbook).await.id;
    let first = claim(&db, "rb-1").await.unwrap();
    assert_eq!(claimed(&db, "rb-2").await, None);

    assert!(matches!(
        db.store.release_job(job, "rb-2").await,
        Err(StoreError::Conflict(_))
    ));
    db.store.release_job(job, "rb-1").await.unwrap();
    let released = db.store.job(job).await.unwrap();
    assert_eq!((released.status, released.claimed_by), (JobStatus::Running, None));
    assert!(matches!(
        db.store.release_job(job, "rb-1").await,
        Err(StoreError::Conflict(_))
    ));

    let taken = claim(&db, "rb-2").await.unwrap();
    assert_eq!(
        (taken.job.id, taken.resume, taken.instance_id),
        (job, true, first.instance_id)
    );
}

#[tokio::test]
async fn only_the_holder_ends_a_job() {
    let db = TestDb::new().await;
    let runbook = db.runbook("", "Holder").await;
    let job = db.create_job(runbook).await.id;
    // Pending: nobody holds it.
    match db.store.finish_job(job, "rb-1", JobStatus::Completed).await {
        Err(StoreError::Conflict(message)) => assert!(message.contains("pending"), "{message}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    claim(&db, "rb-1").await.unwrap();
    match db.store.finish_job(job, "rb-2", JobStatus::Completed).await {
        Err(StoreError::Conflict(message)) => assert!(message.contains("held by 'rb-1'"), "{message}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(matches!(
        db.store.finish_job(job, "rb-1", JobStatus::Running).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        db.store.finish_job(Uuid::now_v7(), "rb-1", JobStatus::Failed).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        db.store.release_job(Uuid::now_v7(), "rb-1").await,
        Err(StoreError::NotFound(_))
    ));
    db.store.finish_job(job, "rb-1", JobStatus::Failed).await.unwrap();
    assert!(matches!(
        db.store.finish_job(job, "rb-1", JobStatus::Completed).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(db.store.job(job).await.unwrap().status, JobStatus::Failed);
}

#[tokio::test]
async fn canceling_a_pending_job_ends_it_at_once() {
    let db = TestDb::new().await;
    let runbook = db.runbook("", "Cancel").await;
    let job = db.create_job(runbook).await.id;
    let canceled = db.store.cancel_job(job).await.unwrap();
    assert_eq!(canceled.status, JobStatus::Canceled);
    assert!(canceled.ended_at.is_some());
    assert!(!canceled.cancel_requested);
    assert_eq!(db.store.job(job).await.unwrap(), canceled);
    assert_eq!(claimed(&db, "rb-1").await, None, "a canceled job is never claimed");
    assert_eq!(
        db.store.cancel_job(job).await,
        Err(StoreError::Conflict(
            "cannot change the job status to canceled: the job is canceled".into()
        ))
    );
    assert!(matches!(
        db.store.cancel_job(Uuid::now_v7()).await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn canceling_a_running_job_asks_its_server() {
    let db = TestDb::new().await;
    let runbook = db.runbook_with("", "Cancel", json!({ "concurrency": 5 })).await;
    let job = db.create_job(runbook).await.id;
    let other = db.create_job(runbook).await.id;
    claim(&db, "rb-1").await.unwrap();
    claim(&db, "rb-1").await.unwrap();
    assert_eq!(
        db.store.renew_leases("rb-1", &[job], LEASE).await.unwrap(),
        Vec::<Uuid>::new()
    );

    let requested = db.store.cancel_job(job).await.unwrap();
    assert_eq!(
        (requested.status, requested.cancel_requested),
        (JobStatus::Running, true)
    );
    assert_eq!(requested.ended_at, None);
    assert_eq!(db.store.renew_leases("rb-1", &[job], LEASE).await.unwrap(), vec![job]);
    assert_eq!(
        db.store.renew_leases("rb-2", &[job], LEASE).await.unwrap(),
        Vec::<Uuid>::new()
    );
    // Asking again is harmless.
    db.store.cancel_job(job).await.unwrap();

    db.store.finish_job(job, "rb-1", JobStatus::Canceled).await.unwrap();
    assert_eq!(db.store.job(job).await.unwrap().status, JobStatus::Canceled);
    assert_eq!(
        db.store.renew_leases("rb-1", &[job], LEASE).await.unwrap(),
        Vec::<Uuid>::new()
    );

    db.store.finish_job(other, "rb-1", JobStatus::Completed).await.unwrap();
    assert_eq!(
        db.store.cancel_job(other).await,
        Err(StoreError::Conflict(
            "cannot change the job status to canceled: the job is completed".into()
        ))
    );
}

#[tokio::test]
async fn jobs_are_listed_newest_first_by_filter() {
    let db = TestDb::new().await;
    let a = db.runbook_with("", "A", json!({ "concurrency": 5 })).await;
    let b = db.runbook("", "B").await;
    let a1 = db.create_job(a).await.id;
    let b1 = db.create_job(b).await.id;
    let a2 = db.create_job(a).await.id;
    let a3 = db.create_job(a).await.id;
    assert_eq!(claimed(&db, "rb-1").await, Some(a1));

    let ids = |jobs: Vec<scorch_store::Job>| jobs.into_iter().map(|j| j.id).collect::<Vec<_>>();
    let all = db.store.list_jobs(&JobFilter::default()).await.unwrap();
    assert_eq!(ids(all.clone()), [a3, a2, b1, a1]);
    let of_a = JobFilter {
        runbook_id: Some(a),
        ..Default::default()
    };
    assert_eq!(ids(db.store.list_jobs(&of_a).await.unwrap()), [a3, a2, a1]);
    let pending_a = JobFilter {
        status: Some(JobStatus::Pending),
        ..of_a.clone()
    };
    assert_eq!(ids(db.store.list_jobs(&pending_a).await.unwrap()), [a3, a2]);
    let page = JobFilter {
        limit: 2,
        offset: 1,
        ..Default::default()
    };
    assert_eq!(ids(db.store.list_jobs(&page).await.unwrap()), [a2, b1]);
    let window = JobFilter {
        since: Some(all[2].created_at),
        until: Some(all[0].created_at),
        ..Default::default()
    };
    assert_eq!(ids(db.store.list_jobs(&window).await.unwrap()), [a2, b1]);
}
