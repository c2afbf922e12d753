//! The PostgreSQL backend: one database for a fleet of runbook servers, management servers and
//! web services on many hosts.
//!
//! Layout: a pool of connections serves reads and the authoring/operations writes; the journal, new
//! jobs (with their audit records) and instance ends with their jobs' ends are written by one
//! writer task that commits in groups (see [`writer`]); a listener task turns the database's
//! `NOTIFY scorch_changes` messages into [`Change`](crate::Change)s for every subscriber of this
//! process (see [`changes`]), so a change committed by any process reaches every process.
//!
//! Runbook servers claim jobs with `FOR UPDATE SKIP LOCKED`, so two servers never take the same
//! job and never wait for each other's candidates; a runbook's concurrency is enforced under a
//! transaction-level advisory lock on the runbook (see [`claims`]); a claim of many jobs is one
//! call of a PL/pgSQL function (migration 3), one round trip. Leases and heartbeats are stamped and
//! compared on the database's clock (`scorch_now_us()`), never a runbook server's.

mod backend;
mod changes;
mod claims;
#[allow(clippy::duplicate_mod, reason = "one source, compiled for each backend (see `cold`)")]
#[path = "../cold/mod.rs"]
mod cold;
mod instances;
mod jobs;
mod output;
mod results;
mod sql;
mod store_impl;
mod writer;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Executor as _, Postgres};
use tokio::task::JoinHandle;

use crate::StoreError;
use crate::kept::KeptLookups;

pub use changes::Listen;
pub use writer::PgJournal;
// The job path's modules read these from here.
use crate::codec::{duration_micros, from_json, micros, timestamp, to_json};
use cold::runbooks;

/// Global settings on PostgreSQL, as activities see them: obtained from
/// [`JobPath::settings`](crate::JobPath::settings).
pub type PgSettings = cold::settings::Settings;

/// Embedded migrations, in order: the same versions as the SQLite ones, in this dialect (see
/// `crate::migrations`).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../../migrations/postgres/0001_initial.sql")),
    (2, "fleet", include_str!("../../migrations/postgres/0002_fleet.sql")),
    // PostgreSQL only: the job path's functions (SQLite has no version 3).
    (3, "jobs", include_str!("../../migrations/postgres/0003_jobs.sql")),
    (4, "reads", include_str!("../../migrations/postgres/0004_reads.sql")),
    (
        5,
        "hot_path",
        include_str!("../../migrations/postgres/0005_hot_path.sql"),
    ),
    (
        6,
        "fewer_writes",
        include_str!("../../migrations/postgres/0006_fewer_writes.sql"),
    ),
    (
        7,
        "instance_problems",
        include_str!("../../migrations/postgres/0007_instance_problems.sql"),
    ),
    (
        8,
        "run_error_kind",
        include_str!("../../migrations/postgres/0008_run_error_kind.sql"),
    ),
    (
        9,
        "activity_output",
        include_str!("../../migrations/postgres/0009_activity_output.sql"),
    ),
    (
        10,
        "id_tails",
        include_str!("../../migrations/postgres/0010_id_tails.sql"),
    ),
    (
        11,
        "computer_groups",
        include_str!("../../migrations/postgres/0011_computer_groups.sql"),
    ),
    (
        12,
        "monitors",
        include_str!("../../migrations/postgres/0012_monitors.sql"),
    ),
];

/// On loopback (or a Unix socket) TLS protects nothing and costs the job path about 45% of its
/// throughput (the API benchmark: 1,900 against 3,500 jobs/s), so a URL that names no `sslmode`
/// connects in plain there; elsewhere PostgreSQL's default, `prefer`, stands.
fn plain_on_loopback(url: &str, options: PgConnectOptions) -> PgConnectOptions {
    let host = options.get_host();
    let local = host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if local && !url.contains("sslmode=") {
        options.ssl_mode(sqlx::postgres::PgSslMode::Disable)
    } else {
        options
    }
}

/// Connections for readers and writers of this process (the journal writer holds one of them).
const POOL_SIZE: u32 = 16;
/// How long a caller waits for a free connection before the database counts as unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Changes a subscriber may fall behind by before it misses some (and is told so).
const CHANGES: usize = 4096;

/// The connection in `slot`, opened there first if it holds none: a connection that one task keeps
/// (the journal writer, the job result reader, the claims) for the few statements it runs over
/// and over. It goes back to the pool only closed (emptying the slot closes it), so it is not
/// pinged each time as pool connections are. Its statements are planned once, generically: they
/// look rows up by key (and no connection prefers a sequential scan, see
/// [`PgStore::open_listening`]), and left to choose, PostgreSQL would plan them afresh for each
/// call (their arrays' lengths make a custom plan look cheaper), costing more than running them.
async fn kept_connection<'a>(
    slot: &'a mut Option<PoolConnection<Postgres>>,
    pool: &PgPool,
) -> Result<&'a mut PoolConnection<Postgres>, sqlx::Error> {
    match slot {
        Some(conn) => Ok(conn),
        None => {
            let mut conn = pool.acquire().await?;
            conn.close_on_drop();
            sqlx::query("SET plan_cache_mode = force_generic_plan")
                .execute(&mut *conn)
                .await?;
            Ok(slot.insert(conn))
        }
    }
}

/// The lookups a PostgreSQL store keeps (see `crate::kept`): runbooks found by path as their head
/// (their id and what changes from one save to the next).
type Kept = KeptLookups<crate::versions::Head>;

/// The store the cold paths (`cold`) are compiled for.
type ThisStore = PgStore;

/// The orchestration database on PostgreSQL. Cheap to clone: clones share the pool, the journal,
/// the change listener and the cache of runbook versions.
#[derive(Debug, Clone)]
pub struct PgStore {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    pool: PgPool,
    journal: Arc<PgJournal>,
    settings: Arc<PgSettings>,
    changes: changes::Changes,
    listener: JoinHandle<()>,
    versions: crate::versions::VersionCache,
    /// Token and runbook path lookups kept for a moment.
    kept: Arc<Kept>,
    results: results::ResultReader,
    /// The connection claims run on, one at a time (see [`kept_connection`]).
    claimer: tokio::sync::Mutex<Option<PoolConnection<Postgres>>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The listener task holds a sender of its own; it ends with the store.
        self.listener.abort();
    }
}

impl PgStore {
    /// Opens `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?OPTIONS]` (or `postgresql://`),
    /// brings the schema up to date (concurrent openers wait for each other), and starts listening
    /// for changes.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_listening(url, Listen::Everything).await
    }

    /// [`open`](Self::open), listening only to the changes `listen` names: subscribers of a store
    /// opened for [`Listen::Jobs`] get job changes only.
    pub async fn open_listening(url: &str, listen: Listen) -> Result<Self, StoreError> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::Invalid(format!(
                "database URL '{}': expected postgres://USER@HOST:PORT/DATABASE",
                redact(url)
            )));
        }
        let options = PgConnectOptions::from_str(url)
            .map_err(|err| StoreError::Invalid(format!("database URL '{}': {err}", redact(url))))?;
        let options = plain_on_loopback(url, options);
        let place = format!(
            "'{}' on {}:{}",
            options.get_database().unwrap_or("postgres"),
            options.get_host(),
            options.get_port()
        );
        let unavailable = |err: sqlx::Error| {
            let cause = match &err {
                sqlx::Error::Database(db) => db.message().to_string(),
                other => other.to_string(),
            };
            StoreError::Unavailable(format!("cannot open the database {place}: {cause}"))
        };
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A connection that broke is found out by the statement that uses it; pinging every
            // connection before use would cost a round trip per statement.
            .test_before_acquire(false)
            // Statements find rows by key, through an index, whatever the tables hold. PostgreSQL
            // keeps a statement's generic plan for the connection's life, planned with the table
            // sizes of its first runs: made while the job tables were nearly empty, it would go
            // on reading them whole (a sequential scan per claim and per result read, growing
            // with history) until ANALYZE runs, which with autovacuum off is never. Sequential
            // scans stay possible where no index serves; they are only never preferred. Such a
            // plan is costed as if huge, and JIT compilation (tens of milliseconds, for
            // statements that run in microseconds) would take it at its word: it is off. (Set
            // once connected rather than as startup options, which connection poolers refuse.)
            .after_connect(|conn, _| {
                Box::pin(async move { conn.execute("SET enable_seqscan = off; SET jit = off").await.map(drop) })
            })
            .connect_with(options)
            .await
            .map_err(unavailable)?;
        crate::migrations::migrator(MIGRATIONS)
            .run(&pool)
            .await
            .map_err(|err| StoreError::Unavailable(format!("cannot bring the database {place} up to date: {err}")))?;
        let changes = changes::Changes::new(CHANGES);
        let kept = Arc::new(KeptLookups::default());
        let listener = changes::listen(&pool, changes.clone(), listen, kept.clone())
            .await
            .map_err(unavailable)?;
        let journal = Arc::new(PgJournal::start(pool.clone()));
        let settings = Arc::new(PgSettings::new(pool.clone()));
        let results = results::ResultReader::start(pool.clone());
        Ok(PgStore {
            shared: Arc::new(Shared {
                pool,
                journal,
                settings,
                changes,
                listener,
                versions: crate::versions::VersionCache::default(),
                kept,
                results,
                claimer: tokio::sync::Mutex::new(None),
            }),
        })
    }

    /// The engine's journal on this database. Every handle shares one group-commit writer.
    pub fn pg_journal(&self) -> Arc<PgJournal> {
        self.shared.journal.clone()
    }

    fn pool(&self) -> &PgPool {
        &self.shared.pool
    }
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// `AND` the ids of `column` that `id` may stand for: a range of the key (uuids compare as
/// their bytes), or the last 8 hex digits of the text, as migration 0010 indexes them.
fn id_match(query: &mut sqlx::QueryBuilder<sqlx::Postgres>, column: &str, id: &crate::IdMatch) {
    query
        .push(format!(" AND ({column} BETWEEN "))
        .push_bind(id.low)
        .push(" AND ")
        .push_bind(id.high);
    if let Some(tail) = id.tail {
        let hex: String = tail.iter().map(|b| format!("{b:02x}")).collect();
        query.push(format!(" OR right({column}::text, 8) = ")).push_bind(hex);
    }
    query.push(")");
}

/// A page size for a LIMIT clause: 0 asks for no limit, which PostgreSQL spells as NULL.
fn limit(limit: u32) -> Option<i64> {
    (limit != 0).then_some(limit.into())
}

#[cfg(test)]
mod tests {
    use sqlx::postgres::PgSslMode;

    use super::*;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact("postgres://scorch:s3cret@db:5432/scorch"),
            "postgres://scorch:***@db:5432/scorch"
        );
        assert_eq!(redact("postgres://scorch@db/scorch"), "postgres://scorch@db/scorch");
        assert_eq!(redact("postgres://db/scorch"), "postgres://db/scorch");
    }

    fn mode(url: &str) -> PgSslMode {
        plain_on_loopback(url, PgConnectOptions::from_str(url).unwrap()).get_ssl_mode()
    }

    #[test]
    fn loopback_is_plain_unless_the_url_says_otherwise() {
        assert!(matches!(mode("postgres://u@127.0.0.1:5432/db"), PgSslMode::Disable));
        assert!(matches!(mode("postgres://u@localhost/db"), PgSslMode::Disable));
        assert!(matches!(mode("postgres://u@[::1]:5432/db"), PgSslMode::Disable));
        assert!(matches!(
            mode("postgres://u@127.0.0.1/db?sslmode=require"),
            PgSslMode::Require
        ));
        assert!(!matches!(mode("postgres://u@db.example/db"), PgSslMode::Disable));
    }
}
