//! The `scorch` binary's end-to-end tests, in one test binary: each module drives real
//! processes of the binary (and, for the console, a real browser) on loopback ports.
//!
//! Tests that need PostgreSQL or Chromium skip with a note when it is missing, unless
//! `SCORCH_TEST_PEERS=required` (CI) makes that a failure (`support::peer_missing`).

mod client;
mod console;
mod crash;
mod examples;
mod fleet;
mod generated_docs;
mod hostile;
mod monitors;
mod observability;
mod recovery;
mod spec;
mod support;
