//! Change notifications: a subscriber sees a job go from created to running to completed, with
//! its instance and activity runs in between, in commit order.

use std::sync::Arc;

use scorch_activity::Status;
use scorch_engine::{InstanceEnd, InstanceStatus, RunState};
use scorch_store::{Change, JobStatus, Store};
use serde_json::{Map, json};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::{DEADLINE, claim, finished_run, instance_start, job, now, runbook};

crate::contract!(subscribers_follow_a_job, cancels_are_announced);

/// The changes about `job` (and its instance) until `last` arrives, failing after the deadline.
pub async fn follow(changes: &mut broadcast::Receiver<Change>, job: Uuid, last: &Change) -> Vec<Change> {
    let mut instance = None;
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let change = tokio::time::timeout_at(deadline, changes.recv())
            .await
            .unwrap_or_else(|_| panic!("no {last:?} after {seen:?}"))
            .expect("the change stream");
        let ours = match &change {
            Change::Job { id, .. } | Change::Trigger { job_id: id } => *id == job,
            Change::Instance { id, job_id, .. } => {
                if *job_id == job {
                    instance = Some(*id);
                }
                *job_id == job
            }
            Change::ActivityRun { instance_id, .. } | Change::Output { instance_id, .. } => {
                Some(*instance_id) == instance
            }
            Change::Missed => panic!("changes were missed while following job {job}"),
        };
        if ours {
            seen.push(change.clone());
            if &change == last {
                return seen;
            }
        }
    }
}

async fn subscribers_follow_a_job(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "Watched", json!({})).await;
    let mut changes = store.subscribe();
    let created = job(&store, rb).await;
    let claim = claim(&store, "rb1").await;
    let journal = store.journal();
    journal.instance_started(&instance_start(&claim, "rb1")).await.unwrap();
    let mut started = finished_run(claim.instance_id, 0);
    started.state = RunState::Running;
    journal.run_started(&started).await.unwrap();
    journal.run_finished(&finished_run(claim.instance_id, 0)).await.unwrap();
    journal
        .instance_finished(&InstanceEnd {
            instance_id: claim.instance_id,
            status: InstanceStatus::Success,
            returns: Map::new(),
            ended_at: now(),
            problems: Vec::new(),
        })
        .await
        .unwrap();
    store.finish_job(created.id, "rb1", JobStatus::Completed).await.unwrap();

    let job = |status| Change::Job {
        id: created.id,
        runbook_id: rb,
        status,
    };
    let instance = |status| Change::Instance {
        id: claim.instance_id,
        job_id: created.id,
        status,
    };
    let run = |state| Change::ActivityRun {
        instance_id: claim.instance_id,
        seq: 0,
        activity_id: "step0".into(),
        state,
    };
    let last = job(JobStatus::Completed);
    assert_eq!(
        follow(&mut changes, created.id, &last).await,
        [
            job(JobStatus::Pending),
            job(JobStatus::Running),
            instance(InstanceStatus::Running),
            run(RunState::Running),
            run(RunState::Finished(Status::Success)),
            instance(InstanceStatus::Success),
            last.clone(),
        ]
    );
}

async fn cancels_are_announced(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "Canceled", json!({})).await;
    let mut changes = store.subscribe();
    let pending = job(&store, rb).await;
    store.cancel_job(pending.id).await.unwrap();
    let canceled = Change::Job {
        id: pending.id,
        runbook_id: rb,
        status: JobStatus::Canceled,
    };
    let seen = follow(&mut changes, pending.id, &canceled).await;
    assert_eq!(seen.len(), 2, "{seen:?}");
}
