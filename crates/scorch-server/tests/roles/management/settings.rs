//! Variables, counters and schedules.

use reqwest::{Method, StatusCode};
use scorch_store::Role;
use serde_json::json;

use super::{Mgmt, code, message};

#[tokio::test]
async fn encrypted_variables_are_never_returned() {
    let m = Mgmt::start().await;
    let (status, plain) = m
        .put(
            "/api/v1/variables/smtp_host",
            &m.admin,
            json!({ "value": "mail.example.com" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{plain}");
    assert_eq!(
        plain,
        json!({ "name": "smtp_host", "value": "mail.example.com", "encrypted": false })
    );
    let body = json!({ "value": "hunter2-top-secret", "encrypted": true });
    let (status, secret) = m.put("/api/v1/variables/db_password", &m.admin, body).await;
    assert_eq!(status, StatusCode::OK, "{secret}");
    assert_eq!(secret, json!({ "name": "db_password", "encrypted": true }));
    // Sealed before it reaches the database.
    let stored = m.store.settings().variable("db_password").await.unwrap();
    assert!(
        stored.value.starts_with("enc:v1:") && !stored.value.contains("hunter2"),
        "{}",
        stored.value
    );

    let viewer = m.user("vera", &[("", Role::Viewer)]).await;
    let (status, list) = m.get("/api/v1/variables", &viewer).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!list.to_string().contains("hunter2"), "{list}");
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (_, one) = m.get("/api/v1/variables/db_password", &viewer).await;
    assert_eq!(one, json!({ "name": "db_password", "encrypted": true }));
    let (_, one) = m.get("/api/v1/variables/smtp_host", &viewer).await;
    assert_eq!(one["value"], "mail.example.com");
    let (status, _) = m.get("/api/v1/variables/nothing", &viewer).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, audit) = m.get("/api/v1/audit", &m.admin).await;
    assert!(
        !audit.to_string().contains("hunter2"),
        "the audit trail never holds the value: {audit}"
    );
    assert!(audit.to_string().contains("variable.set"));

    let (status, refused) = m.put("/api/v1/variables/x", &viewer, json!({ "value": "1" })).await;
    assert_eq!((status, code(&refused)), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, refused) = m.delete("/api/v1/variables/smtp_host", &viewer).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    let (status, _) = m.delete("/api/v1/variables/smtp_host", &m.admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = m.get("/api/v1/variables", &viewer).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn counters_are_set_read_and_deleted() {
    let m = Mgmt::start().await;
    let (status, set) = m
        .put("/api/v1/counters/tickets", &m.admin, json!({ "value": 41 }))
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let (_, one) = m.get("/api/v1/counters/tickets", &m.admin).await;
    assert_eq!((one["value"].as_i64(), one["default"].as_i64()), (Some(41), Some(41)));
    let (_, list) = m.get("/api/v1/counters", &m.admin).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, bad) = m
        .put("/api/v1/counters/tickets", &m.admin, json!({ "value": "many" }))
        .await;
    assert_eq!((status, code(&bad)), (StatusCode::BAD_REQUEST, "bad_request"));
    let (status, _) = m.delete("/api/v1/counters/tickets", &m.admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = m.get("/api/v1/counters/tickets", &m.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let actions = m.audit_actions().await;
    assert!(actions.iter().any(|a| a == "counter.set") && actions.iter().any(|a| a == "counter.delete"));
}

#[tokio::test]
async fn schedules_are_checked_set_read_and_deleted() {
    let m = Mgmt::start().await;
    let office = json!({
        "days_of_week": ["mon", "fri"],
        "hours": ["08:00-18:00"],
        "exceptions": [{ "date": "2026-12-25", "rule": "deny" }],
        "timezone": "Europe/Paris",
    });
    let (status, set) = m.put("/api/v1/schedules/Office", &m.admin, office.clone()).await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set, json!({ "name": "Office", "definition": office }));
    let viewer = m.user("vera", &[("", Role::Viewer)]).await;
    let (_, one) = m.get("/api/v1/schedules/Office", &viewer).await;
    assert_eq!(one, set);
    let (_, list) = m.get("/api/v1/schedules", &viewer).await;
    assert_eq!(list, json!([set]));

    // A key the definition does not know is named.
    let (status, bad) = m
        .put("/api/v1/schedules/Office", &m.admin, json!({ "days_of_wek": ["mon"] }))
        .await;
    assert_eq!((status, code(&bad)), (StatusCode::BAD_REQUEST, "bad_request"));
    assert!(message(&bad).contains("days_of_wek"), "{bad}");
    let (status, refused) = m.call(Method::GET, "/api/v1/schedules", None, None).await;
    assert_eq!((status, code(&refused)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let (status, refused) = m.put("/api/v1/schedules/Office", &viewer, office).await;
    assert_eq!((status, code(&refused)), (StatusCode::FORBIDDEN, "forbidden"));

    let (status, _) = m.delete("/api/v1/schedules/Office", &m.admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = m.get("/api/v1/schedules/Office", &m.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = m.delete("/api/v1/schedules/Office", &m.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let actions = m.audit_actions().await;
    assert!(actions.iter().any(|a| a == "schedule.set") && actions.iter().any(|a| a == "schedule.delete"));
}
