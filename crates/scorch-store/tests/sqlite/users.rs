//! Users, tokens and folder permissions.

use scorch_store::{Grant, Role, Store, StoreError};
use uuid::Uuid;

use crate::TestDb;

fn grant(folder: &str, role: Role) -> Grant {
    Grant {
        folder: folder.into(),
        role,
    }
}

#[tokio::test]
async fn users_have_unique_names_and_read_back_with_their_grants() {
    let db = TestDb::new().await;
    let alice = db
        .store
        .create_user("alice", Some("$argon2id$v=19$..."), false)
        .await
        .unwrap();
    assert_eq!(
        (alice.name.as_str(), alice.admin, alice.password_hash.as_deref()),
        ("alice", false, Some("$argon2id$v=19$..."))
    );
    assert!(alice.grants.is_empty());
    let root = db.store.create_user("root", None, true).await.unwrap();
    assert!(matches!(
        db.store.create_user("alice", None, false).await,
        Err(StoreError::Conflict(message)) if message.contains("alice")
    ));
    assert!(matches!(
        db.store.create_user(" ", None, false).await,
        Err(StoreError::Invalid(_))
    ));

    db.store.grant("alice", "Ops", Role::Viewer).await.unwrap();
    db.store.grant("alice", "/Ops/Web/", Role::Author).await.unwrap();
    db.store.grant("alice", "Ops/Web", Role::Operator).await.unwrap();
    let alice = db.store.user("alice").await.unwrap();
    assert_eq!(
        alice.grants,
        [grant("Ops", Role::Viewer), grant("Ops/Web", Role::Operator)],
        "a grant on the same folder replaces the earlier one"
    );
    assert_eq!(alice.role_on("Ops"), Some(Role::Viewer));
    assert_eq!(alice.role_on("Ops/Web"), Some(Role::Operator));
    assert_eq!(alice.role_on("Ops/Web/Deep"), Some(Role::Operator));
    assert_eq!(alice.role_on("Ops/Other"), Some(Role::Viewer));
    assert_eq!(alice.role_on("Opsx"), None);
    assert_eq!(alice.role_on(""), None);
    assert_eq!(root.role_on("anything"), Some(Role::Admin));

    db.store.set_password("alice", "$argon2id$new").await.unwrap();
    let users = db.store.users().await.unwrap();
    assert_eq!(
        users.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        ["alice", "root"]
    );
    assert_eq!(users[0].password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(users[0].grants, alice.grants);
    assert!(users[1].admin && users[1].grants.is_empty());

    db.store.revoke("alice", "Ops").await.unwrap();
    assert_eq!(
        db.store.user("alice").await.unwrap().grants,
        [grant("Ops/Web", Role::Operator)]
    );
    assert!(matches!(
        db.store.revoke("alice", "Ops").await,
        Err(StoreError::NotFound(_))
    ));

    let nobody = Err(StoreError::NotFound("user 'nobody'".into()));
    assert_eq!(db.store.user("nobody").await, nobody);
    assert_eq!(db.store.set_password("nobody", "x").await, nobody.clone().map(|_| ()));
    assert_eq!(
        db.store.grant("nobody", "", Role::Admin).await,
        nobody.clone().map(|_| ())
    );
    assert_eq!(db.store.revoke("nobody", "").await, nobody.clone().map(|_| ()));
    assert_eq!(db.store.delete_user("nobody").await, nobody.clone().map(|_| ()));
    assert_eq!(db.store.tokens("nobody").await, nobody.clone().map(|_| Vec::new()));
    assert!(matches!(
        db.store.create_token("nobody", "hash", "ci").await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn tokens_find_their_user_until_revoked() {
    let db = TestDb::new().await;
    db.store.create_user("ci", None, false).await.unwrap();
    db.store.grant("ci", "Deploy", Role::Operator).await.unwrap();
    let first = db.store.create_token("ci", "aa11", "pipeline").await.unwrap();
    let second = db.store.create_token("ci", "bb22", "laptop").await.unwrap();
    assert_eq!(
        (first.user.as_str(), first.label.as_str(), first.revoked),
        ("ci", "pipeline", false)
    );
    assert!(matches!(
        db.store.create_token("ci", "aa11", "again").await,
        Err(StoreError::Conflict(_))
    ));

    let user = db.store.token_user("aa11").await.unwrap().expect("the token's user");
    assert_eq!(user.name, "ci");
    assert_eq!(user.grants, [grant("Deploy", Role::Operator)]);
    assert_eq!(db.store.token_user("unknown").await, Ok(None));

    db.store.revoke_token(first.id).await.unwrap();
    assert_eq!(db.store.token_user("aa11").await, Ok(None));
    assert!(db.store.token_user("bb22").await.unwrap().is_some());
    let tokens = db.store.tokens("ci").await.unwrap();
    assert_eq!(
        tokens.iter().map(|t| (t.id, t.revoked)).collect::<Vec<_>>(),
        [(first.id, true), (second.id, false)]
    );
    assert_eq!(tokens[1], second);
    assert!(matches!(
        db.store.revoke_token(Uuid::now_v7()).await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn deleting_a_user_removes_their_tokens_and_grants() {
    let db = TestDb::new().await;
    db.store.create_user("temp", None, false).await.unwrap();
    db.store.grant("temp", "", Role::Author).await.unwrap();
    db.store.create_token("temp", "cc33", "").await.unwrap();
    db.store.delete_user("temp").await.unwrap();
    assert!(matches!(db.store.user("temp").await, Err(StoreError::NotFound(_))));
    assert_eq!(db.store.token_user("cc33").await, Ok(None));

    // A new user of the same name starts with nothing, and the old token's hash is free again.
    let again = db.store.create_user("temp", None, false).await.unwrap();
    assert!(again.grants.is_empty());
    assert_eq!(db.store.tokens("temp").await, Ok(Vec::new()));
    db.store.create_token("temp", "cc33", "").await.unwrap();
}
