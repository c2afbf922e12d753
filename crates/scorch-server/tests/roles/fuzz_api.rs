//! Property-based tests of the API's request bodies (issue 13): arbitrary JSON, and arbitrary
//! bytes sent as JSON, to every route of both HTTP roles that takes a body, through the real
//! routers on a real SQLite store. Whatever comes in, the answer is never a 5xx, always carries
//! the API's JSON error body when it is an error, and the process does not panic. Bounded in
//! time: `PROPTEST_CASES` (default 200 per property).

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, header};
use proptest::prelude::*;
use scorch_engine::RegistryCatalog;
use scorch_server::api::AppState;
use scorch_server::auth::{new_token, token_hash};
use scorch_server::plans::Plans;
use scorch_server::{management, web};
use scorch_store::{SqliteStore, Store};
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt;

/// Routes that take a body: (role, method, path).
const ROUTES: &[(Role, &str, &str)] = &[
    (Role::Web, "POST", "/api/v1/jobs"),
    (
        Role::Web,
        "POST",
        "/api/v1/jobs/00000000-0000-7000-8000-000000000000/rerun",
    ),
    (Role::Web, "POST", "/api/v1/session"),
    (Role::Web, "PUT", "/api/v1/variables/Fuzz"),
    (Role::Web, "PUT", "/api/v1/counters/Fuzz"),
    (Role::Web, "PUT", "/api/v1/schedules/Fuzz"),
    (Role::Management, "POST", "/api/v1/runbooks"),
    (Role::Management, "POST", "/api/v1/folders"),
    (Role::Management, "POST", "/api/v1/users"),
    (Role::Management, "POST", "/api/v1/users/fuzzer/tokens"),
    (Role::Management, "PUT", "/api/v1/grants"),
    (Role::Management, "DELETE", "/api/v1/grants"),
    (Role::Management, "PUT", "/api/v1/variables/Fuzz"),
    (Role::Management, "PUT", "/api/v1/schedules/Fuzz"),
    (Role::Management, "POST", "/api/v1/purge"),
    (Role::Management, "POST", "/api/v1/session"),
];

#[derive(Debug, Clone, Copy)]
enum Role {
    Web,
    Management,
}

/// One store and both routers, shared by every case (one runtime, one database).
struct Api {
    runtime: tokio::runtime::Runtime,
    web: Router,
    management: Router,
    token: String,
    _dir: TempDir,
}

fn api() -> &'static Api {
    static API: OnceLock<Api> = OnceLock::new();
    API.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (state, token) = runtime.block_on(async {
            let url = format!("sqlite:{}", dir.path().join("scorch.db").display());
            let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url).await.unwrap());
            store.create_user("fuzzer", None, true).await.unwrap();
            let token = new_token();
            store.create_token("fuzzer", &token_hash(&token), "fuzz").await.unwrap();
            let registry = scorch_activities::standard();
            let yaml = "format: 1\nrunbook: Fuzz\nfolder: Ops\nactivities:\n  - id: init\n    type: initialize_data\n    properties:\n      parameters:\n        - { name: Count, type: integer, default: 1 }\n        - { name: When, type: datetime, default: \"2026-01-01T00:00:00Z\" }\n";
            let plan = scorch_model::compile(&scorch_model::load(yaml).unwrap(), &RegistryCatalog(&registry)).unwrap();
            store.save_plan(&plan, yaml, "fuzzer").await.unwrap();
            let plans = Arc::new(Plans::new(Arc::new(registry)));
            (AppState::new(store, plans), token)
        });
        Api {
            web: web::router(state.clone()),
            management: management::router(state),
            runtime,
            token,
            _dir: dir,
        }
    })
}

/// Sends `body` to route `route` and checks the answer.
fn check(route: usize, body: Vec<u8>) -> Result<(), TestCaseError> {
    let api = api();
    let (role, method, path) = ROUTES[route];
    let router = match role {
        Role::Web => api.web.clone(),
        Role::Management => api.management.clone(),
    };
    let request = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {}", api.token))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.clone()))
        .unwrap();
    let (status, answer) = api.runtime.block_on(async {
        let response = router.oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, bytes)
    });
    let shown = String::from_utf8_lossy(&body);
    prop_assert!(!status.is_server_error(), "{method} {path} {shown:?} answered {status}");
    if status.is_client_error() {
        let error: Value = serde_json::from_slice(&answer)
            .map_err(|e| TestCaseError::fail(format!("{method} {path}: a {status} without a JSON body: {e}")))?;
        prop_assert!(error["error"]["code"].is_string(), "{method} {path}: {error}");
    }
    Ok(())
}

#[allow(
    clippy::disallowed_methods,
    reason = "PROPTEST_CASES sets the cases, as proptest reads it"
)]
fn config() -> ProptestConfig {
    let from_env = ProptestConfig::default();
    match std::env::var_os("PROPTEST_CASES") {
        Some(_) => from_env,
        None => ProptestConfig { cases: 200, ..from_env },
    }
}

/// JSON values a few levels deep, with the keys the routes know mixed into random ones.
fn json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("runbook_path".to_string()),
        Just("runbook_id".to_string()),
        Just("parameters".to_string()),
        Just("source".to_string()),
        Just("user".to_string()),
        Just("folder".to_string()),
        Just("role".to_string()),
        Just("name".to_string()),
        Just("password".to_string()),
        Just("value".to_string()),
        Just("encrypted".to_string()),
        Just("admin".to_string()),
        Just("keep_last".to_string()),
        Just("Count".to_string()),
        ".{0,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(Value::from("Ops/Fuzz")),
        Just(Value::from("admin")),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_json_body_gets_an_answer_and_no_server_error(route in 0..ROUTES.len(), body in json()) {
        // A start that waits would hold the case for its whole wait: the routes' own tests
        // cover waiting.
        let mut body = body;
        if let Some(map) = body.as_object_mut() {
            map.remove("wait");
        }
        check(route, serde_json::to_vec(&body).unwrap())?;
    }

    #[test]
    fn any_bytes_sent_as_json_get_an_answer_and_no_server_error(
        route in 0..ROUTES.len(),
        body in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        check(route, body)?;
    }
}
