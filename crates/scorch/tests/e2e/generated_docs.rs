//! Generated documentation stays in step with the code. `UPDATE_EXPECT=1 cargo test` rewrites it.

use std::path::PathBuf;
use std::process::Command;

#[allow(clippy::disallowed_methods, reason = "UPDATE_EXPECT rewrites the committed document")]
#[test]
fn activity_reference_is_current() {
    let out = Command::new(env!("CARGO_BIN_EXE_scorch"))
        .args(["activities", "--markdown"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let generated = String::from_utf8(out.stdout).unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/activity-reference.md");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/activity-reference.md is stale: run UPDATE_EXPECT=1 cargo test -p scorch --test generated_docs"
    );
}
