//! The roles of a scorch deployment, each on the orchestration database ([`Store`]) and
//! nothing else: they never call each other.
//!
//! - [`runbook_server`]: registers, heartbeats, claims jobs through leases, runs them with the
//!   engine; opens no port.
//! - [`web`]: the REST web service (port 81): operations: runbooks, jobs, instances, servers.
//! - `management`: the management server (port 8135): authoring: check-in/out, folders,
//!   global settings, users and permissions.
//!
//! [`Store`]: scorch_store::Store

pub mod api;
pub mod auth;
pub mod console;
pub mod jobs;
pub mod listener;
pub mod management;
pub mod metrics;
pub mod plans;
pub mod report;
pub mod retention;
pub mod runbook_server;
pub mod secrets;
pub mod serve;
pub mod web;
