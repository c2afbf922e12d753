//! Webhooks: `POST /api/v1/hooks/{hook}` starts an instance of the monitor runbook that listens
//! on the hook (`monitor_webhook`). The caller authenticates with the hook's own token (the
//! monitor's `token` property, usually an encrypted variable), not a user's. The trigger is
//! recorded here, durably, before the answer; the runbook server holding the job starts its
//! instance.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Extension;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use jiff::Timestamp;
use scorch_activity::GlobalSettings;
use scorch_model::Plan;
use scorch_model::monitor::{WEBHOOK, check_hook};
use scorch_model::template::{Reference, Scope, TemplateError};
use scorch_store::{JobFilter, JobStatus, NewTrigger, StoreError};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::wire::HookAccepted;
use crate::api::wire::ErrorBody;
use crate::api::{ApiError, AppState, Json};
use crate::secrets::OpenedSettings;

/// `max_body` when the monitor does not say.
const DEFAULT_MAX_BODY: u64 = 1024 * 1024;
/// The largest `max_body` honoured: a body is held in memory, then stored.
const MAX_BODY_CAP: u64 = 16 * 1024 * 1024;

/// Starts an instance of the monitor runbook listening on `hook`, with the call's body, JSON,
/// headers (without `Authorization`), query and address as its published data.
#[utoipa::path(
    post,
    path = "/api/v1/hooks/{hook}",
    operation_id = "call_hook",
    tag = "hooks",
    params(("hook" = String, Path, description = "The hook's name (its monitor_webhook's `hook`)")),
    request_body(content = String, description = "Any body, up to the monitor's max_body (default 1 MiB)"),
    responses(
        (status = 202, description = "The trigger is recorded; its instance starts", body = HookAccepted),
        (status = 401, description = "No token, or not the hook's", body = ErrorBody),
        (status = 404, description = "No runbook listens on this hook", body = ErrorBody),
        (status = 409, description = "The monitor runbook's job is not running", body = ErrorBody),
        (status = 413, description = "The body is larger than the monitor's max_body", body = ErrorBody),
    ),
    security(("hook_token" = []))
)]
pub async fn call(
    State(state): State<AppState>,
    Path(hook): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<HookAccepted>), ApiError> {
    let unknown = || ApiError::not_found(format!("no runbook listens on hook '{hook}'"));
    check_hook(&hook).map_err(|_| unknown())?;
    let runbook_id = state.store.hook(&hook).await?.ok_or_else(unknown)?;
    let running = JobFilter {
        runbook_id: Some(runbook_id),
        status: Some(JobStatus::Running),
        limit: 1,
        ..JobFilter::default()
    };
    let job = state.store.list_jobs(&running).await?.into_iter().next();
    // The running job's version says who may call; without one, the latest does (so that a
    // caller with a wrong token learns nothing more).
    let runbook = state.store.runbook(runbook_id, job.as_ref().map(|j| j.version)).await?;
    let plan = state
        .plans
        .get(&runbook)
        .map_err(|why| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", why))?;
    let settings = OpenedSettings {
        inner: state.store.settings(),
        secrets: state.secrets.clone(),
    };
    let monitor = HookMonitor::read(&plan, &settings).await?;
    if !monitor.admits(&headers) {
        return Err(ApiError::unauthenticated(format!(
            "hook '{hook}' needs its token: Authorization: Bearer TOKEN"
        )));
    }
    let job = job.ok_or_else(|| {
        ApiError::conflict(format!(
            "the monitor runbook '{}' listening on hook '{hook}' has no running job: start it first",
            runbook.name
        ))
    })?;
    let body = axum::body::to_bytes(body, monitor.max_body as usize)
        .await
        .map_err(|_| too_large(monitor.max_body))?;
    let remote = client
        .map(|Extension(ConnectInfo(addr))| addr.to_string())
        .unwrap_or_default();
    let row = published(&body, &headers, &query, &remote);
    let instance_id = Uuid::now_v7();
    let trigger = NewTrigger {
        key: Uuid::now_v7().to_string(),
        instance_id: Some(instance_id),
        data: Value::Object(row).to_string(),
    };
    match state.store.record_trigger(job.id, None, &trigger, None).await {
        Ok(_) => Ok((
            StatusCode::ACCEPTED,
            Json(HookAccepted {
                job_id: job.id.to_string(),
                instance_id: instance_id.to_string(),
            }),
        )),
        Err(StoreError::Conflict(_) | StoreError::NotFound(_)) => Err(ApiError::conflict(format!(
            "the monitor runbook '{}' listening on hook '{hook}' is no longer running",
            runbook.name
        ))),
        Err(e) => Err(e.into()),
    }
}

fn too_large(max: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the body is larger than this hook takes (at most {max} bytes); nothing was recorded"),
    )
}

/// What the monitor of a webhook runbook says about its callers.
struct HookMonitor {
    /// SHA-256 of the token: compared digest to digest.
    token: [u8; 32],
    max_body: u64,
}

impl HookMonitor {
    /// The monitor's `token` (its variables resolved) and `max_body`.
    async fn read(plan: &Plan, settings: &OpenedSettings) -> Result<HookMonitor, ApiError> {
        let broken = |why: String| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("the hook's monitor cannot be read: {why}"),
            )
        };
        let step = plan
            .monitor
            .map(|i| &plan.steps[i])
            .filter(|s| s.type_name == WEBHOOK)
            .ok_or_else(|| broken("the runbook does not start with monitor_webhook".into()))?;
        let mut variables = HashMap::new();
        for name in &plan.variables {
            let variable = settings.variable(name).await.map_err(|e| broken(e.to_string()))?;
            variables.insert(name.clone(), variable.value);
        }
        let properties = step.properties.render(&Variables(variables)).map_err(broken)?;
        let token = match &properties["token"] {
            Value::String(token) if !token.is_empty() => token,
            _ => return Err(broken("its token is empty".into())),
        };
        let max_body = match &properties["max_body"] {
            Value::Null => DEFAULT_MAX_BODY,
            value => size(value).ok_or_else(|| broken(format!("max_body is not a size: {value}")))?,
        };
        Ok(HookMonitor {
            token: Sha256::digest(token.as_bytes()).into(),
            max_body: max_body.min(MAX_BODY_CAP),
        })
    }

    /// Whether the call carries the token (`Authorization: Bearer TOKEN`).
    fn admits(&self, headers: &HeaderMap) -> bool {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        given.is_some_and(|given| <[u8; 32]>::from(Sha256::digest(given.as_bytes())) == self.token)
    }
}

/// Resolves `{{ var.X }}` only: a webhook's properties are rendered outside any instance.
struct Variables(HashMap<String, String>);

impl Scope for Variables {
    fn resolve(&self, reference: &Reference) -> Result<Value, TemplateError> {
        match reference {
            Reference::Variable(name) => {
                self.0
                    .get(name)
                    .map(|v| Value::from(v.as_str()))
                    .ok_or_else(|| TemplateError {
                        message: format!("no global variable named '{name}'"),
                    })
            }
            _ => Err(TemplateError {
                message: "only {{ var.NAME }} can be used in a webhook's properties".into(),
            }),
        }
    }
}

/// A size in bytes: a number, or text like `512KiB`, `1MiB`, `2MB`.
fn size(value: &Value) -> Option<u64> {
    if let Some(n) = value.as_u64() {
        return Some(n);
    }
    let text = value.as_str()?.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let unit = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "kib" | "k" => 1 << 10,
        "mb" => 1_000_000,
        "mib" | "m" => 1 << 20,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(unit)
}

/// The trigger's published row: `body`, `json`, `headers`, `query`, `remote_addr` and
/// `triggered_at`.
fn published(body: &[u8], headers: &HeaderMap, query: &[(String, String)], remote: &str) -> Map<String, Value> {
    let text = String::from_utf8_lossy(body).into_owned();
    let json = serde_json::from_slice::<Value>(body).unwrap_or_else(|_| Value::from(""));
    // The token authenticates the call: it is never published.
    let headers: Map<String, Value> = headers
        .iter()
        .filter(|(name, _)| *name != header::AUTHORIZATION)
        .map(|(name, value)| (name.to_string(), Value::from(String::from_utf8_lossy(value.as_bytes()))))
        .collect();
    let query: Map<String, Value> = query
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    let mut row = Map::new();
    row.insert("body".into(), Value::from(text));
    row.insert("json".into(), json);
    row.insert("headers".into(), Value::from(Value::Object(headers).to_string()));
    row.insert("query".into(), Value::from(Value::Object(query).to_string()));
    row.insert("remote_addr".into(), Value::from(remote));
    row.insert(
        scorch_activities::monitor::TRIGGERED_AT.into(),
        Value::from(Timestamp::now().to_string()),
    );
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_bytes() {
        assert_eq!(size(&Value::from(100)), Some(100));
        assert_eq!(size(&Value::from("1MiB")), Some(1 << 20));
        assert_eq!(size(&Value::from("64 KiB")), Some(64 << 10));
        assert_eq!(size(&Value::from("2MB")), Some(2_000_000));
        assert_eq!(size(&Value::from("lots")), None);
    }

    #[test]
    fn the_token_is_never_published() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        headers.insert("x-source", "ci".parse().unwrap());
        let query = [
            ("env".to_string(), "prod".to_string()),
            ("x".to_string(), " y".to_string()),
        ];
        let row = published(br#"{"a":1}"#, &headers, &query, "127.0.0.1:4000");
        let all = Value::Object(row.clone()).to_string();
        assert!(!all.contains("s3cret"), "{all}");
        assert_eq!(row["json"]["a"], 1);
        assert_eq!(row["headers"], r#"{"x-source":"ci"}"#);
        assert_eq!(row["query"], r#"{"env":"prod","x":" y"}"#);
        assert_eq!(published(b"plain", &headers, &[], "")["json"], "");
    }
}
