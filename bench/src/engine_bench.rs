//! Engine benchmarks (issue 2). Each case runs in a child process so its peak memory is its own.
//!
//!     cargo run --release -p scorch-bench --bin engine-bench
//!
//! Prints, per case: activity runs, microseconds per activity run, peak RSS; and for `durable`
//! (1,000 instances of a 10-activity runbook journaled to a SQLite file with synchronous=FULL):
//! activity runs per second and bytes of database growth per activity run.

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use scorch_activity::MemorySettings;
use scorch_engine::{Engine, EngineConfig, InstanceRequest, InstanceStatus, MemoryJournal, RegistryCatalog};
use scorch_model::{Plan, compile, load};
use scorch_store::prelude::*;
use scorch_store::{NewJob, SqliteStore};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const CASES: [&str; 3] = ["chain", "fanout", "durable"];
const REPEAT: usize = 5;

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some(case) if CASES.contains(&case) => run_case(case),
        _ => {
            let exe = std::env::current_exe().expect("own path");
            for case in CASES {
                let out = Command::new(&exe).arg(case).output().expect("run case");
                print!("{}", String::from_utf8_lossy(&out.stdout));
                if !out.status.success() {
                    eprint!("{}", String::from_utf8_lossy(&out.stderr));
                    std::process::exit(1);
                }
            }
        }
    }
}

/// A linear chain of `n` compare_values.
fn chain_yaml(n: usize) -> String {
    let mut y = String::from("format: 1\nrunbook: Chain\nactivities:\n");
    for i in 0..n {
        y.push_str(&format!("  - {{ id: a{i}, type: compare_values, properties: {{ kind: number, left: '{i}', op: ge, right: '0' }} }}\n"));
    }
    y.push_str("links:\n");
    for i in 1..n {
        y.push_str(&format!("  - {{ from: a{}, to: a{i} }}\n", i - 1));
    }
    y
}

/// 10,000 rows from one run_script, each row running a compare_values.
fn fanout_yaml() -> String {
    "format: 1
runbook: Fanout
activities:
  - id: gen
    type: run_script
    properties: { language: sh, script: 'seq 1 10000 | sed \"s/^/n=/\" > \"$SCORCH_OUTPUT\"' }
  - id: each
    type: compare_values
    properties: { kind: number, left: '{{ gen.n }}', op: gt, right: '0' }
links: [ { from: gen, to: each } ]
"
    .to_string()
}

fn run_case(case: &str) {
    if case == "durable" {
        return durable();
    }
    let registry = Arc::new(scorch_activities::standard());
    let yaml = if case == "chain" {
        chain_yaml(1000)
    } else {
        fanout_yaml()
    };
    let loaded = load(&yaml).expect("valid yaml");
    let plan: Arc<Plan> = Arc::new(compile(&loaded, &RegistryCatalog(&registry)).expect("valid runbook"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut per_run = Vec::new();
    let mut runs = 0;
    for _ in 0..REPEAT {
        let journal = Arc::new(MemoryJournal::default());
        let engine = Engine::new(
            registry.clone(),
            journal.clone(),
            Arc::new(MemorySettings::default()),
            EngineConfig::default(),
        );
        let request = InstanceRequest::standalone(plan.clone());
        let started = Instant::now();
        let outcome = runtime.block_on(engine.run(request)).expect("engine");
        let elapsed = started.elapsed();
        assert_eq!(outcome.status, InstanceStatus::Success, "{outcome:?}");
        runs = journal.all_runs().len();
        // The fan-out's generator is a real process; count only the engine's share per run.
        per_run.push(elapsed.as_secs_f64() * 1e6 / runs as f64);
    }
    per_run.sort_by(f64::total_cmp);
    println!(
        "{case:<7} {runs:>6} activity runs   median {:>6.2} us/run   best {:>6.2} us/run   peak RSS {:>6.1} MiB",
        per_run[REPEAT / 2],
        per_run[0],
        peak_rss_mib()
    );
}

/// VmHWM of this process, in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

const INSTANCES: usize = 1000;
const IN_FLIGHT: usize = 64;

/// 1,000 instances of a 10-activity chain, 64 at a time, journaled to a SQLite file with full
/// durability (WAL, synchronous=FULL: one fsync per group commit).
fn durable() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir_in(".").expect("a folder on the working disk");
        let file = dir.path().join("bench.db");
        let store = SqliteStore::open(&format!("sqlite:{}", file.display())).await.expect("open");
        let registry = Arc::new(scorch_activities::standard());
        let loaded = load(&chain_yaml(10)).expect("valid yaml");
        let plan = Arc::new(compile(&loaded, &RegistryCatalog(&registry)).expect("valid runbook"));
        let (runbook_id, version) = store.save_plan(&plan, "", "bench").await.expect("save");
        store.checkpoint().await.expect("checkpoint");
        let before = db_bytes(&file);
        let mut jobs = Vec::with_capacity(INSTANCES);
        for _ in 0..INSTANCES {
            let job = NewJob {
                runbook_id,
                version: Some(version),
                parameters: &Default::default(),
                created_by: "bench",
                parent_job: None,
                awaited: false,
            };
            jobs.push(store.create_job(job).await.expect("job").id);
        }
        let engine = Arc::new(Engine::new(registry, store.journal(), store.settings(), EngineConfig::default()));
        let limit = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for job_id in jobs {
            let (engine, plan, permit) = (engine.clone(), plan.clone(), limit.clone().acquire_owned().await.expect("permit"));
            tasks.spawn(async move {
                let request = InstanceRequest {
                    plan,
                    runbook_id,
                    job_id,
                    instance_id: Uuid::now_v7(),
                    parameters: Default::default(),
                    cancel: CancellationToken::new(),
                    events: None,
                    resume: false,
                };
                let outcome = engine.run(request).await.expect("engine");
                drop(permit);
                assert_eq!(outcome.status, InstanceStatus::Success);
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("instance task");
        }
        let elapsed = started.elapsed().as_secs_f64();
        store.checkpoint().await.expect("checkpoint");
        let runs = INSTANCES * 10;
        let growth = db_bytes(&file).saturating_sub(before);
        println!(
            "durable {runs:>6} activity runs   {:>8.0} runs/s ({INSTANCES} instances, {IN_FLIGHT} in flight, synchronous=FULL)   {:>5.0} bytes/run",
            runs as f64 / elapsed,
            growth as f64 / runs as f64
        );
    });
}

/// The database file and its WAL.
fn db_bytes(file: &std::path::Path) -> u64 {
    let size = |p: std::path::PathBuf| std::fs::metadata(p).map_or(0, |m| m.len());
    size(file.to_path_buf()) + size(file.with_extension("db-wal"))
}
