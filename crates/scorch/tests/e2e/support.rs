//! What the end-to-end tests share: processes of the real `scorch` binary (killed when dropped),
//! a fresh PostgreSQL database per test (dropped at the end, pass or fail), free loopback ports,
//! an HTTP client with the admin's token, and polling with deadlines instead of sleeps.
//!
//! PostgreSQL is reached at `postgres://postgres@127.0.0.1:5432/postgres` (override with
//! `SCORCH_TEST_POSTGRES`) through `psql`; databases are named `scorch_e2e_<random>`.

#![allow(dead_code)]

use std::fs::File;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;

pub use scorch_store::test_peers::peer_missing;
use scorch_store::test_peers::{POSTGRES_HINT, postgres_server};

/// How often the polls look again.
const POLL: Duration = Duration::from_millis(25);

/// A port nobody listens on right now (bound, read, released).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}

/// Polls `check` until it gives `Some`, or panics naming `what` when `timeout` passes.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// The `scorch` binary with no `SCORCH_*` setting inherited from the environment, run in `dir`
/// (so no `scorch.toml` of the developer's is read).
#[allow(
    clippy::disallowed_methods,
    reason = "the child must not inherit the developer's settings"
)]
pub fn scorch_command(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scorch"));
    cmd.current_dir(dir).stdin(Stdio::null());
    for (key, _) in std::env::vars() {
        if key.starts_with("SCORCH_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// The outcome of a command that ran to its end.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(self) -> Self {
        assert_eq!(self.code, Some(0), "stdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }
}

impl From<std::process::Output> for Run {
    fn from(out: std::process::Output) -> Self {
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Runs `scorch args` in `dir` to its end (off the async workers).
pub async fn run_scorch(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = scorch_command(dir);
    cmd.args(args);
    tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("the command's thread")
        .expect("run scorch")
        .into()
}

/// A long-running `scorch` process; killed (SIGKILL) and reaped when dropped. Its stdout and
/// stderr go to a log file, shown when a test fails.
pub struct Proc {
    pub name: String,
    child: Child,
    log: PathBuf,
    exited: Option<ExitStatus>,
}

impl Proc {
    pub fn spawn(name: &str, dir: &Path, args: &[String]) -> Proc {
        Proc::spawn_with(name, dir, args, &[])
    }

    /// [`Proc::spawn`] with `env` set.
    pub fn spawn_with(name: &str, dir: &Path, args: &[String], env: &[(String, String)]) -> Proc {
        let log = dir.join(format!("{name}.log"));
        let out = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .expect("create the process log");
        let err = out.try_clone().expect("clone the log handle");
        let child = scorch_command(dir)
            .args(args)
            .env("SCORCH_LOG", "info")
            .env("NO_COLOR", "1")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start scorch");
        Proc {
            name: name.to_string(),
            child,
            log,
            exited: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it still runs (it has not exited or been killed).
    pub fn is_running(&mut self) -> bool {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().expect("query the process");
        }
        self.exited.is_none()
    }

    /// `kill -9`, and waits until it is gone.
    pub fn kill9(&mut self) {
        if self.is_running() {
            let _ = self.child.kill();
            self.exited = Some(self.child.wait().expect("reap the process"));
        }
    }

    /// `kill -TERM`: the graceful stop.
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {} failed", self.pid());
    }

    /// Waits (with a deadline) for it to exit by itself.
    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let what = format!("{} to exit", self.name);
        let deadline = Instant::now() + timeout;
        loop {
            if !self.is_running() {
                return self.exited.expect("an exit status");
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}\n{}",
                self.log_text()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// What it printed so far (its last 60 lines, the repeated health warnings of a database
    /// outage left out), for failure messages.
    pub fn log_text(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let noise = |l: &&str| l.contains("health: the orchestration database");
        let omitted = text.lines().filter(noise).count();
        let lines: Vec<&str> = text.lines().filter(|l| !noise(l)).collect();
        let tail = &lines[lines.len().saturating_sub(60)..];
        format!(
            "--- {} ({}; {omitted} health warnings left out) ---\n{}\n",
            self.name,
            self.log.display(),
            tail.join("\n")
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A fresh PostgreSQL database, dropped (with its connections) when this is dropped.
pub struct PgDatabase {
    pub name: String,
    /// The URL scorch connects to.
    pub url: String,
    server: String,
}

impl PgDatabase {
    /// A new database, or `None` (the test skips, or fails under CI's rule: [`peer_missing`])
    /// when PostgreSQL cannot be reached.
    pub fn create() -> Option<PgDatabase> {
        PgDatabase::create_on(postgres_server())
    }

    /// A new database on `server` (a URL naming any database there).
    pub fn create_on(server: String) -> Option<PgDatabase> {
        let name = format!("scorch_e2e_{}", uuid::Uuid::new_v4().simple());
        if let Err(why) = psql(&server, &format!("CREATE DATABASE {name}")) {
            peer_missing(&format!("PostgreSQL at {server} ({why})"), POSTGRES_HINT);
            return None;
        }
        let url = with_database(&server, &name);
        Some(PgDatabase { name, url, server })
    }

    /// Runs `sql` on the server's maintenance database (not this one); panics on an error.
    pub fn admin_sql(&self, sql: &str) -> String {
        psql(&self.server, sql).unwrap_or_else(|why| panic!("{sql}: {why}"))
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Err(why) = psql(
            &self.server,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        ) {
            eprintln!("cannot drop the test database {}: {why}", self.name);
        }
    }
}

/// A PostgreSQL server of the test's own (a new cluster in a temporary directory, on a free
/// port), which it may restart without disturbing anyone else's tests; stopped when dropped.
pub struct OwnPostgres {
    /// A URL naming its maintenance database.
    pub url: String,
    bin: PathBuf,
    data: PathBuf,
    _dir: TempDir,
}

impl OwnPostgres {
    /// Creates and starts the cluster as the `postgres` user (PostgreSQL refuses to run as
    /// root); why not when this machine cannot (not root, no PostgreSQL binaries).
    pub fn start() -> Result<OwnPostgres, String> {
        let out = Command::new("pg_config").arg("--bindir").output();
        let bin = PathBuf::from(String::from_utf8_lossy(&out.map_err(|e| format!("no pg_config: {e}"))?.stdout).trim());
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let owner = Command::new("id")
            .args(["-u", "postgres"])
            .output()
            .map_err(|e| e.to_string())?;
        let uid: u32 = String::from_utf8_lossy(&owner.stdout)
            .trim()
            .parse()
            .map_err(|_| "no user postgres".to_string())?;
        std::os::unix::fs::chown(dir.path(), Some(uid), None).map_err(|e| format!("chown (needs root): {e}"))?;
        let port = free_port();
        let server = OwnPostgres {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            bin,
            data: dir.path().join("data"),
            _dir: dir,
        };
        server.as_postgres(
            "initdb",
            &[
                "-A",
                "trust",
                "-U",
                "postgres",
                "-D",
                &server.data.display().to_string(),
            ],
        )?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            server._dir.path().display()
        );
        server.pg_ctl(&["start", "-o", &options, "-l", &server.log()])?;
        Ok(server)
    }

    /// Stops it (fast: its sessions are disconnected) and starts it again, waiting for both.
    pub fn restart(&self) {
        self.pg_ctl(&["restart", "-m", "fast", "-l", &self.log()])
            .expect("restart PostgreSQL");
    }

    /// Where the server writes: never a pipe of ours, which it would hold open.
    fn log(&self) -> String {
        self._dir.path().join("postgres.log").display().to_string()
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let mut all = vec!["-D", self.data.to_str().expect("a UTF-8 path"), "-w"];
        all.extend_from_slice(args);
        self.as_postgres("pg_ctl", &all)
    }

    /// Runs PostgreSQL's `program` with `args` as the `postgres` user.
    fn as_postgres(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let out = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(program))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run runuser: {e}"))?;
        match out.status.success() {
            true => Ok(()),
            false => Err(format!("{program}: {}", String::from_utf8_lossy(&out.stderr).trim())),
        }
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["stop", "-m", "immediate"]);
    }
}

/// `psql` on `url`: the output of `sql`, unaligned and without headers.
fn psql(url: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-X", "-q", "-A", "-t", "-c", sql])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// `server` (a URL naming any database) with its database replaced by `name`.
fn with_database(server: &str, name: &str) -> String {
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

/// One deployment under test: its processes (dropped first, so killed before the database
/// goes), its directory, its database, and where its servers listen.
pub struct Fleet {
    pub procs: Vec<Proc>,
    pub dir: TempDir,
    pub db: Option<PgDatabase>,
    pub admin: String,
    pub web: String,
    pub management: String,
    pub http: reqwest::Client,
    /// Environment variables every process started from now on gets.
    pub env: Vec<(String, String)>,
}

impl Fleet {
    /// A deployment on a new PostgreSQL database; nothing runs yet. `None` when PostgreSQL is
    /// missing and the test is to skip ([`peer_missing`]).
    pub fn postgres() -> Option<Fleet> {
        PgDatabase::create().map(|db| Fleet::new(Some(db)))
    }

    /// A deployment on a new database of `server` (a URL naming any database there).
    pub fn postgres_on(server: &OwnPostgres) -> Option<Fleet> {
        PgDatabase::create_on(server.url.clone()).map(|db| Fleet::new(Some(db)))
    }

    /// A deployment on SQLite in its directory (for `scorch up`); nothing runs yet.
    pub fn sqlite() -> Fleet {
        Fleet::new(None)
    }

    fn new(db: Option<PgDatabase>) -> Fleet {
        Fleet {
            procs: Vec::new(),
            dir: tempfile::tempdir().expect("a temporary directory"),
            db,
            admin: format!("sct_e2e_{}", uuid::Uuid::new_v4().simple()),
            web: String::new(),
            management: String::new(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
            env: Vec::new(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `text` to `name` in the deployment's directory.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write a file");
        path
    }

    fn database_args(&self) -> Vec<String> {
        match &self.db {
            Some(db) => vec!["--database".into(), db.url.clone()],
            None => vec!["--data-dir".into(), self.path("data").display().to_string()],
        }
    }

    fn spawn(&mut self, name: &str, role: &[&str], extra: Vec<String>) -> usize {
        let mut args: Vec<String> = role.iter().map(|s| s.to_string()).collect();
        args.extend(self.database_args());
        args.extend([
            "--bind".into(),
            "127.0.0.1".into(),
            "--admin-token".into(),
            self.admin.clone(),
        ]);
        args.extend(extra);
        let proc = Proc::spawn_with(name, self.dir.path(), &args, &self.env);
        self.procs.push(proc);
        self.procs.len() - 1
    }

    pub fn proc(&mut self, name: &str) -> &mut Proc {
        self.procs
            .iter_mut()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no process {name}"))
    }

    /// Every process's log, for failure messages.
    pub fn logs(&self) -> String {
        self.procs.iter().map(Proc::log_text).collect::<Vec<_>>().join("\n")
    }

    /// Starts the management server and waits until its `/health` answers 200.
    pub async fn start_management(&mut self) {
        self.launch_management();
        self.wait_healthy("management", &format!("{}/health", self.management))
            .await;
    }

    /// Starts the management server without waiting for it.
    pub fn launch_management(&mut self) {
        let port = free_port();
        self.management = format!("http://127.0.0.1:{port}");
        self.spawn(
            "management",
            &["management-server"],
            vec!["--management-port".into(), port.to_string()],
        );
    }

    /// Starts the web service and waits until its `/health` answers 200.
    pub async fn start_web(&mut self) {
        self.launch_web();
        self.wait_healthy("web", &format!("{}/health", self.web)).await;
    }

    /// Starts the web service without waiting for it.
    pub fn launch_web(&mut self) {
        let port = free_port();
        self.web = format!("http://127.0.0.1:{port}");
        self.spawn("web", &["web-service"], vec!["--web-port".into(), port.to_string()]);
    }

    /// Starts a runbook server (without waiting: see [`Fleet::wait_servers_alive`]).
    pub fn start_runbook_server(&mut self, name: &str, max_instances: u32) {
        self.spawn(
            name,
            &[
                "runbook-server",
                "--name",
                name,
                "--max-instances",
                &max_instances.to_string(),
            ],
            Vec::new(),
        );
    }

    /// `scorch up` (every role in one process) on free ports, as process `name`; waits until
    /// its web service and management server are healthy.
    pub async fn start_up(&mut self, name: &str) {
        let (m, w, c) = (free_port(), free_port(), free_port());
        self.management = format!("http://127.0.0.1:{m}");
        self.web = format!("http://127.0.0.1:{w}");
        let ports = [
            "--management-port".to_string(),
            m.to_string(),
            "--web-port".into(),
            w.to_string(),
            "--console-port".into(),
            c.to_string(),
        ];
        self.spawn(name, &["up"], ports.to_vec());
        let (web, management) = (format!("{}/health", self.web), format!("{}/health", self.management));
        self.wait_healthy(name, &management).await;
        self.wait_healthy(name, &web).await;
    }

    /// Waits until process `name` answers 200 on `url` (and fails at once if it exits).
    pub async fn wait_healthy(&mut self, name: &str, url: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = self.http.get(url).send().await
                && r.status() == StatusCode::OK
            {
                return;
            }
            let proc = self.proc(name);
            assert!(proc.is_running(), "{name} exited while starting\n{}", proc.log_text());
            assert!(
                Instant::now() < deadline,
                "{name} not healthy at {url} in 30 s\n{}",
                proc.log_text()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the web service lists each of `names` as an alive runbook server.
    pub async fn wait_servers_alive(&mut self, names: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, body) = self.get("/api/v1/runbook-servers").await;
            if status == 200 {
                let alive: Vec<&str> = body["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|s| s["alive"] == true)
                    .filter_map(|s| s["name"].as_str())
                    .collect();
                if names.iter().all(|n| alive.contains(n)) {
                    return;
                }
            }
            for name in names {
                let proc = self.proc(name);
                assert!(proc.is_running(), "{name} exited while starting\n{}", proc.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "runbook servers {names:?} not alive in 30 s: {body}\n{}",
                self.logs()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Runs the `scorch` CLI against this deployment as `token`.
    pub async fn scorch_as(&self, token: &str, args: &[&str]) -> Run {
        let mut all = vec![
            "--management",
            &self.management,
            "--web-service",
            &self.web,
            "--token",
            token,
        ];
        all.extend_from_slice(args);
        run_scorch(self.dir.path(), &all).await
    }

    /// Runs the `scorch` CLI against this deployment as the administrator.
    pub async fn scorch(&self, args: &[&str]) -> Run {
        self.scorch_as(&self.admin, args).await
    }

    /// Writes `text` to a file and pushes it (`scorch runbook push --folder`).
    pub async fn push(&self, file: &str, text: &str, folder: &str) -> Run {
        let path = self.file(file, text);
        let path = path.to_str().expect("a UTF-8 path");
        self.scorch(&["runbook", "push", path, "--folder", folder]).await.ok()
    }

    /// A request to the web service (`path` from `/`) as the administrator.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        send(self.http.get(format!("{}{path}", self.web)).bearer_auth(&self.admin)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        send(
            self.http
                .post(format!("{}{path}", self.web))
                .bearer_auth(&self.admin)
                .json(body),
        )
        .await
    }

    /// A request to the management server as the administrator.
    pub fn mgmt(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.management))
            .bearer_auth(&self.admin)
    }

    /// Every job the administrator sees (all pages).
    pub async fn all_jobs(&self, query: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut offset = 0;
        loop {
            let (status, body) = self
                .get(&format!("/api/v1/jobs?limit=500&offset={offset}{query}"))
                .await;
            assert_eq!(status, 200, "{body}");
            items.extend(body["items"].as_array().expect("items").iter().cloned());
            match body["next_offset"].as_u64() {
                Some(next) => offset = next,
                None => return items,
            }
        }
    }
}

/// Whether a job status is an end.
pub fn is_final(status: &str) -> bool {
    matches!(status, "completed" | "failed" | "canceled")
}

impl Fleet {
    /// Starts `count` jobs of `path` through the REST API from `tasks` concurrent tasks; each
    /// task gives the ids of the jobs it started.
    pub fn start_jobs(&self, path: &str, count: usize, tasks: usize) -> Vec<tokio::task::JoinHandle<Vec<String>>> {
        (0..tasks)
            .map(|t| {
                let (http, url, token, path) = (
                    self.http.clone(),
                    format!("{}/api/v1/jobs", self.web),
                    self.admin.clone(),
                    path.to_string(),
                );
                let mine = count / tasks + usize::from(t < count % tasks);
                tokio::spawn(async move {
                    let mut ids = Vec::with_capacity(mine);
                    for _ in 0..mine {
                        let body = serde_json::json!({ "runbook_path": path });
                        let (status, job) = send(http.post(&url).bearer_auth(&token).json(&body)).await;
                        assert_eq!(status, 201, "start a job: {job}");
                        ids.push(job["id"].as_str().expect("a job id").to_string());
                    }
                    ids
                })
            })
            .collect()
    }

    /// Waits until runbook server `server` runs at least `count` jobs at once.
    pub async fn wait_running_on(&self, server: &str, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, body) = self.get("/api/v1/jobs?status=running&limit=500").await;
            assert_eq!(status, 200, "{body}");
            let held = body["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|j| j["claimed_by"] == server)
                .count();
            if held >= count {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{server} never ran {count} jobs at once: {body}\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until `count` jobs are listed and every one has ended; they by id. `open` says what
    /// a job still open is, for the failure message, which `what` names.
    pub async fn all_jobs_final(
        &self,
        count: usize,
        within: Duration,
        what: &str,
        open: impl Fn(&Value) -> String,
    ) -> std::collections::HashMap<String, Value> {
        let deadline = Instant::now() + within;
        loop {
            let all = self.all_jobs("").await;
            let still: Vec<String> = all
                .iter()
                .filter(|j| !is_final(j["status"].as_str().unwrap_or("")))
                .map(&open)
                .collect();
            if all.len() >= count && still.is_empty() {
                return all
                    .into_iter()
                    .map(|j| (j["id"].as_str().unwrap().to_string(), j))
                    .collect();
            }
            assert!(
                Instant::now() < deadline,
                "{} of {} jobs still open {what}: {still:#?}\n{}",
                still.len(),
                all.len(),
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Sends a request; the status and the JSON body (`Null` when it is not JSON).
pub async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("the request is answered");
    let status = response.status().as_u16();
    let text = response.text().await.expect("the answer's body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}
