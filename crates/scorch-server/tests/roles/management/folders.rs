//! The folder tree.

use scorch_store::Role;
use serde_json::json;

use super::{HELLO, Mgmt, code};
use reqwest::StatusCode;

#[tokio::test]
async fn folders_are_created_listed_and_deleted_when_empty() {
    let m = Mgmt::start().await;
    let (status, made) = m
        .post("/api/v1/folders", &m.admin, json!({ "path": "ops/daily" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["path"], "ops/daily");
    let (status, again) = m
        .post("/api/v1/folders", &m.admin, json!({ "path": "/ops/daily/" }))
        .await;
    assert_eq!((status, code(&again)), (StatusCode::CONFLICT, "conflict"));

    let (_, list) = m.get("/api/v1/folders", &m.admin).await;
    let paths: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"ops") && paths.contains(&"ops/daily"), "{paths:?}");

    m.push(&m.admin, HELLO, Some("ops/daily")).await;
    let (status, busy) = m.delete("/api/v1/folders/ops/daily", &m.admin).await;
    assert_eq!((status, code(&busy)), (StatusCode::CONFLICT, "conflict"), "{busy}");
    let (status, _) = m
        .post("/api/v1/folders", &m.admin, json!({ "path": "ops/weekly" }))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, answer) = m.delete("/api/v1/folders/ops/weekly", &m.admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    let (status, _) = m.delete("/api/v1/folders/ops/weekly", &m.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let actions = m.audit_actions().await;
    assert!(actions.iter().any(|a| a == "folder.create") && actions.iter().any(|a| a == "folder.delete"));
}

#[tokio::test]
async fn creating_a_folder_needs_admin_on_its_parent() {
    let m = Mgmt::start().await;
    let ops_admin = m.user("olga", &[("ops", Role::Admin)]).await;
    let author = m.user("otto", &[("", Role::Author)]).await;
    let (status, _) = m
        .post("/api/v1/folders", &ops_admin, json!({ "path": "ops/daily" }))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = m
        .post("/api/v1/folders", &ops_admin, json!({ "path": "finance" }))
        .await;
    assert!(
        status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
        "{status}"
    );
    let (status, refused) = m.post("/api/v1/folders", &author, json!({ "path": "hr" })).await;
    assert_eq!((status, code(&refused)), (StatusCode::FORBIDDEN, "forbidden"));
    let (_, seen) = m.get("/api/v1/folders", &ops_admin).await;
    let paths: Vec<&str> = seen
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(paths.iter().all(|p| p.starts_with("ops")), "{paths:?}");
}
