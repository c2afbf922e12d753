//! Every runbook in `examples/` runs with the tester and ends as its comment says (a monitor
//! runbook, which the tester cannot run, passes `check`), and every example is listed here (a
//! new one without an expectation fails).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// (file, expected instance status, a return value the run must produce)
const EXPECTED: &[(&str, &str, &str)] = &[
    ("append-and-copy.runbook.yaml", "success", "Copy/File1.txt"),
    ("call-web-service.runbook.yaml", "success", "ok (HTTP 200 in"),
    ("failure-links.runbook.yaml", "failed", "known: disk full (exit 3)"),
    ("fan-out.runbook.yaml", "success", "web01, web02, db01"),
    ("hello.runbook.yaml", "success", "Hello, whole world"),
    ("retry-loop.runbook.yaml", "success", "3"),
    ("script-report.runbook.yaml", "success", "% used"),
];

/// Monitor runbooks: their job waits for events, so they are only checked.
const MONITORS: &[&str] = &["monitor-folder-or-time.runbook.yaml"];

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// A real HTTP server (Python's) serving `{"status": "ok"}` at `/health` on a free port, for the
/// web-service example; killed when dropped.
struct HttpServer {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_server() -> HttpServer {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("health"), r#"{"status": "ok"}"#).unwrap();
    let port = crate::support::free_port();
    let child = Command::new("python3")
        .args(["-m", "http.server", "--bind", "127.0.0.1", &port.to_string()])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3");
    let url = format!("http://127.0.0.1:{port}/health");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "python3 -m http.server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    HttpServer { child, url, _dir: dir }
}

/// What an example needs besides its file: the web-service example its server and token.
fn arguments(file: &str, server: &HttpServer) -> Vec<String> {
    match file {
        "call-web-service.runbook.yaml" => {
            vec![
                "--param".into(),
                format!("Url={}", server.url),
                "--secret-var".into(),
                "ApiToken=sct_example".into(),
            ]
        }
        _ => Vec::new(),
    }
}

#[test]
fn every_example_runs_as_documented() {
    let mut files: Vec<String> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".runbook.yaml"))
        .collect();
    files.sort();
    let mut listed: Vec<&str> = EXPECTED.iter().map(|e| e.0).chain(MONITORS.iter().copied()).collect();
    listed.sort();
    assert_eq!(files, listed, "examples/ and this test's table differ");
    let mut failures = Vec::new();
    let server = http_server();
    for (file, status, returned) in EXPECTED {
        let out = Command::new(env!("CARGO_BIN_EXE_scorch"))
            .args(["runbook", "test", "--json"])
            .arg(examples_dir().join(file))
            .args(arguments(file, &server))
            .output()
            .unwrap();
        let doc: serde_json::Value = match serde_json::from_slice(&out.stdout) {
            Ok(d) => d,
            Err(_) => {
                failures.push(format!("{file}: no JSON: {}", String::from_utf8_lossy(&out.stderr)));
                continue;
            }
        };
        let want_code = if *status == "failed" { 1 } else { 0 };
        if doc["status"] != *status || out.status.code() != Some(want_code) {
            failures.push(format!(
                "{file}: status {} exit {:?}, expected {status}",
                doc["status"],
                out.status.code()
            ));
        }
        if !doc["returns"].to_string().contains(returned) {
            failures.push(format!("{file}: returns {} lack {returned:?}", doc["returns"]));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_example_passes_check() {
    let out = Command::new(env!("CARGO_BIN_EXE_scorch"))
        .args(["runbook", "check"])
        .args(
            EXPECTED
                .iter()
                .map(|e| e.0)
                .chain(MONITORS.iter().copied())
                .map(|f| examples_dir().join(f)),
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
