//! For tests (this crate's and the roles'): where the test PostgreSQL server is, and what a test
//! does when a peer it needs (PostgreSQL, Chromium) is missing. Not part of the store's API.

use std::io::Write as _;

/// The server tests make their databases on when `SCORCH_TEST_POSTGRES` names none.
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The PostgreSQL server the tests make their databases on.
#[allow(
    clippy::disallowed_methods,
    reason = "tests take their peers' addresses from the environment"
)]
pub fn postgres_server() -> String {
    std::env::var("SCORCH_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.to_string())
}

/// A peer a test needs is missing. Where `SCORCH_TEST_PEERS=required` (CI sets it) the test
/// fails; elsewhere it is skipped, with a note written past the test harness's capture so that
/// `cargo test` on a laptop shows what did not run.
#[allow(clippy::disallowed_methods, reason = "CI's rule comes from the environment")]
pub fn peer_missing(peer: &str, hint: &str) {
    let test = std::thread::current().name().unwrap_or("a test").to_string();
    if std::env::var("SCORCH_TEST_PEERS").is_ok_and(|v| v == "required") {
        panic!("{test} needs {peer}: {hint}");
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: no {peer}; {hint} (SCORCH_TEST_PEERS=required makes this a failure)"
    );
}

/// What to tell someone whose PostgreSQL is not running.
pub const POSTGRES_HINT: &str = "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, \
     or name another with SCORCH_TEST_POSTGRES";
