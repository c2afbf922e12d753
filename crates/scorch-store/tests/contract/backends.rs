//! The two backends the contract runs on, each fresh for every test.

use std::sync::Arc;

use scorch_store::{PgStore, SqliteStore, Store, test_peers};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tempfile::TempDir;

/// A store and what keeps it alive; dropping it removes the database.
pub struct Backend {
    pub store: Arc<dyn Store>,
    /// The PostgreSQL database's URL (for tests that open a second store on it).
    pub url: Option<String>,
    _place: Place,
}

#[allow(dead_code)]
enum Place {
    Directory(TempDir),
    Database(DropDatabase),
}

pub async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite:{}", dir.path().join("scorch.db").display());
    let store = SqliteStore::open(&url).await.expect("open a new SQLite database");
    Backend {
        store: Arc::new(store),
        url: None,
        _place: Place::Directory(dir),
    }
}

/// A store on a new PostgreSQL database, or `None` when PostgreSQL cannot be reached (the test
/// skips, or fails under CI's rule: `test_peers::peer_missing`).
pub async fn postgres() -> Option<Backend> {
    let server = test_peers::postgres_server();
    let name = format!("scorch_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = match PgConnection::connect(&server).await {
        Ok(admin) => admin,
        Err(err) => {
            test_peers::peer_missing(&format!("PostgreSQL at {server} ({err})"), test_peers::POSTGRES_HINT);
            return None;
        }
    };
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    let _ = admin.close().await;
    // From here on the database is dropped whatever happens.
    let guard = DropDatabase {
        server: server.clone(),
        name: name.clone(),
    };
    let url = database_url(&server, &name);
    let store = PgStore::open(&url).await.expect("open the new PostgreSQL database");
    Some(Backend {
        store: Arc::new(store),
        url: Some(url),
        _place: Place::Database(guard),
    })
}

/// `server` (a URL naming any database) with its database replaced by `name`.
pub fn database_url(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (server, String::new()),
    };
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}

/// Drops a test database when the test ends, even when it fails: runs on a thread of its own,
/// since the test's runtime may be unwinding. `WITH (FORCE)` ends the sessions still open on it.
struct DropDatabase {
    server: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            let Ok(runtime) = runtime else { return };
            runtime.block_on(async move {
                if let Ok(mut admin) = PgConnection::connect(&server).await {
                    let _ = sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                        .execute(&mut admin)
                        .await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = dropper.join();
    }
}
