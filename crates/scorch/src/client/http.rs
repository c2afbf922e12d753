//! A small HTTP client for the servers' JSON APIs: a base URL, a bearer token, JSON in and out,
//! and failures turned into one-line messages (`<message> (<code>)`) with an exit code.

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an ordinary request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Exit codes.
pub const FAILED: u8 = 1;
pub const INVALID: u8 = 2;

/// Why a command failed: a one-line message, the server's stable code when it gave one, and
/// the exit code it means (2 for input the server refused as invalid, 1 otherwise).
#[derive(Debug, Clone)]
pub struct ClientError {
    pub message: String,
    pub code: Option<String>,
    /// For `invalid_runbook`: every problem, `LINE:COL: KEY: MESSAGE`.
    pub diagnostics: Vec<String>,
    /// For `ambiguous_id`: what a short id may name, one line each (`ID  RUNBOOK  CREATED`).
    pub candidates: Vec<String>,
    pub exit: u8,
}

impl ClientError {
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: None,
            diagnostics: Vec::new(),
            candidates: Vec::new(),
            exit: FAILED,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            exit: INVALID,
            ..Self::failed(message)
        }
    }

    /// Prints `scorch: <message> (<code>)`, then any candidates, and returns the exit code.
    pub fn report(&self) -> u8 {
        eprintln!("scorch: {self}");
        for candidate in &self.candidates {
            eprintln!("  {candidate}");
        }
        self.exit
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} ({code})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// One server: the management server or the web service.
pub struct Api {
    base: Url,
    token: Option<String>,
    http: reqwest::Client,
    /// "the management server"
    what: &'static str,
    /// "--management"
    flag: &'static str,
    /// Whether a 401 without a token says how to give one (not for a log-in, which has none).
    token_hint: bool,
}

fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("scorch/", env!("CARGO_PKG_VERSION")))
}

impl Api {
    /// Also trusts the PEM certificate in `ca` (for servers with a private CA's certificate).
    pub fn trusting(mut self, ca: Option<&std::path::Path>) -> Result<Self, ClientError> {
        let Some(path) = ca else { return Ok(self) };
        let unreadable = |e: &dyn std::fmt::Display| ClientError::failed(format!("--ca-cert {}: {e}", path.display()));
        let pem = std::fs::read(path).map_err(|e| unreadable(&e))?;
        let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| unreadable(&e))?;
        self.http = client_builder()
            .add_root_certificate(cert)
            .build()
            .map_err(|e| unreadable(&e))?;
        Ok(self)
    }

    pub fn new(base: &str, token: Option<&str>, what: &'static str, flag: &'static str) -> Result<Self, ClientError> {
        let mut parsed = Url::parse(base.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| ClientError::invalid(format!("{flag} '{base}': give a URL such as http://HOST:PORT")))?;
        // Paths are appended to the base's path.
        if !parsed.path().ends_with('/') {
            let path = format!("{}/", parsed.path());
            parsed.set_path(&path);
        }
        let http = client_builder()
            .build()
            .map_err(|e| ClientError::failed(format!("cannot set up HTTP: {e}")))?;
        let token = token.map(str::trim).filter(|t| !t.is_empty()).map(str::to_string);
        Ok(Self {
            base: parsed,
            token,
            http,
            what,
            flag,
            token_hint: true,
        })
    }

    /// For requests that need no token (a log-in): a 401 is then not about a missing token.
    pub fn without_token_hint(mut self) -> Self {
        self.token_hint = false;
        self
    }

    /// The URL of `segments` under the base (each segment percent-encoded) with a query.
    pub fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<T, ClientError> {
        self.send(Method::GET, self.url(segments, query), None::<&()>, None)
            .await
    }

    pub async fn post<T: DeserializeOwned>(&self, segments: &[&str], body: &impl Serialize) -> Result<T, ClientError> {
        self.send(Method::POST, self.url(segments, &[]), Some(body), None).await
    }

    pub async fn put<T: DeserializeOwned>(&self, segments: &[&str], body: &impl Serialize) -> Result<T, ClientError> {
        self.send(Method::PUT, self.url(segments, &[]), Some(body), None).await
    }

    pub async fn delete(&self, segments: &[&str], query: &[(&str, String)]) -> Result<Value, ClientError> {
        self.send(Method::DELETE, self.url(segments, query), None::<&()>, None)
            .await
    }

    /// Opens `GET segments` and leaves its body to be read as it comes (a server-sent event
    /// stream), without the ordinary time limit.
    pub async fn open_stream(&self, segments: &[&str]) -> Result<reqwest::Response, ClientError> {
        let mut request = self.http.get(self.url(segments, &[]));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            return Err(self.refused(status, &text));
        }
        Ok(response)
    }

    /// One request. `timeout` replaces the ordinary limit (for a start that waits). An empty
    /// answer (204) reads as JSON `null`.
    pub async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&impl Serialize>,
        timeout: Option<Duration>,
    ) -> Result<T, ClientError> {
        self.exchange(method, url, body, timeout).await.map(|(_, value)| value)
    }

    /// Like [`send`](Self::send), also giving the answer's status (a waited start answers 200 or 202).
    pub async fn exchange<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&impl Serialize>,
        timeout: Option<Duration>,
    ) -> Result<(StatusCode, T), ClientError> {
        let mut request = self
            .http
            .request(method, url)
            .timeout(timeout.unwrap_or(REQUEST_TIMEOUT));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| self.unreachable(&e))?;
        if !status.is_success() {
            return Err(self.refused(status, &text));
        }
        let text = if text.trim().is_empty() { "null" } else { text.as_str() };
        let value = serde_json::from_str(text).map_err(|e| {
            ClientError::failed(format!(
                "{} at {} answered with unexpected JSON: {e}",
                self.what,
                self.base_text()
            ))
        })?;
        Ok((status, value))
    }

    fn base_text(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_string()
    }

    /// A request that got no answer: connection refused, a timeout, a name that does not resolve.
    fn unreachable(&self, err: &reqwest::Error) -> ClientError {
        let reason = if err.is_timeout() {
            "timed out".to_string()
        } else {
            let mut reason = None;
            let mut source = err.source();
            while let Some(cause) = source {
                if let Some(io) = cause.downcast_ref::<std::io::Error>() {
                    reason = Some(match io.kind() {
                        std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                        std::io::ErrorKind::ConnectionReset => "the connection was reset".to_string(),
                        std::io::ErrorKind::TimedOut => "timed out".to_string(),
                        _ => io.to_string(),
                    });
                    break;
                }
                reason = Some(cause.to_string());
                source = cause.source();
            }
            reason.unwrap_or_else(|| err.to_string())
        };
        let hint = if err.is_connect() || err.is_timeout() {
            format!(" (start it, or pass {})", self.flag)
        } else {
            String::new()
        };
        ClientError::failed(format!(
            "cannot reach {} at {}: {reason}{hint}",
            self.what,
            self.base_text()
        ))
    }

    /// An error answer: its message and code when it is the servers' JSON error, else the status.
    fn refused(&self, status: StatusCode, text: &str) -> ClientError {
        let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let error = &body["error"];
        let code = error["code"].as_str().map(str::to_string);
        let mut message = match error["message"].as_str() {
            Some(m) => m.to_string(),
            None => {
                let reason = status.canonical_reason().unwrap_or("error");
                format!(
                    "{} at {} answered {} {reason}",
                    self.what,
                    self.base_text(),
                    status.as_u16()
                )
            }
        };
        if status == StatusCode::UNAUTHORIZED && self.token.is_none() && self.token_hint {
            message = format!("{message}; pass --token or set SCORCH_TOKEN (`scorch login` makes one)");
        }
        let diagnostics = error["diagnostics"]
            .as_array()
            .map(|d| d.iter().filter_map(|l| l.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let candidates = error["candidates"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                let field = |key: &str| c[key].as_str().unwrap_or_default().to_string();
                format!("{}  {}  created {}", field("id"), field("runbook"), field("created_at"))
            })
            .collect();
        let exit = match status {
            StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE => INVALID,
            _ => FAILED,
        };
        ClientError {
            message,
            code,
            diagnostics,
            candidates,
            exit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_join_and_encode() {
        let api = Api::new("http://localhost:8135", None, "the management server", "--management").unwrap();
        let url = api.url(&["api", "v1", "variables", "a b/c"], &[("folder", "ops/x".into())]);
        assert_eq!(
            url.as_str(),
            "http://localhost:8135/api/v1/variables/a%20b%2Fc?folder=ops%2Fx"
        );
        let api = Api::new("https://host/prefix", None, "x", "--x").unwrap();
        assert_eq!(api.url(&["api"], &[]).as_str(), "https://host/prefix/api");
        assert!(Api::new("localhost:8135", None, "x", "--management").is_err());
        assert!(Api::new("ftp://host", None, "x", "--management").is_err());
    }

    #[test]
    fn error_answers_become_one_line() {
        let api = Api::new("http://localhost:1", None, "the management server", "--management").unwrap();
        let e = api.refused(
            StatusCode::CONFLICT,
            r#"{"error":{"code":"conflict","message":"held by alice"}}"#,
        );
        assert_eq!(
            (e.to_string(), e.exit),
            ("held by alice (conflict)".to_string(), FAILED)
        );
        let e = api.refused(
            StatusCode::BAD_REQUEST,
            r#"{"error":{"code":"invalid_runbook","message":"m","diagnostics":["3:1: x"]}}"#,
        );
        assert_eq!((e.diagnostics, e.exit), (vec!["3:1: x".to_string()], INVALID));
        let e = api.refused(StatusCode::BAD_GATEWAY, "<html>");
        assert_eq!(
            e.to_string(),
            "the management server at http://localhost:1 answered 502 Bad Gateway"
        );
        let e = api.refused(
            StatusCode::UNAUTHORIZED,
            r#"{"error":{"code":"unauthenticated","message":"no token"}}"#,
        );
        assert!(e.to_string().contains("SCORCH_TOKEN"), "{e}");
        let e = api.refused(
            StatusCode::CONFLICT,
            r#"{"error":{"code":"ambiguous_id","message":"m","candidates":[{"id":"a","runbook":"Ops/X","created_at":"t"}]}}"#,
        );
        assert_eq!(e.candidates, ["a  Ops/X  created t"]);
    }
}
