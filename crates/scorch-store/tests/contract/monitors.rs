//! Monitor jobs: triggers recorded once by key with the watcher's checkpoint, only while the job
//! runs (and is the recorder's), open triggers for a takeover, and hooks kept at check-in.

use std::sync::Arc;

use scorch_engine::InstanceStatus;
use scorch_store::{Change, JobStatus, NewTrigger, Store, StoreError};
use serde_json::json;
use uuid::Uuid;

use crate::{claim, contract, instance_start, job, now, runbook};

contract!(
    a_trigger_is_recorded_once_with_its_checkpoint,
    only_a_running_job_and_its_holder_record_triggers,
    open_triggers_are_those_whose_instance_has_not_ended,
    a_hook_belongs_to_one_runbook,
);

fn trigger(key: &str) -> NewTrigger {
    NewTrigger {
        key: key.to_string(),
        instance_id: Some(Uuid::now_v7()),
        data: json!({ "scheduled_for": key }).to_string(),
    }
}

async fn a_trigger_is_recorded_once_with_its_checkpoint(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "Tick", json!({})).await;
    let job = job(&store, rb).await;
    let claimed = claim(&store, "rb1").await;
    assert_eq!(claimed.job.id, job.id);
    let mut changes = store.subscribe_jobs();
    let first = store
        .record_trigger(
            job.id,
            Some("rb1"),
            &trigger("2026-12-08T10:00:00Z"),
            Some(r#"{"last":"10:00"}"#),
        )
        .await
        .unwrap()
        .expect("recorded");
    let announced = tokio::time::timeout(crate::DEADLINE, async {
        loop {
            if let Ok(Change::Trigger { job_id }) = changes.recv().await {
                return job_id;
            }
        }
    })
    .await
    .expect("a trigger change");
    assert_eq!(announced, job.id);
    // The same key again (a server taking over, firing what was fired): nothing is written,
    // not even its checkpoint.
    let again = store
        .record_trigger(
            job.id,
            Some("rb1"),
            &trigger("2026-12-08T10:00:00Z"),
            Some(r#"{"last":"stale"}"#),
        )
        .await
        .unwrap();
    assert_eq!(again, None);
    assert_eq!(
        store.monitor_checkpoint(job.id).await.unwrap().as_deref(),
        Some(r#"{"last":"10:00"}"#)
    );
    let note = NewTrigger {
        key: "missed:2026-12-08T10:01:00Z".into(),
        instance_id: None,
        data: "missed 2026-12-08T10:01:00Z: policy skip".into(),
    };
    let second = store
        .record_trigger(job.id, Some("rb1"), &note, None)
        .await
        .unwrap()
        .expect("noted");
    assert!(second > first);
    store
        .save_checkpoint(job.id, "rb1", r#"{"last":"10:01"}"#)
        .await
        .unwrap();
    assert_eq!(
        store.monitor_checkpoint(job.id).await.unwrap().as_deref(),
        Some(r#"{"last":"10:01"}"#)
    );
    let all = store.triggers(job.id, 0, 10).await.unwrap();
    assert_eq!(all.iter().map(|t| t.seq).collect::<Vec<_>>(), [first, second]);
    assert_eq!(all[1].instance_id, None);
    assert_eq!(all[1].data, "missed 2026-12-08T10:01:00Z: policy skip");
    assert!(store.triggers(job.id, second, 10).await.unwrap().is_empty());
    assert_eq!(store.last_trigger(job.id).await.unwrap(), second);
    assert_eq!(store.last_trigger(Uuid::now_v7()).await.unwrap(), 0);
    assert_eq!(store.triggers(job.id, 0, 1).await.unwrap().len(), 1);
}

async fn only_a_running_job_and_its_holder_record_triggers(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "Hooked", json!({})).await;
    let pending = job(&store, rb).await;
    // A webhook call for a job no server runs yet.
    let refused = store.record_trigger(pending.id, None, &trigger("a"), None).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(ref why)) if why.contains("not running")),
        "{refused:?}"
    );
    claim(&store, "rb1").await;
    // Another server (one that lost the job) cannot record, nor save a checkpoint.
    let other = store.record_trigger(pending.id, Some("rb2"), &trigger("b"), None).await;
    assert!(
        matches!(other, Err(StoreError::Conflict(ref why)) if why.contains("another runbook server")),
        "{other:?}"
    );
    assert!(matches!(
        store.save_checkpoint(pending.id, "rb2", "{}").await,
        Err(StoreError::Conflict(_))
    ));
    // A webhook call while it runs, whoever holds it.
    assert!(
        store
            .record_trigger(pending.id, None, &trigger("c"), None)
            .await
            .unwrap()
            .is_some()
    );
    store.cancel_job(pending.id).await.unwrap();
    store.finish_job(pending.id, "rb1", JobStatus::Canceled).await.unwrap();
    let ended = store.record_trigger(pending.id, Some("rb1"), &trigger("d"), None).await;
    assert!(matches!(ended, Err(StoreError::Conflict(_))), "{ended:?}");
    let unknown = store.record_trigger(Uuid::now_v7(), None, &trigger("e"), None).await;
    assert!(matches!(unknown, Err(StoreError::NotFound(_))), "{unknown:?}");
    assert_eq!(store.triggers(pending.id, 0, 10).await.unwrap().len(), 1);
}

async fn open_triggers_are_those_whose_instance_has_not_ended(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "Files", json!({})).await;
    job(&store, rb).await;
    let claimed = claim(&store, "rb1").await;
    let (a, b, c) = (trigger("a"), trigger("b"), trigger("c"));
    for t in [&a, &b, &c] {
        store
            .record_trigger(claimed.job.id, Some("rb1"), t, None)
            .await
            .unwrap()
            .unwrap();
    }
    // a's instance started and ended, b's started, c's never did.
    let journal = store.journal();
    for (t, ends) in [(&a, true), (&b, false)] {
        let mut start = instance_start(&claimed, "rb1");
        start.instance_id = t.instance_id.unwrap();
        journal.instance_started(&start).await.unwrap();
        if ends {
            let end = scorch_engine::InstanceEnd {
                instance_id: start.instance_id,
                status: InstanceStatus::Success,
                returns: Default::default(),
                ended_at: now(),
                problems: Vec::new(),
            };
            journal.instance_finished(&end).await.unwrap();
        }
    }
    let open = store.open_triggers(claimed.job.id).await.unwrap();
    let open: Vec<&str> = open.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(open, ["b", "c"]);
}

async fn a_hook_belongs_to_one_runbook(store: Arc<dyn Store>) {
    let webhook = |hook: &str| json!({ "activities": [{ "id": "h", "type": "monitor_webhook", "properties": { "hook": hook, "token": "t" } }] });
    let first = runbook(&store, "Ops", "Deployed", webhook("deployed")).await;
    assert_eq!(store.hook("deployed").await.unwrap(), Some(first));
    assert_eq!(store.hook("other").await.unwrap(), None);
    let definition = crate::definition("Also", webhook("deployed"));
    let taken = store
        .save_runbook(scorch_store::SaveRunbook {
            id: None,
            folder: "Ops",
            name: "Also",
            definition: &definition,
            source: "format: 1\n",
            parameters: Vec::new(),
            activities: Vec::new(),
            author: "tester",
        })
        .await;
    assert!(
        matches!(taken, Err(StoreError::Conflict(ref why)) if why.contains("hook 'deployed' is already used by runbook 'Ops/Deployed'")),
        "{taken:?}"
    );
    // A new version on another hook frees the first.
    runbook(&store, "Ops", "Deployed", webhook("shipped")).await;
    assert_eq!(store.hook("deployed").await.unwrap(), None);
    assert_eq!(store.hook("shipped").await.unwrap(), Some(first));
}
