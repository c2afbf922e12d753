//! Hostile input against a real `scorch up` (issue 13): YAML bombs, a flood of half-open
//! connections, a storm of wrong passwords and values a database cannot hold. Each is refused
//! with a clear 4xx (or shed), the process stays alive and answers `/health`, and its peak
//! resident memory stays under 300 MiB. One process serves the whole suite.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Fleet, send};
use serde_json::{Value, json};

/// The most resident memory the process may have used at its peak.
const MEMORY_LIMIT_MIB: u64 = 300;

/// The process's peak resident memory, from `/proc` (VmHWM).
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the process's status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status");
    kib / 1024
}

async fn check_in(fleet: &Fleet, source: &str) -> (u16, Value) {
    let body = json!({ "source": source });
    send(fleet.mgmt(reqwest::Method::POST, "/api/v1/runbooks").json(&body)).await
}

/// A bomb is refused with a 400 that says why, at once.
async fn refused(fleet: &Fleet, what: &str, source: &str, says: &str) {
    let began = Instant::now();
    let (status, body) = check_in(fleet, source).await;
    assert_eq!(status, 400, "{what}: {body}");
    assert!(body.to_string().contains(says), "{what}: {body}");
    eprintln!(
        "hostile: {what} ({} KB) refused in {:?}",
        source.len() / 1024,
        began.elapsed()
    );
}

async fn health(fleet: &Fleet) -> Duration {
    let began = Instant::now();
    let answer = fleet
        .http
        .get(format!("{}/health", fleet.web))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("/health answers");
    assert_eq!(answer.status(), 200);
    began.elapsed()
}

/// `count` connections to `port`, each sending half a request head and then nothing, held by a
/// Python process until its standard input closes (one process holds at most 10,000: the file
/// limit of a process here is 20,000).
fn flood(port: u16, count: usize) -> std::process::Child {
    let script = r#"
import socket, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
held = []
for _ in range(count):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        held.append(s)
    except OSError:
        pass
print(len(held), flush=True)
sys.stdin.read()
"#;
    Command::new("python3")
        .args(["-c", script, &port.to_string(), &count.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start python3")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scorch_up_survives_hostile_input_within_its_memory_bound() {
    let mut fleet = Fleet::sqlite();
    fleet.start_up("up").await;
    let pid = fleet.proc("up").pid();

    // A 900 KB string aliased 10,000 times (about 9 GB expanded).
    let big = "x".repeat(900 * 1024);
    let mut bomb = format!("format: 1\nrunbook: Bomb\nblob: &a \"{big}\"\nactivities:\n");
    bomb.push_str("  - { id: init, type: initialize_data }\ncopies: [");
    bomb.push_str(&vec!["*a"; 10_000].join(","));
    bomb.push_str("]\n");
    refused(&fleet, "an alias bomb", &bomb, "aliases expand").await;
    // Nesting 30,000 deep in 60 KB, and 450,000 deep.
    for depth in [30_000, 450_000] {
        let nested = format!("format: 1\nrunbook: Deep\nx: {}1\n", "[".repeat(depth));
        refused(&fleet, &format!("{depth} levels of lists"), &nested, "nest").await;
        let block = format!("format: 1\nrunbook: Deep\nx:\n{}x\n", "- ".repeat(depth.min(200_000)));
        refused(
            &fleet,
            &format!("{} levels of block lists", depth.min(200_000)),
            &block,
            "nest",
        )
        .await;
    }
    // A 200,000-character name.
    let long = format!(
        "format: 1\nrunbook: {}\nactivities:\n  - {{ id: a, type: initialize_data }}\n",
        "n".repeat(200_000)
    );
    refused(&fleet, "a 200,000-character name", &long, "the limit is 256").await;

    // A NUL character in a value is refused as a bad value, naming it, not as an outage.
    let (status, body) = send(
        fleet
            .mgmt(reqwest::Method::PUT, "/api/v1/variables/Nul")
            .json(&json!({ "value": "a\u{0}b" })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("value"), "{body}");

    // 128 concurrent wrong logins: argon2 is bounded, so memory is too.
    let logins: Vec<_> = (0..128)
        .map(|i| {
            let (http, url) = (fleet.http.clone(), format!("{}/api/v1/session", fleet.web));
            tokio::spawn(async move {
                let body = json!({ "user": format!("nobody{}", i % 8), "password": "wrong" });
                send(http.post(url).json(&body)).await.0
            })
        })
        .collect();
    for login in logins {
        let status = login.await.expect("a login task");
        assert!(status == 401 || status == 429, "a wrong login answered {status}");
    }

    // 20,000 half-open connections to the web service: /health still answers.
    let port: u16 = fleet.web.rsplit(':').next().unwrap().parse().unwrap();
    let mut flooders: Vec<_> = (0..2).map(|_| flood(port, 10_000)).collect();
    let mut held = 0;
    for flooder in &mut flooders {
        let mut line = String::new();
        BufReader::new(flooder.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .expect("the flooder's count");
        held += line.trim().parse::<usize>().expect("a count");
    }
    let during = health(&fleet).await;
    let again = health(&fleet).await;
    eprintln!("hostile: /health answered in {during:?} and {again:?} with {held} half-open connections opened");
    for mut flooder in flooders {
        drop(flooder.stdin.take());
        let _ = flooder.wait();
    }
    assert!(fleet.proc("up").is_running(), "{}", fleet.logs());

    let peak = peak_rss_mib(pid);
    eprintln!("hostile: peak resident memory {peak} MiB");
    assert!(
        peak < MEMORY_LIMIT_MIB,
        "peak resident memory {peak} MiB\n{}",
        fleet.logs()
    );
    health(&fleet).await;
}
