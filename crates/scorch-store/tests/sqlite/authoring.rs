//! The Runbook Designer's side: folders, listing runbooks, check-out and check-in.

use scorch_store::{SaveRunbook, Store, StoreError};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::TestDb;

fn save<'a>(folder: &'a str, name: &'a str, definition: &'a Value, author: &'a str) -> SaveRunbook<'a> {
    SaveRunbook {
        id: None,
        folder,
        name,
        definition,
        source: "",
        parameters: Vec::new(),
        activities: Vec::new(),
        author,
    }
}

#[tokio::test]
async fn folders_are_listed_and_only_empty_ones_deleted() {
    let db = TestDb::new().await;
    let web = db.store.ensure_folder("Operations/Web").await.unwrap();
    db.store.ensure_folder("Operations/Empty").await.unwrap();
    db.runbook("Operations/Web", "Restart").await;
    let folders = db.store.folders().await.unwrap();
    assert_eq!(
        folders.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
        ["", "Operations", "Operations/Empty", "Operations/Web"]
    );
    assert_eq!(folders[0].parent_id, None);
    assert_eq!(folders[3].id, web);
    assert_eq!(folders[3].parent_id, Some(folders[1].id));

    match db.store.delete_folder("Operations/Web").await {
        Err(StoreError::Conflict(message)) => assert!(message.contains("1 runbook"), "{message}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(matches!(
        db.store.delete_folder("Operations").await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(db.store.delete_folder("").await, Err(StoreError::Invalid(_))));
    assert_eq!(
        db.store.delete_folder("Nowhere").await,
        Err(StoreError::NotFound("folder 'Nowhere'".into()))
    );
    db.store.delete_folder("/Operations/Empty/").await.unwrap();
    assert_eq!(db.store.folders().await.unwrap().len(), 3);
}

#[tokio::test]
async fn runbooks_are_listed_under_a_folder_with_their_description() {
    let db = TestDb::new().await;
    let described = json!({ "format": 1, "description": "Restarts the web tier" });
    let plain = json!({ "format": 1 });
    db.store
        .save_runbook(save("Ops", "Top", &plain, "alice"))
        .await
        .unwrap();
    let (web, _) = db
        .store
        .save_runbook(save("Ops/Web", "Restart", &plain, "alice"))
        .await
        .unwrap();
    db.store
        .save_runbook(save("Ops/Web", "Restart", &described, "bob"))
        .await
        .unwrap();
    db.store
        .save_runbook(save("Opsx", "Lookalike", &plain, "alice"))
        .await
        .unwrap();
    db.store.save_runbook(save("", "Root", &plain, "alice")).await.unwrap();

    let names = |under| {
        let store = db.store.clone();
        async move {
            let list = store.list_runbooks(under).await.unwrap();
            list.into_iter()
                .map(|r| format!("{}/{}", r.folder, r.name))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        names(None).await,
        ["/Root", "Ops/Top", "Ops/Web/Restart", "Opsx/Lookalike"]
    );
    assert_eq!(names(Some("")).await, names(None).await);
    assert_eq!(names(Some("Ops")).await, ["Ops/Top", "Ops/Web/Restart"]);
    assert_eq!(names(Some("/Ops/Web/")).await, ["Ops/Web/Restart"]);
    assert_eq!(names(Some("Nowhere")).await, Vec::<String>::new());

    let listed = db.store.list_runbooks(Some("Ops/Web")).await.unwrap();
    let latest = db.store.runbook(web, None).await.unwrap();
    assert_eq!(
        (listed[0].id, listed[0].latest_version, listed[0].description.as_deref()),
        (web, 2, Some("Restarts the web tier"))
    );
    assert_eq!(listed[0].updated_at, latest.body.created_at);
    assert_eq!(listed[0].checked_out_by, None);
}

#[tokio::test]
async fn a_checked_out_runbook_is_locked_for_others() {
    let db = TestDb::new().await;
    let definition = json!({ "format": 1 });
    let (id, _) = db
        .store
        .save_runbook(save("Ops", "Locked", &definition, "alice"))
        .await
        .unwrap();
    db.store.check_out(id, "alice").await.unwrap();
    db.store.check_out(id, "alice").await.unwrap();
    assert_eq!(
        db.store.runbook(id, None).await.unwrap().checked_out_by.as_deref(),
        Some("alice")
    );

    for refused in [
        db.store
            .save_runbook(save("Ops", "Locked", &definition, "bob"))
            .await
            .map(|_| ()),
        db.store.check_out(id, "bob").await,
        db.store.undo_check_out(id, "bob", false).await,
    ] {
        match refused {
            Err(StoreError::Conflict(message)) => assert!(message.contains("alice"), "{message}"),
            other => panic!("expected a conflict naming alice, got {other:?}"),
        }
    }
    assert_eq!(db.store.runbook(id, None).await.unwrap().latest_version, 1);

    // The holder's check-in makes a version and releases the lock.
    assert_eq!(
        db.store.save_runbook(save("Ops", "Locked", &definition, "alice")).await,
        Ok((id, 2))
    );
    let listed = &db.store.list_runbooks(Some("Ops")).await.unwrap()[0];
    assert_eq!(listed.checked_out_by, None);
    db.store
        .save_runbook(save("Ops", "Locked", &definition, "bob"))
        .await
        .unwrap();

    // Undo: by the holder, or by anyone with force; an unlocked runbook is fine.
    db.store.check_out(id, "bob").await.unwrap();
    db.store.undo_check_out(id, "bob", false).await.unwrap();
    db.store.undo_check_out(id, "bob", false).await.unwrap();
    db.store.check_out(id, "bob").await.unwrap();
    db.store.undo_check_out(id, "admin", true).await.unwrap();
    assert_eq!(db.store.runbook(id, None).await.unwrap().checked_out_by, None);

    let missing = Uuid::now_v7();
    assert!(matches!(
        db.store.check_out(missing, "bob").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        db.store.undo_check_out(missing, "bob", true).await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn malformed_run_settings_are_refused() {
    let db = TestDb::new().await;
    for definition in [
        json!({ "format": 1, "concurrency": 0 }),
        json!({ "format": 1, "concurrency": "two" }),
        json!({ "format": 1, "runbook_servers": "rb-1" }),
    ] {
        assert!(
            matches!(
                db.store.save_runbook(save("", "Bad", &definition, "alice")).await,
                Err(StoreError::Invalid(_))
            ),
            "{definition}"
        );
    }
    assert_eq!(db.store.list_runbooks(None).await.unwrap(), []);
}
