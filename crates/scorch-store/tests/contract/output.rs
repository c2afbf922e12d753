//! Live output: chunks of activity runs' stdout and stderr, stored in batches, read in order
//! from an offset, announced on the change feed by ids, and purged with their instance.

use std::sync::Arc;

use scorch_activity::{OutputChunk, Stream};
use scorch_engine::{InstanceEnd, InstanceStatus};
use scorch_store::{Change, PurgeRule, Store};
use serde_json::{Map, json};
use uuid::Uuid;

use crate::{DEADLINE, claim, finished_run, instance_start, job, now, runbook};

crate::contract!(
    output_is_stored_read_from_an_offset_and_announced,
    output_goes_with_its_instance
);

fn chunk(instance_id: Uuid, seq: u64, stream: Stream, offset: u64, text: &str) -> OutputChunk {
    OutputChunk {
        instance_id,
        seq,
        stream,
        offset,
        text: text.into(),
    }
}

/// A started instance of a new job of `runbook_id`, with run 0 journaled; finished when `end`.
async fn instance(store: &Arc<dyn Store>, runbook_id: Uuid, end: bool) -> Uuid {
    job(store, runbook_id).await;
    let claim = claim(store, "rb1").await;
    let journal = store.journal();
    journal.instance_started(&instance_start(&claim, "rb1")).await.unwrap();
    journal.run_finished(&finished_run(claim.instance_id, 0)).await.unwrap();
    if end {
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

async fn output_is_stored_read_from_an_offset_and_announced(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "Printing", json!({ "concurrency": 10 })).await;
    let id = instance(&store, rb, false).await;
    let mut changes = store.subscribe();
    let first = vec![
        chunk(id, 0, Stream::Stdout, 0, "one\n"),
        chunk(id, 0, Stream::Stderr, 4, "oops: ünïcode\n"),
        chunk(id, 1, Stream::Stdout, 0, "other run\n"),
        // An instance the store does not know: dropped, the rest stored.
        chunk(Uuid::now_v7(), 0, Stream::Stdout, 0, "nobody's\n"),
    ];
    store.append_output(&first).await.unwrap();
    let second = vec![
        // Written again (a batch retried): the first copy stays.
        chunk(id, 0, Stream::Stdout, 0, "ONE\n"),
        chunk(id, 0, Stream::Stdout, 20, "two\n"),
    ];
    store.append_output(&second).await.unwrap();
    store.append_output(&[]).await.unwrap();

    let all = store.output(id, 0, 0, 0).await.unwrap();
    assert_eq!(all, vec![first[0].clone(), first[1].clone(), second[1].clone()]);
    assert_eq!(store.output(id, 0, 0, 2).await.unwrap(), all[..2]);
    assert_eq!(store.output(id, 0, all[0].end(), 0).await.unwrap(), all[1..]);
    assert_eq!(store.output(id, 0, all[2].end(), 0).await.unwrap(), vec![]);
    assert_eq!(store.output(id, 1, 0, 0).await.unwrap(), vec![first[2].clone()]);
    assert_eq!(store.output(id, 7, 0, 0).await.unwrap(), vec![], "a run without output");
    assert_eq!(store.output(Uuid::now_v7(), 0, 0, 0).await.unwrap(), vec![]);

    // Each batch announces each of its runs once, by ids.
    let mut heard = Vec::new();
    let expected = [(id, 0), (id, 1), (id, 0)];
    while heard.len() < expected.len() {
        let change = tokio::time::timeout(DEADLINE, changes.recv())
            .await
            .unwrap_or_else(|_| panic!("no output change after {heard:?}"))
            .unwrap();
        if let Change::Output { instance_id, seq } = change
            && instance_id == id
        {
            heard.push((instance_id, seq));
        }
    }
    heard[..2].sort();
    assert_eq!(heard, expected);
}

async fn output_goes_with_its_instance(store: Arc<dyn Store>) {
    let rb = runbook(&store, "", "Purged", json!({ "concurrency": 10 })).await;
    let old = instance(&store, rb, true).await;
    let running = instance(&store, rb, false).await;
    for id in [old, running] {
        store
            .append_output(&[chunk(id, 0, Stream::Stdout, 0, "kept until purged\n")])
            .await
            .unwrap();
    }
    let keep_none = PurgeRule {
        runbook_id: Some(rb),
        keep_last: Some(0),
        older_than: None,
    };
    assert_eq!(store.purge_instances(&keep_none, 10, false).await.unwrap(), 1);
    assert_eq!(store.output(old, 0, 0, 0).await.unwrap(), vec![]);
    assert_eq!(
        store.output(running, 0, 0, 0).await.unwrap().len(),
        1,
        "a running instance keeps its output"
    );
}
