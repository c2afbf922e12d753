//! The operations of a job's path that backends may do in one round trip or one commit: claiming
//! several jobs, creating a job with its audit record, ending an instance with its job, reading a
//! job with its outcome; and runbook reads that stay current while versions are cached.

use std::collections::HashSet;
use std::sync::Arc;

use scorch_engine::{InstanceEnd, InstanceStatus};
use scorch_store::{Change, JobStatus, NewAudit, NewJob, SaveRunbook, Store, StoreError};
use serde_json::{Map, json};
use uuid::Uuid;

use crate::{ALIVE, LEASE, claim, definition, finished_run, instance_start, job, now, runbook};

crate::contract!(
    claim_jobs_takes_up_to_max_oldest_first_within_concurrency,
    a_job_is_created_with_its_audit_record,
    a_job_result_carries_the_instance_once_the_job_has_ended,
    an_instance_ends_even_when_its_job_is_held_elsewhere,
    runbook_reads_follow_moves_and_new_versions,
    concurrent_starts_each_get_their_job_and_audit_record,
    a_job_of_a_missing_runbook_is_not_created_nor_audited,
    job_subscribers_see_a_job_from_start_to_end,
    a_job_result_of_an_unknown_job_is_not_found,
    concurrent_job_results_each_get_their_own,
    an_instance_keeps_why_it_failed_outside_its_activities,
);

/// Why an instance failed where no activity run shows it is kept with the instance, and read
/// back with it and with its job's result: for an instance ended in the commit that starts it,
/// and for one started before.
async fn an_instance_keeps_why_it_failed_outside_its_activities(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "Problems", json!({ "concurrency": 2 })).await;
    let problems = vec!["link src -> gated: cannot order 'apple' and '5'".to_string()];
    for started_before in [false, true] {
        job(&store, rb).await;
        let claimed = claim(&store, "rb1").await;
        let journal = store.journal();
        journal
            .instance_started(&instance_start(&claimed, "rb1"))
            .await
            .unwrap();
        if started_before {
            journal
                .run_finished(&finished_run(claimed.instance_id, 0))
                .await
                .unwrap();
        }
        let end = InstanceEnd {
            instance_id: claimed.instance_id,
            status: InstanceStatus::Failed,
            returns: Map::new(),
            ended_at: now(),
            problems: problems.clone(),
        };
        store
            .finish_instance_and_job(&end, claimed.job.id, "rb1", JobStatus::Failed)
            .await
            .unwrap();
        let instance = store.instance(claimed.instance_id).await.unwrap();
        assert_eq!(
            (instance.status, &instance.problems),
            (InstanceStatus::Failed, &problems)
        );
        let result = store.job_result(claimed.job.id).await.unwrap();
        assert_eq!(result.instance.map(|i| i.problems), Some(problems.clone()));
    }
    // None: nothing kept.
    job(&store, rb).await;
    let claimed = claim(&store, "rb1").await;
    let start = instance_start(&claimed, "rb1");
    store.journal().instance_started(&start).await.unwrap();
    crate::complete(&store, &claimed, "rb1", InstanceStatus::Success).await;
    assert!(store.instance(claimed.instance_id).await.unwrap().problems.is_empty());
}

async fn claim_jobs_takes_up_to_max_oldest_first_within_concurrency(store: Arc<dyn Store>) {
    let one = runbook(&store, "", "One at once", json!({})).await;
    let many = runbook(&store, "", "Many at once", json!({ "concurrency": 10 })).await;
    let o1 = job(&store, one).await;
    let _o2 = job(&store, one).await;
    let m1 = job(&store, many).await;
    let m2 = job(&store, many).await;
    let m3 = job(&store, many).await;

    let taken = store.claim_jobs("rb1", LEASE, ALIVE, 3).await.unwrap();
    let ids: Vec<_> = taken.iter().map(|c| c.job.id).collect();
    // o2 waits for its runbook; the limit leaves m3.
    assert_eq!(ids, [o1.id, m1.id, m2.id]);
    assert!(
        taken
            .iter()
            .all(|c| !c.resume && c.job.claimed_by.as_deref() == Some("rb1"))
    );
    assert_eq!(taken[1].runbook.name, "Many at once");

    let rest = store.claim_jobs("rb1", LEASE, ALIVE, 10).await.unwrap();
    assert_eq!(rest.iter().map(|c| c.job.id).collect::<Vec<_>>(), [m3.id]);
    assert!(store.claim_jobs("rb1", LEASE, ALIVE, 10).await.unwrap().is_empty());
}

async fn a_job_is_created_with_its_audit_record(store: Arc<dyn Store>) {
    let runbook_id = runbook(&store, "Ops", "Audited", json!({})).await;
    let (parameters, detail) = (Map::new(), json!({ "runbook": "Ops/Audited" }));
    let new = NewJob {
        runbook_id,
        version: None,
        parameters: &parameters,
        created_by: "alice",
        parent_job: None,
        awaited: false,
    };
    let entry = NewAudit {
        actor: "alice",
        action: "job.start",
        object_type: "job",
        object_id: None,
        detail: &detail,
    };
    let (created, audited) = store.create_job_audited(new, entry).await.unwrap();
    audited.unwrap();
    assert_eq!((created.status, created.version), (JobStatus::Pending, 1));
    assert_eq!(store.job(created.id).await.unwrap(), created);
    let logged = &store.audit_log(1, 0).await.unwrap()[0];
    assert_eq!(
        (logged.action.as_str(), logged.actor.as_str(), logged.object_id),
        ("job.start", "alice", Some(created.id))
    );
    assert_eq!(logged.detail, detail);
}

async fn a_job_result_carries_the_instance_once_the_job_has_ended(store: Arc<dyn Store>) {
    let runbook_id = runbook(&store, "", "Result", json!({})).await;
    let pending = job(&store, runbook_id).await;
    let result = store.job_result(pending.id).await.unwrap();
    assert_eq!(result.job, pending);
    assert!(result.instance.is_none() && result.runs.is_empty());

    let claim = claim(&store, "rb1").await;
    let journal = store.journal();
    journal.instance_started(&instance_start(&claim, "rb1")).await.unwrap();
    journal.run_finished(&finished_run(claim.instance_id, 0)).await.unwrap();
    // Running: the instance is not read yet.
    assert!(store.job_result(claim.job.id).await.unwrap().instance.is_none());

    let mut returns = Map::new();
    returns.insert("Result".into(), json!(true));
    let end = InstanceEnd {
        instance_id: claim.instance_id,
        status: InstanceStatus::Success,
        returns: returns.clone(),
        ended_at: now(),
        problems: Vec::new(),
    };
    store
        .finish_instance_and_job(&end, claim.job.id, "rb1", JobStatus::Completed)
        .await
        .unwrap();
    let result = store.job_result(claim.job.id).await.unwrap();
    assert_eq!(result.job.status, JobStatus::Completed);
    let instance = result.instance.expect("the instance");
    assert_eq!(
        (instance.id, instance.status),
        (claim.instance_id, InstanceStatus::Success)
    );
    assert_eq!((instance.returns, instance.ended_at), (returns, Some(end.ended_at)));
    let written = finished_run(claim.instance_id, 0);
    let runs: Vec<_> = result
        .runs
        .iter()
        .map(|r| (r.seq, r.key, r.state, r.rows.clone()))
        .collect();
    assert_eq!(runs, [(written.seq, written.key, written.state, written.rows)]);
}

async fn an_instance_ends_even_when_its_job_is_held_elsewhere(store: Arc<dyn Store>) {
    let runbook_id = runbook(&store, "", "Held", json!({})).await;
    job(&store, runbook_id).await;
    let claim = claim(&store, "rb1").await;
    store
        .journal()
        .instance_started(&instance_start(&claim, "rb1"))
        .await
        .unwrap();
    let end = InstanceEnd {
        instance_id: claim.instance_id,
        status: InstanceStatus::Failed,
        returns: Map::new(),
        ended_at: now(),
        problems: Vec::new(),
    };
    let ended = store
        .finish_instance_and_job(&end, claim.job.id, "rb2", JobStatus::Failed)
        .await;
    assert!(matches!(ended, Err(StoreError::Conflict(_))), "{ended:?}");
    assert_eq!(
        store.instance(claim.instance_id).await.unwrap().status,
        InstanceStatus::Failed
    );
    let held = store.job(claim.job.id).await.unwrap();
    assert_eq!(
        (held.status, held.claimed_by.as_deref()),
        (JobStatus::Running, Some("rb1"))
    );
}

async fn runbook_reads_follow_moves_and_new_versions(store: Arc<dyn Store>) {
    let id = runbook(&store, "Old", "Moving", json!({ "description": "first" })).await;
    let first = store.runbook(id, Some(1)).await.unwrap();
    assert_eq!((first.folder.as_str(), first.latest_version), ("Old", 1));

    let definition = definition("Moving", json!({ "description": "second" }));
    store
        .save_runbook(SaveRunbook {
            id: Some(id),
            folder: "New",
            name: "Moved",
            definition: &definition,
            source: "format: 1\n",
            parameters: Vec::new(),
            activities: Vec::new(),
            author: "tester",
        })
        .await
        .unwrap();
    // Version 1 is what it was, in the runbook as it is now.
    let again = store.runbook(id, Some(1)).await.unwrap();
    assert_eq!(
        (again.folder.as_str(), again.name.as_str(), again.latest_version),
        ("New", "Moved", 2)
    );
    assert_eq!(
        (&again.body.definition, &again.body.parameters),
        (&first.body.definition, &first.body.parameters)
    );
    let latest = store.runbook_by_path("New", "Moved").await.unwrap();
    assert_eq!((latest.version, &latest.body.definition), (2, &definition));
    assert!(latest.body.parameters.is_empty());
    assert!(matches!(store.runbook(id, Some(3)).await, Err(StoreError::NotFound(_))));
}

/// Starts at once are written together where the backend groups commits: each still gets its own
/// job and its own audit record.
async fn concurrent_starts_each_get_their_job_and_audit_record(store: Arc<dyn Store>) {
    const STARTS: usize = 40;
    let runbook_id = runbook(&store, "Ops", "Busy", json!({ "concurrency": 100 })).await;
    let starts: Vec<_> = (0..STARTS)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut parameters = Map::new();
                parameters.insert("Computer".into(), json!(format!("web{n:02}")));
                let (detail, actor) = (json!({ "n": n }), format!("user{n:02}"));
                let new = NewJob {
                    runbook_id,
                    version: Some(1),
                    parameters: &parameters,
                    created_by: &actor,
                    parent_job: None,
                    awaited: false,
                };
                let entry = NewAudit {
                    actor: &actor,
                    action: "job.start",
                    object_type: "job",
                    object_id: None,
                    detail: &detail,
                };
                let (job, audited) = store.create_job_audited(new, entry).await.unwrap();
                audited.unwrap();
                assert_eq!(job.parameters, parameters);
                (job, actor)
            })
        })
        .collect();
    let mut created = Vec::new();
    for start in starts {
        created.push(start.await.unwrap());
    }
    let ids: HashSet<Uuid> = created.iter().map(|(job, _)| job.id).collect();
    assert_eq!(ids.len(), STARTS);
    for (job, actor) in &created {
        let stored = store.job(job.id).await.unwrap();
        assert_eq!(&stored, job);
        assert_eq!((&stored.created_by, stored.status), (actor, JobStatus::Pending));
    }
    let log = store.audit_log(0, 0).await.unwrap();
    let audited: HashSet<(Option<Uuid>, String)> = log
        .iter()
        .filter(|e| e.action == "job.start")
        .map(|e| (e.object_id, e.actor.clone()))
        .collect();
    let expected: HashSet<(Option<Uuid>, String)> = created
        .iter()
        .map(|(job, actor)| (Some(job.id), actor.clone()))
        .collect();
    assert_eq!(audited, expected);
}

async fn a_job_of_a_missing_runbook_is_not_created_nor_audited(store: Arc<dyn Store>) {
    let runbook_id = runbook(&store, "", "Present", json!({})).await;
    let (parameters, detail) = (Map::new(), json!({}));
    let entry = || NewAudit {
        actor: "alice",
        action: "job.start",
        object_type: "job",
        object_id: None,
        detail: &detail,
    };
    let new = |runbook_id, version| NewJob {
        runbook_id,
        version,
        parameters: &parameters,
        created_by: "alice",
        parent_job: None,
        awaited: false,
    };
    let missing = store.create_job_audited(new(Uuid::now_v7(), None), entry()).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");
    let no_version = store.create_job_audited(new(runbook_id, Some(7)), entry()).await;
    assert!(matches!(no_version, Err(StoreError::NotFound(_))), "{no_version:?}");
    assert!(store.list_jobs(&Default::default()).await.unwrap().is_empty());
    assert!(
        store
            .audit_log(0, 0)
            .await
            .unwrap()
            .iter()
            .all(|e| e.action != "job.start")
    );
}

/// A job-only subscriber sees the job's changes in order, and an instance's end is announced
/// before its job's.
async fn job_subscribers_see_a_job_from_start_to_end(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "Followed", json!({})).await;
    let mut jobs = store.subscribe_jobs();
    let mut all = store.subscribe();
    let created = job(&store, rb).await;
    let claim = store
        .claim_jobs("rb1", LEASE, ALIVE, 4)
        .await
        .unwrap()
        .pop()
        .expect("a claim");
    let journal = store.journal();
    journal.instance_started(&instance_start(&claim, "rb1")).await.unwrap();
    journal.run_finished(&finished_run(claim.instance_id, 0)).await.unwrap();
    crate::complete(&store, &claim, "rb1", InstanceStatus::Warning).await;

    let job = |status| Change::Job {
        id: created.id,
        runbook_id: rb,
        status,
    };
    let mut seen = Vec::new();
    while seen.last() != Some(&job(JobStatus::Completed)) {
        let change = tokio::time::timeout(crate::DEADLINE, jobs.recv())
            .await
            .expect("a job change")
            .expect("the change stream");
        match change {
            Change::Job { id, .. } if id == created.id => seen.push(change),
            // Other jobs' changes, and (where the backend sends them) other kinds.
            _ => {}
        }
    }
    assert_eq!(
        seen,
        [
            job(JobStatus::Pending),
            job(JobStatus::Running),
            job(JobStatus::Completed)
        ]
    );
    let followed = crate::changes::follow(&mut all, created.id, &job(JobStatus::Completed)).await;
    let ended = Change::Instance {
        id: claim.instance_id,
        job_id: created.id,
        status: InstanceStatus::Warning,
    };
    assert_eq!(&followed[followed.len() - 2..], [ended, job(JobStatus::Completed)]);
}

async fn a_job_result_of_an_unknown_job_is_not_found(store: Arc<dyn Store>) {
    let missing = store.job_result(Uuid::now_v7()).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");
}

/// Many results read at once (a store may read them together) each come back as their job's:
/// ended ones with their instance and runs, running ones without, an unknown one not found.
async fn concurrent_job_results_each_get_their_own(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "Many results", json!({ "concurrency": 100 })).await;
    let mut made = Vec::new();
    for n in 0..12_u64 {
        let created = job(&store, rb).await;
        let claim = claim(&store, "rb1").await;
        assert_eq!(claim.job.id, created.id);
        let journal = store.journal();
        journal.instance_started(&instance_start(&claim, "rb1")).await.unwrap();
        for seq in 0..n % 4 {
            journal
                .run_finished(&finished_run(claim.instance_id, seq))
                .await
                .unwrap();
        }
        let ended = n % 2 == 0;
        if ended {
            crate::complete(&store, &claim, "rb1", InstanceStatus::Success).await;
        }
        made.push((created.id, ended, (n % 4) as usize));
    }
    let unknown = Uuid::now_v7();
    let reads = futures_util::future::join_all(
        made.iter()
            .map(|(id, ..)| *id)
            .chain([unknown])
            .map(|id| store.job_result(id)),
    )
    .await;
    for ((id, ended, runs), read) in made.iter().zip(&reads) {
        let read = read.as_ref().unwrap();
        assert_eq!(read.job.id, *id);
        assert_eq!(read.instance.is_some(), *ended, "{id}");
        assert_eq!(read.runs.len(), if *ended { *runs } else { 0 }, "{id}");
    }
    assert!(
        matches!(reads.last(), Some(Err(StoreError::NotFound(_)))),
        "{:?}",
        reads.last()
    );
}
