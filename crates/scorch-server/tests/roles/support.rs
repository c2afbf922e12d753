//! A web service and a management server on one new SQLite database, on loopback ports, and
//! raw HTTP/1.1 over TCP: what a hostile client sends is not always what a client library
//! would write.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use scorch_server::api::AppState;
use scorch_server::auth::{new_token, token_hash};
use scorch_server::plans::Plans;
use scorch_server::serve::HttpLimits;
use scorch_server::{management, web};
use scorch_store::{SqliteStore, Store};
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Both HTTP roles, sharing their state as `scorch serve` does.
pub struct Roles {
    pub web: SocketAddr,
    pub management: SocketAddr,
    pub store: Arc<dyn Store>,
    /// An administrator's token.
    pub admin: String,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    _dir: TempDir,
}

impl Roles {
    pub async fn start(limits: HttpLimits) -> Roles {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(&format!("sqlite:{}", dir.path().join("scorch.db").display()))
            .await
            .unwrap();
        let store: Arc<dyn Store> = Arc::new(sqlite);
        store.create_user("admin", None, true).await.unwrap();
        let admin = new_token();
        store.create_token("admin", &token_hash(&admin), "test").await.unwrap();
        let plans = Arc::new(Plans::new(Arc::new(scorch_activities::standard())));
        let state = AppState::new(store.clone(), plans);
        let stop = CancellationToken::new();
        let (web_port, management_port) = (bind().await, bind().await);
        let (web, management) = (web_port.local_addr().unwrap(), management_port.local_addr().unwrap());
        let tasks = vec![
            tokio::spawn(web::serve(web_port, state.clone(), vec![], limits, stop.clone())),
            tokio::spawn(management::serve(management_port, state, limits, stop.clone())),
        ];
        Roles {
            web,
            management,
            store,
            admin,
            stop,
            tasks,
            _dir: dir,
        }
    }

    /// Both roles' addresses, to run a check on each.
    pub fn both(&self) -> [SocketAddr; 2] {
        [self.web, self.management]
    }

    /// Stops both roles; fails unless they have stopped within 10 s.
    pub async fn stop(self) {
        self.stop.cancel();
        for task in self.tasks {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("the roles stop within 10 s")
                .expect("no role panicked");
        }
    }
}

async fn bind() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// An answer as read off the wire.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// The status line and header fields.
    pub head: String,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON; fails (naming the answer) when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("the body is not JSON ({e}): {self}"))
    }

    /// The `error.code` of an error answer in the API's error shape, checking the shape.
    pub fn code(&self) -> String {
        let json = self.json();
        assert!(json["error"]["message"].is_string(), "not the error shape: {self}");
        json["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code: {self}"))
            .to_string()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (field, value) = line.split_once(':')?;
            field.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = String::from_utf8_lossy(&self.body);
        write!(
            f,
            "{}\n\n{}",
            self.head.trim_end(),
            body.chars().take(500).collect::<String>()
        )
    }
}

/// A request with `Connection: close`, a bearer token and a JSON body when given.
pub fn request(method: &str, target: &str, token: Option<&str>, body: Option<&Value>) -> Vec<u8> {
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: scorch\r\nConnection: close\r\n");
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let body = body.map(Value::to_string).unwrap_or_default();
    if !body.is_empty() {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    [head.into_bytes(), body.into_bytes()].concat()
}

/// Sends `request` as is on a new connection and reads the answer until the server closes the
/// connection; fails after 10 s.
pub async fn exchange(address: SocketAddr, request: &[u8]) -> Answer {
    let read = async {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        stream.write_all(request).await.expect("send the request");
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await.expect("read the answer");
        bytes
    };
    let bytes = tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("an answer within 10 s");
    parse(&bytes)
}

/// An answer from its bytes (a body of `Content-Length` bytes, or all that follows the head).
pub fn parse(bytes: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(bytes);
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete answer head: {text}"));
    let head = String::from_utf8_lossy(&bytes[..end]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status: {text}"));
    let mut answer = Answer {
        status,
        head,
        body: bytes[end + 4..].to_vec(),
    };
    if let Some(length) = answer.header("content-length").and_then(|l| l.parse::<usize>().ok()) {
        answer.body.truncate(length);
    }
    answer
}
