//! `invoke_web_service`: sends one HTTP(S) request and publishes the answer.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};
use serde_json::Map;
use tokio::time::Instant;

use super::http_clients::{TlsSetting, body_up_to, client, innermost, tls_failure};

const TYPE: &str = "invoke_web_service";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: "Other computers and services",
    summary: "Sends an HTTP or HTTPS request (a REST call) and publishes the status, headers and body of the answer.",
    idempotent: false,
    properties: &[
        "url",
        "method",
        "headers",
        "query",
        "body",
        "json",
        "form",
        "username",
        "password",
        "bearer_token",
        "verify_tls",
        "ca_certificate",
        "timeout",
        "success_statuses",
        "response_file",
    ],
    required: &["url"],
    publishes: &["status_code", "body", "headers", "content_type", "url", "response_ms"],
};

pub struct InvokeWebService;

/// What to send, read and checked from the properties before anything goes on the wire.
struct Request {
    method: Method,
    url: Url,
    /// The url as errors show it: without a password.
    shown_url: String,
    headers: HeaderMap,
    query: Vec<(String, String)>,
    body: Body,
    auth: Auth,
    tls: TlsSetting,
    timeout: Duration,
    success: Vec<(u16, u16)>,
    response_file: Option<String>,
}

enum Body {
    None,
    Text(String),
    Json(Value),
    Form(Vec<(String, String)>),
}

enum Auth {
    None,
    Basic(String, Option<String>),
    Bearer(String),
}

#[scorch_activity::async_trait]
impl Activity for InvokeWebService {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let request = read_request(ctx, &props).await?;
        let work = send(ctx, request);
        let deadline = async {
            match ctx.deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            result = work => result,
            () = ctx.cancel.cancelled() => Err(ActivityError::Canceled),
            () = deadline => Err(ActivityError::TimedOut),
        }
    }
}

async fn read_request(ctx: &ActivityContext, props: &Props) -> Result<Request, ActivityError> {
    let invalid = |name: &str, why: String| ActivityError::invalid(TYPE, name, why);
    let text = props.non_empty("url")?;
    let url = Url::parse(text.trim()).map_err(|e| invalid("url", format!("'{text}' is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("url", format!("'{}' is not an http or https URL", shown(&url))));
    }
    let method_text = props.str_or("method", "GET")?.trim().to_ascii_uppercase();
    let method = Method::from_bytes(method_text.as_bytes())
        .map_err(|_| invalid("method", format!("'{method_text}' is not an HTTP method")))?;

    let mut headers = HeaderMap::new();
    for (name, value) in props.str_map("headers")? {
        let header = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| invalid("headers", format!("'{name}' is not a header name")))?;
        let value = HeaderValue::from_str(&value)
            .map_err(|_| invalid("headers", format!("the value of '{name}' is not a valid header value")))?;
        headers.append(header, value);
    }

    let bodies = ["body", "json", "form"]
        .into_iter()
        .filter(|name| props.get(name).is_some())
        .collect::<Vec<_>>();
    if bodies.len() > 1 {
        return Err(invalid(
            bodies[1],
            format!("give only one of body, json and form, not {}", bodies.join(" and ")),
        ));
    }
    let body = match bodies.first().copied() {
        Some("body") => Body::Text(props.str("body")?),
        Some("json") => Body::Json(props.get("json").cloned().unwrap_or(Value::Null)),
        Some("form") => Body::Form(props.str_map("form")?),
        _ => Body::None,
    };

    let username = props.opt_str("username")?.filter(|u| !u.is_empty());
    let password = props.opt_str("password")?;
    let bearer = props.opt_str("bearer_token")?.filter(|t| !t.is_empty());
    let auth = match (username, bearer) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "bearer_token",
                "give username and password or bearer_token, not both".into(),
            ));
        }
        (Some(user), None) => Auth::Basic(user, password.clone()),
        (None, Some(token)) => Auth::Bearer(token),
        (None, None) if password.as_deref().is_some_and(|p| !p.is_empty()) => {
            return Err(invalid("username", "is required with password".into()));
        }
        (None, None) => Auth::None,
    };
    // Credentials are secrets: every record of this instance masks them.
    match &auth {
        Auth::Basic(_, Some(password)) => ctx.secrets.remember(password),
        Auth::Bearer(token) => ctx.secrets.remember(token),
        _ => {}
    }
    if let Some(password) = url.password() {
        ctx.secrets.remember(password);
    }

    let tls = if !props.bool_or("verify_tls", true)? {
        TlsSetting::NoVerify
    } else if let Some(file) = props.opt_str("ca_certificate")?.filter(|f| !f.is_empty()) {
        let path = ctx.resolve_path(&file);
        let pem = tokio::fs::read(&path)
            .await
            .map_err(|e| ActivityError::failed(TYPE, path.display(), crate::io_words::io_why(&e)))?;
        TlsSetting::ExtraRoots(pem)
    } else {
        TlsSetting::Verify
    };

    let timeout = super::timeout_prop(props, DEFAULT_TIMEOUT)?;

    Ok(Request {
        shown_url: shown(&url),
        method,
        url,
        headers,
        query: props.str_map("query")?,
        body,
        auth,
        tls,
        timeout,
        success: success_statuses(props)?,
        response_file: props.opt_str("response_file")?.filter(|f| !f.is_empty()),
    })
}

/// `success_statuses`: codes (`204`) and ranges (`"200-299"`); `["200-299"]` when absent.
fn success_statuses(props: &Props) -> Result<Vec<(u16, u16)>, ActivityError> {
    let items = props.str_list("success_statuses")?;
    if items.is_empty() {
        return Ok(vec![(200, 299)]);
    }
    items
        .iter()
        .map(|item| {
            let code = |t: &str| t.trim().parse::<u16>().ok().filter(|c| (100..=999).contains(c));
            let range = match item.split_once('-') {
                Some((low, high)) => code(low).zip(code(high)).filter(|(l, h)| l <= h),
                None => code(item).map(|c| (c, c)),
            };
            range.ok_or_else(|| {
                ActivityError::invalid(
                    TYPE,
                    "success_statuses",
                    format!("'{item}' is not a status code or a range like 200-299"),
                )
            })
        })
        .collect()
}

async fn send(ctx: &ActivityContext, request: Request) -> Result<ActivityOutput, ActivityError> {
    let client = client(&request.tls).map_err(|why| ActivityError::invalid(TYPE, "ca_certificate", why))?;
    let subject = format!("{} {}", request.method, request.shown_url);
    let mut builder = client
        .request(request.method.clone(), request.url.clone())
        .headers(request.headers)
        .timeout(request.timeout);
    if !request.query.is_empty() {
        builder = builder.query(&request.query);
    }
    builder = match request.body {
        Body::None => builder,
        Body::Text(text) => builder.body(text),
        Body::Json(value) => builder.json(&value),
        Body::Form(fields) => builder.form(&fields),
    };
    builder = match request.auth {
        Auth::None => builder,
        Auth::Basic(user, password) => builder.basic_auth(user, password),
        Auth::Bearer(token) => {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| ActivityError::invalid(TYPE, "bearer_token", "is not valid in an HTTP header"))?;
            value.set_sensitive(true);
            builder.header(AUTHORIZATION, value)
        }
    };

    let started = Instant::now();
    let fail = |e: reqwest::Error| request_error(ctx, &subject, request.timeout, &e);
    let response = builder.send().await.map_err(fail)?;
    let status = response.status();
    let final_url = shown(response.url());
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let headers = headers_json(response.headers());
    let (bytes, more) = body_up_to(response, MAX_BODY_BYTES).await.map_err(fail)?;
    if more {
        let why = format!("the answer is larger than {} MiB", MAX_BODY_BYTES >> 20);
        return Err(ActivityError::failed(TYPE, &subject, why));
    }
    let response_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);

    if let Some(file) = &request.response_file {
        let path = ctx.resolve_path(file);
        tokio::fs::write(&path, &bytes)
            .await
            .map_err(|e| ActivityError::failed(TYPE, path.display(), crate::io_words::io_why(&e)))?;
    }

    let mask = |text: &str| ctx.secrets.mask(text);
    let rows = vec![row! {
        "status_code" => status.as_u16(),
        "body" => mask(&String::from_utf8_lossy(&bytes)),
        "headers" => mask(&headers),
        "content_type" => content_type,
        "url" => mask(&final_url),
        "response_ms" => response_ms,
    }];
    let code = status.as_u16();
    if request.success.iter().any(|(low, high)| (*low..=*high).contains(&code)) {
        return Ok(ActivityOutput::rows(rows));
    }
    let error = mask(&format!("{TYPE}: {subject}: {}", status_text(status)));
    if matches!(code, 429 | 502 | 503 | 504) {
        // The peer may answer later: worth a retry.
        return Err(ActivityError::Transient(error));
    }
    Ok(ActivityOutput::failed(error, rows))
}

/// `503 Service Unavailable` (just the code when it has no standard reason).
fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// The response headers as a JSON object (names lower-case; repeated ones joined with `, `).
fn headers_json(headers: &HeaderMap) -> String {
    let mut map = Map::new();
    for name in headers.keys() {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        map.insert(name.as_str().to_ascii_lowercase(), Value::String(values.join(", ")));
    }
    Value::Object(map).to_string()
}

/// A url as it may be shown: without its password.
fn shown(url: &Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        let _ = url.set_password(Some("******"));
    }
    url.to_string()
}

/// Answers larger than this fail the activity: the body is published and kept in memory.
const MAX_BODY_BYTES: usize = 16 << 20;

/// A failed exchange as a one-line error: the peer's timeout and a connection that failed (other
/// than on its certificate) are worth a retry.
fn request_error(ctx: &ActivityContext, subject: &str, timeout: Duration, error: &reqwest::Error) -> ActivityError {
    let reason = innermost(error);
    let tls = tls_failure(error);
    let line = |why: String| ctx.secrets.mask(&format!("{TYPE}: {subject}: {why}"));
    if error.is_timeout() {
        ActivityError::Transient(line(format!("no answer within {}", super::show_duration(timeout))))
    } else if tls {
        ActivityError::Failed(line(format!("TLS: {reason}")))
    } else if error.is_connect() {
        ActivityError::Transient(line(crate::io_words::plain_reason(&reason)))
    } else if error.is_redirect() {
        ActivityError::Failed(line(reason))
    } else {
        ActivityError::Transient(line(crate::io_words::plain_reason(&reason)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::http::{HeaderMap as AxHeaders, Method as AxMethod, StatusCode as AxStatus, Uri};
    use axum::response::{IntoResponse, Redirect};
    use axum::routing::{any, get};
    use scorch_activity::{Status, json};
    use std::net::SocketAddr;
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Answers with what it received: method, query, headers and body, as JSON.
    async fn echo(method: AxMethod, uri: Uri, headers: AxHeaders, body: String) -> impl IntoResponse {
        let headers: Map<String, Value> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or(""))))
            .collect();
        let answer = json!({"method": method.as_str(), "query": uri.query().unwrap_or(""),
            "headers": headers, "body": body});
        (
            [("x-served-by", "echo"), ("content-type", "application/json")],
            answer.to_string(),
        )
    }

    async fn status(axum::extract::Path(code): axum::extract::Path<u16>) -> impl IntoResponse {
        (AxStatus::from_u16(code).unwrap(), format!("answer {code}"))
    }

    async fn server() -> SocketAddr {
        let app = Router::new()
            .route("/echo", any(echo))
            .route("/redirect", get(|| async { Redirect::to("/echo?from=redirect") }))
            .route("/status/{code}", any(status))
            .route("/hang", get(std::future::pending::<String>))
            // Over the cap: once with its length told, once streamed without it.
            .route("/huge", get(|| async { vec![b'x'; MAX_BODY_BYTES + 1] }))
            .route(
                "/huge-stream",
                get(|| async {
                    let chunks = (0..17).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 1 << 20]));
                    axum::body::Body::from_stream(futures_util::stream::iter(chunks))
                }),
            );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    fn ctx() -> ActivityContext {
        ActivityContext::standalone(TYPE, std::env::temp_dir())
    }

    async fn run(properties: Value) -> Result<ActivityOutput, ActivityError> {
        InvokeWebService.run(&ctx(), properties).await
    }

    fn echoed(out: &ActivityOutput) -> Value {
        serde_json::from_str(out.rows[0]["body"].as_str().unwrap()).unwrap()
    }

    #[tokio::test]
    async fn get_publishes_status_headers_body_and_query() {
        let addr = server().await;
        let out = run(
            json!({"url": format!("http://{addr}/echo"), "query": {"q": "a b", "n": 2},
            "headers": {"X-Trace": "t1"}}),
        )
        .await
        .unwrap();
        assert_eq!(out.status, Status::Success);
        let row = &out.rows[0];
        assert_eq!(row["status_code"], 200);
        assert_eq!(row["content_type"], "application/json");
        assert_eq!(row["url"], format!("http://{addr}/echo?q=a+b&n=2"));
        assert!(row["response_ms"].is_u64());
        let headers: Value = serde_json::from_str(row["headers"].as_str().unwrap()).unwrap();
        assert_eq!(headers["x-served-by"], "echo");
        assert_eq!(headers["content-type"], "application/json");
        let echo = echoed(&out);
        assert_eq!(echo["method"], "GET");
        assert_eq!(echo["query"], "q=a+b&n=2");
        assert_eq!(echo["headers"]["x-trace"], "t1");
    }

    #[tokio::test]
    async fn sends_text_json_and_form_bodies_with_any_method() {
        let addr = server().await;
        let url = format!("http://{addr}/echo");
        let out = run(json!({"url": url, "method": "put", "body": "plain text"}))
            .await
            .unwrap();
        let echo = echoed(&out);
        assert_eq!((&echo["method"], &echo["body"]), (&json!("PUT"), &json!("plain text")));

        let out = run(json!({"url": url, "method": "POST", "json": {"a": [1, true]}}))
            .await
            .unwrap();
        let echo = echoed(&out);
        assert_eq!(echo["headers"]["content-type"], "application/json");
        assert_eq!(
            serde_json::from_str::<Value>(echo["body"].as_str().unwrap()).unwrap(),
            json!({"a": [1, true]})
        );

        let out = run(json!({"url": url, "method": "PATCH", "form": {"name": "x y", "n": 1}}))
            .await
            .unwrap();
        let echo = echoed(&out);
        assert_eq!(echo["method"], "PATCH");
        assert_eq!(echo["headers"]["content-type"], "application/x-www-form-urlencoded");
        assert_eq!(echo["body"], "name=x+y&n=1");

        let out = run(json!({"url": url, "method": "DELETE"})).await.unwrap();
        assert_eq!(echoed(&out)["method"], "DELETE");
    }

    #[tokio::test]
    async fn basic_and_bearer_auth_and_the_token_stays_secret() {
        let addr = server().await;
        let url = format!("http://{addr}/echo");
        let out = run(json!({"url": url, "username": "ann", "password": "pw"}))
            .await
            .unwrap();
        // base64("ann:pw")
        assert_eq!(echoed(&out)["headers"]["authorization"], "Basic YW5uOnB3");

        let ctx = ctx();
        ctx.secrets.remember("s3cr3t-token");
        let out = InvokeWebService
            .run(&ctx, json!({"url": url, "bearer_token": "s3cr3t-token"}))
            .await
            .unwrap();
        assert_eq!(echoed(&out)["headers"]["authorization"], "Bearer ******");
        let published = serde_json::to_string(&out.rows).unwrap();
        assert!(!published.contains("s3cr3t-token"), "{published}");

        let out = InvokeWebService
            .run(
                &ctx,
                json!({"url": format!("http://{addr}/status/500?t=s3cr3t-token"), "bearer_token": "s3cr3t-token"}),
            )
            .await
            .unwrap();
        assert_eq!(out.status, Status::Failed);
        assert_eq!(
            out.error,
            format!("invoke_web_service: GET http://{addr}/status/500?t=******: 500 Internal Server Error")
        );
        assert!(!serde_json::to_string(&out.rows).unwrap().contains("s3cr3t-token"));

        let err = run(json!({"url": url, "username": "a", "bearer_token": "t"}))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invoke_web_service: property 'bearer_token': give username and password or bearer_token, not both"
        );
    }

    #[tokio::test]
    async fn follows_redirects_and_publishes_the_final_url() {
        let addr = server().await;
        let out = run(json!({"url": format!("http://{addr}/redirect")})).await.unwrap();
        assert_eq!(out.rows[0]["status_code"], 200);
        assert_eq!(out.rows[0]["url"], format!("http://{addr}/echo?from=redirect"));
        assert_eq!(echoed(&out)["query"], "from=redirect");
    }

    #[tokio::test]
    async fn answers_over_the_cap_fail() {
        let addr = server().await;
        for path in ["huge", "huge-stream"] {
            let err = run(json!({"url": format!("http://{addr}/{path}")})).await.unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("invoke_web_service: GET http://{addr}/{path}: the answer is larger than 16 MiB")
            );
        }
    }

    #[tokio::test]
    async fn statuses_outside_success_statuses_fail_with_the_status_line() {
        let addr = server().await;
        let out = run(json!({"url": format!("http://{addr}/status/500"), "method": "post"}))
            .await
            .unwrap();
        assert_eq!(out.status, Status::Failed);
        assert_eq!(
            out.error,
            format!("invoke_web_service: POST http://{addr}/status/500: 500 Internal Server Error")
        );
        assert_eq!(
            (&out.rows[0]["status_code"], &out.rows[0]["body"]),
            (&json!(500), &json!("answer 500"))
        );

        let err = run(json!({"url": format!("http://{addr}/status/503"), "method": "POST"}))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            ActivityError::Transient(format!(
                "invoke_web_service: POST http://{addr}/status/503: 503 Service Unavailable"
            ))
        );

        let out = run(json!({"url": format!("http://{addr}/status/404"), "success_statuses": ["200-299", "400-404"]}))
            .await
            .unwrap();
        assert_eq!(
            (out.status, &out.rows[0]["status_code"]),
            (Status::Success, &json!(404))
        );
        let out = run(json!({"url": format!("http://{addr}/status/201"), "success_statuses": [200, "204"]}))
            .await
            .unwrap();
        assert_eq!(
            out.error,
            format!("invoke_web_service: GET http://{addr}/status/201: 201 Created")
        );

        let err = run(json!({"url": format!("http://{addr}/echo"), "success_statuses": ["299-200"]}))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invoke_web_service: property 'success_statuses': '299-200' is not a status code or a range like 200-299"
        );
    }

    #[tokio::test]
    async fn a_peer_that_does_not_answer_times_out() {
        let addr = server().await;
        let err = run(json!({"url": format!("http://{addr}/hang"), "timeout": "200ms"}))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            ActivityError::Transient(format!(
                "invoke_web_service: GET http://{addr}/hang: no answer within 200ms"
            ))
        );
    }

    #[tokio::test]
    async fn cancel_stops_the_request() {
        let addr = server().await;
        let ctx = ctx();
        let cancel = ctx.cancel.clone();
        let run = InvokeWebService.run(&ctx, json!({"url": format!("http://{addr}/hang")}));
        cancel.cancel();
        assert_eq!(run.await.unwrap_err(), ActivityError::Canceled);
    }

    #[tokio::test]
    async fn saves_the_body_to_response_file() {
        let addr = server().await;
        let dir = tempfile::tempdir().unwrap();
        let ctx = ActivityContext::standalone(TYPE, dir.path().to_path_buf());
        let out = InvokeWebService
            .run(
                &ctx,
                json!({"url": format!("http://{addr}/status/202"), "response_file": "out.txt"}),
            )
            .await
            .unwrap();
        assert_eq!(out.rows[0]["body"], "answer 202");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("out.txt")).unwrap(),
            "answer 202"
        );

        let err = InvokeWebService
            .run(
                &ctx,
                json!({"url": format!("http://{addr}/echo"), "response_file": "no/such/dir/x"}),
            )
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "invoke_web_service: {}: not found",
                dir.path().join("no/such/dir/x").display()
            )
        );
    }

    #[tokio::test]
    async fn refused_connection_and_bad_input_are_one_line_errors() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = run(json!({"url": format!("http://{addr}/x")})).await.unwrap_err();
        assert_eq!(
            err,
            ActivityError::Transient(format!("invoke_web_service: GET http://{addr}/x: connection refused"))
        );

        let err = run(json!({"url": "not a url"})).await.unwrap_err();
        assert_eq!(
            err,
            ActivityError::InvalidInput(
                "invoke_web_service: property 'url': 'not a url' is not a URL: relative URL without a base".into()
            )
        );
        let err = run(json!({"url": "ftp://example.com/f"})).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "invoke_web_service: property 'url': 'ftp://example.com/f' is not an http or https URL"
        );
        let err = run(json!({"url": "http://127.0.0.1:9/", "body": "a", "json": {}}))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invoke_web_service: property 'json': give only one of body, json and form, not body and json"
        );
        let err = run(json!({"url": "http://127.0.0.1:9/", "timeout": "soon"}))
            .await
            .unwrap_err();
        assert!(matches!(err, ActivityError::InvalidInput(_)), "{err}");
        let err = run(json!({"url": "http://127.0.0.1:9/", "method": "GE T"}))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invoke_web_service: property 'method': 'GE T' is not an HTTP method"
        );
    }

    /// A TLS server answering every request with `200 secure`.
    async fn tls_server(cert: &std::path::Path, key: &std::path::Path) -> SocketAddr {
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
        use tokio_rustls::rustls::{ServerConfig, crypto};
        let certs: Vec<_> = CertificateDer::pem_file_iter(cert)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key = PrivateKeyDer::from_pem_file(key).unwrap();
        let config = ServerConfig::builder_with_provider(Arc::new(crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\nsecure";
                    let _ = tls.write_all(answer).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn tls_self_signed_refused_unless_trusted_or_unverified() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = crate::test_peers::self_signed(dir.path());
        let addr = tls_server(&cert, &key).await;
        let url = format!("https://127.0.0.1:{}/", addr.port());

        let err = run(json!({"url": url})).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ActivityError::Failed(_)), "{err:?}");
        // On Linux: `...: TLS: invalid peer certificate: UnknownIssuer`.
        assert!(
            text.starts_with(&format!("invoke_web_service: GET {url}: TLS: invalid peer certificate")),
            "{text}"
        );
        assert!(!text.contains('\n'), "{text}");

        let out = run(json!({"url": url, "verify_tls": false})).await.unwrap();
        assert_eq!(
            (&out.rows[0]["status_code"], &out.rows[0]["body"]),
            (&json!(200), &json!("secure"))
        );

        let out = run(json!({"url": url, "ca_certificate": cert.to_str().unwrap()}))
            .await
            .unwrap();
        assert_eq!(out.rows[0]["body"], "secure");

        let err = run(json!({"url": url, "ca_certificate": key.to_str().unwrap()}))
            .await
            .unwrap_err();
        assert!(matches!(err, ActivityError::InvalidInput(_)), "{err:?}");
    }
}
