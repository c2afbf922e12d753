//! Retention: purging finished instances (and their runs) by count and by age, in batches,
//! never touching running ones.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use scorch_engine::{InstanceEnd, InstanceStart, InstanceStatus};
use scorch_store::{InstanceFilter, PurgeRule, Store, StoreError};
use serde_json::{Map, json};
use uuid::Uuid;

use crate::{claim, finished_run, instance_start, job, now, runbook};

crate::contract!(purges_by_count_and_age);

/// An instance of `runbook_id` started at `started_at`, with one run; finished unless `running`.
async fn instance(store: &Arc<dyn Store>, runbook_id: Uuid, started_at: Timestamp, running: bool) -> Uuid {
    let created = job(store, runbook_id).await;
    let claim = claim(store, "rb1").await;
    assert_eq!(claim.job.id, created.id);
    let journal = store.journal();
    let start = InstanceStart {
        started_at,
        ..instance_start(&claim, "rb1")
    };
    journal.instance_started(&start).await.unwrap();
    journal.run_finished(&finished_run(claim.instance_id, 0)).await.unwrap();
    if !running {
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
    }
    claim.instance_id
}

async fn of(store: &Arc<dyn Store>, runbook_id: Uuid) -> Vec<Uuid> {
    let filter = InstanceFilter {
        runbook_id: Some(runbook_id),
        ..InstanceFilter::default()
    };
    let mut ids: Vec<_> = store
        .list_instances(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    ids.reverse();
    ids
}

async fn purges_by_count_and_age(store: Arc<dyn Store>) {
    let a = runbook(&store, "", "A", json!({ "concurrency": 100 })).await;
    let b = runbook(&store, "", "B", json!({ "concurrency": 100 })).await;
    let base = now() - SignedDuration::from_hours(48);
    let at = |hours: i64| base + SignedDuration::from_hours(hours);
    // A: six finished instances, then a running one (the newest); B: three finished ones.
    let mut a_ids = Vec::new();
    for hour in 0..6 {
        a_ids.push(instance(&store, a, at(hour), false).await);
    }
    let running = instance(&store, a, at(6), true).await;
    let mut b_ids = Vec::new();
    for hour in [0, 10, 40] {
        b_ids.push(instance(&store, b, at(hour), false).await);
    }

    for bad in [
        PurgeRule::default(),
        PurgeRule {
            runbook_id: Some(a),
            ..PurgeRule::default()
        },
    ] {
        assert!(matches!(
            store.purge_instances(&bad, 10, true).await,
            Err(StoreError::Invalid(_))
        ));
    }
    let keep_three = PurgeRule {
        runbook_id: Some(a),
        keep_last: Some(3),
        older_than: None,
    };
    assert!(matches!(
        store.purge_instances(&keep_three, 0, false).await,
        Err(StoreError::Invalid(_))
    ));

    // Keep the last three of A (the running one counts among them): four go.
    assert_eq!(store.purge_instances(&keep_three, 10, true).await.unwrap(), 4);
    assert_eq!(of(&store, a).await.len(), 7, "a dry run deletes nothing");
    assert_eq!(store.purge_instances(&keep_three, 1, false).await.unwrap(), 4);
    assert_eq!(of(&store, a).await, [a_ids[4], a_ids[5], running]);
    for gone in &a_ids[..4] {
        assert!(matches!(store.instance(*gone).await, Err(StoreError::NotFound(_))));
        assert!(matches!(store.activity_runs(*gone).await, Err(StoreError::NotFound(_))));
    }
    assert_eq!(store.activity_runs(a_ids[4]).await.unwrap().len(), 1);
    assert_eq!(of(&store, b).await, b_ids, "another runbook is untouched");

    // Keep nothing: every finished instance goes, the running one stays.
    let keep_none = PurgeRule {
        runbook_id: Some(a),
        keep_last: Some(0),
        older_than: None,
    };
    assert_eq!(store.purge_instances(&keep_none, 10, false).await.unwrap(), 2);
    assert_eq!(of(&store, a).await, [running]);

    // By age, over every runbook: B's instances older than 20 hours after base.
    let old = PurgeRule {
        runbook_id: None,
        keep_last: None,
        older_than: Some(at(20)),
    };
    assert_eq!(store.purge_instances(&old, 10, true).await.unwrap(), 2);
    assert_eq!(store.purge_instances(&old, 10, false).await.unwrap(), 2);
    assert_eq!(of(&store, b).await, [b_ids[2]]);

    // Both rules: an instance must be outside the last N and old to go.
    let c = runbook(&store, "", "C", json!({ "concurrency": 100 })).await;
    let c_ids = [
        instance(&store, c, at(0), false).await,
        instance(&store, c, at(1), false).await,
        instance(&store, c, at(30), false).await,
        instance(&store, c, at(31), false).await,
    ];
    let both = PurgeRule {
        runbook_id: Some(c),
        keep_last: Some(1),
        older_than: Some(at(20)),
    };
    assert_eq!(store.purge_instances(&both, 10, false).await.unwrap(), 2);
    assert_eq!(of(&store, c).await, [c_ids[2], c_ids[3]]);
    assert_eq!(store.instance(running).await.unwrap().status, InstanceStatus::Running);
}
