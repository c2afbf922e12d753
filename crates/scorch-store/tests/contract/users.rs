//! Users, tokens, folder grants and the roles they give; the audit trail; runbook servers.

use std::sync::Arc;

use scorch_store::{AuditFilter, Grant, NewAudit, Role, ServerRegistration, Store, StoreError};
use serde_json::{Value, json};
use uuid::Uuid;

crate::contract!(
    users_tokens_and_grants,
    audit_is_read_newest_first,
    audit_is_searched_by_actor_action_time_and_text,
    runbook_servers_register_and_heartbeat
);

async fn users_tokens_and_grants(store: Arc<dyn Store>) {
    let alice = store
        .create_user("alice", Some("$argon2id$v=19$hash"), false)
        .await
        .unwrap();
    assert_eq!(
        (alice.name.as_str(), alice.admin, alice.password_hash.as_deref()),
        ("alice", false, Some("$argon2id$v=19$hash"))
    );
    let duplicate = store.create_user("alice", None, true).await;
    assert!(matches!(duplicate, Err(StoreError::Conflict(_))), "{duplicate:?}");
    assert!(matches!(
        store.create_user(" ", None, false).await,
        Err(StoreError::Invalid(_))
    ));
    let bob = store.create_user("bob", None, true).await.unwrap();
    assert_eq!(store.user("alice").await.unwrap(), alice);
    // Made an administrator and back (what `scorch admin reset` does to `admin`).
    store.set_admin("alice", true).await.unwrap();
    assert!(store.user("alice").await.unwrap().admin);
    store.set_admin("alice", false).await.unwrap();
    assert_eq!(store.user("alice").await.unwrap(), alice);
    assert!(matches!(
        store.set_admin("nobody", true).await,
        Err(StoreError::NotFound(_))
    ));

    store.grant("alice", "Ops", Role::Operator).await.unwrap();
    store.grant("alice", "/Ops/Web/", Role::Author).await.unwrap();
    store.grant("alice", "Ops", Role::Viewer).await.unwrap();
    let alice = store.user("alice").await.unwrap();
    assert_eq!(
        alice.grants,
        [
            Grant {
                folder: "Ops".into(),
                role: Role::Viewer
            },
            Grant {
                folder: "Ops/Web".into(),
                role: Role::Author
            },
        ]
    );
    assert_eq!(alice.role_on("Ops"), Some(Role::Viewer));
    assert_eq!(alice.role_on("Ops/Web/Deep"), Some(Role::Author));
    assert_eq!(alice.role_on("Ops2"), None);
    assert_eq!(alice.role_on(""), None);
    assert_eq!(store.user("bob").await.unwrap().role_on("Anything"), Some(Role::Admin));
    assert!(matches!(
        store.grant("nobody", "Ops", Role::Viewer).await,
        Err(StoreError::NotFound(_))
    ));
    store.revoke("alice", "Ops").await.unwrap();
    assert!(matches!(
        store.revoke("alice", "Ops").await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.user("alice").await.unwrap().role_on("Ops"), None);
    let names: Vec<_> = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.name, u.grants.len()))
        .collect();
    assert_eq!(names, [("alice".to_string(), 1), ("bob".to_string(), 0)]);

    store.set_password("bob", "$argon2id$new").await.unwrap();
    assert_eq!(
        store.user("bob").await.unwrap().password_hash.as_deref(),
        Some("$argon2id$new")
    );
    assert!(matches!(
        store.set_password("nobody", "x").await,
        Err(StoreError::NotFound(_))
    ));

    let token = store.create_token("alice", "hash-1", "ci").await.unwrap();
    assert_eq!(
        (token.user.as_str(), token.label.as_str(), token.revoked),
        ("alice", "ci", false)
    );
    let other = store.create_token("alice", "hash-2", "laptop").await.unwrap();
    assert!(matches!(
        store.create_token("bob", "hash-1", "x").await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.create_token("nobody", "hash-3", "x").await,
        Err(StoreError::NotFound(_))
    ));
    let holder = store.token_user("hash-1").await.unwrap().expect("the token's user");
    assert_eq!((holder.id, holder.grants.len()), (alice.id, 1));
    assert_eq!(store.token_user("unknown").await.unwrap(), None);
    store.revoke_token(token.id).await.unwrap();
    assert_eq!(store.token_user("hash-1").await.unwrap(), None);
    assert!(matches!(
        store.revoke_token(Uuid::new_v4()).await,
        Err(StoreError::NotFound(_))
    ));
    let tokens = store.tokens("alice").await.unwrap();
    let listed: Vec<_> = tokens.iter().map(|t| (t.id, t.revoked)).collect();
    assert_eq!(listed, [(token.id, true), (other.id, false)]);
    // A sign-out revokes the token it was made with; an unknown one is no error.
    store.revoke_token_hash("hash-2").await.unwrap();
    assert_eq!(store.token_user("hash-2").await.unwrap(), None);
    store.revoke_token_hash("unknown").await.unwrap();
    assert_eq!(tokens[0].created_at, token.created_at);

    store.delete_user("alice").await.unwrap();
    assert_eq!(store.token_user("hash-2").await.unwrap(), None);
    assert!(matches!(store.user("alice").await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.delete_user("alice").await, Err(StoreError::NotFound(_))));
    // A new alice starts with nothing.
    let again = store.create_user("alice", None, false).await.unwrap();
    assert_ne!(again.id, alice.id);
    assert!(store.user("alice").await.unwrap().grants.is_empty());
    assert_eq!(store.users().await.unwrap().len(), 2);
    // ...no tokens, and the old ones' hashes are free again.
    assert!(store.tokens("alice").await.unwrap().is_empty());
    store.create_token("alice", "hash-1", "again").await.unwrap();
    assert_eq!(bob.grants, []);
}

async fn audit_is_read_newest_first(store: Arc<dyn Store>) {
    let before = crate::now();
    let object = Uuid::new_v4();
    let details = [json!({ "version": 2 }), Value::Null, json!(["a", 1])];
    for (i, detail) in details.iter().enumerate() {
        store
            .audit(NewAudit {
                actor: "alice",
                action: ["runbook.push", "job.start", "job.cancel"][i],
                object_type: if i == 0 { "runbook" } else { "job" },
                object_id: (i != 2).then_some(object),
                detail,
            })
            .await
            .unwrap();
    }
    let all = store.audit_log(0, 0).await.unwrap();
    let actions: Vec<_> = all.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["job.cancel", "job.start", "runbook.push"]);
    assert!(all[0].id > all[1].id && all[1].id > all[2].id);
    assert_eq!(
        (&all[2].detail, all[2].object_id, all[2].object_type.as_str()),
        (&details[0], Some(object), "runbook")
    );
    assert_eq!(
        (&all[1].detail, &all[0].detail, all[0].object_id),
        (&Value::Null, &details[2], None)
    );
    assert!(
        all.iter()
            .all(|e| e.actor == "alice" && e.at >= before && e.at <= crate::now())
    );
    let page: Vec<_> = store
        .audit_log(2, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(page, ["job.cancel", "job.start"]);
    let page: Vec<_> = store
        .audit_log(2, 2)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(page, ["runbook.push"]);
}

async fn audit_is_searched_by_actor_action_time_and_text(store: Arc<dyn Store>) {
    let entries = [
        ("alice", "job.start", json!({ "runbook": "Ops/Deploy Web" })),
        ("bob", "job.cancel", json!({ "runbook": "Ops/Deploy Web" })),
        ("alice", "runbook.push", json!({ "path": "Finance/Pay_Roll 100%" })),
        ("bob", "jobs.purge", Value::Null),
    ];
    for (actor, action, detail) in &entries {
        store
            .audit(NewAudit {
                actor,
                action,
                object_type: "job",
                object_id: None,
                detail,
            })
            .await
            .unwrap();
    }
    let search = |filter: AuditFilter| {
        let store = store.clone();
        async move {
            let found = store.search_audit(&filter).await.unwrap();
            found
                .into_iter()
                .map(|e| format!("{} {}", e.actor, e.action))
                .collect::<Vec<_>>()
        }
    };
    let filter = AuditFilter::default;
    assert_eq!(
        search(AuditFilter {
            actor: Some("alice".into()),
            ..filter()
        })
        .await,
        ["alice runbook.push", "alice job.start"]
    );
    // An action ending in '.' takes the actions it begins, and no other ('jobs.' is not 'job.').
    assert_eq!(
        search(AuditFilter {
            action: Some("job.".into()),
            ..filter()
        })
        .await,
        ["bob job.cancel", "alice job.start"]
    );
    assert_eq!(
        search(AuditFilter {
            action: Some("job.start".into()),
            actor: Some("bob".into()),
            ..filter()
        })
        .await,
        Vec::<String>::new()
    );
    // Text: case-insensitive, in the detail or the action; LIKE's wildcards match themselves.
    assert_eq!(
        search(AuditFilter {
            text: Some("deploy WEB".into()),
            ..filter()
        })
        .await,
        ["bob job.cancel", "alice job.start"]
    );
    assert_eq!(
        search(AuditFilter {
            text: Some("PURGE".into()),
            ..filter()
        })
        .await,
        ["bob jobs.purge"]
    );
    for literal in ["pay_roll 100%", "_", "%"] {
        assert_eq!(
            search(AuditFilter {
                text: Some(literal.into()),
                ..filter()
            })
            .await,
            ["alice runbook.push"],
            "{literal}"
        );
    }
    assert_eq!(
        search(AuditFilter {
            text: Some("pay%roll".into()),
            ..filter()
        })
        .await,
        Vec::<String>::new()
    );
    let all = store.audit_log(0, 0).await.unwrap();
    let (newest, oldest) = (all[0].at, all[3].at);
    assert_eq!(
        search(AuditFilter {
            since: Some(oldest),
            until: Some(newest),
            ..filter()
        })
        .await
        .len(),
        all.iter().filter(|e| e.at < newest).count()
    );
    assert_eq!(
        search(AuditFilter {
            since: Some(crate::now() + jiff::SignedDuration::from_secs(60)),
            ..filter()
        })
        .await,
        Vec::<String>::new()
    );
    assert_eq!(
        search(AuditFilter {
            actor: Some("bob".into()),
            limit: 1,
            offset: 1,
            ..filter()
        })
        .await,
        ["bob job.cancel"]
    );
}

async fn runbook_servers_register_and_heartbeat(store: Arc<dyn Store>) {
    let registration = ServerRegistration {
        name: "rb1".into(),
        host: "host-a".into(),
        max_instances: 50,
        packs: vec!["ssh".into(), "email".into()],
    };
    let id = store.register_server(&registration).await.unwrap();
    let before = crate::now();
    store.heartbeat("rb1", 7).await.unwrap();
    let servers = store.servers().await.unwrap();
    assert_eq!(servers.len(), 1);
    let rb1 = &servers[0];
    assert_eq!(
        (
            rb1.id,
            rb1.name.as_str(),
            rb1.host.as_str(),
            rb1.max_instances,
            rb1.running
        ),
        (id, "rb1", "host-a", 50, 7)
    );
    assert_eq!(rb1.packs, ["ssh", "email"]);
    assert!(rb1.heartbeat_at.is_some_and(|at| at >= before));

    // Registering again (a restart) keeps the id and starts with nothing running.
    let moved = ServerRegistration {
        host: "host-b".into(),
        max_instances: 10,
        packs: Vec::new(),
        ..registration
    };
    assert_eq!(store.register_server(&moved).await.unwrap(), id);
    store
        .register_server(&ServerRegistration {
            name: "rb0".into(),
            host: "host-c".into(),
            max_instances: 1,
            packs: Vec::new(),
        })
        .await
        .unwrap();
    let servers = store.servers().await.unwrap();
    let listed: Vec<_> = servers
        .iter()
        .map(|s| (s.name.as_str(), s.host.as_str(), s.max_instances, s.running))
        .collect();
    assert_eq!(listed, [("rb0", "host-c", 1, 0), ("rb1", "host-b", 10, 0)]);
    assert!(servers[1].packs.is_empty());
    assert!(matches!(
        store.heartbeat("nobody", 0).await,
        Err(StoreError::NotFound(_))
    ));
    let nameless = ServerRegistration {
        name: " ".into(),
        host: "h".into(),
        max_instances: 1,
        packs: Vec::new(),
    };
    assert!(matches!(
        store.register_server(&nameless).await,
        Err(StoreError::Invalid(_))
    ));
}
