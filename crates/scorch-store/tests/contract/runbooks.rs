//! Folders, runbooks, versions, kept UUIDs, listing and check-out.

use std::sync::Arc;

use scorch_store::{ActivitySpec, ParameterSpec, SaveRunbook, Store, StoreError};
use serde_json::json;
use uuid::Uuid;

use crate::{definition, runbook};

crate::contract!(
    saves_make_versions_and_keep_ids,
    given_ids_and_bad_saves,
    lists_runbooks_under_folders,
    folders_are_made_and_deleted,
    check_out_locks_for_one_user,
    malformed_run_settings_are_refused,
);

fn parameter(id: Option<Uuid>, name: &str) -> ParameterSpec {
    ParameterSpec {
        id,
        name: name.into(),
        type_name: "string".into(),
        default: Some(format!("{name} default")),
    }
}

fn activity(id: Option<Uuid>, key: &str) -> ActivitySpec {
    ActivitySpec {
        id,
        key: key.into(),
        name: format!("The {key}"),
        type_name: "run_program".into(),
    }
}

async fn saves_make_versions_and_keep_ids(store: Arc<dyn Store>) {
    let mode_id = Uuid::new_v4();
    let init_id = Uuid::new_v4();
    let first = definition("Rotate", json!({ "description": "Compresses the logs." }));
    let (id, version) = store
        .save_runbook(SaveRunbook {
            id: None,
            folder: "Ops/Web",
            name: "Rotate",
            definition: &first,
            source: "format: 1\nrunbook: Rotate\n",
            parameters: vec![parameter(None, "Computer"), parameter(Some(mode_id), "Mode")],
            activities: vec![activity(Some(init_id), "init"), activity(None, "zip")],
            author: "alice",
        })
        .await
        .unwrap();
    assert_eq!(version, 1);
    let v1 = store.runbook(id, None).await.unwrap();
    assert_eq!(
        (
            v1.id,
            v1.folder.as_str(),
            v1.name.as_str(),
            v1.version,
            v1.latest_version
        ),
        (id, "Ops/Web", "Rotate", 1, 1)
    );
    assert_eq!(
        (&v1.body.definition, v1.body.source.as_str()),
        (&first, "format: 1\nrunbook: Rotate\n")
    );
    assert_eq!(
        (v1.body.created_by.as_str(), v1.checked_out_by.as_deref()),
        ("alice", None)
    );
    let names: Vec<_> = v1.body.parameters.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Computer", "Mode"]);
    assert_eq!(v1.body.parameters[1].id, mode_id);
    assert_eq!(v1.body.parameters[0].default.as_deref(), Some("Computer default"));
    let keys: Vec<_> = v1
        .body
        .activities
        .iter()
        .map(|a| (a.key.as_str(), a.name.as_str()))
        .collect();
    assert_eq!(keys, [("init", "The init"), ("zip", "The zip")]);
    assert_eq!(v1.body.activities[0].id, init_id);

    // A second check-in at the same path: the same runbook, the next version; parameters and
    // activities keep the ids their names had, new ones get new ids.
    let second = definition("Rotate", json!({ "concurrency": 3 }));
    let (again, version) = store
        .save_runbook(SaveRunbook {
            id: None,
            folder: " Ops / Web ",
            name: "Rotate",
            definition: &second,
            source: "v2",
            parameters: vec![
                parameter(None, "Mode"),
                parameter(None, "Computer"),
                parameter(None, "Extra"),
            ],
            activities: vec![activity(None, "zip"), activity(None, "mail")],
            author: "bob",
        })
        .await
        .unwrap();
    assert_eq!((again, version), (id, 2));
    let v2 = store.runbook(id, None).await.unwrap();
    assert_eq!(
        (v2.version, v2.latest_version, v2.body.created_by.as_str()),
        (2, 2, "bob")
    );
    assert_eq!(v2.body.definition, second);
    let ids: Vec<_> = v2.body.parameters.iter().map(|p| (p.name.as_str(), p.id)).collect();
    assert_eq!(ids[0], ("Mode", mode_id));
    assert_eq!(ids[1], ("Computer", v1.body.parameters[0].id));
    assert!(![mode_id, v1.body.parameters[0].id].contains(&ids[2].1));
    assert_eq!(v2.body.activities[0].id, v1.body.activities[1].id, "zip keeps its id");
    assert!(![init_id, v1.body.activities[1].id].contains(&v2.body.activities[1].id));

    // Old versions stay readable, knowing which is the latest.
    let old = store.runbook(id, Some(1)).await.unwrap();
    assert_eq!((old.version, old.latest_version, &old.body.definition), (1, 2, &first));
    assert_eq!(old.body.parameters, v1.body.parameters);
    assert!(matches!(store.runbook(id, Some(9)).await, Err(StoreError::NotFound(_))));
    let versions: Vec<_> = store
        .runbook_versions(id)
        .await
        .unwrap()
        .into_iter()
        .map(|v| (v.version, v.created_by, v.created_at))
        .collect();
    assert_eq!(
        versions,
        [
            (2, "bob".to_string(), v2.body.created_at),
            (1, "alice".to_string(), v1.body.created_at)
        ]
    );
    assert!(matches!(
        store.runbook_versions(Uuid::new_v4()).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.runbook(Uuid::new_v4(), None).await,
        Err(StoreError::NotFound(_))
    ));

    let by_path = store.runbook_by_path("/Ops/Web/", " Rotate ").await.unwrap();
    assert_eq!((by_path.id, by_path.version), (id, 2));
    assert!(matches!(
        store.runbook_by_path("Ops", "Rotate").await,
        Err(StoreError::NotFound(_))
    ));
}

async fn given_ids_and_bad_saves(store: Arc<dyn Store>) {
    let given = Uuid::new_v4();
    let body = definition("Imported", json!({}));
    let save = |id: Option<Uuid>, name: &'static str| SaveRunbook {
        id,
        folder: "Imports",
        name,
        definition: &body,
        source: "",
        parameters: Vec::new(),
        activities: Vec::new(),
        author: "tester",
    };
    assert_eq!(
        store.save_runbook(save(Some(given), "Imported")).await.unwrap(),
        (given, 1)
    );
    assert_eq!(
        store.save_runbook(save(Some(given), "Imported")).await.unwrap(),
        (given, 2)
    );
    // Another id at a taken path is a conflict.
    let clash = store.save_runbook(save(Some(Uuid::new_v4()), "Imported")).await;
    assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
    // A runbook saved under a new name moves there, keeping its id and versions.
    assert_eq!(
        store.save_runbook(save(Some(given), "Renamed")).await.unwrap(),
        (given, 3)
    );
    assert_eq!(store.runbook_by_path("Imports", "Renamed").await.unwrap().id, given);
    assert!(matches!(
        store.runbook_by_path("Imports", "Imported").await,
        Err(StoreError::NotFound(_))
    ));

    let blank = store.save_runbook(save(None, "  ")).await;
    assert!(matches!(blank, Err(StoreError::Invalid(_))), "{blank:?}");
    let twice = store
        .save_runbook(SaveRunbook {
            parameters: vec![parameter(None, "A"), parameter(None, "A")],
            ..save(None, "Twice")
        })
        .await;
    assert!(matches!(twice, Err(StoreError::Invalid(_))), "{twice:?}");
    let bad = definition("Bad", json!({ "concurrency": 0 }));
    let zero = store
        .save_runbook(SaveRunbook {
            definition: &bad,
            ..save(None, "Bad")
        })
        .await;
    assert!(matches!(zero, Err(StoreError::Invalid(_))), "{zero:?}");
    assert!(matches!(
        store.runbook_by_path("Imports", "Twice").await,
        Err(StoreError::NotFound(_))
    ));
}

async fn lists_runbooks_under_folders(store: Arc<dyn Store>) {
    let web = runbook(&store, "Ops/Web", "Rotate", json!({ "description": "Rotates logs." })).await;
    let ops = runbook(&store, "Ops", "Backup", json!({})).await;
    let ops2 = runbook(&store, "Ops2", "Other", json!({})).await;
    let root = runbook(&store, "", "Hello", json!({})).await;
    runbook(&store, "Ops", "Backup", json!({ "description": "second" })).await;

    let all = store.list_runbooks(None).await.unwrap();
    let listed: Vec<_> = all.iter().map(|r| (r.folder.as_str(), r.name.as_str(), r.id)).collect();
    assert_eq!(
        listed,
        [
            ("", "Hello", root),
            ("Ops", "Backup", ops),
            ("Ops/Web", "Rotate", web),
            ("Ops2", "Other", ops2)
        ]
    );
    let backup = &all[1];
    assert_eq!(
        (backup.latest_version, backup.description.as_deref()),
        (2, Some("second"))
    );
    assert_eq!(all[2].description.as_deref(), Some("Rotates logs."));
    assert_eq!(all[0].description, None);
    let latest = store.runbook(ops, None).await.unwrap();
    assert_eq!(backup.updated_at, latest.body.created_at);

    let names = |list: Vec<scorch_store::RunbookSummary>| list.into_iter().map(|r| r.name).collect::<Vec<_>>();
    assert_eq!(
        names(store.list_runbooks(Some("Ops")).await.unwrap()),
        ["Backup", "Rotate"]
    );
    assert_eq!(names(store.list_runbooks(Some("/Ops/Web")).await.unwrap()), ["Rotate"]);
    assert_eq!(names(store.list_runbooks(Some("")).await.unwrap()).len(), 4);
    assert!(store.list_runbooks(Some("Nowhere")).await.unwrap().is_empty());
}

async fn folders_are_made_and_deleted(store: Arc<dyn Store>) {
    let deep = store.ensure_folder("A/B/C").await.unwrap();
    assert_eq!(store.ensure_folder("/A/ B /C/").await.unwrap(), deep);
    runbook(&store, "Full", "Job", json!({})).await;
    let folders = store.folders().await.unwrap();
    let paths: Vec<_> = folders.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["", "A", "A/B", "A/B/C", "Full"]);
    let id = |path: &str| folders.iter().find(|f| f.path == path).unwrap().id;
    assert_eq!(folders[0].parent_id, None);
    assert_eq!(folders[1].parent_id, Some(id("")));
    assert_eq!(folders[3].parent_id, Some(id("A/B")));
    assert_eq!(id("A/B/C"), deep);

    let holds_folder = store.delete_folder("A/B").await;
    assert!(matches!(holds_folder, Err(StoreError::Conflict(_))), "{holds_folder:?}");
    let holds_runbook = store.delete_folder("Full").await;
    assert!(
        matches!(holds_runbook, Err(StoreError::Conflict(_))),
        "{holds_runbook:?}"
    );
    assert!(matches!(
        store.delete_folder("Nope").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(store.delete_folder("").await, Err(StoreError::Invalid(_))));
    store.delete_folder("A/B/C").await.unwrap();
    store.delete_folder("A/B").await.unwrap();
    let paths: Vec<_> = store.folders().await.unwrap().into_iter().map(|f| f.path).collect();
    assert_eq!(paths, ["", "A", "Full"]);
}

async fn check_out_locks_for_one_user(store: Arc<dyn Store>) {
    let id = runbook(&store, "Ops", "Locked", json!({})).await;
    store.check_out(id, "alice").await.unwrap();
    store.check_out(id, "alice").await.unwrap();
    let taken = store.check_out(id, "bob").await;
    assert!(
        matches!(&taken, Err(StoreError::Conflict(m)) if m.contains("alice")),
        "{taken:?}"
    );
    assert_eq!(
        store.runbook(id, None).await.unwrap().checked_out_by.as_deref(),
        Some("alice")
    );
    assert_eq!(
        store.list_runbooks(None).await.unwrap()[0].checked_out_by.as_deref(),
        Some("alice")
    );

    // Someone else's check-in is refused, naming the holder; nothing is stored.
    let body = definition("Locked", json!({}));
    let save = |author: &'static str| SaveRunbook {
        id: Some(id),
        folder: "Ops",
        name: "Locked",
        definition: &body,
        source: "",
        parameters: Vec::new(),
        activities: Vec::new(),
        author,
    };
    let refused = store.save_runbook(save("bob")).await;
    assert!(
        matches!(&refused, Err(StoreError::Conflict(m)) if m.contains("alice")),
        "{refused:?}"
    );
    assert_eq!(store.runbook(id, None).await.unwrap().latest_version, 1);
    let undo = store.undo_check_out(id, "bob", false).await;
    assert!(
        matches!(&undo, Err(StoreError::Conflict(m)) if m.contains("alice")),
        "{undo:?}"
    );

    // The holder's check-in makes a version and releases the lock.
    assert_eq!(store.save_runbook(save("alice")).await.unwrap(), (id, 2));
    assert_eq!(store.runbook(id, None).await.unwrap().checked_out_by, None);

    store.check_out(id, "bob").await.unwrap();
    store.undo_check_out(id, "alice", true).await.unwrap();
    assert_eq!(store.runbook(id, None).await.unwrap().checked_out_by, None);
    store.undo_check_out(id, "alice", false).await.unwrap();
    store.check_out(id, "carol").await.unwrap();
    store.undo_check_out(id, "carol", false).await.unwrap();
    assert_eq!(store.runbook(id, None).await.unwrap().checked_out_by, None);

    let missing = Uuid::new_v4();
    assert!(matches!(
        store.check_out(missing, "alice").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.undo_check_out(missing, "alice", true).await,
        Err(StoreError::NotFound(_))
    ));
}

/// Run settings of the wrong kind are refused, and nothing is saved.
async fn malformed_run_settings_are_refused(store: Arc<dyn Store>) {
    for extra in [
        json!({ "concurrency": 0 }),
        json!({ "concurrency": "two" }),
        json!({ "runbook_servers": "rb-1" }),
    ] {
        let body = definition("Bad", extra.clone());
        let saved = store
            .save_runbook(SaveRunbook {
                id: None,
                folder: "",
                name: "Bad",
                definition: &body,
                source: "",
                parameters: Vec::new(),
                activities: Vec::new(),
                author: "alice",
            })
            .await;
        assert!(matches!(saved, Err(StoreError::Invalid(_))), "{extra}: {saved:?}");
    }
    assert_eq!(store.list_runbooks(None).await.unwrap(), []);
}
