use jiff::{SignedDuration, Timestamp};
use scorch_engine::{InstanceEnd, InstanceStatus, JournalError};
use scorch_store::{InstanceFilter, PurgeRule, Store, StoreError};
use serde_json::Map;
use uuid::Uuid;

use crate::{TestDb, finished_run, instance_start, now};

/// Journals an instance of `runbook` started at `started_at`, with two runs, finished unless
/// `running`.
async fn instance(db: &TestDb, runbook: Uuid, started_at: Timestamp, running: bool) -> Uuid {
    let job = db.create_job(runbook).await.id;
    let journal = db.store.journal();
    let mut start = instance_start(runbook, job);
    start.started_at = started_at;
    journal.instance_started(&start).await.unwrap();
    for seq in 0..2 {
        journal
            .run_finished(&finished_run(start.instance_id, seq))
            .await
            .unwrap();
    }
    if !running {
        let end = InstanceEnd {
            instance_id: start.instance_id,
            status: InstanceStatus::Success,
            returns: Map::new(),
            ended_at: now(),
            problems: Vec::new(),
        };
        journal.instance_finished(&end).await.unwrap();
    }
    start.instance_id
}

/// Runbook A: one running instance (the oldest) then five finished ones, a minute apart;
/// runbook B: three finished ones. Returns (A, A's instances oldest first, B, B's instances).
async fn seed(db: &TestDb) -> (Uuid, Vec<Uuid>, Uuid, Vec<Uuid>) {
    let base = now() - SignedDuration::from_hours(1);
    let at = |minute: i64| base + SignedDuration::from_mins(minute);
    let (a, b) = (db.runbook("", "A").await, db.runbook("", "B").await);
    let mut of_a = vec![instance(db, a, at(0), true).await];
    for minute in 1..=5 {
        of_a.push(instance(db, a, at(minute), false).await);
    }
    let mut of_b = Vec::new();
    for minute in 1..=3 {
        of_b.push(instance(db, b, at(minute), false).await);
    }
    (a, of_a, b, of_b)
}

async fn remaining(db: &TestDb, runbook: Uuid) -> Vec<Uuid> {
    let mut ids: Vec<_> = db
        .store
        .list_instances(&InstanceFilter {
            runbook_id: Some(runbook),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    ids.reverse();
    ids
}

fn rule(runbook_id: Option<Uuid>, keep_last: Option<u32>, older_than: Option<Timestamp>) -> PurgeRule {
    PurgeRule {
        runbook_id,
        keep_last,
        older_than,
    }
}

#[tokio::test]
async fn purge_keeps_the_last_n_per_runbook_and_never_running_ones() {
    let db = TestDb::new().await;
    let (a, of_a, b, of_b) = seed(&db).await;

    assert_eq!(
        db.store.purge_instances(&rule(None, Some(2), None), 1, true).await,
        Ok(4)
    );
    assert_eq!(remaining(&db, a).await, of_a);
    assert_eq!(remaining(&db, b).await, of_b);

    assert_eq!(
        db.store.purge_instances(&rule(None, Some(2), None), 2, false).await,
        Ok(4)
    );
    assert_eq!(remaining(&db, a).await, vec![of_a[0], of_a[4], of_a[5]]);
    assert_eq!(remaining(&db, b).await, of_b[1..].to_vec());
    let journal = db.store.journal();
    assert_eq!(journal.runs(of_a[1]).await, Err(JournalError::NotFound(of_a[1])));
    assert_eq!(journal.runs(of_a[4]).await.unwrap().len(), 2);
    assert_eq!(journal.runs(of_a[0]).await.unwrap().len(), 2);
}

#[tokio::test]
async fn purge_by_age_and_runbook() {
    let db = TestDb::new().await;
    let (a, of_a, b, of_b) = seed(&db).await;
    let cutoff = db.store.instance(of_a[3]).await.unwrap().started_at;

    // Only A, only finished instances started before minute 3.
    assert_eq!(
        db.store
            .purge_instances(&rule(Some(a), None, Some(cutoff)), 10, false)
            .await,
        Ok(2)
    );
    assert_eq!(remaining(&db, a).await, vec![of_a[0], of_a[3], of_a[4], of_a[5]]);
    assert_eq!(remaining(&db, b).await, of_b);

    // Both limits: an instance goes only when it is past the last one and older than the cutoff,
    // so A's instances of minutes 3 and 4 stay.
    assert_eq!(
        db.store
            .purge_instances(&rule(None, Some(1), Some(cutoff)), 10, false)
            .await,
        Ok(2)
    );
    assert_eq!(remaining(&db, a).await, vec![of_a[0], of_a[3], of_a[4], of_a[5]]);
    assert_eq!(remaining(&db, b).await, vec![of_b[2]]);
}

#[tokio::test]
async fn purge_without_a_limit_is_refused() {
    let db = TestDb::new().await;
    assert!(matches!(
        db.store.purge_instances(&rule(None, None, None), 10, false).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        db.store.purge_instances(&rule(None, Some(1), None), 0, false).await,
        Err(StoreError::Invalid(_))
    ));
}
