use scorch_store::{SqliteStore, Store, StoreError};

use crate::{TestDb, create_job, finished_run, instance_start};

#[tokio::test]
async fn a_new_file_is_migrated_and_reopens_cleanly() {
    let db = TestDb::new().await;
    let folder = db.store.ensure_folder("Operations/Web").await.unwrap();
    let reopened = db.reopen().await;
    assert_eq!(reopened.ensure_folder("/Operations/Web/").await.unwrap(), folder);
    // The file is in WAL mode: bytes 18 and 19 of the header are the read and write versions, 2 for WAL.
    let header = std::fs::read(db.path()).unwrap();
    assert_eq!(&header[18..20], &[2, 2]);
}

#[tokio::test]
async fn an_in_memory_database_works() {
    let store = SqliteStore::open("sqlite::memory:").await.unwrap();
    let definition = serde_json::json!({ "format": 1 });
    let save = scorch_store::SaveRunbook {
        id: None,
        folder: "",
        name: "Memory",
        definition: &definition,
        source: "",
        parameters: Vec::new(),
        activities: Vec::new(),
        author: "tester",
    };
    let (runbook, _) = store.save_runbook(save).await.unwrap();
    let job = create_job(&store, runbook).await.id;
    let journal = store.journal();
    let start = instance_start(runbook, job);
    journal.instance_started(&start).await.unwrap();
    journal.run_finished(&finished_run(start.instance_id, 0)).await.unwrap();
    assert_eq!(journal.runs(start.instance_id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_unwritable_path_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // A regular file where a directory should be: unwritable even for root.
    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, b"").unwrap();
    let path = blocker.join("scorch.db");
    match SqliteStore::open(&format!("sqlite:{}", path.display())).await {
        Err(err @ StoreError::Unavailable(_)) => {
            let message = err.to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(message.contains("unable to open database file"), "{message}");
        }
        other => panic!("expected Unavailable, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn other_urls_are_invalid() {
    for url in ["postgres://localhost/scorch", "sqlite:", "scorch.db"] {
        match SqliteStore::open(url).await {
            Err(StoreError::Invalid(message)) => assert!(message.contains("sqlite:PATH"), "{message}"),
            other => panic!("{url}: expected Invalid, got {:?}", other.map(|_| ())),
        }
    }
}
