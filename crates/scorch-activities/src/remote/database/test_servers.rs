//! For the tests: a database of a test's own on the test PostgreSQL or MariaDB server (see
//! `test_peers`), dropped when the test ends, or an SQLite file in a temporary folder.

use sqlx::{AssertSqlSafe, Connection as _, MySqlConnection, PgConnection, SqliteConnection};

use crate::test_peers::{mariadb_server, peer_missing, postgres_server};

pub struct TestDb {
    /// The `connection` the activities are given.
    pub url: String,
    admin: String,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A new database on the test PostgreSQL server; `None` (after `peer_missing`) without one.
    pub async fn postgres() -> Option<Self> {
        Self::create(
            postgres_server(),
            "PostgreSQL",
            "start it (`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`) or name one in SCORCH_TEST_POSTGRES",
        )
        .await
    }

    /// A new database on the test MariaDB server; `None` (after `peer_missing`) without one.
    pub async fn mariadb() -> Option<Self> {
        Self::create(
            mariadb_server(),
            "MariaDB",
            "start it (`service mariadb start`) or name one in SCORCH_TEST_MARIADB",
        )
        .await
    }

    /// A new SQLite file in a temporary folder.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.db");
        std::fs::File::create(&path).unwrap();
        Self {
            url: format!("sqlite:{}", path.display()),
            admin: String::new(),
            name: String::new(),
            _dir: Some(dir),
        }
    }

    async fn create(admin: String, peer: &str, hint: &str) -> Option<Self> {
        let name = format!("scorch_test_{}", uuid::Uuid::new_v4().simple());
        if let Err(e) = raw(&admin, &format!("CREATE DATABASE {name}")).await {
            peer_missing(&format!("{peer} at {admin}"), &format!("{e}; {hint}"));
            return None;
        }
        let (base, _) = admin.rsplit_once('/').unwrap();
        Some(Self {
            url: format!("{base}/{name}"),
            admin,
            name,
            _dir: None,
        })
    }

    /// Runs `sql` (statements separated by `;`) on the database, as its owner.
    pub async fn exec(&self, sql: &str) {
        raw(&self.url, sql).await.unwrap();
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.name.is_empty() {
            return;
        }
        let force = if self.admin.starts_with("postgres") {
            " WITH (FORCE)"
        } else {
            ""
        };
        let drop = format!("DROP DATABASE IF EXISTS {}{force}", self.name);
        let admin = self.admin.clone();
        // Drop runs outside async: a thread of its own with a runtime of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let _ = raw(&admin, &drop).await;
            });
        })
        .join();
    }
}

/// Runs `sql` (statements separated by `;`) on a connection of its own to `url`.
async fn raw(url: &str, sql: &str) -> Result<(), sqlx::Error> {
    let sql = sqlx::raw_sql(AssertSqlSafe(sql.to_string()));
    if url.starts_with("postgres") {
        sql.execute(&mut PgConnection::connect(url).await?).await?;
    } else if url.starts_with("mysql") {
        sql.execute(&mut MySqlConnection::connect(url).await?).await?;
    } else {
        sql.execute(&mut SqliteConnection::connect(url).await?).await?;
    }
    Ok(())
}

/// A context as the engine would give one run.
pub fn ctx() -> scorch_activity::ActivityContext {
    scorch_activity::ActivityContext::standalone("database test", std::env::temp_dir())
}

/// One database on each of the three servers (those present, unless CI requires them all).
pub async fn all_three() -> Vec<TestDb> {
    let mut dbs = vec![TestDb::sqlite()];
    dbs.extend(TestDb::postgres().await);
    dbs.extend(TestDb::mariadb().await);
    dbs
}

/// A loopback URL nobody listens on, for `scheme`.
pub fn refused(scheme: &str) -> String {
    format!(
        "{scheme}://app:s3cret-pw@127.0.0.1:{}/db",
        crate::test_peers::free_port()
    )
}
