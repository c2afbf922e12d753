//! Monitor runbooks on `scorch up` (SQLite):
//!
//!     cargo build --release -p scorch -p scorch-bench
//!     target/release/monitor-bench
//!
//! Prints, with no assertion:
//! - a webhook call to its instance's first activity after the monitor started (the activity
//!   run's `started_at` against the client's clock just before sending): p50 and p99 over 200
//!   sequential calls, after 20 warm-up calls;
//! - sustained webhook triggers per second: 32 callers calling for 5 s (calls answered 202);
//! - a file appearing in a watched folder to its instance's first activity started: p50 and p99
//!   over 500 files, one at a time;
//! - 1,000 `monitor_date_time every: 10s` jobs held by one `scorch up`: its RSS, and its CPU
//!   over 30 s at rest.
//!
//! The load client is this program on one tokio thread; it shares the machine's cores with
//! the server.

mod fleet;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fleet::{Fleet, TOKEN, cpu_seconds, percentile};
use jiff::Timestamp;
use serde_json::{Value, json};

const HOOK_TOKEN: &str = "bench-hook-token";
/// The activity after the monitor, whose start the latencies measure.
const FIRST: &str = "first";

const HOOK_RUNBOOK: &str = "format: 1
runbook: Bench Hook
activities:
  - { id: hook, type: monitor_webhook, properties: { hook: bench, token: bench-hook-token } }
  - { id: first, type: return_data, properties: { values: { Body: '{{ hook.body }}' } } }
links: [ { from: hook, to: first } ]
returns: [ { name: Body, type: string } ]
";

fn file_runbook(folder: &Path) -> String {
    format!(
        "format: 1
runbook: Bench Files
activities:
  - {{ id: drop, type: monitor_file, properties: {{ folder: '{}', settle: 0s }} }}
  - {{ id: {FIRST}, type: return_data, properties: {{ values: {{ Name: '{{{{ drop.name }}}}' }} }} }}
links: [ {{ from: drop, to: {FIRST} }} ]
returns: [ {{ name: Name, type: string }} ]
",
        folder.display()
    )
}

fn tick_runbook(n: usize) -> String {
    format!(
        "format: 1
runbook: Bench Tick {n}
activities:
  - {{ id: tick, type: monitor_date_time, properties: {{ every: 10s }} }}
  - {{ id: {FIRST}, type: return_data, properties: {{ values: {{ At: '{{{{ tick.scheduled_for }}}}' }} }} }}
links: [ {{ from: tick, to: {FIRST} }} ]
returns: [ {{ name: At, type: string }} ]
"
    )
}

struct Bench {
    client: reqwest::Client,
    fleet: Fleet,
}

impl Bench {
    async fn start() -> Bench {
        let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
        let fleet = fleet::start("sqlite");
        fleet.wait_up(&client).await;
        Bench { client, fleet }
    }

    /// The answer to `GET path`; `None` when it is not a success (an instance the runbook
    /// server has not created yet is not found).
    async fn get(&self, path: &str) -> Option<Value> {
        let response = self
            .client
            .get(format!("{}{path}", self.fleet.web))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        match response.status().is_success() {
            true => Some(response.json().await.unwrap()),
            false => None,
        }
    }

    /// Starts a job of monitor runbook `path` and waits until it runs; its id.
    async fn start_monitor(&self, path: &str) -> String {
        let job: Value = self
            .client
            .post(format!("{}/api/v1/jobs", self.fleet.web))
            .bearer_auth(TOKEN)
            .json(&json!({ "runbook_path": path }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = job["id"]
            .as_str()
            .unwrap_or_else(|| panic!("start {path}: {job}"))
            .to_string();
        self.until(|| async { (self.get(&format!("/api/v1/jobs/{id}")).await?["status"] == "running").then_some(()) })
            .await;
        id
    }

    /// Polls `check` every 2 ms until it gives `Some` (30 s at most).
    async fn until<T, F, Fut>(&self, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(value) = check().await {
                return value;
            }
            assert!(Instant::now() < deadline, "no answer in 30 s");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// When instance `id`'s activity [`FIRST`] started.
    async fn first_started(&self, id: &str) -> Timestamp {
        self.until(|| async {
            let runs = self.get(&format!("/api/v1/instances/{id}/activities")).await?;
            runs["items"]
                .as_array()?
                .iter()
                .find(|r| r["id"] == FIRST)
                .and_then(|r| r["started_at"].as_str()?.parse().ok())
        })
        .await
    }

    async fn call_hook(client: &reqwest::Client, web: &str) -> (u16, Value) {
        let response = client
            .post(format!("{web}/api/v1/hooks/bench"))
            .bearer_auth(HOOK_TOKEN)
            .body("ping")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A call to its instance's first activity started, `calls` times in turn; milliseconds.
    async fn hook_latencies(&self, calls: usize) -> Vec<f64> {
        let mut latencies = Vec::with_capacity(calls);
        for _ in 0..calls {
            let sent = Timestamp::now();
            let (status, accepted) = Self::call_hook(&self.client, &self.fleet.web).await;
            assert_eq!(status, 202, "{accepted}");
            let started = self.first_started(accepted["instance_id"].as_str().unwrap()).await;
            latencies.push(millis(sent, started));
        }
        latencies
    }

    /// Calls answered 202 per second, `callers` calling for `span`.
    async fn hook_rate(&self, callers: usize, span: Duration) -> f64 {
        let (accepted, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let began = Instant::now();
        let tasks: Vec<_> = (0..callers)
            .map(|_| {
                let (client, web) = (self.client.clone(), self.fleet.web.clone());
                let (accepted, stop) = (accepted.clone(), stop.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        if Self::call_hook(&client, &web).await.0 == 202 {
                            accepted.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        tokio::time::sleep(span).await;
        stop.store(true, Ordering::Relaxed);
        let counted = accepted.load(Ordering::Relaxed);
        let elapsed = began.elapsed();
        for task in tasks {
            task.await.unwrap();
        }
        counted as f64 / elapsed.as_secs_f64()
    }

    /// A file created in `folder` to its instance's first activity started, `files` times in
    /// turn; milliseconds.
    async fn file_latencies(&self, job: &str, folder: &Path, files: usize) -> Vec<f64> {
        let mut after = self.last_trigger(job).await;
        let mut latencies = Vec::with_capacity(files);
        for n in 0..files {
            let sent = Timestamp::now();
            std::fs::write(folder.join(format!("file-{n}")), "x").unwrap();
            let (seq, instance) = self
                .until(|| async {
                    let body = self.get(&format!("/api/v1/jobs/{job}/triggers?after={after}")).await?;
                    let first = body["items"]
                        .as_array()?
                        .iter()
                        .find(|t| t["instance_id"].is_string())?
                        .clone();
                    Some((first["seq"].as_i64()?, first["instance_id"].as_str()?.to_string()))
                })
                .await;
            after = seq;
            latencies.push(millis(sent, self.first_started(&instance).await));
        }
        latencies
    }

    /// The seq of job `job`'s latest trigger or note (0: none).
    async fn last_trigger(&self, job: &str) -> i64 {
        let mut after = 0;
        loop {
            let body = self
                .get(&format!("/api/v1/jobs/{job}/triggers?after={after}"))
                .await
                .expect("the triggers");
            let last = body["items"]
                .as_array()
                .and_then(|i| i.last())
                .and_then(|t| t["seq"].as_i64());
            match (body["next_after"].as_i64(), last) {
                (Some(next), _) => after = next,
                (None, Some(last)) => return last,
                (None, None) => return after,
            }
        }
    }
}

fn millis(from: Timestamp, to: Timestamp) -> f64 {
    to.duration_since(from).as_secs_f64() * 1000.0
}

/// p50 and p99 of `values`, as a line.
fn p50_p99(mut values: Vec<f64>) -> String {
    values.sort_by(f64::total_cmp);
    format!(
        "p50 {:.1} ms, p99 {:.1} ms (n = {})",
        percentile(&values, 0.5),
        percentile(&values, 0.99),
        values.len()
    )
}

/// The process's resident set, in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

async fn webhooks_and_files() {
    let bench = Bench::start().await;
    bench.fleet.push(&bench.client, HOOK_RUNBOOK, "").await;
    bench.start_monitor("Bench Hook").await;
    bench.hook_latencies(20).await;
    println!(
        "webhook call to first activity started: {}",
        p50_p99(bench.hook_latencies(200).await)
    );
    let rate = bench.hook_rate(32, Duration::from_secs(5)).await;
    println!("webhook triggers sustained, 32 callers for 5 s: {rate:.0}/s");

    let folder = tempfile::tempdir().unwrap();
    bench.fleet.push(&bench.client, &file_runbook(folder.path()), "").await;
    let job = bench.start_monitor("Bench Files").await;
    // The monitor's first listing records what is there; let it happen before the first file.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let latencies = bench.file_latencies(&job, folder.path(), 500).await;
    println!("file created to first activity started: {}", p50_p99(latencies));
}

async fn many_monitors_at_rest(count: usize) {
    let bench = Bench::start().await;
    let pid = bench.fleet.children[0].id();
    for n in 0..count {
        bench.fleet.push(&bench.client, &tick_runbook(n), "").await;
    }
    let began = Instant::now();
    for n in 0..count {
        bench.start_monitor(&format!("Bench Tick {n}")).await;
    }
    println!(
        "{count} monitor jobs started and running in {:.1} s",
        began.elapsed().as_secs_f64()
    );
    // Let the first ticks' instances end, then measure at rest.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let (cpu, at) = (cpu_seconds(pid), Instant::now());
    tokio::time::sleep(Duration::from_secs(30)).await;
    let used = (cpu_seconds(pid) - cpu) / at.elapsed().as_secs_f64();
    println!(
        "{count} monitor_date_time every 10s held by scorch up: RSS {:.0} MiB, CPU {:.1}% of a core over 30 s",
        rss_mib(pid),
        used * 100.0
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    webhooks_and_files().await;
    many_monitors_at_rest(1000).await;
}
