//! Change notifications: every committed job change and journal write reaches subscribers.

use std::time::Duration;

use scorch_activity::Status;
use scorch_engine::{InstanceEnd, InstanceStatus, RunState};
use scorch_store::{Change, JobStatus, Store};
use serde_json::Map;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::TryRecvError;
use uuid::Uuid;

use crate::{TestDb, finished_run, instance_start, now};

const LEASE: Duration = Duration::from_secs(60);

/// The changes already sent, in order. Each store call sends its change before it returns, so
/// nothing needs waiting for.
fn sent(changes: &mut Receiver<Change>) -> Vec<Change> {
    let mut out = Vec::new();
    loop {
        match changes.try_recv() {
            Ok(change) => out.push(change),
            Err(TryRecvError::Empty) => return out,
            Err(err) => panic!("{err}"),
        }
    }
}

fn job(id: Uuid, runbook_id: Uuid, status: JobStatus) -> Change {
    Change::Job { id, runbook_id, status }
}

#[tokio::test]
async fn job_changes_are_sent_after_they_commit() {
    let db = TestDb::new().await;
    let runbook = db.runbook("", "Changes").await;
    // Nobody listening yet: changes go nowhere, harmlessly.
    let unheard = db.create_job(runbook).await.id;
    db.store.cancel_job(unheard).await.unwrap();

    let mut changes = db.store.subscribe();
    let id = db.create_job(runbook).await.id;
    assert_eq!(sent(&mut changes), [job(id, runbook, JobStatus::Pending)]);
    db.store.claim_job("rb-1", LEASE, LEASE).await.unwrap().unwrap();
    assert_eq!(sent(&mut changes), [job(id, runbook, JobStatus::Running)]);
    db.store.cancel_job(id).await.unwrap();
    assert_eq!(sent(&mut changes), [job(id, runbook, JobStatus::Running)]);
    db.store.release_job(id, "rb-1").await.unwrap();
    assert_eq!(sent(&mut changes), [job(id, runbook, JobStatus::Running)]);
    db.store.claim_job("rb-2", LEASE, LEASE).await.unwrap().unwrap();
    assert_eq!(sent(&mut changes), [job(id, runbook, JobStatus::Running)]);
    db.store.finish_job(id, "rb-2", JobStatus::Canceled).await.unwrap();
    assert_eq!(sent(&mut changes), [job(id, runbook, JobStatus::Canceled)]);

    let pending = db.create_job(runbook).await.id;
    db.store.cancel_job(pending).await.unwrap();
    assert_eq!(
        sent(&mut changes),
        [
            job(pending, runbook, JobStatus::Pending),
            job(pending, runbook, JobStatus::Canceled)
        ]
    );

    // Refused changes send nothing.
    assert!(db.store.cancel_job(pending).await.is_err());
    assert!(
        db.store
            .finish_job(pending, "rb-2", JobStatus::Completed)
            .await
            .is_err()
    );
    assert!(db.store.claim_job("rb-1", LEASE, LEASE).await.unwrap().is_none());
    assert_eq!(sent(&mut changes), []);
}

#[tokio::test]
async fn journal_writes_are_sent_after_their_group_commits() {
    let db = TestDb::new().await;
    let (runbook, job_id) = db.job().await;
    let journal = db.store.journal();
    let mut changes = db.store.subscribe();
    let start = instance_start(runbook, job_id);
    journal.instance_started(&start).await.unwrap();
    let mut running = finished_run(start.instance_id, 0);
    running.state = RunState::Running;
    running.ended_at = None;
    journal.run_started(&running).await.unwrap();
    journal.run_finished(&finished_run(start.instance_id, 0)).await.unwrap();
    // A rejected record (an unknown instance) sends nothing.
    assert!(journal.run_finished(&finished_run(Uuid::now_v7(), 0)).await.is_err());
    let end = InstanceEnd {
        instance_id: start.instance_id,
        status: InstanceStatus::Warning,
        returns: Map::new(),
        ended_at: now(),
        problems: Vec::new(),
    };
    journal.instance_finished(&end).await.unwrap();

    let run = |state| Change::ActivityRun {
        instance_id: start.instance_id,
        seq: 0,
        activity_id: "step0".into(),
        state,
    };
    let instance = |status| Change::Instance {
        id: start.instance_id,
        job_id,
        status,
    };
    assert_eq!(
        sent(&mut changes),
        [
            instance(InstanceStatus::Running),
            run(RunState::Running),
            run(RunState::Finished(Status::Success)),
            instance(InstanceStatus::Warning),
        ]
    );
}
