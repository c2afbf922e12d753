//! Engine benchmarks (issue 2). Each case runs in a child process so its peak memory is its own.
//!
//!     cargo run --release -p scorch-bench --bin engine-bench
//!
//! Prints, per case: activity runs, wall time, microseconds per activity run, peak RSS.

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use scorch_activity::MemorySettings;
use scorch_engine::{Engine, EngineConfig, InstanceRequest, InstanceStatus, MemoryJournal, RegistryCatalog};
use scorch_model::{Plan, compile, load};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const CASES: [&str; 2] = ["chain", "fanout"];
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

/// A 1,000-activity linear chain of compare_values.
fn chain_yaml() -> String {
    let mut y = String::from("format: 1\nrunbook: Chain\nactivities:\n");
    for i in 0..1000 {
        y.push_str(&format!("  - {{ id: a{i}, type: compare_values, properties: {{ kind: number, left: '{i}', op: ge, right: '0' }} }}\n"));
    }
    y.push_str("links:\n");
    for i in 1..1000 {
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
    let registry = Arc::new(scorch_activities::standard());
    let yaml = if case == "chain" { chain_yaml() } else { fanout_yaml() };
    let loaded = load(&yaml).expect("valid yaml");
    let plan: Arc<Plan> = Arc::new(compile(&loaded, &RegistryCatalog(&registry)).expect("valid runbook"));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let mut per_run = Vec::new();
    let mut runs = 0;
    for _ in 0..REPEAT {
        let journal = Arc::new(MemoryJournal::default());
        let engine =
            Engine::new(registry.clone(), journal.clone(), Arc::new(MemorySettings::default()), EngineConfig::default());
        let request = InstanceRequest {
            plan: plan.clone(),
            runbook_id: Uuid::nil(),
            job_id: Uuid::nil(),
            instance_id: Uuid::now_v7(),
            parameters: Default::default(),
            cancel: CancellationToken::new(),
            events: None,
            resume: false,
        };
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
