//! `query_database` benchmark (issue 16): a 10,000-row PostgreSQL result fanned out to a
//! `compare_values` per row, run through the engine as a library.
//!
//!     cargo run --release -p scorch-bench --bin db-bench [-- postgres://postgres@127.0.0.1:5432/postgres]
//!
//! Prints the activity alone (rows read and published per second), then the whole runbook (rows
//! through query and fan-out per second), each the median of 5 runs after a warm-up, and the
//! process's peak RSS.

use std::sync::Arc;
use std::time::Instant;

use scorch_activity::{ActivityContext, MemorySettings};
use scorch_engine::{Engine, EngineConfig, InstanceRequest, InstanceStatus, MemoryJournal, RegistryCatalog};
use scorch_model::{compile, load};

const ROWS: usize = 10_000;
const REPEAT: usize = 5;

/// 10,000 rows of four columns (an integer, text, a timestamp, a decimal), made by the server.
const QUERY: &str = "SELECT g AS n, 'name-' || g AS name, timestamptz '2024-05-01 00:00:00+00' + g * interval '1 minute' AS at, \
     g::numeric / 100 AS price FROM generate_series(1, 10000) g";

fn runbook(connection: &str) -> String {
    format!(
        "format: 1
runbook: DbFanout
activities:
  - id: q
    type: query_database
    properties: {{ connection: '{connection}', query: \"{QUERY}\", max_rows: {ROWS} }}
  - id: each
    type: compare_values
    properties: {{ kind: number, left: '{{{{ q.n }}}}', op: gt, right: '0' }}
links: [ {{ from: q, to: each }} ]
"
    )
}

fn main() {
    let connection = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let registry = Arc::new(scorch_activities::standard());

    // The activity alone: query, read and publish.
    let activity = registry.get("query_database").expect("query_database is registered");
    let properties = serde_json::json!({"connection": connection, "query": QUERY, "max_rows": ROWS});
    let alone = median(|| {
        let ctx = ActivityContext::standalone("query_database", std::env::temp_dir());
        let started = Instant::now();
        let out = runtime
            .block_on(activity.run(&ctx, properties.clone()))
            .expect("query_database ran");
        assert_eq!(out.rows.len(), ROWS);
        started.elapsed().as_secs_f64()
    });
    println!(
        "query_database alone      {ROWS} rows   {:>8.0} rows/s   ({:.1} ms)",
        ROWS as f64 / alone,
        alone * 1e3
    );

    // The runbook: the query, then one compare_values per row.
    let loaded = load(&runbook(&connection)).expect("valid yaml");
    let plan = Arc::new(compile(&loaded, &RegistryCatalog(&registry)).expect("valid runbook"));
    let whole = median(|| {
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
        let elapsed = started.elapsed().as_secs_f64();
        assert_eq!(outcome.status, InstanceStatus::Success, "{outcome:?}");
        assert_eq!(journal.all_runs().len(), ROWS + 1);
        elapsed
    });
    println!(
        "query + {ROWS} compare_values   {:>8.0} rows/s   ({:.1} ms)   peak RSS {:.1} MiB",
        ROWS as f64 / whole,
        whole * 1e3,
        peak_rss_mib()
    );
}

/// The median of `REPEAT` timings of `run`, after one warm-up run (connections, caches).
fn median(mut run: impl FnMut() -> f64) -> f64 {
    run();
    let mut times: Vec<f64> = (0..REPEAT).map(|_| run()).collect();
    times.sort_by(f64::total_cmp);
    times[REPEAT / 2]
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
