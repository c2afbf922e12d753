use scorch_store::StoreError;
use serde_json::json;
use uuid::Uuid;

use crate::TestDb;

#[tokio::test]
async fn servers_register_once_and_heartbeat() {
    let db = TestDb::new().await;
    let id = db.store.register_server("rb-1", "10.0.0.5", 50).await.unwrap();
    assert_eq!(db.store.register_server("rb-1", "10.0.0.6", 20).await.unwrap(), id);
    let before = db.store.servers().await.unwrap()[0].heartbeat_at;
    db.store.heartbeat("rb-1").await.unwrap();
    let servers = db.store.servers().await.unwrap();
    assert_eq!(servers.len(), 1);
    assert_eq!(
        (servers[0].id, servers[0].host.as_str(), servers[0].max_instances),
        (id, "10.0.0.6", 20)
    );
    assert!(servers[0].heartbeat_at >= before);
    assert_eq!(
        db.store.heartbeat("rb-9").await,
        Err(StoreError::NotFound("runbook server 'rb-9'".into()))
    );
}

#[tokio::test]
async fn audit_entries_read_back_newest_first() {
    let db = TestDb::new().await;
    let object = Uuid::now_v7();
    db.store
        .audit("alice", "create", "runbook", Some(object), &json!({ "version": 1 }))
        .await
        .unwrap();
    db.store
        .audit("bob", "start", "job", None, &serde_json::Value::Null)
        .await
        .unwrap();
    let log = db.store.audit_log(10).await.unwrap();
    assert_eq!(
        log.iter().map(|e| e.actor.as_str()).collect::<Vec<_>>(),
        ["bob", "alice"]
    );
    assert_eq!(
        (log[1].object_id, &log[1].detail),
        (Some(object), &json!({ "version": 1 }))
    );
    assert_eq!((log[0].object_id, &log[0].detail), (None, &serde_json::Value::Null));
}
