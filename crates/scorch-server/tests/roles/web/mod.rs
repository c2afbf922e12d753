//! The REST web service over real HTTP on 127.0.0.1 (port 0), against a real SQLite store in a
//! temporary directory, with a real runbook server task running the jobs. Each test makes its
//! own database and ports.

mod access;
mod console_api;
mod events;
pub mod flaky;
mod health;
mod jobs;
mod openapi;
mod output;
mod requests;
mod short_ids;

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response};
use scorch_engine::RegistryCatalog;
use scorch_server::api::AppState;
use scorch_server::auth::{new_token, token_hash};
use scorch_server::plans::Plans;
use scorch_server::runbook_server::{self, RunbookServerOptions};
use scorch_server::serve::HttpLimits;
use scorch_server::web;
use scorch_store::prelude::*;
use scorch_store::{Role, SqliteStore};
use serde_json::Value;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use flaky::FlakyStore;

/// The console origin the test servers allow (CORS).
pub const CONSOLE: &str = "http://localhost:8282";

/// A web service and a runbook server on one new database.
pub struct Web {
    pub base: String,
    pub sqlite: Arc<SqliteStore>,
    /// What the roles use: the SQLite store behind a switch that can make it look down.
    pub store: Arc<FlakyStore>,
    pub dir: TempDir,
    pub http: reqwest::Client,
    shutdown: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Web {
    pub async fn start() -> Web {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite:{}", dir.path().join("scorch.db").display());
        let sqlite = Arc::new(SqliteStore::open(&url).await.expect("open the database"));
        let store = Arc::new(FlakyStore {
            inner: sqlite.clone(),
            down: Default::default(),
            refuse_ends: Default::default(),
            stall_output: Default::default(),
        });
        let shared: Arc<dyn Store> = store.clone();
        let plans = Arc::new(Plans::new(Arc::new(scorch_activities::standard())));
        let state = AppState::new(shared.clone(), plans.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a port");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let origins = vec![CONSOLE.to_string(), "http://127.0.0.1:8282".to_string()];
        let web = tokio::spawn(web::serve(
            listener,
            state,
            origins,
            HttpLimits::default(),
            shutdown.clone(),
        ));
        let mut opts = RunbookServerOptions::new("rb-test");
        opts.drain_grace = Duration::from_secs(2);
        let runner = tokio::spawn(runbook_server::run(shared, plans, opts, shutdown.clone()));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Web {
            base,
            sqlite,
            store,
            dir,
            http,
            shutdown,
            tasks: vec![web, runner],
        }
    }

    /// A user with a token and these grants; returns the token.
    pub async fn user(&self, name: &str, admin: bool, grants: &[(&str, Role)]) -> String {
        self.sqlite
            .create_user(name, None, admin)
            .await
            .expect("create the user");
        for (folder, role) in grants {
            self.sqlite.ensure_folder(folder).await.expect("make the folder");
            self.sqlite.grant(name, folder, *role).await.expect("grant");
        }
        let token = new_token();
        self.sqlite
            .create_token(name, &token_hash(&token), "test")
            .await
            .expect("create the token");
        token
    }

    /// Checks in a runbook written in the runbook format; returns its id.
    pub async fn push(&self, yaml: &str) -> Uuid {
        let registry = scorch_activities::standard();
        let loaded = scorch_model::load(yaml).expect("the runbook loads");
        let plan = scorch_model::compile(&loaded, &RegistryCatalog(&registry)).expect("the runbook compiles");
        self.sqlite
            .save_plan(&plan, yaml, "author")
            .await
            .expect("save the runbook")
            .0
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        json(self.request(Method::GET, path, Some(token)).send().await.expect("GET")).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        json(
            self.request(Method::POST, path, Some(token))
                .json(body)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// Polls `GET path` until `done` holds of the body, or fails after `within`.
    pub async fn poll(&self, path: &str, token: &str, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let (status, body) = self.get(path, token).await;
            if status == 200 && done(&body) {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "gave up waiting on {path}: last answer {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        for task in self.tasks {
            tokio::time::timeout(Duration::from_secs(15), task)
                .await
                .expect("the roles stop within 15 s")
                .expect("no role panicked");
        }
    }
}

/// The status and JSON body of an answer (`null` when the body is not JSON).
pub async fn json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A runbook in `folder` taking `Who` (string) and `Times` (integer), returning a greeting.
pub fn greeter(folder: &str) -> String {
    format!(
        r#"format: 1
runbook: Greeter
folder: {folder}
description: Greets someone.
returns:
  - {{ name: Greeting, type: string }}
activities:
  - id: init
    type: initialize_data
    properties:
      parameters:
        - {{ name: Who, type: string }}
        - {{ name: Times, type: integer, default: 1 }}
  - id: reply
    type: return_data
    properties:
      values:
        Greeting: "Hello, {{{{ init.Who }}}} x{{{{ init.Times }}}}"
links:
  - {{ from: init, to: reply }}
"#
    )
}

/// A runbook in `folder` whose one activity writes its process id to `pid_file` and sleeps 30 s.
pub fn sleeper(folder: &str, pid_file: &std::path::Path) -> String {
    format!(
        r#"format: 1
runbook: Sleeper
folder: {folder}
activities:
  - id: init
    type: initialize_data
  - id: sleep
    type: run_program
    properties:
      program: sh
      arguments: ["-c", "echo $$ > '{}'; exec sleep 30"]
links:
  - {{ from: init, to: sleep }}
"#,
        pid_file.display()
    )
}
