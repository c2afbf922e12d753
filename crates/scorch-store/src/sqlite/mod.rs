//! The SQLite backend: one file (or memory) for `scorch up` on one machine.
//!
//! Layout: a pool of connections serves reads and the rare writes of authoring and operations;
//! every write of the job path (the journal, jobs, claims, hand-backs, audit records, heartbeats)
//! goes through one connection of its own, owned by one writer thread that commits in groups (see
//! [`writer`]); job results are read by a thread of their own (see [`results`]).
//! The file runs in WAL mode with `synchronous=FULL`, so readers never wait for the writer and
//! nothing acknowledged is lost on power failure, except what the journal contract lets wait for
//! the next durable commit (see `writer`).
//!
//! [`Store`](crate::Store) is implemented in `store_impl`, which delegates to one module per area
//! of the job path (jobs and their claims, instances, the journal), and for the cold paths
//! (folders, runbooks, servers, settings, users, audit, retention) to `crate::cold`, written once
//! for both backends; `backend` holds what SQLite does its own way there. Changes are broadcast
//! in this process only, after they commit (see [`changes`]): by the writer after each group
//! commit, and by the call that made them for the pool's writes. Token and runbook path lookups
//! are kept for a moment (`crate::kept`), forgotten by this process's writes that change them;
//! another process sharing the file sees its changes within the moment.

mod audit;
mod backend;
mod changes;
mod claims;
#[allow(clippy::duplicate_mod, reason = "one source, compiled for each backend (see `cold`)")]
#[path = "../cold/mod.rs"]
mod cold;
mod columns;
mod instances;
mod jobs;
mod output;
mod results;
mod servers;
mod sql;
mod store_impl;
mod writer;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::kept::KeptLookups;
use crate::{Change, StoreError};

use changes::Changes;
// The job path's modules read these from here.
use crate::codec::{duration_micros, from_json, micros, timestamp, to_json};
use cold::runbooks;
use results::ResultReader;
use writer::Writer;
pub use writer::journal::SqliteJournal;

/// Global settings on SQLite, as activities see them: obtained from
/// [`JobPath::settings`](crate::JobPath::settings).
pub type SqliteSettings = cold::settings::Settings;

/// Embedded migrations, in order (see `crate::migrations`).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../../migrations/sqlite/0001_initial.sql")),
    (2, "fleet", include_str!("../../migrations/sqlite/0002_fleet.sql")),
    // Version 3 is PostgreSQL's alone (the job path's functions).
    (4, "reads", include_str!("../../migrations/sqlite/0004_reads.sql")),
    // Versions 5 and 6 are PostgreSQL's alone (its hot path).
    (
        7,
        "instance_problems",
        include_str!("../../migrations/sqlite/0007_instance_problems.sql"),
    ),
    (
        8,
        "run_error_kind",
        include_str!("../../migrations/sqlite/0008_run_error_kind.sql"),
    ),
    (
        9,
        "activity_output",
        include_str!("../../migrations/sqlite/0009_activity_output.sql"),
    ),
    (
        10,
        "id_tails",
        include_str!("../../migrations/sqlite/0010_id_tails.sql"),
    ),
    (
        11,
        "computer_groups",
        include_str!("../../migrations/sqlite/0011_computer_groups.sql"),
    ),
    (
        12,
        "monitors",
        include_str!("../../migrations/sqlite/0012_monitors.sql"),
    ),
];

/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections for readers and non-journal writes (WAL lets readers run beside the writer).
const POOL_SIZE: u32 = 4;
/// Changes a subscriber may fall behind by before it misses some (and is told so).
const CHANGES: usize = 4096;

/// The store the cold paths (`cold`) are compiled for.
type ThisStore = SqliteStore;

/// The orchestration database on SQLite. Cheap to clone: clones share the pool, the journal and
/// the change channel. Everything callers need is on [`Store`](crate::Store).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: Writer,
    results: ResultReader,
    journal: Arc<SqliteJournal>,
    settings: Arc<SqliteSettings>,
    changes: Changes,
    versions: crate::versions::VersionCache,
    /// Token and runbook path lookups kept for a moment.
    kept: Arc<KeptLookups<crate::versions::Head>>,
}

impl SqliteStore {
    /// Opens `sqlite:PATH` (the file is created if missing; its directory must exist) or
    /// `sqlite::memory:`, and brings the schema up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let (options, place) = connect_options(url)?;
        let in_memory = url == "sqlite::memory:";
        let unavailable = |err: sqlx::Error| {
            let cause = match &err {
                sqlx::Error::Database(db) => db.message().to_string(),
                other => other.to_string(),
            };
            StoreError::Unavailable(format!("cannot open the database {place}: {cause}"))
        };
        // Migrations run on a connection of their own, kept open until the writer's is: that one
        // keeps an in-memory database alive for as long as the store lives, whatever the pool does
        // with idle connections.
        let mut migrating = options.connect().await.map_err(unavailable)?;
        crate::migrations::migrator(MIGRATIONS)
            .run(&mut migrating)
            .await
            .map_err(|err| StoreError::Unavailable(format!("cannot bring the database {place} up to date: {err}")))?;
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_SIZE)
            // A local file does not hang up: no round trip to the connection's thread to check.
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .map_err(unavailable)?;
        let changes = Changes::new();
        let writer = Writer::start(&options, in_memory, BUSY_TIMEOUT, changes.clone())
            .map_err(|err| StoreError::Unavailable(format!("cannot open the database {place}: {err}")))?;
        let results = ResultReader::start(&options, in_memory, &writer)
            .map_err(|err| StoreError::Unavailable(format!("cannot open the database {place}: {err}")))?;
        drop(migrating);
        let journal = Arc::new(SqliteJournal::new(writer.clone(), pool.clone()));
        let settings = Arc::new(SqliteSettings::new(pool.clone()));
        Ok(SqliteStore {
            pool,
            writer,
            results,
            journal,
            settings,
            changes,
            versions: Default::default(),
            kept: Default::default(),
        })
    }

    /// Tells subscribers of a committed change; nobody listening is fine.
    fn notify(&self, change: Change) {
        self.changes.send(change);
    }
}

fn connect_options(url: &str) -> Result<(SqliteConnectOptions, String), StoreError> {
    let invalid = || StoreError::Invalid(format!("database URL '{url}': expected sqlite:PATH or sqlite::memory:"));
    let rest = url.strip_prefix("sqlite:").ok_or_else(invalid)?;
    let (options, place) = if rest == ":memory:" {
        // A uniquely named, shared-cache memory database, so the pool and the writer see one.
        (
            SqliteConnectOptions::from_str(url).map_err(|_| invalid())?,
            "in memory".to_string(),
        )
    } else {
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.is_empty() {
            return Err(invalid());
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        (options, format!("at {path}"))
    };
    let options = options
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    Ok((options, place))
}

/// UUIDs as a JSON array of hex text, for `IN (SELECT unhex(value) FROM json_each(?))`: one bind
/// however many there are (UUIDs are stored as 16-byte blobs).
fn hex_list(ids: &[uuid::Uuid]) -> String {
    let hex: Vec<String> = ids.iter().map(|id| id.simple().to_string()).collect();
    serde_json::to_string(&hex).unwrap_or_else(|_| "[]".into())
}

/// `AND` the ids of `column` (16-byte blobs) that `id` may stand for: a range of the key, or
/// the last 4 bytes, which `substr` reads from the blob as migration 0010 indexes them.
fn id_match(query: &mut sqlx::QueryBuilder<sqlx::Sqlite>, column: &str, id: &crate::IdMatch) {
    query
        .push(format!(" AND ({column} BETWEEN "))
        .push_bind(id.low)
        .push(" AND ")
        .push_bind(id.high);
    if let Some(tail) = id.tail {
        query
            .push(format!(" OR substr({column}, 13, 4) = "))
            .push_bind(tail.to_vec());
    }
    query.push(")");
}

/// A page size for a LIMIT clause: 0 asks for no limit, which SQLite spells as a negative one.
fn limit(limit: u32) -> i64 {
    if limit == 0 { -1 } else { limit.into() }
}
