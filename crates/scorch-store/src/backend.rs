//! What the cold paths (`src/cold/`) need of a backend: its pool and caches, and the few
//! statements and steps that really differ between SQLite and PostgreSQL. Statements that read
//! the same in both dialects are written once in `cold`; sqlx's SQLite driver binds `$1, $2 ...`
//! by number just as PostgreSQL does.
//!
//! `cold` is compiled once for each backend, against its store (see `cold`'s documentation), so
//! its code names the driver's types concretely: written generic over this trait, every function
//! would have to repeat the bounds sqlx asks of a driver (`Encode`, `Decode`, `Executor` for
//! each type it binds or reads), as Rust implies a trait's bounds on other types than itself
//! nowhere the trait is required.

use std::future::Future;

use scorch_activity::{CounterOp, SettingsError};
use sqlx::pool::Pool;
use sqlx::{Database, Transaction};
use uuid::Uuid;

use crate::kept::{Changed, KeptLookups};
use crate::versions::{Head, VersionCache};
use crate::{NewAudit, SaveRunbook, StoreError};

/// A store as the cold paths see it: implemented by [`SqliteStore`](crate::SqliteStore) and
/// [`PgStore`](crate::PgStore), each with the statements and steps of its own dialect.
pub(crate) trait Backend: Send + Sync + 'static {
    type Db: Database;
    /// How a count (`u32`) is stored: as is on SQLite; as `integer` on PostgreSQL, which has no
    /// unsigned integers (see [`Backend::count`]).
    type Count;
    /// How a list of names is stored: JSON text on SQLite, `text[]` on PostgreSQL.
    type Names;
    /// A page size bound to `LIMIT` (see [`Backend::limit`]).
    type Limit;

    /// The largest count stored; a runbook's concurrency past it is stored as it.
    const COUNT_MAX: Self::Count;

    /// Creates a user: $1 id, $2 name, $3 admin, $4 password hash, $5 the time (see
    /// [`Backend::now`]).
    const INSERT_USER: &'static str;
    /// The id of the user named $1, held until the transaction ends.
    const LOCK_USER: &'static str;
    /// Creates a token for the user named $4 (no row when there is none): $1 id, $2 hash,
    /// $3 label, $5 the time; returns its id and creation time.
    const INSERT_TOKEN: &'static str;
    /// The user holding the unrevoked token of hash $1, with `grants`: a JSON list of
    /// `[folder, role]`.
    const TOKEN_USER: &'static str;
    /// The id of the folder at path $1, held until the transaction ends.
    const LOCK_FOLDER: &'static str;
    /// The latest version and check-out of runbook $1, held until the transaction ends.
    const LOCK_RUNBOOK: &'static str;
    /// Registers runbook server $2, or updates the one of that name keeping its id: $1 id,
    /// $3 host, $4 maximum instances, $5 packs, $6 the time; returns its id.
    const REGISTER_SERVER: &'static str;

    fn pool(&self) -> &Pool<Self::Db>;
    fn versions(&self) -> &VersionCache;
    fn kept(&self) -> &KeptLookups<Head>;

    /// A transaction that reads, then writes what it read: on SQLite it takes the write lock at
    /// once (`BEGIN IMMEDIATE`), so that no other writer slips in between; on PostgreSQL the
    /// rows it reads are locked by the statements that read them (`FOR UPDATE`).
    fn begin_write(&self) -> impl Future<Output = Result<Transaction<'static, Self::Db>, sqlx::Error>> + Send;

    /// After a write that changed what `changed` concerns: this process forgets its kept
    /// lookups of it and, on PostgreSQL, tells the other processes to.
    fn forget(&self, changed: Changed) -> impl Future<Output = ()> + Send;

    /// The time a statement stamps a row with, bound as its last parameter: the process's clock
    /// on SQLite; NULL on PostgreSQL, whose statements read the database's (`scorch_now_us()`),
    /// as leases and heartbeats are compared on it.
    fn now() -> Option<i64>;

    /// `LIMIT` for a page of `page` rows, 0 for no limit.
    fn limit(page: u32) -> Self::Limit;

    /// A count as stored; `Invalid` when it does not fit.
    fn count(value: u32) -> Result<Self::Count, StoreError>;
    /// A stored count; `Corrupt` when it is not one.
    fn count_of(stored: Self::Count) -> Result<u32, StoreError>;

    fn names(names: &[String]) -> Result<Self::Names, StoreError>;
    fn names_of(stored: Self::Names, what: &str) -> Result<Vec<String>, StoreError>;

    /// Appends an audit record (see `cold::audit`).
    fn append_audit(&self, entry: NewAudit<'_>) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records that the server named `name` is alive now, running `running` instances; whether
    /// it is registered.
    fn heartbeat(&self, name: &str, running: u32) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes one batch of at most `batch` purgeable instances of `runbook` with their runs (see
    /// `cold::retention`), each batch its own short transaction; how many went.
    fn purge_batch(
        &self,
        runbook: Uuid,
        newest: (i64, i64),
        before: i64,
        batch: u32,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Inserts version `version` of runbook `id`'s parameters and activities, in their order,
    /// under the ids given (one per parameter, then one per activity).
    fn insert_parts(
        conn: &mut <Self::Db as Database>::Connection,
        id: Uuid,
        version: i64,
        save: &SaveRunbook<'_>,
        parameter_ids: &[Uuid],
        activity_ids: &[Uuid],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Changes a counter by `op`, atomically (each dialect has its own way); its new value.
    fn modify_counter(
        pool: &Pool<Self::Db>,
        name: &str,
        op: CounterOp,
    ) -> impl Future<Output = Result<i64, SettingsError>> + Send;
}
