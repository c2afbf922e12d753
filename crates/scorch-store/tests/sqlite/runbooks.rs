use scorch_store::{ActivitySpec, JobStatus, NewJob, ParameterSpec, SaveRunbook, Store, StoreError};
use serde_json::{Map, json};
use uuid::Uuid;

use crate::TestDb;

fn save<'a>(id: Option<Uuid>, definition: &'a serde_json::Value, parameters: Vec<ParameterSpec>) -> SaveRunbook<'a> {
    SaveRunbook {
        id,
        folder: "Operations/Web",
        name: "Restart Web Tier",
        definition,
        source: "format: 1\nrunbook: Restart Web Tier\n",
        parameters,
        activities: vec![ActivitySpec {
            id: None,
            key: "init".into(),
            name: "Initialize Data".into(),
            type_name: "initialize_data".into(),
        }],
        author: "alice",
    }
}

fn parameter(id: Option<Uuid>, name: &str) -> ParameterSpec {
    ParameterSpec {
        id,
        name: name.into(),
        type_name: "string".into(),
        default: Some("web01".into()),
    }
}

#[tokio::test]
async fn saving_keeps_given_ids_and_makes_versions() {
    let db = TestDb::new().await;
    let (runbook_id, parameter_id) = (Uuid::new_v4(), Uuid::new_v4());
    let v1 = json!({ "format": 1, "v": 1 });
    let saved = db
        .store
        .save_runbook(save(
            Some(runbook_id),
            &v1,
            vec![parameter(Some(parameter_id), "Computer")],
        ))
        .await;
    assert_eq!(saved.unwrap(), (runbook_id, 1));

    // Saved again without ids: same runbook (by path), same parameter and activity ids (by name).
    let v2 = json!({ "format": 1, "v": 2 });
    let saved = db
        .store
        .save_runbook(save(
            None,
            &v2,
            vec![parameter(None, "Computer"), parameter(None, "Port")],
        ))
        .await;
    assert_eq!(saved.unwrap(), (runbook_id, 2));

    let latest = db.store.runbook(runbook_id, None).await.unwrap();
    assert_eq!(
        (latest.version, latest.latest_version, &latest.body.definition),
        (2, 2, &v2)
    );
    assert_eq!(
        (latest.folder.as_str(), latest.name.as_str()),
        ("Operations/Web", "Restart Web Tier")
    );
    assert_eq!(latest.body.created_by, "alice");
    assert_eq!(
        latest
            .body
            .parameters
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["Computer", "Port"]
    );
    assert_eq!(latest.body.parameters[0].id, parameter_id);
    assert_ne!(latest.body.parameters[1].id, parameter_id);
    assert_eq!(latest.body.parameters[0].default.as_deref(), Some("web01"));

    let first = db.store.runbook(runbook_id, Some(1)).await.unwrap();
    assert_eq!(
        (first.version, first.latest_version, &first.body.definition),
        (1, 2, &v1)
    );
    assert_eq!(first.body.activities[0].id, latest.body.activities[0].id);

    let by_path = db
        .store
        .runbook_by_path("/Operations/Web", "Restart Web Tier")
        .await
        .unwrap();
    assert_eq!(by_path, latest);
    assert_eq!(
        db.store.runbook_by_path("Operations", "Restart Web Tier").await,
        Err(StoreError::NotFound(
            "runbook 'Restart Web Tier' in folder 'Operations'".into()
        ))
    );
    assert!(matches!(
        db.store.runbook(runbook_id, Some(3)).await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn conflicting_or_malformed_saves_are_refused() {
    let db = TestDb::new().await;
    let definition = json!({ "format": 1 });
    db.store
        .save_runbook(save(None, &definition, Vec::new()))
        .await
        .unwrap();
    let other_id = Some(Uuid::new_v4());
    assert!(matches!(
        db.store.save_runbook(save(other_id, &definition, Vec::new())).await,
        Err(StoreError::Conflict(_))
    ));
    let twice = vec![parameter(None, "Computer"), parameter(None, "Computer")];
    assert_eq!(
        db.store.save_runbook(save(None, &definition, twice)).await,
        Err(StoreError::Invalid("parameter name 'Computer' appears twice".into()))
    );
}

#[tokio::test]
async fn jobs_are_created_pending_for_the_latest_version() {
    let db = TestDb::new().await;
    let runbook = db.runbook("", "Root Runbook").await;
    db.runbook("", "Root Runbook").await;
    let mut parameters = Map::new();
    parameters.insert("Computer".into(), json!("web01"));
    let new = |version, parent_job| NewJob {
        runbook_id: runbook,
        version,
        parameters: &parameters,
        created_by: "alice",
        parent_job,
        awaited: false,
    };
    let job = db.store.create_job(new(None, None)).await.unwrap();
    assert_eq!(
        (job.status, job.runbook_id, job.version, job.created_by.as_str()),
        (JobStatus::Pending, runbook, 2, "alice")
    );
    assert_eq!(job.parameters, parameters);
    assert_eq!(
        (
            job.claimed_by.clone(),
            job.instance_id,
            job.cancel_requested,
            job.ended_at
        ),
        (None, None, false, None)
    );
    assert_eq!(db.store.job(job.id).await.unwrap(), job);

    let child = db.store.create_job(new(Some(2), Some(job.id))).await.unwrap();
    assert_eq!((child.version, child.parent_job), (2, Some(job.id)));
    assert_eq!(db.store.job(child.id).await.unwrap(), child);

    // Parameters checked against a version that is no longer the latest.
    assert_eq!(
        db.store.create_job(new(Some(1), None)).await,
        Err(StoreError::Conflict(format!(
            "runbook {runbook}: version 1 is no longer the latest (version 2 is)"
        )))
    );

    assert_eq!(
        db.store.create_job(new(Some(7), None)).await,
        Err(StoreError::NotFound(format!("runbook {runbook} version 7")))
    );
    let missing = Uuid::now_v7();
    let orphan = NewJob {
        runbook_id: missing,
        ..new(None, None)
    };
    assert_eq!(
        db.store.create_job(orphan).await,
        Err(StoreError::NotFound(format!("runbook {missing}")))
    );
    assert!(matches!(db.store.job(missing).await, Err(StoreError::NotFound(_))));
}
