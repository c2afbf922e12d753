//! What the cold paths (`src/cold/`) need of a backend: its pool and caches, and the few
//! statements and steps that really differ between SQLite and PostgreSQL. Statements that read
//! the same in both dialects are written once in `cold`: sqlx's SQLite driver binds `$1, $2 ...`
//! by number just as PostgreSQL does (tested in `sqlite::backend`).
//!
//! `cold` is not generic over this trait: each backend compiles it against its own store (see
//! `cold`), so its code uses the driver's types concretely. Generic, every function would repeat
//! sqlx's bounds for each type it binds or reads (`Encode<'q>`, `Decode<'r>`, `Executor<'c>`):
//! Rust implies no bound that a trait puts on other types than itself where the trait is
//! required (rust-lang/rust#20671), and the associated-type workaround fails for these
//! lifetime-generic traits.

use std::future::Future;

use scorch_activity::{CounterOp, SettingsError};
use sqlx::pool::Pool;
use sqlx::{Database, Transaction};
use uuid::Uuid;

use crate::kept::{Changed, KeptLookups};
use crate::versions::{Head, VersionCache};
use crate::{NewAudit, StoreError};

/// A runbook version's parameter or activity as stored: its id and its three text columns, in
/// the order the statements that insert them name them.
pub(crate) struct Part<'a> {
    pub(crate) id: Uuid,
    pub(crate) columns: [Option<&'a str>; 3],
}

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
    /// One batch of a purge (see `cold::retention`), run in one transaction, each statement
    /// bound to the batch's $1 runbook, $2 and $3 newest, $4 age limit and $5 size: the last
    /// deletes the instances and returns their ids, those before delete their runs.
    const PURGE_BATCH: &'static [&'static str];
    /// Inserts a version's parameters (name, type, default) for [`Backend::insert_parts`].
    const INSERT_PARAMETERS: &'static str;
    /// Inserts a version's activities (key, name, type) for [`Backend::insert_parts`].
    const INSERT_ACTIVITIES: &'static str;
    /// Registers runbook server $2, or updates the one of that name keeping its id: $1 id,
    /// $3 host, $4 maximum instances, $5 packs, $6 the time; returns its id.
    const REGISTER_SERVER: &'static str;

    /// Job $1's status and holder, its row held against claims until the transaction ends.
    const JOB_HOLDER: &'static str;

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

    /// After a trigger of monitor job `job_id` committed: tells the processes listening for job
    /// changes (`Change::Trigger`).
    fn announce_trigger(&self, job_id: Uuid) -> impl Future<Output = ()> + Send;

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

    /// Inserts `rows`, in their order, by `sql` (one of the two below) for version `version` of
    /// runbook `id`.
    fn insert_parts(
        conn: &mut <Self::Db as Database>::Connection,
        sql: &'static str,
        id: Uuid,
        version: i64,
        rows: &[Part<'_>],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Changes a counter by `op`, atomically (each dialect has its own way); its new value.
    fn modify_counter(
        pool: &Pool<Self::Db>,
        name: &str,
        op: CounterOp,
    ) -> impl Future<Output = Result<i64, SettingsError>> + Send;
}
