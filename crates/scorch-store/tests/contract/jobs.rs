//! Jobs: creating, reading, listing with filters, cancelling in every state, and ending a job
//! only by the server that holds it.

use std::sync::Arc;

use scorch_store::{Change, IdMatch, JobCount, JobFilter, JobStatus, NewJob, Store, StoreError};
use serde_json::{Map, json};
use uuid::Uuid;

use crate::{claim, job, runbook};

crate::contract!(
    jobs_are_created_and_read,
    jobs_are_listed_newest_first_with_filters,
    cancel_in_every_state,
    only_the_holder_finishes_or_releases,
    awaited_jobs_are_created_and_made_durable,
    jobs_are_counted_by_status,
    jobs_are_found_by_id_fragments,
);

async fn jobs_are_created_and_read(store: Arc<dyn Store>) {
    let runbook_id = runbook(&store, "Ops", "Deploy", json!({})).await;
    runbook(&store, "Ops", "Deploy", json!({})).await;
    let mut parameters = Map::new();
    parameters.insert("Computer".into(), json!("web01"));
    parameters.insert("Count".into(), json!(3));
    let before = crate::now();
    let latest = store
        .create_job(NewJob {
            runbook_id,
            version: None,
            parameters: &parameters,
            created_by: "alice",
            parent_job: None,
            awaited: false,
        })
        .await
        .unwrap();
    assert_eq!(
        (latest.version, latest.status, latest.created_by.as_str()),
        (2, JobStatus::Pending, "alice")
    );
    assert_eq!(latest.parameters, parameters);
    assert_eq!(
        (
            latest.claimed_by.as_deref(),
            latest.instance_id,
            latest.cancel_requested
        ),
        (None, None, false)
    );
    assert_eq!((latest.ended_at, latest.parent_job), (None, None));
    assert!(latest.created_at >= before && latest.created_at <= crate::now());
    assert_eq!(store.job(latest.id).await.unwrap(), latest);

    let child = store
        .create_job(NewJob {
            runbook_id,
            version: Some(2),
            parameters: &Map::new(),
            created_by: "runbook-server",
            parent_job: Some(latest.id),
            awaited: false,
        })
        .await
        .unwrap();
    assert_eq!((child.version, child.parent_job), (2, Some(latest.id)));
    assert_eq!(store.job(child.id).await.unwrap(), child);

    // Parameters checked against a version that is no longer the latest: refused, nothing stored.
    let stale = store
        .create_job(NewJob {
            runbook_id,
            version: Some(1),
            parameters: &Map::new(),
            created_by: "alice",
            parent_job: None,
            awaited: false,
        })
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    let all = store.list_jobs(&JobFilter::default()).await.unwrap();
    assert_eq!(all.len(), 2, "{all:?}");

    let unknown = store
        .create_job(NewJob {
            runbook_id: Uuid::new_v4(),
            version: None,
            parameters: &Map::new(),
            created_by: "alice",
            parent_job: None,
            awaited: false,
        })
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound(_))), "{unknown:?}");
    let no_version = store
        .create_job(NewJob {
            runbook_id,
            version: Some(7),
            parameters: &Map::new(),
            created_by: "alice",
            parent_job: None,
            awaited: false,
        })
        .await;
    assert!(matches!(no_version, Err(StoreError::NotFound(_))), "{no_version:?}");
    assert!(matches!(store.job(Uuid::new_v4()).await, Err(StoreError::NotFound(_))));
}

/// A job created for a caller that waits for its end is a job like any other (read, announced,
/// claimed); `make_job_durable` answers for it and for any other job, and refuses an unknown one.
async fn awaited_jobs_are_created_and_made_durable(store: Arc<dyn Store>) {
    let runbook_id = runbook(&store, "Ops", "Deploy", json!({})).await;
    let mut changes = store.subscribe_jobs();
    let parameters = Map::new();
    let new = |awaited| NewJob {
        runbook_id,
        version: None,
        parameters: &parameters,
        created_by: "alice",
        parent_job: None,
        awaited,
    };
    let awaited = store.create_job(new(true)).await.unwrap();
    let plain = store.create_job(new(false)).await.unwrap();
    assert_eq!(store.job(awaited.id).await.unwrap(), awaited);
    let announced = tokio::time::timeout(crate::DEADLINE, changes.recv())
        .await
        .expect("a job change")
        .expect("the change stream");
    let pending = Change::Job {
        id: awaited.id,
        runbook_id,
        status: JobStatus::Pending,
    };
    assert_eq!(announced, pending);
    store.make_job_durable(awaited.id).await.unwrap();
    store.make_job_durable(plain.id).await.unwrap();
    assert_eq!(store.job(awaited.id).await.unwrap(), awaited, "unchanged by it");
    let unknown = store.make_job_durable(Uuid::now_v7()).await;
    assert!(matches!(unknown, Err(StoreError::NotFound(_))), "{unknown:?}");
    let claimed = claim(&store, "rb1").await;
    assert_eq!(claimed.job.id, awaited.id, "claimed in queue order");
}

async fn jobs_are_listed_newest_first_with_filters(store: Arc<dyn Store>) {
    let a = runbook(&store, "", "A", json!({ "concurrency": 10 })).await;
    let b = runbook(&store, "", "B", json!({})).await;
    let a1 = job(&store, a).await;
    let b1 = job(&store, b).await;
    let a2 = job(&store, a).await;
    let a3 = job(&store, a).await;
    let ids = |jobs: Vec<scorch_store::Job>| jobs.into_iter().map(|j| j.id).collect::<Vec<_>>();

    assert_eq!(
        ids(store.list_jobs(&JobFilter::default()).await.unwrap()),
        [a3.id, a2.id, b1.id, a1.id]
    );
    let of_a = JobFilter {
        runbook_id: Some(a),
        ..JobFilter::default()
    };
    assert_eq!(ids(store.list_jobs(&of_a).await.unwrap()), [a3.id, a2.id, a1.id]);
    // What a caller may see: a set of runbooks, filtered in the query (pages count only those).
    let seen = |runbooks: Vec<Uuid>, limit| JobFilter {
        runbooks: Some(runbooks),
        limit,
        ..JobFilter::default()
    };
    assert_eq!(ids(store.list_jobs(&seen(vec![b], 0)).await.unwrap()), [b1.id]);
    assert_eq!(
        ids(store.list_jobs(&seen(vec![a, b], 2)).await.unwrap()),
        [a3.id, a2.id]
    );
    assert!(store.list_jobs(&seen(Vec::new(), 0)).await.unwrap().is_empty());
    let page = JobFilter {
        limit: 2,
        offset: 1,
        ..JobFilter::default()
    };
    assert_eq!(ids(store.list_jobs(&page).await.unwrap()), [a2.id, b1.id]);

    let taken = claim(&store, "rb1").await;
    assert_eq!(taken.job.id, a1.id);
    let running = JobFilter {
        status: Some(JobStatus::Running),
        ..JobFilter::default()
    };
    assert_eq!(ids(store.list_jobs(&running).await.unwrap()), [a1.id]);
    let pending_a = JobFilter {
        runbook_id: Some(a),
        status: Some(JobStatus::Pending),
        ..JobFilter::default()
    };
    assert_eq!(ids(store.list_jobs(&pending_a).await.unwrap()), [a3.id, a2.id]);

    // since is inclusive, until exclusive, both on the creation time.
    let window = JobFilter {
        since: Some(b1.created_at),
        until: Some(a3.created_at),
        ..JobFilter::default()
    };
    assert_eq!(ids(store.list_jobs(&window).await.unwrap()), [a2.id, b1.id]);
    let future = JobFilter {
        since: Some(crate::now() + jiff::SignedDuration::from_secs(3600)),
        ..JobFilter::default()
    };
    assert!(store.list_jobs(&future).await.unwrap().is_empty());
}

async fn cancel_in_every_state(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "Cancel", json!({ "concurrency": 10 })).await;
    let running = job(&store, rb).await;
    let completed = job(&store, rb).await;
    let failed = job(&store, rb).await;
    let held_elsewhere = job(&store, rb).await;
    let pending = job(&store, rb).await;
    for expected in [running.id, completed.id, failed.id] {
        assert_eq!(claim(&store, "rb1").await.job.id, expected);
    }
    assert_eq!(claim(&store, "rb2").await.job.id, held_elsewhere.id);

    // Pending: canceled at once.
    let canceled = store.cancel_job(pending.id).await.unwrap();
    assert_eq!(
        (canceled.status, canceled.cancel_requested),
        (JobStatus::Canceled, false)
    );
    assert!(canceled.ended_at.is_some());
    assert_eq!(store.job(pending.id).await.unwrap(), canceled);
    let again = store.cancel_job(pending.id).await;
    assert!(
        matches!(&again, Err(StoreError::Conflict(m)) if m.contains("cannot change the job status")),
        "{again:?}"
    );
    assert_eq!(
        store
            .claim_job("rb3", crate::LEASE, crate::ALIVE)
            .await
            .unwrap()
            .map(|c| c.job.id),
        None
    );

    // Running: flagged for its server, which hears of it when it renews its leases.
    assert!(
        store
            .renew_leases("rb1", &[running.id], crate::LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    let flagged = store.cancel_job(running.id).await.unwrap();
    assert_eq!((flagged.status, flagged.cancel_requested), (JobStatus::Running, true));
    assert_eq!(flagged.claimed_by.as_deref(), Some("rb1"));
    assert_eq!(
        store.renew_leases("rb1", &[running.id], crate::LEASE).await.unwrap(),
        [running.id]
    );
    assert!(
        store
            .renew_leases("rb2", &[running.id], crate::LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    // Asking twice is fine while it runs.
    assert!(store.cancel_job(running.id).await.unwrap().cancel_requested);
    store.finish_job(running.id, "rb1", JobStatus::Canceled).await.unwrap();
    let ended = store.job(running.id).await.unwrap();
    assert_eq!(ended.status, JobStatus::Canceled);
    assert!(ended.ended_at.is_some());
    assert!(
        store
            .renew_leases("rb1", &[running.id], crate::LEASE)
            .await
            .unwrap()
            .is_empty()
    );

    // Finished: a conflict, whatever the outcome.
    store
        .finish_job(completed.id, "rb1", JobStatus::Completed)
        .await
        .unwrap();
    store.finish_job(failed.id, "rb1", JobStatus::Failed).await.unwrap();
    for (id, status) in [
        (completed.id, "completed"),
        (failed.id, "failed"),
        (running.id, "canceled"),
    ] {
        let refused = store.cancel_job(id).await;
        assert!(
            matches!(&refused, Err(StoreError::Conflict(m)) if m.contains(status)),
            "{refused:?}"
        );
    }
    assert_eq!(store.job(completed.id).await.unwrap().status, JobStatus::Completed);
    assert!(matches!(
        store.cancel_job(Uuid::new_v4()).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn only_the_holder_finishes_or_releases(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "Held", json!({})).await;
    let pending = job(&store, rb).await;
    // Nobody holds a pending job.
    let unclaimed = store.finish_job(pending.id, "rb1", JobStatus::Completed).await;
    assert!(
        matches!(&unclaimed, Err(StoreError::Conflict(m)) if m.contains("pending")),
        "{unclaimed:?}"
    );
    let taken = claim(&store, "rb1").await;
    assert_eq!(taken.job.id, pending.id);

    for refused in [
        store.finish_job(pending.id, "rb2", JobStatus::Completed).await,
        store.release_job(pending.id, "rb2").await,
    ] {
        assert!(
            matches!(&refused, Err(StoreError::Conflict(m)) if m.contains("rb1")),
            "{refused:?}"
        );
    }
    let not_an_end = store.finish_job(pending.id, "rb1", JobStatus::Running).await;
    assert!(matches!(not_an_end, Err(StoreError::Invalid(_))), "{not_an_end:?}");
    assert_eq!(store.job(pending.id).await.unwrap().status, JobStatus::Running);

    // A graceful hand-back: claimable at once by another server, which continues the instance.
    store.release_job(pending.id, "rb1").await.unwrap();
    let released = store.job(pending.id).await.unwrap();
    assert_eq!((released.status, released.claimed_by), (JobStatus::Running, None));
    let refused = store.finish_job(pending.id, "rb1", JobStatus::Completed).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    let twice = store.release_job(pending.id, "rb1").await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
    let resumed = claim(&store, "rb2").await;
    assert_eq!(
        (resumed.job.id, resumed.resume, resumed.instance_id),
        (pending.id, true, taken.instance_id)
    );
    assert_eq!(resumed.job.claimed_by.as_deref(), Some("rb2"));

    store.finish_job(pending.id, "rb2", JobStatus::Completed).await.unwrap();
    let done = store.job(pending.id).await.unwrap();
    assert_eq!(done.status, JobStatus::Completed);
    assert!(done.ended_at.is_some());
    let twice = store.finish_job(pending.id, "rb2", JobStatus::Completed).await;
    assert!(
        matches!(&twice, Err(StoreError::Conflict(m)) if m.contains("completed")),
        "{twice:?}"
    );
    let missing = store.finish_job(Uuid::new_v4(), "rb2", JobStatus::Completed).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");
    let missing = store.release_job(Uuid::new_v4(), "rb2").await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");
}

/// What metrics read on each scrape: jobs per status, each with its oldest creation time.
async fn jobs_are_counted_by_status(store: Arc<dyn Store>) {
    assert_eq!(store.job_counts().await.unwrap(), Vec::new(), "no job, no status");
    let runbook_id = runbook(&store, "Ops", "Deploy", json!({})).await;
    let claimed = job(&store, runbook_id).await;
    let second = job(&store, runbook_id).await;
    let third = job(&store, runbook_id).await;
    assert_eq!(
        claim(&store, "rb1").await.job.id,
        claimed.id,
        "the oldest is claimed first"
    );
    store.cancel_job(third.id).await.unwrap();
    let mut counts = store.job_counts().await.unwrap();
    counts.sort_by_key(|c| c.status.as_str());
    assert_eq!(
        counts,
        [
            JobCount {
                status: JobStatus::Canceled,
                jobs: 1,
                oldest_created_at: third.created_at
            },
            JobCount {
                status: JobStatus::Pending,
                jobs: 1,
                oldest_created_at: second.created_at
            },
            JobCount {
                status: JobStatus::Running,
                jobs: 1,
                oldest_created_at: claimed.created_at
            },
        ]
    );
}

/// What `IdMatch` finds: a full id, the last 8 hex digits (the console's), a prefix; bounded by the
/// filter's limit and the runbooks the caller may see.
async fn jobs_are_found_by_id_fragments(store: Arc<dyn Store>) {
    let a = runbook(&store, "", "A", json!({ "concurrency": 10 })).await;
    let b = runbook(&store, "", "B", json!({})).await;
    let (a1, a2, b1) = (job(&store, a).await, job(&store, a).await, job(&store, b).await);
    let found = |text: &str, runbooks: Option<Vec<Uuid>>, limit: u32| {
        let filter = JobFilter {
            id: Some(IdMatch::parse(text).expect("a fragment")),
            runbooks,
            limit,
            ..JobFilter::default()
        };
        let store = store.clone();
        async move {
            store
                .list_jobs(&filter)
                .await
                .unwrap()
                .into_iter()
                .map(|j| j.id)
                .collect::<Vec<_>>()
        }
    };
    for j in [&a1, &a2, &b1] {
        assert_eq!(found(&j.id.to_string(), None, 0).await, [j.id]);
        assert_eq!(found(&crate::tail(j.id), None, 0).await, [j.id], "the last 8 digits");
        let prefix = &j.id.simple().to_string()[..28];
        assert_eq!(found(prefix, None, 0).await, [j.id], "a prefix");
    }
    // Jobs made together share their first digits (UUID v7's timestamp, and in one millisecond its
    // counter up to about the 24th digit): all match, newest first, as many as the limit asks.
    let shared = &a1.id.simple().to_string()[..4];
    assert_eq!(found(shared, None, 0).await, [b1.id, a2.id, a1.id]);
    assert_eq!(found(shared, None, 2).await, [b1.id, a2.id]);
    assert_eq!(
        found(shared, Some(vec![a]), 0).await,
        [a2.id, a1.id],
        "only what the caller sees"
    );
    let mut other = *a1.id.as_bytes();
    other[15] ^= 0xff;
    assert!(found(&crate::tail(Uuid::from_bytes(other)), None, 0).await.is_empty());
}
