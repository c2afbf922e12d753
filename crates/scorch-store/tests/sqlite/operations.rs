use scorch_store::{NewAudit, ServerRegistration, Store, StoreError};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::TestDb;

fn registration(name: &str, host: &str, max_instances: u32, packs: &[&str]) -> ServerRegistration {
    ServerRegistration {
        name: name.into(),
        host: host.into(),
        max_instances,
        packs: packs.iter().map(|p| p.to_string()).collect(),
    }
}

#[tokio::test]
async fn servers_register_once_and_heartbeat() {
    let db = TestDb::new().await;
    let id = db
        .store
        .register_server(&registration("rb-1", "10.0.0.5", 50, &[]))
        .await
        .unwrap();
    let again = registration("rb-1", "10.0.0.6", 20, &["ssh", "mail"]);
    assert_eq!(db.store.register_server(&again).await.unwrap(), id);
    let before = db.store.servers().await.unwrap()[0].heartbeat_at;
    db.store.heartbeat("rb-1", 7).await.unwrap();
    let servers = db.store.servers().await.unwrap();
    assert_eq!(servers.len(), 1);
    assert_eq!(
        (servers[0].id, servers[0].host.as_str(), servers[0].max_instances),
        (id, "10.0.0.6", 20)
    );
    assert_eq!(
        (servers[0].running, servers[0].packs.clone()),
        (7, vec!["ssh".into(), "mail".into()])
    );
    assert!(servers[0].heartbeat_at >= before);
    assert_eq!(
        db.store.heartbeat("rb-9", 0).await,
        Err(StoreError::NotFound("runbook server 'rb-9'".into()))
    );
}

#[tokio::test]
async fn audit_entries_read_back_newest_first() {
    let db = TestDb::new().await;
    let object = Uuid::now_v7();
    let detail = json!({ "version": 1 });
    let entry = |actor, action, object_type, object_id, detail| NewAudit {
        actor,
        action,
        object_type,
        object_id,
        detail,
    };
    db.store
        .audit(entry("alice", "create", "runbook", Some(object), &detail))
        .await
        .unwrap();
    db.store
        .audit(entry("bob", "start", "job", None, &Value::Null))
        .await
        .unwrap();
    db.store
        .audit(entry("carol", "cancel", "job", None, &Value::Null))
        .await
        .unwrap();
    let log = db.store.audit_log(10, 1).await.unwrap();
    assert_eq!(
        log.iter().map(|e| e.actor.as_str()).collect::<Vec<_>>(),
        ["bob", "alice"]
    );
    assert_eq!(
        (log[1].object_id, &log[1].detail),
        (Some(object), &json!({ "version": 1 }))
    );
    assert_eq!((log[0].object_id, &log[0].detail), (None, &Value::Null));
    assert_eq!(db.store.audit_log(1, 0).await.unwrap()[0].actor, "carol");
    assert_eq!(db.store.audit_log(0, 0).await.unwrap().len(), 3, "limit 0 is no limit");
}
