//! The `connection` property, and one small connection pool per connection for the whole process
//! (like `http_clients`), so a runbook that queries a server for every row reuses its connections.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use percent_encoding::percent_decode_str;
use reqwest::Url;
use scorch_activity::{ActivityContext, ActivityError};
use sqlx::mysql::{MySqlConnectOptions, MySqlPool};
use sqlx::pool::PoolOptions;
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use sqlx::{ConnectOptions, Database};

/// Connections one pool keeps open at most: activities share them, waiting their turn.
const POOL_SIZE: u32 = 4;
/// An unused connection is closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Pools kept at most; past this the least recently used one is closed.
const MAX_POOLS: usize = 16;

/// A `connection` property, read.
pub struct Connection {
    /// What the driver is given (a relative SQLite path made absolute).
    url: String,
    /// How errors name the connection: no password, no query string.
    pub shown: String,
    /// The server's host and port, when it is reached over TCP.
    pub address: Option<(String, u16)>,
    kind: Kind,
}

#[derive(Clone, Copy)]
enum Kind {
    Postgres,
    MySql,
    Sqlite,
}

/// A pool of one of the three drivers.
#[derive(Clone)]
pub enum Pool {
    Postgres(PgPool),
    MySql(MySqlPool),
    Sqlite(SqlitePool),
}

impl Connection {
    /// Reads `text` (`postgres://...`, `mysql://...`, `sqlite:PATH`); its password becomes a
    /// secret of this run.
    pub fn parse(ctx: &ActivityContext, type_name: &str, text: &str) -> Result<Self, ActivityError> {
        let text = text.trim();
        let invalid = |why: String| ActivityError::invalid(type_name, "connection", why);
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            let (file, options) = path.split_once('?').map_or((path, None), |(f, o)| (f, Some(o)));
            if file.is_empty() {
                return Err(invalid("'sqlite:' needs a file: sqlite:PATH".into()));
            }
            let file = if file == ":memory:" {
                file.to_string()
            } else {
                ctx.resolve_path(file).display().to_string()
            };
            let shown = format!("sqlite:{file}");
            let url = options.map_or_else(|| shown.clone(), |o| format!("{shown}?{o}"));
            return Ok(Self {
                url,
                shown,
                address: None,
                kind: Kind::Sqlite,
            });
        }
        let parsed = Url::parse(text).map_err(|_| {
            invalid("expected postgres://USER@HOST/DATABASE, mysql://USER@HOST/DATABASE or sqlite:PATH".into())
        })?;
        if let Some(password) = parsed.password() {
            ctx.secrets.remember(password);
            // The URL holds it percent-encoded; the server may echo it either way.
            ctx.secrets.remember(&percent_decode_str(password).decode_utf8_lossy());
        }
        let (kind, default_port) = match parsed.scheme() {
            "postgres" | "postgresql" => (Kind::Postgres, 5432),
            "mysql" | "mariadb" => (Kind::MySql, 3306),
            other => {
                return Err(invalid(format!(
                    "'{other}:' is not a database this activity knows: use postgres://, mysql:// or sqlite:"
                )));
            }
        };
        let mut url = text.to_string();
        if parsed.scheme() == "mariadb" {
            url.replace_range(.."mariadb".len(), "mysql");
        }
        // No address to try for a Unix socket (`postgres://app@%2Frun%2Fpostgresql/db`).
        let address = parsed
            .host_str()
            .filter(|h| !h.is_empty() && !h.contains('%'))
            .map(|h| {
                (
                    h.trim_start_matches('[').trim_end_matches(']').to_string(),
                    parsed.port().unwrap_or(default_port),
                )
            });
        Ok(Self {
            shown: shown(&parsed),
            address,
            url,
            kind,
        })
    }

    /// This connection's pool, made on first use; it connects only when a query needs it.
    pub fn pool(&self, type_name: &str) -> Result<Pool, ActivityError> {
        static POOLS: OnceLock<Mutex<Lru<Pool>>> = OnceLock::new();
        let mut pools = POOLS
            .get_or_init(|| Mutex::new(Lru::new(MAX_POOLS)))
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(pool) = pools.get(&self.url) {
            return Ok(pool);
        }
        let invalid = |e: sqlx::Error| ActivityError::invalid(type_name, "connection", format!("{}: {e}", self.shown));
        let pool = match self.kind {
            Kind::Postgres => {
                let options = PgConnectOptions::from_str(&self.url).map_err(invalid)?;
                Pool::Postgres(lazy_pool(options))
            }
            Kind::MySql => {
                let options = MySqlConnectOptions::from_str(&self.url).map_err(invalid)?;
                Pool::MySql(lazy_pool(options))
            }
            Kind::Sqlite => {
                let options = SqliteConnectOptions::from_str(&self.url).map_err(invalid)?;
                Pool::Sqlite(lazy_pool(options))
            }
        };
        if let Some(evicted) = pools.insert(self.url.clone(), pool.clone()) {
            tokio::spawn(evicted.close());
        }
        Ok(pool)
    }
}

/// At most `capacity` values by key; inserting past that evicts the least recently used one.
struct Lru<T> {
    capacity: usize,
    /// Each entry with the `clock` of its last use.
    entries: HashMap<String, (T, u64)>,
    clock: u64,
}

impl<T: Clone> Lru<T> {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: HashMap::new(),
            clock: 0,
        }
    }

    fn get(&mut self, key: &str) -> Option<T> {
        self.clock += 1;
        let (value, used) = self.entries.get_mut(key)?;
        *used = self.clock;
        Some(value.clone())
    }

    /// Inserts `value`, handing back the value it evicted.
    fn insert(&mut self, key: String, value: T) -> Option<T> {
        let mut evicted = None;
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            evicted = oldest.and_then(|k| self.entries.remove(&k)).map(|(v, _)| v);
        }
        self.clock += 1;
        self.entries.insert(key, (value, self.clock));
        evicted
    }
}

impl Pool {
    /// Whether the pool holds no connection (so the next query connects first).
    pub fn is_empty(&self) -> bool {
        let size = match self {
            Pool::Postgres(p) => p.size(),
            Pool::MySql(p) => p.size(),
            Pool::Sqlite(p) => p.size(),
        };
        size == 0
    }

    /// Closes every connection of the pool.
    async fn close(self) {
        match self {
            Pool::Postgres(p) => p.close().await,
            Pool::MySql(p) => p.close().await,
            Pool::Sqlite(p) => p.close().await,
        }
    }
}

/// A pool that opens connections as they are needed. Its own acquire timeout is long: the
/// activity's `timeout` bounds connecting and querying together.
fn lazy_pool<DB: Database>(options: <DB::Connection as sqlx::Connection>::Options) -> sqlx::Pool<DB> {
    PoolOptions::<DB>::new()
        .max_connections(POOL_SIZE)
        .min_connections(0)
        .idle_timeout(IDLE_TIMEOUT)
        .acquire_timeout(Duration::from_secs(3600))
        // Statements are the runbook's business, not the server log's.
        .connect_lazy_with(options.disable_statement_logging())
}

/// A database URL as errors show it: `postgres://app@db1:5432/orders`.
fn shown(url: &Url) -> String {
    let mut url = url.clone();
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_entry_goes_first() {
        let mut lru = Lru::new(2);
        assert_eq!(lru.insert("a".into(), 1), None);
        assert_eq!(lru.insert("b".into(), 2), None);
        assert_eq!(lru.get("a"), Some(1));
        assert_eq!(lru.insert("c".into(), 3), Some(2));
        assert_eq!((lru.get("a"), lru.get("b"), lru.get("c")), (Some(1), None, Some(3)));
        assert_eq!(lru.insert("c".into(), 4), None);
    }

    #[test]
    fn connections_show_without_password_or_options() {
        let ctx = ActivityContext::standalone("t", "/srv/runbooks".into());
        let shown = |text: &str| Connection::parse(&ctx, "t", text).map(|c| (c.shown, c.address));
        assert_eq!(
            shown("postgres://app:p%40ss@db1/orders?sslmode=require").unwrap(),
            ("postgres://app@db1/orders".into(), Some(("db1".into(), 5432)))
        );
        assert_eq!(ctx.secrets.mask("p%40ss p@ss"), "****** ******");
        assert_eq!(
            shown("mariadb://root@[::1]:3307/shop").unwrap(),
            ("mariadb://root@[::1]:3307/shop".into(), Some(("::1".into(), 3307)))
        );
        assert_eq!(
            shown("sqlite:data/inv.db").unwrap(),
            ("sqlite:/srv/runbooks/data/inv.db".into(), None)
        );
        assert_eq!(shown("sqlite:///tmp/x.db").unwrap().0, "sqlite:/tmp/x.db");
        assert!(shown("db1/orders").is_err());
    }
}
