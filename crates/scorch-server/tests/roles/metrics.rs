//! `GET /metrics` on both HTTP roles: any signed-in user may read it (it shows only
//! aggregates), nobody else; and it is absent when metrics are off.

use std::sync::Arc;

use scorch_server::api::AppState;
use scorch_server::auth::{new_token, token_hash};
use scorch_server::plans::Plans;
use scorch_server::serve::HttpLimits;
use scorch_server::web;
use tokio_util::sync::CancellationToken;

use crate::support::{Roles, exchange, request};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_signed_in_user_reads_the_metrics_of_both_roles() {
    let roles = Roles::start(HttpLimits::default()).await;
    // A user with no grant at all: aggregates are not a folder's contents.
    roles.store.create_user("viewer", None, false).await.unwrap();
    let viewer = new_token();
    roles
        .store
        .create_token("viewer", &token_hash(&viewer), "test")
        .await
        .unwrap();
    for address in roles.both() {
        let answer = exchange(address, &request("GET", "/metrics", Some(&viewer), None)).await;
        assert_eq!(answer.status, 200, "{answer}");
        assert!(
            answer
                .header("content-type")
                .is_some_and(|t| t.starts_with("application/openmetrics-text")),
            "{answer}"
        );
        let text = String::from_utf8_lossy(&answer.body);
        assert!(text.contains("\nscorch_jobs{status=\"pending\"} 0\n"), "{text}");
        assert!(text.contains("# TYPE scorch_activity_runs counter"), "{text}");
        for token in [None, Some("sct_unknown")] {
            let refused = exchange(address, &request("GET", "/metrics", token, None)).await;
            assert_eq!(
                (refused.status, refused.code()),
                (401, "unauthenticated".into()),
                "{refused}"
            );
        }
    }
    roles.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_turned_off_are_not_served() {
    let roles = Roles::start(HttpLimits::default()).await;
    let plans = Arc::new(Plans::new(Arc::new(scorch_activities::standard())));
    let state = AppState::new(roles.store.clone(), plans).with_metrics(None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let served = tokio::spawn(web::serve(listener, state, vec![], HttpLimits::default(), stop.clone()));
    let answer = exchange(address, &request("GET", "/metrics", Some(&roles.admin), None)).await;
    assert_eq!((answer.status, answer.code()), (404, "not_found".into()), "{answer}");
    assert!(
        answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("metrics are off"),
        "{answer}"
    );
    stop.cancel();
    served.await.unwrap();
    roles.stop().await;
}
