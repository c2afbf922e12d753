//! The cold paths, written once for both backends: authoring (folders, runbooks), operations
//! (runbook servers, settings, retention) and access (users, tokens, grants, the audit trail).
//!
//! Each backend compiles this module as its own `cold` (`#[path]`), against its store: [`B`]
//! is the parent backend's store, whose [`Backend`] implementation supplies the statements and
//! steps its dialect writes its own way; every other statement is written here once, in the
//! dialect both understand. Compiled for each backend, the code names the driver's types
//! concretely, so it spells out no sqlx bounds (see `crate::backend` for why), and a value one
//! driver cannot bind or read fails that backend's build.
//! `crate::store_impl` writes the part of each backend's `impl Store` that delegates here.

pub(crate) mod audit;
pub(crate) mod folders;
pub(crate) mod monitors;
pub(crate) mod output;
pub(crate) mod queue;
pub(crate) mod retention;
pub(crate) mod runbooks;
pub(crate) mod servers;
pub(crate) mod settings;
pub(crate) mod users;

use sqlx::Database;

use crate::backend::Backend;

/// The store this copy of the cold paths is compiled for.
pub(crate) type B = super::ThisStore;
/// A connection to its database.
pub(crate) type Connection = <<B as Backend>::Db as Database>::Connection;
/// A row of its database.
pub(crate) type Row = <<B as Backend>::Db as Database>::Row;
