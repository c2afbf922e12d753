//! scorch-server's roles over real HTTP on loopback ports, in one test binary: the web service,
//! the management server, the console's server and the runbook server, each on a real SQLite
//! store in a temporary directory, and the connections, sign-ins and requests a hostile client
//! makes.

mod connections;
mod console;
mod fuzz_api;
mod hostile_requests;
mod logins;
mod management;
mod metrics;
mod runbook_server;
mod support;
mod tls;
mod web;
