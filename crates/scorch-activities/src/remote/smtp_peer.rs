//! For the tests of `send_email` and `get_internet_application_status`: one real SMTP server
//! (Python's aiosmtpd, `tests/smtp_server.py`) per test binary, shared by the tests, with plain,
//! STARTTLS and implicit-TLS ports and a folder of the messages it received.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use crate::test_peers::{free_port, peer_missing, self_signed};

pub const USER: &str = "mailer";
pub const PASSWORD: &str = "s3cret-pw";

pub struct SmtpPeer {
    pub plain: u16,
    pub starttls: u16,
    pub tls: u16,
    pub messages: PathBuf,
    /// Held open for the life of the test binary: the server stops when it closes.
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
    _dir: tempfile::TempDir,
}

/// A message as the server received it.
#[derive(Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
    pub user: Option<String>,
    /// The body as Python's email package decoded it, and its content type.
    pub body: String,
    pub body_type: String,
    /// `(file name, content type, content)` of each attachment, decoded.
    pub attachments: Vec<(String, String, Vec<u8>)>,
}

/// The shared server, started on first use; `None` (after `peer_missing`) without aiosmtpd.
pub fn smtp_peer() -> Option<&'static SmtpPeer> {
    static PEER: OnceLock<Option<SmtpPeer>> = OnceLock::new();
    let peer = PEER.get_or_init(start).as_ref();
    if peer.is_none() {
        peer_missing("aiosmtpd", "pip install aiosmtpd");
    }
    peer
}

fn start() -> Option<SmtpPeer> {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path());
    let messages = dir.path().join("messages");
    std::fs::create_dir(&messages).unwrap();
    let (plain, starttls, tls) = (free_port(), free_port(), free_port());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_server.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(&messages)
        .args([&cert, &key])
        .args([plain, starttls, tls].map(|p| p.to_string()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("server.log")).unwrap())
        .spawn()
        .ok()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).ok()?;
    if line.trim() != "ready" {
        let _ = child.kill();
        let _ = child.wait();
        return None;
    }
    Some(SmtpPeer {
        plain,
        starttls,
        tls,
        messages,
        _stdin: Mutex::new(child.stdin.take().unwrap()),
        _child: Mutex::new(child),
        _dir: dir,
    })
}

impl SmtpPeer {
    /// The message whose `Message-ID` is `id`, received before the server's 250 answer.
    pub fn received(&self, id: &str) -> Received {
        let header = format!("Message-ID: <{id}>");
        std::fs::read_dir(&self.messages)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .map(|p| {
                let m: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
                let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
                Received {
                    from: text(&m["from"]).unwrap(),
                    to: m["to"].as_array().unwrap().iter().filter_map(text).collect(),
                    data: text(&m["data"]).unwrap(),
                    user: text(&m["user"]),
                    body: text(&m["body"]).unwrap_or_default(),
                    body_type: text(&m["body_type"]).unwrap_or_default(),
                    attachments: m["attachments"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|a| {
                            (
                                text(&a["filename"]).unwrap(),
                                text(&a["content_type"]).unwrap(),
                                unhex(&a["hex"]),
                            )
                        })
                        .collect(),
                }
            })
            .find(|m| m.data.lines().any(|l| l.eq_ignore_ascii_case(&header)))
            .unwrap_or_else(|| panic!("no message with {header}"))
    }
}

fn unhex(value: &serde_json::Value) -> Vec<u8> {
    let hex = value.as_str().unwrap().as_bytes();
    hex.chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}
