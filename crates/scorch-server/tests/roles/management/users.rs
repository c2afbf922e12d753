//! Users, tokens, grants and password log-in.

use reqwest::{Method, StatusCode};
use scorch_store::Role;
use serde_json::json;

use super::{HELLO, Mgmt, code, message};

#[tokio::test]
async fn users_are_managed_by_admins_and_never_show_secrets() {
    let m = Mgmt::start().await;
    let body = json!({ "name": "carol", "password": "correct horse battery" });
    let (status, carol) = m.post("/api/v1/users", &m.admin, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{carol}");
    assert_eq!(
        carol,
        json!({ "name": "carol", "admin": false, "has_password": true, "grants": [] })
    );
    let (status, again) = m.post("/api/v1/users", &m.admin, body).await;
    assert_eq!((status, code(&again)), (StatusCode::CONFLICT, "conflict"));
    let (status, short) = m
        .post("/api/v1/users", &m.admin, json!({ "name": "dan", "password": "short" }))
        .await;
    assert_eq!((status, code(&short)), (StatusCode::BAD_REQUEST, "bad_request"));

    let (status, users) = m.get("/api/v1/users", &m.admin).await;
    assert_eq!(status, StatusCode::OK);
    let text = users.to_string();
    assert!(!text.contains("argon2") && !text.contains("correct horse"), "{text}");
    assert_eq!(users.as_array().unwrap().len(), 2);
    assert!(
        !m.get("/api/v1/audit", &m.admin)
            .await
            .1
            .to_string()
            .contains("correct horse")
    );

    let viewer = m.user("vera", &[("", Role::Viewer)]).await;
    let (status, refused) = m.get("/api/v1/users", &viewer).await;
    assert_eq!((status, code(&refused)), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, _) = m
        .post("/api/v1/users", &viewer, json!({ "name": "eve", "admin": true }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, me) = m.get("/api/v1/users/vera", &viewer).await;
    assert_eq!((status, me["name"].as_str()), (StatusCode::OK, Some("vera")));

    let (status, refused) = m.delete("/api/v1/users/admin", &m.admin).await;
    assert_eq!(status, StatusCode::CONFLICT, "not oneself: {refused}");
    let (status, _) = m.delete("/api/v1/users/carol", &m.admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = m.delete("/api/v1/users/carol", &m.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let actions = m.audit_actions().await;
    assert!(actions.iter().any(|a| a == "user.create") && actions.iter().any(|a| a == "user.delete"));
}

#[tokio::test]
async fn tokens_are_shown_once_and_can_be_revoked() {
    let m = Mgmt::start().await;
    m.post("/api/v1/users", &m.admin, json!({ "name": "carol" })).await;
    let (status, made) = m
        .post("/api/v1/users/carol/tokens", &m.admin, json!({ "label": "ci" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let token = made["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("sct_"));
    let (status, _) = m.get("/api/v1/variables", &token).await;
    assert_eq!(status, StatusCode::OK, "the new token works");

    let (_, listed) = m.get("/api/v1/users/carol/tokens", &m.admin).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(
        (listed[0]["label"].as_str(), listed[0]["revoked"].as_bool()),
        (Some("ci"), Some(false))
    );
    assert!(!listed.to_string().contains(&token[4..]), "no secret in listings");
    let (_, own) = m.get("/api/v1/users/carol/tokens", &token).await;
    assert_eq!(own.as_array().unwrap().len(), 1, "a user lists their own tokens");
    let (status, _) = m.get("/api/v1/users/admin/tokens", &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "but not someone else's");

    let id = made["id"].as_str().unwrap();
    let (status, _) = m.delete(&format!("/api/v1/tokens/{id}"), &m.admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, answer) = m.get("/api/v1/variables", &token).await;
    assert_eq!((status, code(&answer)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let audit = m.get("/api/v1/audit", &m.admin).await.1.to_string();
    assert!(audit.contains("token.create") && audit.contains("token.revoke") && !audit.contains(&token[4..]));
}

#[tokio::test]
async fn grants_give_roles_on_folders() {
    let m = Mgmt::start().await;
    m.store.ensure_folder("ops").await.unwrap();
    let olga = m.user("olga", &[("ops", Role::Admin)]).await;
    m.post("/api/v1/users", &m.admin, json!({ "name": "otto" })).await;
    let (_, made) = m
        .post("/api/v1/users/otto/tokens", &m.admin, json!({ "label": "t" }))
        .await;
    let otto = made["token"].as_str().unwrap().to_string();

    let (status, _) = m.push(&otto, HELLO, Some("ops")).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no grant: the folder is not even visible"
    );
    // A folder Admin may grant on their folder, and not elsewhere.
    let (status, granted) = m
        .put(
            "/api/v1/grants",
            &olga,
            json!({ "user": "otto", "folder": "ops", "role": "author" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{granted}");
    assert_eq!(granted["grants"], json!([{ "folder": "ops", "role": "author" }]));
    let (status, _) = m
        .put(
            "/api/v1/grants",
            &olga,
            json!({ "user": "otto", "folder": "", "role": "admin" }),
        )
        .await;
    assert!(
        status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
        "{status}"
    );
    let (status, bad) = m
        .put(
            "/api/v1/grants",
            &olga,
            json!({ "user": "otto", "folder": "ops", "role": "boss" }),
        )
        .await;
    assert_eq!((status, code(&bad)), (StatusCode::BAD_REQUEST, "bad_request"));
    assert!(message(&bad).contains("viewer"), "{bad}");
    let (status, _) = m
        .put(
            "/api/v1/grants",
            &olga,
            json!({ "user": "nobody", "folder": "ops", "role": "viewer" }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A folder that does not exist: refused, naming the nearest ones and how to make it.
    let (status, missing) = m
        .put(
            "/api/v1/grants",
            &m.admin,
            json!({ "user": "otto", "folder": "Opz", "role": "viewer" }),
        )
        .await;
    assert_eq!((status, code(&missing)), (StatusCode::NOT_FOUND, "not_found"));
    assert_eq!(
        message(&missing),
        "folder 'Opz' does not exist (did you mean 'ops'?); create it with `scorch folder create Opz`, then grant again"
    );
    let (status, _) = m
        .put(
            "/api/v1/grants",
            &m.admin,
            json!({ "user": "otto", "folder": "Marketing", "role": "viewer" }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, otto_now) = m.get("/api/v1/users/otto", &m.admin).await;
    assert_eq!(
        otto_now["grants"],
        json!([{ "folder": "ops", "role": "author" }]),
        "nothing granted"
    );
    let (status, pushed) = m.push(&otto, HELLO, Some("ops")).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    let (status, _) = m.push(&otto, HELLO, Some("ops/sub")).await;
    assert_eq!(status, StatusCode::CREATED, "a grant covers subfolders");

    let (status, revoked) = m
        .call(Method::DELETE, "/api/v1/grants?user=otto&folder=ops", Some(&olga), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["grants"], json!([]));
    let (_, seen) = m.get("/api/v1/runbooks", &otto).await;
    assert_eq!(seen, json!([]));
    let actions = m.audit_actions().await;
    assert!(actions.iter().any(|a| a == "grant.set") && actions.iter().any(|a| a == "grant.revoke"));
    // The root always exists, however it is spelled.
    for root in ["", "/"] {
        let (status, granted) = m
            .put(
                "/api/v1/grants",
                &m.admin,
                json!({ "user": "otto", "folder": root, "role": "viewer" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{granted}");
    }
}

#[tokio::test]
async fn a_session_is_a_new_token_for_a_password() {
    let m = Mgmt::start().await;
    m.post(
        "/api/v1/users",
        &m.admin,
        json!({ "name": "carol", "password": "correct horse battery" }),
    )
    .await;
    m.post("/api/v1/users", &m.admin, json!({ "name": "tokenonly" })).await;
    let login = |user: &str, password: &str| json!({ "user": user, "password": password });

    let (status, session) = m
        .call(
            Method::POST,
            "/api/v1/session",
            None,
            Some(login("carol", "correct horse battery")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let token = session["token"].as_str().unwrap();
    let (status, _) = m.get("/api/v1/variables", token).await;
    assert_eq!(status, StatusCode::OK);
    let (_, tokens) = m.get("/api/v1/users/carol/tokens", &m.admin).await;
    assert_eq!(tokens[0]["label"], "session");

    let (wrong_status, wrong) = m
        .call(
            Method::POST,
            "/api/v1/session",
            None,
            Some(login("carol", "wrong password")),
        )
        .await;
    let (unknown_status, unknown) = m
        .call(
            Method::POST,
            "/api/v1/session",
            None,
            Some(login("mallory", "whatever1")),
        )
        .await;
    let (none_status, none) = m
        .call(
            Method::POST,
            "/api/v1/session",
            None,
            Some(login("tokenonly", "whatever1")),
        )
        .await;
    assert_eq!(
        (wrong_status, unknown_status, none_status),
        (
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED
        )
    );
    assert_eq!(wrong, unknown, "a wrong password looks like an unknown user");
    assert_eq!(wrong, none);
    assert!(m.audit_actions().await.iter().any(|a| a == "session.create"));
}
