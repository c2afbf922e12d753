use std::sync::Arc;

use scorch_activity::Status;
use scorch_engine::{InstanceEnd, InstanceStatus, JournalError, RunState};
use serde_json::{Map, json};
use uuid::Uuid;

use scorch_store::{InstanceFilter, SqliteStore, Store};

use crate::{TestDb, create_job, finished_run, instance_start, now, url};

#[tokio::test]
async fn runs_round_trip_in_seq_order() {
    let db = TestDb::new().await;
    let (runbook, job) = db.job().await;
    let journal = db.store.journal();
    let start = instance_start(runbook, job);
    journal.instance_started(&start).await.unwrap();

    let first = finished_run(start.instance_id, 0);
    let mut second = finished_run(start.instance_id, 1);
    second.state = RunState::Running;
    second.ended_at = None;
    second.rows = Arc::new(Vec::new());
    second.activity_name = second.activity_id.clone();
    journal.run_started(&second).await.unwrap();
    journal.run_finished(&first).await.unwrap();
    assert_eq!(
        journal.runs(start.instance_id).await.unwrap(),
        vec![first.clone(), second.clone()]
    );

    // Finishing a started run replaces its record.
    let mut failed = second.clone();
    failed.state = RunState::Finished(Status::Failed);
    failed.error = "exit code 3".into();
    failed.ended_at = Some(now());
    failed.truncated = true;
    journal.run_finished(&failed).await.unwrap();
    assert_eq!(journal.runs(start.instance_id).await.unwrap(), vec![first, failed]);

    let mut returns = Map::new();
    returns.insert("Restarted".into(), json!(3));
    let end = InstanceEnd {
        instance_id: start.instance_id,
        status: InstanceStatus::Failed,
        returns,
        ended_at: now(),
        problems: Vec::new(),
    };
    journal.instance_finished(&end).await.unwrap();
    let instance = db.store.instance(start.instance_id).await.unwrap();
    assert_eq!(instance.status, InstanceStatus::Failed);
    assert_eq!(instance.returns, end.returns);
    assert_eq!(instance.parameters, start.parameters);
    assert_eq!(instance.job_id, job);
    assert_eq!(
        (instance.started_at, instance.ended_at),
        (start.started_at, Some(end.ended_at))
    );
}

#[tokio::test]
async fn unknown_instances_are_not_found() {
    let db = TestDb::new().await;
    let journal = db.store.journal();
    let missing = Uuid::now_v7();
    assert_eq!(journal.runs(missing).await, Err(JournalError::NotFound(missing)));
    assert_eq!(
        journal.run_finished(&finished_run(missing, 0)).await,
        Err(JournalError::NotFound(missing))
    );
    let end = InstanceEnd {
        instance_id: missing,
        status: InstanceStatus::Success,
        returns: Map::new(),
        ended_at: now(),
        problems: Vec::new(),
    };
    assert_eq!(
        journal.instance_finished(&end).await,
        Err(JournalError::NotFound(missing))
    );
}

/// The engine does not wait for an instance's start: its refusal reaches the engine with the
/// instance's next awaited record.
#[tokio::test]
async fn an_instance_without_its_job_is_refused_clearly() {
    let db = TestDb::new().await;
    let (runbook, _) = db.job().await;
    let start = instance_start(runbook, Uuid::now_v7());
    let journal = db.store.journal();
    journal.instance_started(&start).await.unwrap();
    match journal.run_finished(&finished_run(start.instance_id, 0)).await {
        Err(JournalError::Unavailable(message)) => assert!(message.contains("create the job"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_are_all_acknowledged_and_kept() {
    const WRITERS: u64 = 64;
    const RUNS: u64 = 20;
    let db = TestDb::new().await;
    let (runbook, job) = db.job().await;
    let journal = db.store.journal();
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let journal = journal.clone();
        let start = instance_start(runbook, job);
        tasks.push(tokio::spawn(async move {
            journal.instance_started(&start).await?;
            for seq in 0..RUNS {
                journal.run_finished(&finished_run(start.instance_id, seq)).await?;
            }
            Ok::<_, JournalError>(start.instance_id)
        }));
    }
    // One record that breaks a constraint travels in the same batches without harming the others.
    let stray = Uuid::now_v7();
    assert_eq!(
        journal.run_finished(&finished_run(stray, 0)).await,
        Err(JournalError::NotFound(stray))
    );
    let mut instances = Vec::new();
    for task in tasks {
        instances.push(task.await.unwrap().unwrap());
    }
    drop(journal);
    drop(db.store);

    let reopened = SqliteStore::open(&url(&db.dir)).await.unwrap();
    let journal = reopened.journal();
    for instance in instances {
        let runs = journal.runs(instance).await.unwrap();
        assert_eq!(
            runs.iter().map(|r| r.seq).collect::<Vec<_>>(),
            (0..RUNS).collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn acknowledged_records_survive_closing_the_store() {
    let db = TestDb::new().await;
    let (runbook, job) = db.job().await;
    let start = instance_start(runbook, job);
    let runs: Vec<_> = (0..5).map(|seq| finished_run(start.instance_id, seq)).collect();
    {
        let journal = db.store.journal();
        journal.instance_started(&start).await.unwrap();
        for run in &runs {
            journal.run_finished(run).await.unwrap();
        }
    }
    let TestDb { dir, store } = db;
    drop(store);

    let reopened = SqliteStore::open(&url(&dir)).await.unwrap();
    assert_eq!(reopened.journal().runs(start.instance_id).await.unwrap(), runs);
    assert_eq!(
        reopened.instance(start.instance_id).await.unwrap().status,
        InstanceStatus::Running
    );
}

/// The journal's footprint: a 10-activity runbook whose runs publish three small fields must
/// cost under 600 bytes of database per run, indexes and the instance and job rows included.
#[tokio::test]
async fn a_journaled_run_takes_under_600_bytes() {
    const INSTANCES: u64 = 200;
    const RUNS: u64 = 10;
    let db = TestDb::new().await;
    let (runbook, _) = db.job().await;
    db.store.checkpoint().await.unwrap();
    let before = std::fs::metadata(db.path()).unwrap().len();

    let journal = db.store.journal();
    let mut tasks = Vec::new();
    for _ in 0..INSTANCES {
        let (journal, store) = (journal.clone(), db.store.clone());
        tasks.push(tokio::spawn(async move {
            let job = create_job(&store, runbook).await.id;
            let start = instance_start(runbook, job);
            journal.instance_started(&start).await.unwrap();
            for seq in 0..RUNS {
                journal
                    .run_finished(&finished_run(start.instance_id, seq))
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    db.store.checkpoint().await.unwrap();
    let per_run = (std::fs::metadata(db.path()).unwrap().len() - before) / (INSTANCES * RUNS);
    assert!(per_run < 600, "{per_run} bytes per run");
}

#[tokio::test]
async fn instances_are_listed_by_filter_and_their_runs_read_back() {
    let db = TestDb::new().await;
    let (runbook, job) = db.job().await;
    let other_job = create_job(&db.store, runbook).await.id;
    let journal = db.store.journal();
    let mut starts = Vec::new();
    for job in [job, job, other_job] {
        let start = instance_start(runbook, job);
        journal.instance_started(&start).await.unwrap();
        starts.push(start);
    }
    let end = InstanceEnd {
        instance_id: starts[0].instance_id,
        status: InstanceStatus::Success,
        returns: Map::new(),
        ended_at: now(),
        problems: Vec::new(),
    };
    journal.instance_finished(&end).await.unwrap();
    let run = finished_run(starts[0].instance_id, 0);
    journal.run_finished(&run).await.unwrap();

    let ids = |filter: InstanceFilter| {
        let store = db.store.clone();
        async move {
            let rows = store.list_instances(&filter).await.unwrap();
            rows.into_iter().map(|i| i.id).collect::<Vec<_>>()
        }
    };
    let [a, b, c] = [0, 1, 2].map(|i| starts[i].instance_id);
    assert_eq!(ids(InstanceFilter::default()).await, [c, b, a]);
    let of_job = InstanceFilter {
        job_id: Some(job),
        ..Default::default()
    };
    assert_eq!(ids(of_job.clone()).await, [b, a]);
    let running = InstanceFilter {
        status: Some(InstanceStatus::Running),
        ..of_job
    };
    assert_eq!(ids(running).await, [b]);
    let page = InstanceFilter {
        runbook_id: Some(runbook),
        limit: 1,
        offset: 1,
        ..Default::default()
    };
    assert_eq!(ids(page).await, [b]);
    let window = InstanceFilter {
        since: Some(starts[1].started_at),
        until: Some(starts[2].started_at),
        ..Default::default()
    };
    assert_eq!(ids(window).await, [b]);
    let elsewhere = InstanceFilter {
        runbook_id: Some(Uuid::now_v7()),
        ..Default::default()
    };
    assert_eq!(ids(elsewhere).await, Vec::<Uuid>::new());

    assert_eq!(db.store.activity_runs(a).await.unwrap(), [run]);
    assert_eq!(db.store.activity_runs(b).await.unwrap(), []);
    let missing = Uuid::now_v7();
    assert_eq!(
        db.store.activity_runs(missing).await,
        Err(scorch_store::StoreError::NotFound(format!("instance {missing}")))
    );
}
