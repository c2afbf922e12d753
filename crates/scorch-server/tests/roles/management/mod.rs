//! The management server over real HTTP on a loopback port, on a real SQLite file in a fresh
//! temporary directory.

mod folders;
mod limits;
mod runbooks;
mod settings;
mod users;

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use scorch_server::api::AppState;
use scorch_server::auth::{new_token, token_hash};
use scorch_server::management;
use scorch_server::plans::Plans;
use scorch_server::serve::HttpLimits;
use scorch_store::{Role, SqliteStore, Store};
use serde_json::Value;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

pub const HELLO: &str = "format: 1
runbook: Hello
description: Says hello.
activities:
  - id: init
    type: initialize_data
    properties:
      parameters:
        - { name: Who, type: string, default: world }
  - id: reply
    type: return_data
    properties: { values: { Greeting: \"Hello, {{ init.Who }}\" } }
links:
  - { from: init, to: reply }
returns:
  - { name: Greeting, type: string }
";

/// A runbook with a cycle (line 13 closes it) and a bad id (line 5).
pub const INVALID: &str = "format: 1
runbook: Broken
activities:
  - id: start
    type: no_such_activity
  - id: ping
    type: run_program
    properties: { program: \"true\" }
  - id: pong
    type: run_program
    properties: { program: \"true\" }
links:
  - { from: ping, to: pong }
  - { from: pong, to: ping }
";

/// A running management server; stops when dropped.
pub struct Mgmt {
    pub url: String,
    /// An administrator's token.
    pub admin: String,
    pub store: Arc<dyn Store>,
    http: reqwest::Client,
    stop: CancellationToken,
    _dir: TempDir,
}

impl Drop for Mgmt {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Mgmt {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(&format!("sqlite:{}", dir.path().join("scorch.db").display()))
            .await
            .unwrap();
        let store: Arc<dyn Store> = Arc::new(sqlite);
        let plans = Arc::new(Plans::new(Arc::new(scorch_activities::standard())));
        store.create_user("admin", None, true).await.unwrap();
        let admin = new_token();
        store.create_token("admin", &token_hash(&admin), "test").await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = CancellationToken::new();
        let state = AppState::new(store.clone(), plans);
        tokio::spawn(management::serve(listener, state, HttpLimits::default(), stop.clone()));
        Self {
            url,
            admin,
            store,
            http: reqwest::Client::new(),
            stop,
            _dir: dir,
        }
    }

    /// A user with grants, made through the store; returns a token of theirs.
    pub async fn user(&self, name: &str, grants: &[(&str, Role)]) -> String {
        self.store.create_user(name, None, false).await.unwrap();
        for (folder, role) in grants {
            self.store.grant(name, folder, *role).await.unwrap();
        }
        let token = new_token();
        self.store
            .create_token(name, &token_hash(&token), "test")
            .await
            .unwrap();
        token
    }

    /// One request; the status and the JSON answer (Null when the body is empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        };
        (status, value)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Checks a runbook in; the status and answer.
    pub async fn push(&self, token: &str, source: &str, folder: Option<&str>) -> (StatusCode, Value) {
        let mut body = serde_json::json!({ "source": source });
        if let Some(folder) = folder {
            body["folder"] = folder.into();
        }
        self.post("/api/v1/runbooks", token, body).await
    }

    /// The audit actions recorded, newest first.
    pub async fn audit_actions(&self) -> Vec<String> {
        let (status, entries) = self.get("/api/v1/audit?limit=1000", &self.admin).await;
        assert_eq!(status, StatusCode::OK, "{entries}");
        entries
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect()
    }
}

/// The `error.code` of an error answer.
pub fn code(answer: &Value) -> &str {
    answer["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error answer: {answer}"))
}

pub fn message(answer: &Value) -> &str {
    answer["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error answer: {answer}"))
}
