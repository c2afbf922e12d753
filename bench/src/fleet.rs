//! What the benchmarks that drive the real servers share: starting `scorch up` (or a
//! PostgreSQL fleet of processes) from the same target directory as the benchmark, on free
//! loopback ports with a fixed administrator token; waiting until it answers; pushing runbooks
//! through the management API.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

pub const TOKEN: &str = "sct_benchmark_token_0123456789abcdef";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The server processes, killed when dropped.
pub struct Fleet {
    pub children: Vec<Child>,
    /// What each child runs.
    pub roles: Vec<&'static str>,
    pub web: String,
    pub management: String,
    pub console: String,
    /// The PostgreSQL database made for this run, dropped with the fleet.
    database: Option<String>,
    _dir: tempfile::TempDir,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(db) = &self.database {
            let _ = psql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
        }
    }
}

fn psql(sql: &str) -> std::io::Result<std::process::ExitStatus> {
    Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-qc", sql])
        .status()
}

/// How the servers run: extra flags for every process, and their log filter (`RUST_LOG`).
pub struct Setup {
    pub args: &'static [&'static str],
    pub log: &'static str,
}

/// What the benchmarks ran with before metrics: problems only in the log.
pub const QUIET: Setup = Setup {
    args: &[],
    log: "error",
};

/// The `scorch` binary beside this benchmark's (the same target directory and profile).
fn scorch(setup: &Setup) -> Command {
    let exe = std::env::current_exe().unwrap().with_file_name("scorch");
    assert!(
        exe.is_file(),
        "{} not found: build it with `cargo build --release -p scorch -p scorch-bench`",
        exe.display()
    );
    let mut cmd = Command::new(exe);
    cmd.stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .env_remove("SCORCH_LOG")
        .env("RUST_LOG", setup.log)
        .args(setup.args);
    cmd
}

/// `sqlite`: `scorch up` on its embedded database in a temporary directory. `postgres`: the
/// management server, the web service and two runbook servers as processes on a new database.
pub fn start(kind: &str) -> Fleet {
    start_with(kind, &QUIET)
}

/// [`start`] with `setup`; several fleets may run at once (each on its own ports and database).
pub fn start_with(kind: &str, setup: &Setup) -> Fleet {
    let dir = tempfile::tempdir().unwrap();
    let (web, console, management) = (free_port(), free_port(), free_port());
    let ports = [
        "--web-port".to_string(),
        web.to_string(),
        "--console-port".into(),
        console.to_string(),
        "--management-port".into(),
        management.to_string(),
        "--admin-token".into(),
        TOKEN.into(),
        "--bind".into(),
        "127.0.0.1".into(),
    ];
    let mut children = Vec::new();
    let mut roles = Vec::new();
    let mut database = None;
    if kind == "sqlite" {
        children.push(
            scorch(setup)
                .arg("up")
                .arg("--data-dir")
                .arg(dir.path())
                .args(&ports)
                .spawn()
                .unwrap(),
        );
        roles.push("scorch up");
    } else {
        let db = format!("scorch_bench_{}_{}", std::process::id(), free_port());
        let _ = psql(&format!("DROP DATABASE IF EXISTS {db}"));
        assert!(
            psql(&format!("CREATE DATABASE {db}")).unwrap().success(),
            "cannot create the database"
        );
        let url = format!("postgres://postgres@127.0.0.1:5432/{db}");
        database = Some(db);
        for role in ["management-server", "web-service"] {
            roles.push(role);
            children.push(
                scorch(setup)
                    .arg(role)
                    .args(["--database", &url])
                    .args(&ports)
                    .spawn()
                    .unwrap(),
            );
        }
        for name in ["rb1", "rb2"] {
            roles.push(name);
            let mut cmd = scorch(setup);
            children.push(
                cmd.args(["runbook-server", "--name", name, "--database", &url])
                    .spawn()
                    .unwrap(),
            );
        }
    }
    Fleet {
        children,
        roles,
        web: format!("http://127.0.0.1:{web}"),
        management: format!("http://127.0.0.1:{management}"),
        console: format!("http://127.0.0.1:{console}"),
        database,
        _dir: dir,
    }
}

impl Fleet {
    /// Waits (30 s at most) until the web service's `/health` says 200 and the management
    /// server answers.
    pub async fn wait_up(&self, client: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while client
            .get(format!("{}/health", self.web))
            .send()
            .await
            .map(|r| !r.status().is_success())
            .unwrap_or(true)
            || client.get(format!("{}/health", self.management)).send().await.is_err()
        {
            assert!(Instant::now() < deadline, "the servers did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The PostgreSQL server processes serving this fleet's database now (none on SQLite).
    pub fn database_pids(&self) -> Vec<u32> {
        let Some(db) = &self.database else {
            return Vec::new();
        };
        let out = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-Atc"])
            .arg(format!(
                "SELECT pid FROM pg_stat_activity WHERE datname = '{db}' AND pid <> pg_backend_pid()"
            ))
            .output()
            .expect("psql");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// Checks `source` in through the management API, into `folder` ("" is the root); the
    /// answer (`id`, `folder`, `name`, `version`).
    pub async fn push(&self, client: &reqwest::Client, source: &str, folder: &str) -> serde_json::Value {
        push(client, &self.management, source, folder).await
    }
}

/// Checks `source` in through the management API at `management`, into `folder` ("" is the
/// root); the answer (`id`, `folder`, `name`, `version`).
pub async fn push(client: &reqwest::Client, management: &str, source: &str, folder: &str) -> serde_json::Value {
    let mut body = json!({ "source": source });
    if !folder.is_empty() {
        body["folder"] = json!(folder);
    }
    let pushed = client
        .post(format!("{management}/api/v1/runbooks"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = pushed.status();
    let text = pushed.text().await.unwrap_or_default();
    assert!(status.is_success(), "push: {status} {text}");
    serde_json::from_str(&text).unwrap_or_default()
}

/// Calls `one` `jobs` times, `in_flight` calls at once (each on its own task, one after another);
/// what the calls returned, in no particular order.
pub async fn concurrently<T, F, Fut>(jobs: usize, in_flight: usize, one: F) -> Vec<T>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = T> + Send,
    T: Send + 'static,
{
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..in_flight {
        let (one, next) = (one.clone(), next.clone());
        tasks.spawn(async move {
            let mut done = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < jobs {
                done.push(one().await);
            }
            done
        });
    }
    let mut all = Vec::with_capacity(jobs);
    while let Some(done) = tasks.join_next().await {
        all.extend(done.unwrap());
    }
    all
}

/// CPU seconds (user + system) a process has used so far.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: f64 = fields
        .get(11..13)
        .map_or(0.0, |f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum());
    ticks / 100.0
}

/// The value at fraction `p` (0 to 1) of `sorted`.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}
