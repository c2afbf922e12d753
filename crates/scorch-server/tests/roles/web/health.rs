//! `/health` reports whether the orchestration database answers.

use std::sync::atomic::Ordering;

use reqwest::Method;
use serde_json::json;

use super::Web;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_the_database() {
    let web = Web::start().await;
    let (status, body) = super::json(web.request(Method::GET, "/health", None).send().await.unwrap()).await;
    assert_eq!((status, body), (200, json!({"status": "ok", "database": "ok"})));
    web.store.down.store(true, Ordering::SeqCst);
    let (status, body) = super::json(web.request(Method::GET, "/health", None).send().await.unwrap()).await;
    assert_eq!(
        (status, body),
        (503, json!({"status": "unavailable", "database": "unavailable"}))
    );
    web.store.down.store(false, Ordering::SeqCst);
    let answer = web.request(Method::GET, "/health", None).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    web.stop().await;
}
