//! The job queue: claim order, per-runbook concurrency, preferred runbook servers, lease expiry and
//! takeover, and claims racing each other.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use scorch_store::{JobFilter, JobStatus, ServerRegistration, Store};
use serde_json::json;
use uuid::Uuid;

use crate::{ALIVE, LEASE, claim, eventually, job, runbook};

crate::contract!(
    claims_take_the_oldest_job_first,
    concurrency_limits_each_runbook,
    preferred_servers_fail_over_in_order,
    expired_leases_are_taken_over_with_resume,
    renewing_extends_only_the_jobs_named,
    a_new_life_hands_back_what_its_name_held,
    canceling_a_job_nobody_holds_ends_it_at_once,
    racing_servers_take_each_job_once,
    concurrency_holds_while_servers_race,
    claim_jobs_fills_each_runbooks_free_slots_only,
    claim_jobs_takes_over_expired_leases_with_the_pending,
    claim_jobs_honours_preferred_servers,
    concurrency_holds_while_servers_race_claiming_many,
    a_claim_runs_the_jobs_version,
);

async fn register(store: &Arc<dyn Store>, name: &str) {
    store
        .register_server(&ServerRegistration {
            name: name.into(),
            host: format!("{name}.example"),
            max_instances: 50,
            packs: Vec::new(),
        })
        .await
        .unwrap();
}

async fn claims_take_the_oldest_job_first(store: Arc<dyn Store>) {
    let a = runbook(&store, "Ops", "A", json!({ "concurrency": 5 })).await;
    let b = runbook(&store, "Ops", "B", json!({ "concurrency": 5 })).await;
    let jobs = [job(&store, a).await, job(&store, b).await, job(&store, a).await];
    let mut instances = HashSet::new();
    for expected in &jobs {
        let claim = claim(&store, "rb1").await;
        assert_eq!(claim.job.id, expected.id);
        assert!(!claim.resume);
        assert_eq!(
            (claim.job.status, claim.job.claimed_by.as_deref()),
            (JobStatus::Running, Some("rb1"))
        );
        assert_eq!(claim.job.instance_id, Some(claim.instance_id));
        assert_eq!(
            (claim.runbook.id, claim.runbook.version),
            (expected.runbook_id, expected.version)
        );
        assert_eq!(claim.runbook.body.activities.len(), 1);
        assert_eq!(claim.runbook.folder, "Ops");
        assert!(instances.insert(claim.instance_id));
        assert_eq!(store.job(expected.id).await.unwrap(), claim.job);
    }
    assert!(store.claim_job("rb1", LEASE, ALIVE).await.unwrap().is_none());
}

async fn concurrency_limits_each_runbook(store: Arc<dyn Store>) {
    let two = runbook(&store, "", "Two at once", json!({ "concurrency": 2 })).await;
    let one = runbook(&store, "", "One at once", json!({})).await;
    let t1 = job(&store, two).await;
    let t2 = job(&store, two).await;
    let t3 = job(&store, two).await;
    let o1 = job(&store, one).await;
    let o2 = job(&store, one).await;

    // t3 and o2 wait for their runbook, and later jobs of other runbooks go past them.
    let order: Vec<Uuid> = [
        claim(&store, "rb1").await,
        claim(&store, "rb2").await,
        claim(&store, "rb1").await,
    ]
    .iter()
    .map(|c| c.job.id)
    .collect();
    assert_eq!(order, [t1.id, t2.id, o1.id]);
    assert!(store.claim_job("rb3", LEASE, ALIVE).await.unwrap().is_none());

    store.finish_job(t2.id, "rb2", JobStatus::Completed).await.unwrap();
    assert_eq!(claim(&store, "rb3").await.job.id, t3.id);
    assert!(store.claim_job("rb3", LEASE, ALIVE).await.unwrap().is_none());
    // A canceled (not yet finished) job still runs, and still counts.
    store.cancel_job(o1.id).await.unwrap();
    assert!(store.claim_job("rb3", LEASE, ALIVE).await.unwrap().is_none());
    store.finish_job(o1.id, "rb1", JobStatus::Canceled).await.unwrap();
    assert_eq!(claim(&store, "rb3").await.job.id, o2.id);
}

async fn preferred_servers_fail_over_in_order(store: Arc<dyn Store>) {
    for name in ["rb1", "rb2", "rb3"] {
        register(&store, name).await;
    }
    let preferring = runbook(&store, "", "Preferring", json!({ "runbook_servers": ["rb1", "rb2"] })).await;
    let anywhere = runbook(&store, "", "Anywhere", json!({})).await;

    // Every server alive: only the first preferred one takes the job; others take other work.
    let p1 = job(&store, preferring).await;
    assert!(store.claim_job("rb2", LEASE, ALIVE).await.unwrap().is_none());
    assert!(store.claim_job("rb3", LEASE, ALIVE).await.unwrap().is_none());
    let any = job(&store, anywhere).await;
    assert_eq!(claim(&store, "rb3").await.job.id, any.id);
    assert_eq!(claim(&store, "rb1").await.job.id, p1.id);
    store.finish_job(p1.id, "rb1", JobStatus::Completed).await.unwrap();

    // rb1 stops heartbeating: the next preferred server alive takes over, and only it.
    // (Heartbeats are not backdated: the test lets time pass instead.)
    let alive = Duration::from_secs(1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    store.heartbeat("rb2", 0).await.unwrap();
    let p2 = job(&store, preferring).await;
    assert!(store.claim_job("rb3", LEASE, alive).await.unwrap().is_none());
    assert!(store.claim_job("rb1", LEASE, alive).await.unwrap().is_none());
    let taken = store
        .claim_job("rb2", LEASE, alive)
        .await
        .unwrap()
        .expect("rb2 takes over");
    assert_eq!(taken.job.id, p2.id);
    store.finish_job(p2.id, "rb2", JobStatus::Completed).await.unwrap();

    // No preferred server alive: any other server may take it (a listed one cannot).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let p3 = job(&store, preferring).await;
    assert!(store.claim_job("rb1", LEASE, alive).await.unwrap().is_none());
    assert!(store.claim_job("rb2", LEASE, alive).await.unwrap().is_none());
    let taken = store
        .claim_job("rb3", LEASE, alive)
        .await
        .unwrap()
        .expect("rb3 stands in");
    assert_eq!(taken.job.id, p3.id);
    store.finish_job(p3.id, "rb3", JobStatus::Completed).await.unwrap();

    // The first preferred server comes back: it alone takes the next job.
    register(&store, "rb1").await;
    let p4 = job(&store, preferring).await;
    assert!(store.claim_job("rb3", LEASE, alive).await.unwrap().is_none());
    let taken = store
        .claim_job("rb1", LEASE, alive)
        .await
        .unwrap()
        .expect("rb1 is back");
    assert_eq!(taken.job.id, p4.id);
}

async fn expired_leases_are_taken_over_with_resume(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "Failover", json!({})).await;
    let pending = job(&store, rb).await;
    let first = claim(&store, "rb1").await;
    assert!(
        store.claim_job("rb2", LEASE, ALIVE).await.unwrap().is_none(),
        "the lease is live"
    );

    // rb1 stops renewing: renewing with no time left lets the lease lapse now.
    store
        .renew_leases("rb1", &[first.job.id], Duration::ZERO)
        .await
        .unwrap();
    let second = eventually("the lease to expire", || async {
        store.claim_job("rb2", LEASE, ALIVE).await.unwrap()
    })
    .await;
    assert_eq!(
        (second.job.id, second.resume, second.instance_id),
        (pending.id, true, first.instance_id)
    );
    assert_eq!(
        (second.job.status, second.job.claimed_by.as_deref()),
        (JobStatus::Running, Some("rb2"))
    );
    assert_eq!(second.runbook, first.runbook);

    // The old holder cannot renew, end or hand back what it lost.
    assert!(
        store
            .renew_leases("rb1", &[pending.id], LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.job(pending.id).await.unwrap().claimed_by.as_deref(), Some("rb2"));
    assert!(store.finish_job(pending.id, "rb1", JobStatus::Completed).await.is_err());
    assert!(store.release_job(pending.id, "rb1").await.is_err());
    assert!(store.claim_job("rb1", LEASE, ALIVE).await.unwrap().is_none());
    store.finish_job(pending.id, "rb2", JobStatus::Completed).await.unwrap();
}

/// A server renews the jobs it runs, not every job claimed under its name: a previous process of
/// the same name (killed, then started again) would otherwise keep its jobs leased for ever.
async fn renewing_extends_only_the_jobs_named(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "Renew named", json!({ "concurrency": 2 })).await;
    job(&store, rb).await;
    job(&store, rb).await;
    let kept = claim(&store, "rb1").await;
    let lost = claim(&store, "rb1").await;
    store
        .renew_leases("rb1", &[kept.job.id, lost.job.id], Duration::ZERO)
        .await
        .unwrap();
    store.renew_leases("rb1", &[kept.job.id], LEASE).await.unwrap();
    let taken = eventually("the unnamed job's lease to expire", || async {
        store.claim_job("rb2", LEASE, ALIVE).await.unwrap()
    })
    .await;
    assert_eq!((taken.job.id, taken.resume), (lost.job.id, true));
    assert!(
        store.claim_job("rb2", LEASE, ALIVE).await.unwrap().is_none(),
        "the named job is leased"
    );
    assert_eq!(store.job(kept.job.id).await.unwrap().claimed_by.as_deref(), Some("rb1"));
}

/// A runbook server started under a name hands back what the name held (a previous process's
/// jobs): claimable at once, to resume, and nothing else's.
async fn a_new_life_hands_back_what_its_name_held(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "New life", json!({ "concurrency": 3 })).await;
    for _ in 0..3 {
        job(&store, rb).await;
    }
    let held = [claim(&store, "rb1").await, claim(&store, "rb1").await];
    let other = claim(&store, "rb2").await;
    let mut released = store.release_held_jobs("rb1").await.unwrap();
    released.sort();
    let mut expected: Vec<Uuid> = held.iter().map(|c| c.job.id).collect();
    expected.sort();
    assert_eq!(released, expected);
    assert!(store.release_held_jobs("rb1").await.unwrap().is_empty());
    let mut resumed = store.claim_jobs("rb1", LEASE, ALIVE, 10).await.unwrap();
    resumed.sort_by_key(|c| c.job.id);
    assert_eq!(resumed.iter().map(|c| c.job.id).collect::<Vec<_>>(), expected);
    assert!(resumed.iter().all(|c| c.resume));
    let instances: HashSet<Uuid> = held.iter().map(|c| c.instance_id).collect();
    assert!(resumed.iter().all(|c| instances.contains(&c.instance_id)));
    assert_eq!(
        store.job(other.job.id).await.unwrap().claimed_by.as_deref(),
        Some("rb2")
    );
}

/// A running job whose holder is gone (lease passed, or handed back) has nobody to stop it:
/// cancelling it ends it at once, and nobody resumes it.
async fn canceling_a_job_nobody_holds_ends_it_at_once(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "Orphan", json!({ "concurrency": 2 })).await;
    job(&store, rb).await;
    job(&store, rb).await;
    let expired = claim(&store, "rb1").await;
    let released = claim(&store, "rb1").await;
    store
        .renew_leases("rb1", &[expired.job.id], Duration::ZERO)
        .await
        .unwrap();
    store.release_job(released.job.id, "rb1").await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    for orphan in [&expired, &released] {
        let canceled = store.cancel_job(orphan.job.id).await.unwrap();
        assert_eq!(canceled.status, JobStatus::Canceled, "{canceled:?}");
        assert!(canceled.ended_at.is_some());
        let read = store.job(orphan.job.id).await.unwrap();
        assert_eq!((read.status, read.claimed_by), (JobStatus::Canceled, None));
    }
    assert!(store.claim_job("rb2", LEASE, ALIVE).await.unwrap().is_none());
}

async fn racing_servers_take_each_job_once(store: Arc<dyn Store>) {
    const JOBS: usize = 200;
    let a = runbook(&store, "", "Race A", json!({ "concurrency": 1000 })).await;
    let b = runbook(&store, "", "Race B", json!({ "concurrency": 1000 })).await;
    let mut created = HashSet::new();
    for i in 0..JOBS {
        created.insert(job(&store, if i % 2 == 0 { a } else { b }).await.id);
    }
    let servers: Vec<_> = (0..4)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let server = format!("rb{n}");
                let mut taken = Vec::new();
                while let Some(claim) = store.claim_job(&server, LEASE, ALIVE).await.unwrap() {
                    store
                        .finish_job(claim.job.id, &server, JobStatus::Completed)
                        .await
                        .unwrap();
                    taken.push((claim.job.id, claim.instance_id));
                }
                taken
            })
        })
        .collect();
    let mut claimed = HashSet::new();
    let mut instances = HashSet::new();
    for server in servers {
        for (job, instance) in server.await.unwrap() {
            assert!(claimed.insert(job), "job {job} was claimed twice");
            assert!(instances.insert(instance));
        }
    }
    assert_eq!(claimed, created);
    let completed = JobFilter {
        status: Some(JobStatus::Completed),
        ..JobFilter::default()
    };
    assert_eq!(store.list_jobs(&completed).await.unwrap().len(), JOBS);
}

async fn concurrency_holds_while_servers_race(store: Arc<dyn Store>) {
    const JOBS: usize = 30;
    let rb = runbook(&store, "", "Two at a time", json!({ "concurrency": 2 })).await;
    for _ in 0..JOBS {
        job(&store, rb).await;
    }
    let held = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let servers: Vec<_> = (0..4)
        .map(|n| {
            let (store, held, most, done) = (store.clone(), held.clone(), most.clone(), done.clone());
            tokio::spawn(async move {
                let server = format!("rb{n}");
                let deadline = tokio::time::Instant::now() + crate::DEADLINE;
                while done.load(Ordering::SeqCst) < JOBS {
                    assert!(tokio::time::Instant::now() < deadline, "the jobs did not all run");
                    let Some(claim) = store.claim_job(&server, LEASE, ALIVE).await.unwrap() else {
                        tokio::task::yield_now().await;
                        continue;
                    };
                    // Counted up after the claim commits and down before the finish: never more
                    // than the database allows at once.
                    let now = held.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    held.fetch_sub(1, Ordering::SeqCst);
                    store
                        .finish_job(claim.job.id, &server, JobStatus::Completed)
                        .await
                        .unwrap();
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for server in servers {
        server.await.unwrap();
    }
    assert!(
        most.load(Ordering::SeqCst) <= 2,
        "{} jobs ran at once",
        most.load(Ordering::SeqCst)
    );
    assert_eq!(done.load(Ordering::SeqCst), JOBS);
}

async fn claim_jobs_fills_each_runbooks_free_slots_only(store: Arc<dyn Store>) {
    let two = runbook(&store, "", "Two at once", json!({ "concurrency": 2 })).await;
    let three = runbook(&store, "", "Three at once", json!({ "concurrency": 3 })).await;
    let mut twos = Vec::new();
    let mut threes = Vec::new();
    for _ in 0..4 {
        twos.push(job(&store, two).await.id);
        threes.push(job(&store, three).await.id);
    }
    // One already runs: one slot of "Two at once" is left.
    assert_eq!(claim(&store, "rb1").await.job.id, twos[0]);

    let taken: Vec<Uuid> = store
        .claim_jobs("rb2", LEASE, ALIVE, 50)
        .await
        .unwrap()
        .iter()
        .map(|c| c.job.id)
        .collect();
    // Oldest first across runbooks; each runbook up to its concurrency.
    assert_eq!(taken, [threes[0], twos[1], threes[1], threes[2]]);
    assert!(store.claim_jobs("rb2", LEASE, ALIVE, 50).await.unwrap().is_empty());

    // A freed slot is taken by the next claim, and only that one.
    store.finish_job(twos[0], "rb1", JobStatus::Completed).await.unwrap();
    store.finish_job(threes[1], "rb2", JobStatus::Failed).await.unwrap();
    let taken: Vec<Uuid> = store
        .claim_jobs("rb1", LEASE, ALIVE, 50)
        .await
        .unwrap()
        .iter()
        .map(|c| c.job.id)
        .collect();
    assert_eq!(taken, [twos[2], threes[3]]);
    let running = JobFilter {
        status: Some(JobStatus::Running),
        ..JobFilter::default()
    };
    let running = store.list_jobs(&running).await.unwrap();
    assert_eq!(running.iter().filter(|j| j.runbook_id == two).count(), 2);
    assert_eq!(running.iter().filter(|j| j.runbook_id == three).count(), 3);
}

async fn claim_jobs_takes_over_expired_leases_with_the_pending(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "Failing over", json!({ "concurrency": 2 })).await;
    let first = job(&store, rb).await;
    let lost = claim(&store, "rb1").await;
    assert_eq!(lost.job.id, first.id);
    let second = job(&store, rb).await;
    let third = job(&store, rb).await;
    store.renew_leases("rb1", &[first.id], Duration::ZERO).await.unwrap();
    // Let the lease lapse before claiming, so the claim sees the takeover and the pending jobs.
    tokio::time::sleep(Duration::from_millis(20)).await;

    let taken = store.claim_jobs("rb2", LEASE, ALIVE, 10).await.unwrap();
    // The takeover keeps its slot (and its instance); one slot is left for the pending jobs.
    let got: Vec<(Uuid, bool)> = taken.iter().map(|c| (c.job.id, c.resume)).collect();
    assert_eq!(got, [(first.id, true), (second.id, false)]);
    assert_eq!(taken[0].instance_id, lost.instance_id);
    assert_ne!(taken[1].instance_id, lost.instance_id);
    assert!(taken.iter().all(|c| c.job.claimed_by.as_deref() == Some("rb2")));
    assert!(store.claim_jobs("rb3", LEASE, ALIVE, 10).await.unwrap().is_empty());
    store.finish_job(second.id, "rb2", JobStatus::Completed).await.unwrap();
    let last = store.claim_jobs("rb3", LEASE, ALIVE, 10).await.unwrap();
    assert_eq!(last.iter().map(|c| c.job.id).collect::<Vec<_>>(), [third.id]);
}

async fn claim_jobs_honours_preferred_servers(store: Arc<dyn Store>) {
    for name in ["rb1", "rb2"] {
        register(&store, name).await;
    }
    let preferring = runbook(
        &store,
        "",
        "Preferring",
        json!({ "runbook_servers": ["rb1"], "concurrency": 5 }),
    )
    .await;
    let anywhere = runbook(&store, "", "Anywhere", json!({ "concurrency": 5 })).await;
    let p1 = job(&store, preferring).await;
    let a1 = job(&store, anywhere).await;
    let p2 = job(&store, preferring).await;
    let a2 = job(&store, anywhere).await;

    let ids = |claims: Vec<scorch_store::Claim>| claims.iter().map(|c| c.job.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.claim_jobs("rb2", LEASE, ALIVE, 10).await.unwrap()),
        [a1.id, a2.id]
    );
    assert_eq!(
        ids(store.claim_jobs("rb1", LEASE, ALIVE, 10).await.unwrap()),
        [p1.id, p2.id]
    );
}

async fn concurrency_holds_while_servers_race_claiming_many(store: Arc<dyn Store>) {
    const JOBS: usize = 40;
    let rb = runbook(&store, "", "Three at a time", json!({ "concurrency": 3 })).await;
    for _ in 0..JOBS {
        job(&store, rb).await;
    }
    let held = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let servers: Vec<_> = (0..4)
        .map(|n| {
            let (store, held, most, done) = (store.clone(), held.clone(), most.clone(), done.clone());
            tokio::spawn(async move {
                let server = format!("rb{n}");
                let deadline = tokio::time::Instant::now() + crate::DEADLINE;
                while done.load(Ordering::SeqCst) < JOBS {
                    assert!(tokio::time::Instant::now() < deadline, "the jobs did not all run");
                    let claims = store.claim_jobs(&server, LEASE, ALIVE, 5).await.unwrap();
                    if claims.is_empty() {
                        tokio::task::yield_now().await;
                        continue;
                    }
                    let now = held.fetch_add(claims.len(), Ordering::SeqCst) + claims.len();
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    held.fetch_sub(claims.len(), Ordering::SeqCst);
                    for claim in claims {
                        store
                            .finish_job(claim.job.id, &server, JobStatus::Completed)
                            .await
                            .unwrap();
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for server in servers {
        server.await.unwrap();
    }
    assert!(
        most.load(Ordering::SeqCst) <= 3,
        "{} jobs ran at once",
        most.load(Ordering::SeqCst)
    );
    assert_eq!(done.load(Ordering::SeqCst), JOBS);
}

/// A claim runs the version its job was created for, even when a newer one was saved since.
async fn a_claim_runs_the_jobs_version(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "Versions", json!({ "description": "one" })).await;
    let created = job(&store, rb).await;
    runbook(&store, "", "Versions", json!({ "description": "two" })).await;
    let claim = claim(&store, "rb1").await;
    assert_eq!((claim.job.id, claim.runbook.version), (created.id, 1));
    assert_eq!(claim.runbook.body.definition["description"], "one");
}
