//! The live event stream (server-sent events).

use std::time::Duration;

use reqwest::Method;
use scorch_store::Role;
use serde_json::{Value, json};

use super::{Web, greeter};

/// Reads a server-sent event stream into (event, data) pairs.
pub(super) struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    pub(super) async fn open(web: &Web, token: &str) -> EventStream {
        let response = web
            .request(Method::GET, "/api/v1/events", Some(token))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let kind = response.headers()["content-type"].to_str().unwrap().to_string();
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        EventStream {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (comments skipped), or `None` when none comes within `within`.
    pub(super) async fn next(&mut self, within: Duration) -> Option<(String, Value)> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut event, mut data) = (String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if !event.is_empty() {
                    return Some((event, serde_json::from_str(&data).expect("event data is JSON")));
                }
                continue;
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await.ok()?;
            let chunk = chunk.expect("the stream reads").expect("the stream stays open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Events until one matches `stop`; fails after `within`.
    pub(super) async fn until(
        &mut self,
        within: Duration,
        stop: impl Fn(&str, &Value) -> bool,
    ) -> Vec<(String, Value)> {
        let deadline = tokio::time::Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some((event, data)) = self.next(left).await else {
                panic!("the expected event did not come; got {seen:?}");
            };
            let done = stop(&event, &data);
            seen.push((event, data));
            if done {
                return seen;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_delivers_job_instance_and_activity_events_of_visible_runbooks() {
    let web = Web::start().await;
    let hidden = web.push(&greeter("Ops")).await;
    let shown = web.push(&greeter("Other")).await;
    let admin = web.user("root", true, &[]).await;
    let outsider = web.user("olga", false, &[("Other", Role::Viewer)]).await;
    let mut everything = EventStream::open(&web, &admin).await;
    let mut limited = EventStream::open(&web, &outsider).await;

    let (status, job) = web
        .post(
            "/api/v1/jobs",
            &admin,
            &json!({"runbook_id": hidden.to_string(), "parameters": {"Who": "a"}}),
        )
        .await;
    assert_eq!(status, 201, "{job}");
    let id = job["id"].clone();
    let seen = everything
        .until(Duration::from_secs(20), |e, d| {
            e == "job" && d["id"] == id && d["status"] == "completed"
        })
        .await;
    assert_eq!(
        seen[0],
        (
            "job".to_string(),
            json!({"id": id, "runbook_id": hidden.to_string(), "status": "pending"})
        )
    );
    let kinds: Vec<&str> = seen.iter().map(|(e, _)| e.as_str()).collect();
    assert!(kinds.contains(&"instance") && kinds.contains(&"activity"), "{kinds:?}");
    let activity = seen.iter().find(|(e, _)| e == "activity").unwrap();
    assert_eq!(activity.1["runbook_id"], hidden.to_string());
    assert_eq!(activity.1["instance_id"], job_instance(&web, &admin, &id).await);

    // The outsider's stream skips the hidden runbook's changes: the first thing it gets is the
    // job it can see, started after.
    let (_, other) = web
        .post(
            "/api/v1/jobs",
            &admin,
            &json!({"runbook_id": shown.to_string(), "parameters": {"Who": "b"}}),
        )
        .await;
    let first = limited
        .next(Duration::from_secs(20))
        .await
        .expect("an event of the visible runbook");
    assert_eq!(first.0, "job");
    assert_eq!(first.1["id"], other["id"], "{first:?}");
    web.stop().await;
}

async fn job_instance(web: &Web, token: &str, id: &Value) -> Value {
    let (_, job) = web.get(&format!("/api/v1/jobs/{}", id.as_str().unwrap()), token).await;
    job["instance_id"].clone()
}
