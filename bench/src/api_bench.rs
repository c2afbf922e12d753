//! REST latency and throughput (issue 3): a 3-activity runbook started through the web service
//! and awaited in the same request (`wait: true`).
//!
//!     cargo build --release -p scorch -p scorch-bench
//!     target/release/api-bench sqlite            # `scorch up` on its embedded SQLite database
//!     target/release/api-bench postgres          # management server, web service and two
//!                                                # runbook servers as processes on PostgreSQL
//!
//! The load client is this program: reqwest over keep-alive HTTP/1.1 connections on one tokio
//! thread, sending a body serialized once and reading only the answer's fields it checks, so it
//! takes as little as it can of the two cores it shares with the servers (its own CPU time is
//! printed).
//! Prints median and p95 latency of 200 sequential runs after 50 warm-up runs, jobs per second
//! for 2,000 jobs with 64 in flight, job start to first activity start (p50, p99), and the CPU
//! time spent per job during the throughput run: by the server processes, by the database's
//! server processes (PostgreSQL), by the load client, and by the whole machine (every process
//! and the kernel; steadier from run to run than the rate on a shared machine, and what bounds
//! it: 2 cores give at most 2 s of CPU per second), and the CPU time the virtual machine's host
//! took from it meanwhile (steal: when that is high, every figure of the run is worse).
//! Every figure twice, in the same run: `observed` (metrics on, the default log filter, as
//! deployed) and `bare` (`--no-metrics`, `RUST_LOG=off`), both up at once and measured in turn,
//! then a second throughput round in the reverse order, and what metrics and logging cost of the
//! throughput, from the means of both rounds (issue 15: at most 3%).

mod fleet;

use std::collections::HashMap;
use std::process::Child;
use std::time::Instant;

use fleet::{Fleet, Setup, TOKEN, cpu_seconds, percentile, start_with};
use serde::Deserialize;

const RUNBOOK: &str = "format: 1
runbook: Bench Three
concurrency: 1000
returns: [ { name: Result, type: boolean } ]
activities:
  - id: init
    type: initialize_data
    properties: { parameters: [ { name: N, type: integer, default: 1 } ] }
  - { id: check, type: compare_values, properties: { kind: number, left: '{{ init.N }}', op: ge, right: '0' } }
  - { id: ret, type: return_data, properties: { values: { Result: '{{ check.result }}' } } }
links: [ { from: init, to: check }, { from: check, to: ret } ]
";

/// CPU seconds the whole machine has spent busy (not idle, waiting for I/O or stolen) so far,
/// and those its host has stolen (running something else while this machine had work).
fn machine_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is counted in user)
    let at = |i: usize| ticks.get(i).copied().unwrap_or(0.0);
    let busy = [0, 1, 2, 5, 6].into_iter().map(at).sum::<f64>();
    (busy / 100.0, at(7) / 100.0)
}

/// Every job's request: the runbook with its parameter, awaited.
const START: &str = r#"{"runbook_path":"Bench Three","parameters":{"N":2},"wait":true}"#;

/// What the answer to [`START`] is read for (borrowed from its text, the rest skipped).
#[derive(Deserialize)]
struct Answer<'a> {
    created_at: &'a str,
    #[serde(borrow)]
    result: Outcome<'a>,
}

#[derive(Deserialize)]
struct Outcome<'a> {
    status: &'a str,
    #[serde(borrow)]
    activities: Vec<Span<'a>>,
}

#[derive(Deserialize)]
struct Span<'a> {
    started_at: &'a str,
    ended_at: &'a str,
}

fn ms(text: &str) -> f64 {
    text.parse::<jiff::Timestamp>()
        .map(|t| t.as_microsecond() as f64 / 1000.0)
        .unwrap_or(0.0)
}

/// One job's way, in ms: request sent to job created, created to first activity started, first
/// activity started to last ended, last ended to answer received (wall clocks of one machine).
type Phases = [f64; 4];

async fn run_job(client: &reqwest::Client, web: &str) -> (f64, Phases) {
    let sent = jiff::Timestamp::now().as_microsecond() as f64 / 1000.0;
    let started = Instant::now();
    let text = client
        .post(format!("{web}/api/v1/jobs"))
        .bearer_auth(TOKEN)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(START)
        .send()
        .await
        .expect("request")
        .bytes()
        .await
        .expect("an answer");
    let latency = started.elapsed().as_secs_f64() * 1000.0;
    let received = sent + latency;
    let answer: Answer =
        serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&text)));
    assert_eq!(answer.result.status, "success", "{}", String::from_utf8_lossy(&text));
    let created = ms(answer.created_at);
    let activities = &answer.result.activities;
    let (first, last) = match (activities.first(), activities.last()) {
        (Some(first), Some(last)) => (ms(first.started_at), ms(last.ended_at)),
        _ => (0.0, 0.0),
    };
    (
        latency,
        [created - sent, first - created, last - first, received - last],
    )
}

/// Runs `jobs` jobs with `in_flight` requests at a time; each job's start-to-first-activity time.
async fn run_concurrently(client: &reqwest::Client, web: &str, jobs: usize, in_flight: usize) -> Vec<f64> {
    let (client, web) = (client.clone(), web.to_string());
    fleet::concurrently(jobs, in_flight, move || {
        let (client, web) = (client.clone(), web.clone());
        async move { run_job(&client, &web).await.1[1] }
    })
    .await
}

/// The two setups every run measures, in the same run: as deployed (metrics on, the default log
/// filter), and with neither metrics nor logging; what the first costs is the difference.
const SETUPS: [(&str, Setup); 2] = [
    ("observed", Setup { args: &[], log: "warn" }),
    (
        "bare",
        Setup {
            args: &["--no-metrics"],
            log: "off",
        },
    ),
];

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let kind = std::env::args().nth(1).unwrap_or_else(|| "sqlite".into());
    assert!(
        kind == "sqlite" || kind == "postgres",
        "usage: api-bench sqlite|postgres"
    );
    let client = reqwest::Client::builder().pool_max_idle_per_host(128).build().unwrap();
    // Both up at once, measured one after the other (the idle one only heartbeats).
    let fleets = SETUPS.map(|(_, setup)| start_with(&kind, &setup));
    for fleet in &fleets {
        fleet.wait_up(&client).await;
        fleet.push(&client, RUNBOOK, "").await;
    }
    let mut rates = [0.0; 2];
    for (i, ((name, _), fleet)) in SETUPS.iter().zip(&fleets).enumerate() {
        rates[i] = measure(&format!("{kind} {name}"), &kind, fleet, &client).await;
    }
    // A second round in the reverse order (observed, bare, bare, observed), so that the machine
    // growing faster or slower during the run weighs on both alike.
    for i in [1, 0] {
        let again = throughput(&client, &fleets[i].web, jobs()).await;
        println!("{kind:<8} {} throughput, second round: {again:.0} jobs/s", SETUPS[i].0);
        rates[i] = (rates[i] + again) / 2.0;
    }
    println!(
        "{kind:<8} metrics and logging (means of both rounds): {:.0} jobs/s observed, {:.0} jobs/s bare: they cost {:.1}% of the throughput",
        rates[0],
        rates[1],
        (1.0 - rates[0] / rates[1]) * 100.0
    );
}

/// Jobs per throughput run: `API_BENCH_JOBS` (more make a run long enough to profile), or 2,000.
fn jobs() -> usize {
    #[allow(
        clippy::disallowed_methods,
        reason = "a benchmark is a binary: it reads its settings"
    )]
    let jobs = std::env::var("API_BENCH_JOBS").ok().and_then(|n| n.parse().ok());
    jobs.unwrap_or(2000)
}

/// Jobs in flight during throughput runs.
const IN_FLIGHT: usize = 64;

/// Jobs per second over `jobs` jobs, `IN_FLIGHT` at once.
async fn throughput(client: &reqwest::Client, web: &str, jobs: usize) -> f64 {
    let started = Instant::now();
    run_concurrently(client, web, jobs, IN_FLIGHT).await;
    jobs as f64 / started.elapsed().as_secs_f64()
}

/// Every figure for one fleet, printed as `kind` (with its setup); its throughput (jobs/s).
async fn measure(kind: &str, backend: &str, fleet: &Fleet, client: &reqwest::Client) -> f64 {
    let client = client.clone();
    for _ in 0..50 {
        run_job(&client, &fleet.web).await;
    }
    let mut latencies = Vec::new();
    let mut to_first = Vec::new();
    let mut phases: [Vec<f64>; 4] = Default::default();
    let (sequential_started, stolen_before) = (Instant::now(), machine_seconds().1);
    for _ in 0..200 {
        let (latency, way) = run_job(&client, &fleet.web).await;
        latencies.push(latency);
        to_first.push(way[1]);
        for (phase, took) in phases.iter_mut().zip(way) {
            phase.push(took);
        }
    }
    // Of the two cores' time meanwhile, the share the host took.
    let stolen = (machine_seconds().1 - stolen_before) / (2.0 * sequential_started.elapsed().as_secs_f64());
    latencies.sort_by(f64::total_cmp);
    println!(
        "{kind:<8} latency (start + wait, 200 sequential): median {:.2} ms, p95 {:.2} ms (stolen by the host: {:.0}% of the time)",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        stolen * 100.0
    );
    let medians: Vec<f64> = phases
        .iter_mut()
        .map(|phase| {
            phase.sort_by(f64::total_cmp);
            percentile(phase, 0.5)
        })
        .collect();
    println!(
        "{kind:<8} latency by phase (medians): request to job created {:.2} ms, to first activity started {:.2} ms, activities {:.2} ms, last activity ended to answer {:.2} ms",
        medians[0], medians[1], medians[2], medians[3]
    );

    let jobs = jobs();
    // Warm-up under load too: the servers' connection pools grow to their size, and each new
    // database connection fills its caches, before the measured run.
    run_concurrently(&client, &fleet.web, jobs / 2, IN_FLIGHT).await;
    let pids: Vec<u32> = fleet.children.iter().map(Child::id).collect();
    let cpu_before: Vec<f64> = pids.iter().map(|&p| cpu_seconds(p)).collect();
    let own_before = cpu_seconds(std::process::id());
    let database_before: HashMap<u32, f64> = fleet.database_pids().into_iter().map(|p| (p, cpu_seconds(p))).collect();
    let machine_before = machine_seconds();
    let started = Instant::now();
    to_first.extend(run_concurrently(&client, &fleet.web, jobs, IN_FLIGHT).await);
    let elapsed = started.elapsed().as_secs_f64();
    let by_process: Vec<f64> = pids
        .iter()
        .zip(&cpu_before)
        .map(|(&p, before)| cpu_seconds(p) - before)
        .collect();
    let server_cpu: f64 = by_process.iter().sum();
    let client_cpu = cpu_seconds(std::process::id()) - own_before;
    let machine_after = machine_seconds();
    let (machine, stolen) = (machine_after.0 - machine_before.0, machine_after.1 - machine_before.1);
    // Backends that connected during the run count from zero.
    let database_cpu: f64 = fleet
        .database_pids()
        .into_iter()
        .map(|p| cpu_seconds(p) - database_before.get(&p).copied().unwrap_or(0.0))
        .sum();
    let per_job = |seconds: f64| seconds * 1e6 / jobs as f64;
    // SQLite is inside the server process.
    let database = match backend {
        "postgres" => format!("database {:.0} us, ", per_job(database_cpu)),
        _ => String::new(),
    };
    let rate = jobs as f64 / elapsed;
    println!(
        "{kind:<8} throughput ({jobs} jobs, {IN_FLIGHT} in flight): {rate:.0} jobs/s; CPU per job: server {:.0} us, {database}load client {:.0} us, whole machine {:.0} us (stolen by the host {:.0} us)",
        per_job(server_cpu),
        per_job(client_cpu),
        per_job(machine),
        per_job(stolen)
    );
    if by_process.len() > 1 {
        let each: Vec<String> = fleet
            .roles
            .iter()
            .zip(&by_process)
            .map(|(role, cpu)| format!("{role} {:.0} us", per_job(*cpu)))
            .collect();
        println!("{kind:<8} server CPU per job by process: {}", each.join(", "));
    }
    to_first.sort_by(f64::total_cmp);
    println!(
        "{kind:<8} job start to first activity start: p50 {:.2} ms, p99 {:.2} ms",
        percentile(&to_first, 0.5),
        percentile(&to_first, 0.99)
    );
    rate
}
