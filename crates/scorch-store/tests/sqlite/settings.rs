use scorch_activity::{CounterOp, SettingsError, Variable};
use scorch_store::{CounterInfo, Store, StoreError, VariableInfo};

use crate::TestDb;

#[tokio::test]
async fn counters_change_atomically_and_reset_to_their_default() {
    let db = TestDb::new().await;
    db.store.set_counter("deployments", 5).await.unwrap();
    let settings = db.store.settings();
    assert_eq!(settings.counter("deployments").await, Ok(5));
    assert_eq!(
        settings.modify_counter("deployments", CounterOp::Increment(3)).await,
        Ok(8)
    );
    assert_eq!(
        settings.modify_counter("deployments", CounterOp::Decrement(10)).await,
        Ok(-2)
    );
    assert_eq!(
        settings.modify_counter("deployments", CounterOp::Set(i64::MAX)).await,
        Ok(i64::MAX)
    );
    assert_eq!(
        settings.modify_counter("deployments", CounterOp::Increment(1)).await,
        Ok(i64::MAX)
    );
    assert_eq!(settings.modify_counter("deployments", CounterOp::Reset).await, Ok(5));

    // Concurrent increments are never lost.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let settings = settings.clone();
            tokio::spawn(async move { settings.modify_counter("deployments", CounterOp::Increment(1)).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(db.reopen().await.settings().counter("deployments").await, Ok(25));
}

#[tokio::test]
async fn variables_keep_their_value_and_flag() {
    let db = TestDb::new().await;
    db.store
        .set_variable("smtp_host", "mail.example.com", false)
        .await
        .unwrap();
    db.store.set_variable("api_token", "s3cret", true).await.unwrap();
    db.store
        .set_variable("smtp_host", "mail2.example.com", false)
        .await
        .unwrap();
    let settings = db.store.settings();
    assert_eq!(
        settings.variable("smtp_host").await,
        Ok(Variable {
            value: "mail2.example.com".into(),
            encrypted: false
        })
    );
    assert_eq!(
        settings.variable("api_token").await,
        Ok(Variable {
            value: "s3cret".into(),
            encrypted: true
        })
    );
}

#[tokio::test]
async fn unknown_names_are_not_found() {
    let db = TestDb::new().await;
    let settings = db.store.settings();
    let missing = |kind| SettingsError::NotFound {
        kind,
        name: "nope".into(),
    };
    assert_eq!(settings.variable("nope").await.unwrap_err(), missing("variable"));
    assert_eq!(settings.counter("nope").await.unwrap_err(), missing("counter"));
    assert_eq!(
        settings.modify_counter("nope", CounterOp::Reset).await.unwrap_err(),
        missing("counter")
    );
}

#[tokio::test]
async fn listings_mask_encrypted_values_and_deletes_need_the_name() {
    let db = TestDb::new().await;
    db.store
        .set_variable("smtp_host", "mail.example.com", false)
        .await
        .unwrap();
    db.store.set_variable("api_token", "s3cret", true).await.unwrap();
    db.store.set_counter("runs", 3).await.unwrap();
    db.store
        .settings()
        .modify_counter("runs", CounterOp::Increment(1))
        .await
        .unwrap();
    assert_eq!(
        db.store.variables().await.unwrap(),
        [
            VariableInfo {
                name: "api_token".into(),
                value: None,
                encrypted: true
            },
            VariableInfo {
                name: "smtp_host".into(),
                value: Some("mail.example.com".into()),
                encrypted: false
            },
        ]
    );
    assert_eq!(
        db.store.counters().await.unwrap(),
        [CounterInfo {
            name: "runs".into(),
            value: 4,
            default: 3
        }]
    );

    db.store.delete_variable("api_token").await.unwrap();
    db.store.delete_counter("runs").await.unwrap();
    assert_eq!(db.store.variables().await.unwrap().len(), 1);
    assert_eq!(db.store.counters().await.unwrap(), []);
    assert_eq!(
        db.store.delete_variable("api_token").await,
        Err(StoreError::NotFound("variable 'api_token'".into()))
    );
    assert_eq!(
        db.store.delete_counter("runs").await,
        Err(StoreError::NotFound("counter 'runs'".into()))
    );
}
