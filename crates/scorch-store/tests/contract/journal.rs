//! The engine's journal: records round-trip exactly, runs come back in seq order for a resume,
//! records of unknown instances are refused alone, and instances can be listed with filters.

use std::sync::Arc;

use jiff::SignedDuration;
use scorch_activity::{ErrorKind, Row, Status};
use scorch_engine::{InstanceEnd, InstanceStart, InstanceStatus, JournalError, RunState};
use scorch_store::{FailedRun, IdMatch, InstanceFilter, Store, StoreError};
use serde_json::{Map, json};
use uuid::Uuid;

use crate::{claim, finished_run, instance_start, job, now, runbook};

crate::contract!(
    records_round_trip_in_seq_order,
    a_resume_reads_what_was_committed,
    idempotent_finishes_read_back_like_the_others,
    unknown_instances_are_refused_alone,
    many_instances_journal_at_once,
    instances_are_listed_with_filters,
    an_instance_without_its_job_is_refused_clearly,
    failed_runs_name_each_instances_last_failure,
);

async fn records_round_trip_in_seq_order(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "Journal", json!({})).await;
    job(&store, rb).await;
    let claim = claim(&store, "rb1").await;
    let journal = store.journal();
    let start = instance_start(&claim, "rb1");
    journal.instance_started(&start).await.unwrap();

    let mut started = finished_run(claim.instance_id, 0);
    started.state = RunState::Running;
    started.ended_at = None;
    started.rows = Arc::new(Vec::new());
    journal.run_started(&started).await.unwrap();
    let first = finished_run(claim.instance_id, 0);
    journal.run_finished(&first).await.unwrap();
    // Out of order, and every field at an edge: the full u64 key, a warning with an error, the
    // name the same as the id, no rows, truncation, a second attempt.
    let mut third = finished_run(claim.instance_id, 2);
    third.key = u64::MAX;
    third.state = RunState::Finished(Status::Warning);
    third.error = "disk almost full".into();
    third.activity_name = third.activity_id.clone();
    third.rows = Arc::new(Vec::new());
    third.attempt = 2;
    third.truncated = true;
    journal.run_finished(&third).await.unwrap();
    let mut second = finished_run(claim.instance_id, 1);
    second.state = RunState::Finished(Status::Failed);
    second.error = "exit code 3".into();
    second.error_kind = Some(ErrorKind::Transient);
    let mut nested = Row::new();
    nested.insert("List".into(), json!([1, "two", { "three": null }]));
    nested.insert("Ünïcode".into(), json!("✓ \u{0} end"));
    second.rows = Arc::new(vec![nested.clone(), nested]);
    journal.run_finished(&second).await.unwrap();

    let expected = vec![first, second, third];
    assert_eq!(journal.runs(claim.instance_id).await.unwrap(), expected);
    assert_eq!(store.activity_runs(claim.instance_id).await.unwrap(), expected);

    let running = store.instance(claim.instance_id).await.unwrap();
    assert_eq!((running.status, running.ended_at), (InstanceStatus::Running, None));
    assert_eq!(
        (running.job_id, running.runbook_id, running.server.as_str()),
        (claim.job.id, rb, "rb1")
    );
    assert_eq!(
        (running.parameters.clone(), running.started_at),
        (start.parameters.clone(), start.started_at)
    );
    assert!(running.returns.is_empty());

    let mut returns = Map::new();
    returns.insert("Archived".into(), json!(12));
    let ended_at = now();
    journal
        .instance_finished(&InstanceEnd {
            instance_id: claim.instance_id,
            status: InstanceStatus::Warning,
            returns: returns.clone(),
            ended_at,
            problems: Vec::new(),
        })
        .await
        .unwrap();
    let ended = store.instance(claim.instance_id).await.unwrap();
    assert_eq!(
        (ended.status, ended.returns, ended.ended_at),
        (InstanceStatus::Warning, returns, Some(ended_at))
    );
}

/// The finish of an idempotent run (which a store may acknowledge before it is durable, or even
/// written) is written and read back like any other record once a later awaited record is
/// acknowledged, alone, batched with durable records of the same instance, and followed by the
/// instance's end; one of an unknown instance is refused alone, at once or at that instance's next
/// record.
async fn idempotent_finishes_read_back_like_the_others(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "Idempotent", json!({})).await;
    job(&store, rb).await;
    let claim = claim(&store, "rb1").await;
    let journal = store.journal();
    journal.instance_started(&instance_start(&claim, "rb1")).await.unwrap();
    let first = finished_run(claim.instance_id, 0);
    journal.idempotent_run_finished(&first).await.unwrap();
    let mut started = finished_run(claim.instance_id, 1);
    started.state = RunState::Running;
    started.ended_at = None;
    started.rows = Arc::new(Vec::new());
    journal.run_started(&started).await.unwrap();
    assert_eq!(
        journal.runs(claim.instance_id).await.unwrap(),
        vec![first.clone(), started]
    );

    // Durable and idempotent finishes at once (one batch, as a rule), and a stray one refused.
    let second = finished_run(claim.instance_id, 1);
    let mut third = finished_run(claim.instance_id, 2);
    third.state = RunState::Finished(Status::Failed);
    third.error = "no such key".into();
    let fourth = finished_run(claim.instance_id, 3);
    let stray = Uuid::now_v7();
    let lost = finished_run(stray, 0);
    let (a, b, c, d) = tokio::join!(
        journal.run_finished(&second),
        journal.idempotent_run_finished(&third),
        journal.idempotent_run_finished(&fourth),
        journal.idempotent_run_finished(&lost),
    );
    assert_eq!((a, b, c), (Ok(()), Ok(()), Ok(())));
    let stray_end = InstanceEnd {
        instance_id: stray,
        status: InstanceStatus::Success,
        returns: Map::new(),
        ended_at: now(),
        problems: Vec::new(),
    };
    // Also the barrier: acknowledged after every record queued before it.
    let next = journal.instance_finished(&stray_end).await;
    assert!(matches!(d, Ok(()) | Err(JournalError::NotFound(_))), "{d:?}");
    assert!(next.is_err(), "the stray instance's end was accepted");

    let expected = vec![first, second, third, fourth];
    assert_eq!(journal.runs(claim.instance_id).await.unwrap(), expected);
    assert_eq!(store.activity_runs(claim.instance_id).await.unwrap(), expected);
    let end = InstanceEnd {
        instance_id: claim.instance_id,
        status: InstanceStatus::Success,
        returns: Map::new(),
        ended_at: now(),
        problems: Vec::new(),
    };
    journal.instance_finished(&end).await.unwrap();
    assert_eq!(
        store.instance(claim.instance_id).await.unwrap().status,
        InstanceStatus::Success
    );
    assert_eq!(journal.runs(claim.instance_id).await.unwrap(), expected);
}

async fn a_resume_reads_what_was_committed(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "Resume", json!({})).await;
    job(&store, rb).await;
    let first = claim(&store, "rb1").await;
    let journal = store.journal();
    journal.instance_started(&instance_start(&first, "rb1")).await.unwrap();
    let done = finished_run(first.instance_id, 0);
    journal.run_finished(&done).await.unwrap();
    let mut interrupted = finished_run(first.instance_id, 1);
    interrupted.state = RunState::Running;
    interrupted.ended_at = None;
    journal.run_started(&interrupted).await.unwrap();

    // rb1 dies; rb2 takes the job over and reads the journal through its own handle.
    store
        .renew_leases("rb1", &[first.job.id], std::time::Duration::ZERO)
        .await
        .unwrap();
    let second = crate::eventually("the takeover", || async {
        store.claim_job("rb2", crate::LEASE, crate::ALIVE).await.unwrap()
    })
    .await;
    assert!(second.resume);
    let journal = store.journal();
    let runs = journal.runs(second.instance_id).await.unwrap();
    assert_eq!(runs, vec![done.clone(), interrupted.clone()]);

    // The resumed instance is started again by its new server and carries on (the start is seen
    // once the next awaited record is acknowledged: a store may write it without waiting).
    journal.instance_started(&instance_start(&second, "rb2")).await.unwrap();
    let mut failed = interrupted.clone();
    failed.state = RunState::Finished(Status::Failed);
    failed.error = "interrupted".into();
    failed.ended_at = Some(now());
    journal.run_finished(&failed).await.unwrap();
    let instance = store.instance(second.instance_id).await.unwrap();
    assert_eq!(
        (instance.server.as_str(), instance.status),
        ("rb2", InstanceStatus::Running)
    );
    let rerun = finished_run(second.instance_id, 2);
    journal.run_finished(&rerun).await.unwrap();
    assert_eq!(
        store.activity_runs(second.instance_id).await.unwrap(),
        vec![done, failed, rerun]
    );
}

async fn unknown_instances_are_refused_alone(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "Strays", json!({})).await;
    job(&store, rb).await;
    let claim = claim(&store, "rb1").await;
    let journal = store.journal();
    journal.instance_started(&instance_start(&claim, "rb1")).await.unwrap();

    let stray = Uuid::now_v7();
    // Submitted together, so that they may share a batch: the stray fails, the others do not.
    let records = [
        finished_run(claim.instance_id, 0),
        finished_run(stray, 0),
        finished_run(claim.instance_id, 1),
    ];
    let end = InstanceEnd {
        instance_id: stray,
        status: InstanceStatus::Success,
        returns: Map::new(),
        ended_at: now(),
        problems: Vec::new(),
    };
    let (a, b, c, d) = tokio::join!(
        journal.run_finished(&records[0]),
        journal.run_finished(&records[1]),
        journal.run_finished(&records[2]),
        journal.instance_finished(&end),
    );
    assert_eq!(
        (a, b, c, d),
        (
            Ok(()),
            Err(JournalError::NotFound(stray)),
            Ok(()),
            Err(JournalError::NotFound(stray))
        )
    );
    assert_eq!(journal.runs(claim.instance_id).await.unwrap().len(), 2);

    assert_eq!(journal.runs(stray).await, Err(JournalError::NotFound(stray)));
    assert!(matches!(store.activity_runs(stray).await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.instance(stray).await, Err(StoreError::NotFound(_))));
    // An instance of a job the store does not have is refused; the journal goes on.
    let orphan = InstanceStart {
        instance_id: Uuid::now_v7(),
        job_id: Uuid::now_v7(),
        ..instance_start(&claim, "rb1")
    };
    // Refused at once, or (handed over without waiting) at the instance's next record.
    let started = journal.instance_started(&orphan).await;
    let next = journal.run_finished(&finished_run(orphan.instance_id, 0)).await;
    assert!(started.is_err() || next.is_err());
    assert!(matches!(
        store.instance(orphan.instance_id).await,
        Err(StoreError::NotFound(_))
    ));
    journal.run_finished(&finished_run(claim.instance_id, 2)).await.unwrap();
    assert_eq!(journal.runs(claim.instance_id).await.unwrap().len(), 3);
}

async fn many_instances_journal_at_once(store: Arc<dyn Store>) {
    const INSTANCES: usize = 40;
    const RUNS: u64 = 6;
    let rb = runbook(&store, "", "Many", json!({ "concurrency": 100 })).await;
    let mut claims = Vec::new();
    for _ in 0..INSTANCES {
        job(&store, rb).await;
        claims.push(claim(&store, "rb1").await);
    }
    let tasks: Vec<_> = claims
        .iter()
        .map(|claim| {
            let (journal, start) = (store.journal(), instance_start(claim, "rb1"));
            tokio::spawn(async move {
                journal.instance_started(&start).await.unwrap();
                let mut runs = Vec::new();
                for seq in 0..RUNS {
                    let mut started = finished_run(start.instance_id, seq);
                    started.state = RunState::Running;
                    journal.run_started(&started).await.unwrap();
                    let finished = finished_run(start.instance_id, seq);
                    journal.run_finished(&finished).await.unwrap();
                    runs.push(finished);
                }
                journal
                    .instance_finished(&InstanceEnd {
                        instance_id: start.instance_id,
                        status: InstanceStatus::Success,
                        returns: Map::new(),
                        ended_at: now(),
                        problems: Vec::new(),
                    })
                    .await
                    .unwrap();
                (start.instance_id, runs)
            })
        })
        .collect();
    for task in tasks {
        let (instance_id, runs) = task.await.unwrap();
        assert_eq!(store.activity_runs(instance_id).await.unwrap(), runs);
        assert_eq!(
            store.instance(instance_id).await.unwrap().status,
            InstanceStatus::Success
        );
    }
}

async fn instances_are_listed_with_filters(store: Arc<dyn Store>) {
    let a = runbook(&store, "", "A", json!({ "concurrency": 10 })).await;
    let b = runbook(&store, "", "B", json!({ "concurrency": 10 })).await;
    let journal = store.journal();
    let base = now() - SignedDuration::from_hours(1);
    // (runbook, minutes after base, final status)
    let plan = [
        (a, 0, InstanceStatus::Success),
        (b, 1, InstanceStatus::Failed),
        (a, 2, InstanceStatus::Failed),
        (a, 3, InstanceStatus::Running),
        (b, 4, InstanceStatus::Success),
    ];
    let mut made = Vec::new();
    for (runbook_id, minutes, status) in plan {
        let job = job(&store, runbook_id).await;
        let claim = claim(&store, "rb1").await;
        assert_eq!(claim.job.id, job.id);
        let start = InstanceStart {
            started_at: base + SignedDuration::from_mins(minutes),
            ..instance_start(&claim, "rb1")
        };
        journal.instance_started(&start).await.unwrap();
        if status != InstanceStatus::Running {
            journal
                .instance_finished(&InstanceEnd {
                    instance_id: claim.instance_id,
                    status,
                    returns: Map::new(),
                    ended_at: now(),
                    problems: Vec::new(),
                })
                .await
                .unwrap();
        }
        made.push((claim.instance_id, job.id));
    }
    let listed = |filter: InstanceFilter| {
        let store = store.clone();
        async move {
            let rows = store.list_instances(&filter).await.unwrap();
            rows.into_iter().map(|row| row.id).collect::<Vec<_>>()
        }
    };
    let id = |i: usize| made[i].0;
    assert_eq!(
        listed(InstanceFilter::default()).await,
        [id(4), id(3), id(2), id(1), id(0)]
    );
    let of_a = InstanceFilter {
        runbook_id: Some(a),
        ..InstanceFilter::default()
    };
    assert_eq!(listed(of_a).await, [id(3), id(2), id(0)]);
    let seen = InstanceFilter {
        runbooks: Some(vec![a, Uuid::new_v4()]),
        limit: 2,
        ..InstanceFilter::default()
    };
    assert_eq!(listed(seen).await, [id(3), id(2)]);
    let of_job = InstanceFilter {
        job_id: Some(made[1].1),
        ..InstanceFilter::default()
    };
    assert_eq!(listed(of_job).await, [id(1)]);
    let failed = InstanceFilter {
        status: Some(InstanceStatus::Failed),
        ..InstanceFilter::default()
    };
    assert_eq!(listed(failed).await, [id(2), id(1)]);
    let running_a = InstanceFilter {
        runbook_id: Some(a),
        status: Some(InstanceStatus::Running),
        ..InstanceFilter::default()
    };
    assert_eq!(listed(running_a).await, [id(3)]);
    let window = InstanceFilter {
        since: Some(base + SignedDuration::from_mins(1)),
        until: Some(base + SignedDuration::from_mins(4)),
        ..InstanceFilter::default()
    };
    assert_eq!(listed(window).await, [id(3), id(2), id(1)]);
    let page = InstanceFilter {
        limit: 2,
        offset: 1,
        ..InstanceFilter::default()
    };
    assert_eq!(listed(page).await, [id(3), id(2)]);
    let future = InstanceFilter {
        since: Some(now() + SignedDuration::from_hours(1)),
        ..InstanceFilter::default()
    };
    assert!(listed(future).await.is_empty());
    // By id as people type it: the last 8 hex digits, or a prefix.
    for i in 0..made.len() {
        let by = |text: String| InstanceFilter {
            id: Some(IdMatch::parse(&text).expect("a fragment")),
            ..InstanceFilter::default()
        };
        assert_eq!(listed(by(crate::tail(id(i)))).await, [id(i)]);
        assert_eq!(listed(by(id(i).simple().to_string()[..28].to_string())).await, [id(i)]);
    }
    // An instance without runs has an empty list of them.
    assert_eq!(store.activity_runs(id(0)).await.unwrap(), []);
}

/// The engine may not wait for an instance's start: its refusal reaches the engine, saying why,
/// with the instance's next awaited record.
async fn an_instance_without_its_job_is_refused_clearly(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "Orphan", json!({})).await;
    job(&store, rb).await;
    let claim = claim(&store, "rb1").await;
    let start = InstanceStart {
        instance_id: Uuid::now_v7(),
        job_id: Uuid::now_v7(),
        ..instance_start(&claim, "rb1")
    };
    let journal = store.journal();
    let refused = match journal.instance_started(&start).await {
        Ok(()) => journal.run_finished(&finished_run(start.instance_id, 0)).await,
        refused => refused,
    };
    assert!(
        matches!(&refused, Err(JournalError::Unavailable(m)) if m.contains("create the job")),
        "{refused:?}"
    );
}

/// Where failed instances failed, read for a list of them at once: each one's last failed run.
async fn failed_runs_name_each_instances_last_failure(store: Arc<dyn Store>) {
    let journal = store.journal();
    let mut instances = Vec::new();
    // Two runbooks: one runs one job at a time.
    for name in ["Fails", "Passes"] {
        let rb = runbook(&store, "", name, json!({})).await;
        job(&store, rb).await;
        let claim = claim(&store, "rb1").await;
        journal.instance_started(&instance_start(&claim, "rb1")).await.unwrap();
        instances.push(claim.instance_id);
    }
    let (failed, passed) = (instances[0], instances[1]);
    for seq in 0..4 {
        let mut run = finished_run(failed, seq);
        if seq == 1 || seq == 2 {
            run.state = RunState::Finished(Status::Failed);
            run.error = format!("failure {seq}\nits detail");
        }
        if seq == 2 {
            run.activity_name = run.activity_id.clone();
        }
        journal.run_finished(&run).await.unwrap();
    }
    journal.run_finished(&finished_run(passed, 0)).await.unwrap();

    let found = store.failed_runs(&[passed, failed, Uuid::new_v4()]).await.unwrap();
    assert_eq!(
        found,
        [FailedRun {
            instance_id: failed,
            activity_id: "step2".into(),
            activity_name: "step2".into(),
            error: "failure 2\nits detail".into(),
        }]
    );
    assert_eq!(store.failed_runs(&[]).await.unwrap(), []);
}
