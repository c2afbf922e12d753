//! Global settings: variables (encrypted ones never listed in clear), counters (atomic) and
//! computer groups and schedules.

use std::sync::Arc;

use scorch_activity::{CounterOp, SettingsError};
use scorch_store::{CounterInfo, GroupInfo, ScheduleInfo, Store, StoreError, VariableInfo};
use serde_json::json;

crate::contract!(
    variables_hide_encrypted_values,
    counters_change_atomically,
    groups_keep_their_hosts_in_order,
    schedules_keep_their_definitions
);

async fn variables_hide_encrypted_values(store: Arc<dyn Store>) {
    store.set_variable("Region", "eu-west", false).await.unwrap();
    store.set_variable("Password", "s3cret", true).await.unwrap();
    assert_eq!(
        store.variables().await.unwrap(),
        [
            VariableInfo {
                name: "Password".into(),
                value: None,
                encrypted: true
            },
            VariableInfo {
                name: "Region".into(),
                value: Some("eu-west".into()),
                encrypted: false
            },
        ]
    );
    // Activities read the value they need, flagged so that they mask it.
    let settings = store.settings();
    let password = settings.variable("Password").await.unwrap();
    assert_eq!((password.value.as_str(), password.encrypted), ("s3cret", true));

    store.set_variable("Region", "us-east", false).await.unwrap();
    assert_eq!(settings.variable("Region").await.unwrap().value, "us-east");
    store.set_variable("Region", "hidden now", true).await.unwrap();
    assert_eq!(store.variables().await.unwrap()[1].value, None);

    store.delete_variable("Region").await.unwrap();
    assert!(matches!(
        store.delete_variable("Region").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        settings.variable("Region").await,
        Err(SettingsError::NotFound { .. })
    ));
    assert_eq!(store.variables().await.unwrap().len(), 1);
}

async fn counters_change_atomically(store: Arc<dyn Store>) {
    store.set_counter("Builds", 5).await.unwrap();
    store.set_counter("Alpha", -1).await.unwrap();
    assert_eq!(
        store.counters().await.unwrap(),
        [
            CounterInfo {
                name: "Alpha".into(),
                value: -1,
                default: -1
            },
            CounterInfo {
                name: "Builds".into(),
                value: 5,
                default: 5
            },
        ]
    );
    let settings = store.settings();
    assert_eq!(settings.counter("Builds").await.unwrap(), 5);
    assert_eq!(
        settings
            .modify_counter("Builds", CounterOp::Increment(3))
            .await
            .unwrap(),
        8
    );
    assert_eq!(
        settings
            .modify_counter("Builds", CounterOp::Decrement(10))
            .await
            .unwrap(),
        -2
    );
    assert_eq!(
        settings.modify_counter("Builds", CounterOp::Set(100)).await.unwrap(),
        100
    );
    assert_eq!(settings.modify_counter("Builds", CounterOp::Reset).await.unwrap(), 5);
    // Saturating, as the in-memory settings do.
    assert_eq!(
        settings
            .modify_counter("Builds", CounterOp::Increment(i64::MAX))
            .await
            .unwrap(),
        i64::MAX
    );
    assert_eq!(
        settings
            .modify_counter("Builds", CounterOp::Set(i64::MIN + 1))
            .await
            .unwrap(),
        i64::MIN + 1
    );
    assert_eq!(
        settings
            .modify_counter("Builds", CounterOp::Decrement(5))
            .await
            .unwrap(),
        i64::MIN
    );
    assert_eq!(
        settings
            .modify_counter("Builds", CounterOp::Increment(-1))
            .await
            .unwrap(),
        i64::MIN
    );
    assert_eq!(store.counters().await.unwrap()[1].default, 5);

    // Concurrent increments lose nothing.
    settings.modify_counter("Builds", CounterOp::Set(0)).await.unwrap();
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let settings = store.settings();
            tokio::spawn(async move {
                settings
                    .modify_counter("Builds", CounterOp::Increment(1))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.unwrap());
    }
    seen.sort();
    assert_eq!(seen, (1..=40).collect::<Vec<i64>>());
    assert_eq!(settings.counter("Builds").await.unwrap(), 40);

    // Setting again makes the new value the default too.
    store.set_counter("Builds", 7).await.unwrap();
    assert_eq!(
        settings
            .modify_counter("Builds", CounterOp::Increment(1))
            .await
            .unwrap(),
        8
    );
    assert_eq!(settings.modify_counter("Builds", CounterOp::Reset).await.unwrap(), 7);

    assert!(matches!(
        settings.counter("Nope").await,
        Err(SettingsError::NotFound { .. })
    ));
    let missing = settings.modify_counter("Nope", CounterOp::Increment(1)).await;
    assert!(matches!(missing, Err(SettingsError::NotFound { .. })), "{missing:?}");
    store.delete_counter("Builds").await.unwrap();
    assert!(matches!(
        store.delete_counter("Builds").await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.counters().await.unwrap().len(), 1);
}

async fn groups_keep_their_hosts_in_order(store: Arc<dyn Store>) {
    let hosts = |list: &[&str]| list.iter().map(|h| h.to_string()).collect::<Vec<_>>();
    store
        .set_group("Web", &hosts(&["web2", "web1", "10.0.0.3", "::1"]))
        .await
        .unwrap();
    store.set_group("Db", &hosts(&["db1"])).await.unwrap();
    assert_eq!(
        store.groups().await.unwrap(),
        [
            GroupInfo {
                name: "Db".into(),
                hosts: hosts(&["db1"])
            },
            GroupInfo {
                name: "Web".into(),
                hosts: hosts(&["web2", "web1", "10.0.0.3", "::1"])
            },
        ]
    );
    let settings = store.settings();
    assert_eq!(
        settings.group("Web").await.unwrap(),
        hosts(&["web2", "web1", "10.0.0.3", "::1"])
    );
    store.set_group("Web", &hosts(&["web3"])).await.unwrap();
    assert_eq!(settings.group("Web").await.unwrap(), hosts(&["web3"]));
    store.delete_group("Web").await.unwrap();
    assert!(matches!(store.delete_group("Web").await, Err(StoreError::NotFound(_))));
    assert!(matches!(
        settings.group("Web").await,
        Err(SettingsError::NotFound { .. })
    ));
}

async fn schedules_keep_their_definitions(store: Arc<dyn Store>) {
    let office = json!({
        "days_of_week": ["mon", "tue"],
        "hours": ["08:00-18:00"],
        "exceptions": [{ "date": "2026-12-25", "rule": "deny" }],
        "timezone": "Europe/Paris",
    });
    let month_end = json!({ "days_of_month": "last" });
    store.set_schedule("Office", &office).await.unwrap();
    store.set_schedule("MonthEnd", &month_end).await.unwrap();
    assert_eq!(
        store.schedules().await.unwrap(),
        [
            ScheduleInfo {
                name: "MonthEnd".into(),
                definition: month_end.clone()
            },
            ScheduleInfo {
                name: "Office".into(),
                definition: office.clone()
            },
        ]
    );
    let settings = store.settings();
    assert_eq!(settings.schedule("Office").await.unwrap(), office);
    store.set_schedule("Office", &month_end).await.unwrap();
    assert_eq!(settings.schedule("Office").await.unwrap(), month_end);
    store.delete_schedule("Office").await.unwrap();
    assert!(matches!(
        store.delete_schedule("Office").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        settings.schedule("Office").await,
        Err(SettingsError::NotFound { .. })
    ));
    assert_eq!(store.schedules().await.unwrap().len(), 1);
}
