//! Every runbook in `examples/` runs with the tester and ends as its comment says, and every
//! example is listed here (a new one without an expectation fails).

use std::path::PathBuf;
use std::process::Command;

/// (file, expected instance status, a return value the run must produce)
const EXPECTED: &[(&str, &str, &str)] = &[
    ("append-and-copy.runbook.yaml", "success", "Copy/File1.txt"),
    ("failure-links.runbook.yaml", "failed", "known: disk full (exit 3)"),
    ("fan-out.runbook.yaml", "success", "web01, web02, db01"),
    ("hello.runbook.yaml", "success", "Hello, whole world"),
    ("retry-loop.runbook.yaml", "success", "3"),
    ("script-report.runbook.yaml", "success", "% used"),
];

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

#[test]
fn every_example_runs_as_documented() {
    let mut files: Vec<String> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".runbook.yaml"))
        .collect();
    files.sort();
    let listed: Vec<&str> = EXPECTED.iter().map(|e| e.0).collect();
    assert_eq!(files, listed, "examples/ and this test's table differ");
    let mut failures = Vec::new();
    for (file, status, returned) in EXPECTED {
        let out = Command::new(env!("CARGO_BIN_EXE_scorch"))
            .args(["runbook", "test", "--json"])
            .arg(examples_dir().join(file))
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
        .args(EXPECTED.iter().map(|e| examples_dir().join(e.0)))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
