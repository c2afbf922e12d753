//! Check-in, pull, listing and check-out locks.

use reqwest::{Method, StatusCode};
use scorch_store::Role;
use serde_json::json;

use super::{HELLO, INVALID, Mgmt, code, message};

#[tokio::test]
async fn push_stores_versions_and_pull_returns_the_source() {
    let m = Mgmt::start().await;
    let (status, first) = m.push(&m.admin, HELLO, None).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(
        (
            first["name"].as_str(),
            first["folder"].as_str(),
            first["version"].as_i64()
        ),
        (Some("Hello"), Some(""), Some(1))
    );
    let id = first["id"].as_str().unwrap().to_string();

    let second_source = HELLO.replace("Says hello.", "Says hello again.");
    let (status, second) = m.push(&m.admin, &second_source, None).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["id"].as_str(), Some(id.as_str()), "the same runbook");
    assert_eq!(second["version"], 2);

    let (status, latest) = m.get(&format!("/api/v1/runbooks/{id}/source"), &m.admin).await;
    assert_eq!(status, StatusCode::OK, "{latest}");
    assert_eq!(
        latest["source"].as_str(),
        Some(second_source.as_str()),
        "kept as written"
    );
    assert_eq!(
        (latest["version"].as_i64(), latest["latest_version"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(latest["created_by"], "admin");
    let (_, first_version) = m
        .get(&format!("/api/v1/runbooks/{id}/source?version=1"), &m.admin)
        .await;
    assert_eq!(first_version["source"].as_str(), Some(HELLO));
    let (status, missing) = m
        .get(&format!("/api/v1/runbooks/{id}/source?version=9"), &m.admin)
        .await;
    assert_eq!((status, code(&missing)), (StatusCode::NOT_FOUND, "not_found"));

    let (status, list) = m.get("/api/v1/runbooks", &m.admin).await;
    assert_eq!(status, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0]["name"].as_str(), list[0]["latest_version"].as_i64()),
        (Some("Hello"), Some(2))
    );
    assert_eq!(list[0]["description"], "Says hello again.");

    let actions = m.audit_actions().await;
    assert_eq!(
        actions.iter().filter(|a| *a == "runbook.check_in").count(),
        2,
        "{actions:?}"
    );
}

#[tokio::test]
async fn the_folder_can_be_given_and_lists_filter_by_it() {
    let m = Mgmt::start().await;
    let (status, pushed) = m.push(&m.admin, HELLO, Some("/ops/daily/")).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    assert_eq!(pushed["folder"], "ops/daily");
    let other = HELLO.replace("runbook: Hello", "runbook: Other\nfolder: finance");
    let (status, pushed) = m.push(&m.admin, &other, None).await;
    assert_eq!(
        (status, pushed["folder"].as_str()),
        (StatusCode::CREATED, Some("finance"))
    );

    let (_, ops) = m.get("/api/v1/runbooks?folder=ops", &m.admin).await;
    let names: Vec<&str> = ops
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Hello"]);
    let (_, all) = m.get("/api/v1/runbooks", &m.admin).await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let (status, bad) = m.push(&m.admin, HELLO, Some("ops/../etc")).await;
    assert_eq!((status, code(&bad)), (StatusCode::BAD_REQUEST, "bad_request"));
}

#[tokio::test]
async fn an_invalid_runbook_is_refused_with_every_problem_and_nothing_is_stored() {
    let m = Mgmt::start().await;
    let (status, answer) = m.push(&m.admin, INVALID, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(code(&answer), "invalid_runbook");
    let diagnostics: Vec<&str> = answer["error"]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(diagnostics.len() >= 2, "{diagnostics:?}");
    assert!(
        diagnostics
            .iter()
            .any(|d| d.starts_with("5:") && d.contains("no_such_activity")),
        "{diagnostics:?}"
    );
    assert!(diagnostics.iter().any(|d| d.contains("cycle")), "{diagnostics:?}");
    for d in &diagnostics {
        let mut parts = d.splitn(3, ':');
        let (line, column) = (parts.next().unwrap(), parts.next().unwrap());
        assert!(
            line.parse::<u32>().is_ok() && column.parse::<u32>().is_ok(),
            "LINE:COL: {d}"
        );
    }

    let (status, answer) = m.push(&m.admin, "format: 1\nrunbook: [unclosed\n", None).await;
    assert_eq!((status, code(&answer)), (StatusCode::BAD_REQUEST, "invalid_runbook"));
    assert!(message(&answer).contains("YAML"), "{answer}");

    let (_, list) = m.get("/api/v1/runbooks", &m.admin).await;
    assert_eq!(list, json!([]), "nothing stored");
    assert!(!m.audit_actions().await.iter().any(|a| a == "runbook.check_in"));
}

#[tokio::test]
async fn a_checked_out_runbook_is_locked_for_other_authors_until_checked_in() {
    let m = Mgmt::start().await;
    let alice = m.user("alice", &[("", Role::Author)]).await;
    let bob = m.user("bob", &[("", Role::Author)]).await;
    let (_, pushed) = m.push(&alice, HELLO, None).await;
    let id = pushed["id"].as_str().unwrap().to_string();

    let (status, locked) = m
        .post(&format!("/api/v1/runbooks/{id}/checkout"), &alice, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{locked}");
    assert_eq!(locked["checked_out_by"], "alice");
    let (status, _) = m
        .post(&format!("/api/v1/runbooks/{id}/checkout"), &alice, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "checking out again is fine");

    let (status, refused) = m.push(&bob, HELLO, None).await;
    assert_eq!((status, code(&refused)), (StatusCode::CONFLICT, "conflict"));
    assert!(message(&refused).contains("alice"), "names the holder: {refused}");
    let (status, refused) = m
        .post(&format!("/api/v1/runbooks/{id}/checkout"), &bob, json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(message(&refused).contains("alice"), "{refused}");
    let (status, refused) = m
        .post(&format!("/api/v1/runbooks/{id}/undo-checkout"), &bob, json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    let (status, refused) = m
        .post(
            &format!("/api/v1/runbooks/{id}/undo-checkout?force=true"),
            &bob,
            json!({}),
        )
        .await;
    assert_eq!(
        (status, code(&refused)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "force is for admins"
    );

    // The holder's check-in makes a version and releases the lock.
    let (status, checked_in) = m.push(&alice, HELLO, None).await;
    assert_eq!(status, StatusCode::CREATED, "{checked_in}");
    assert_eq!(checked_in["version"], 2);
    let (_, list) = m.get("/api/v1/runbooks", &bob).await;
    assert_eq!(list[0]["checked_out_by"], json!(null), "{list}");
    let (status, pushed) = m.push(&bob, HELLO, None).await;
    assert_eq!((status, pushed["version"].as_i64()), (StatusCode::CREATED, Some(3)));

    // An administrator can undo anyone's check-out.
    m.post(&format!("/api/v1/runbooks/{id}/checkout"), &bob, json!({}))
        .await;
    let (status, undone) = m
        .post(
            &format!("/api/v1/runbooks/{id}/undo-checkout?force=true"),
            &m.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{undone}");
    assert_eq!(undone["checked_out_by"], json!(null));
    let actions = m.audit_actions().await;
    for action in ["runbook.check_out", "runbook.undo_check_out", "runbook.check_in"] {
        assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
    }
}

#[tokio::test]
async fn permissions_limit_who_pushes_and_who_sees() {
    let m = Mgmt::start().await;
    let viewer = m.user("vera", &[("", Role::Viewer)]).await;
    let ops_author = m.user("otto", &[("ops", Role::Author)]).await;
    let (status, refused) = m.push(&viewer, HELLO, None).await;
    assert_eq!(
        (status, code(&refused)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "{refused}"
    );
    assert!(
        message(&refused).contains("viewer") && message(&refused).contains("author"),
        "{refused}"
    );

    let (status, answer) = m
        .call(Method::POST, "/api/v1/runbooks", None, Some(json!({ "source": HELLO })))
        .await;
    assert_eq!((status, code(&answer)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let (status, answer) = m.push("sct_not_a_token", HELLO, None).await;
    assert_eq!((status, code(&answer)), (StatusCode::UNAUTHORIZED, "unauthenticated"));

    let (status, _) = m.push(&ops_author, HELLO, Some("ops")).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = m.push(&ops_author, HELLO, Some("finance")).await;
    assert!(
        status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
        "{status}"
    );
    let (_, secret) = m
        .push(&m.admin, &HELLO.replace("Hello", "Payroll"), Some("finance"))
        .await;
    let secret_id = secret["id"].as_str().unwrap();

    let (_, seen) = m.get("/api/v1/runbooks", &ops_author).await;
    let seen: Vec<&str> = seen
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["folder"].as_str().unwrap())
        .collect();
    assert_eq!(seen, ["ops"], "only what the grant reaches");
    let (status, hidden) = m
        .get(&format!("/api/v1/runbooks/{secret_id}/source"), &ops_author)
        .await;
    assert_eq!((status, code(&hidden)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, _) = m.get(&format!("/api/v1/runbooks/{secret_id}/source"), &viewer).await;
    assert_eq!(status, StatusCode::OK, "a viewer of the root sees everything");
    let (status, bad) = m.get("/api/v1/runbooks/not-a-uuid/source", &viewer).await;
    assert_eq!((status, code(&bad)), (StatusCode::BAD_REQUEST, "bad_request"));
}
