//! The Orchestration console's page speed on a loaded deployment, in a real headless Chromium.
//!
//!     cargo build --release -p scorch -p scorch-bench
//!     target/release/console-bench [--runbooks 1000] [--jobs 100000] [--repeat 5]
//!
//! Starts `scorch up` (SQLite, the release binary beside this one), seeds it through its APIs
//! (runbooks in 20 folders, each with four activities and four parameters; finished jobs spread
//! evenly across them, about one in ten failing, started with `wait: true` and 64 in flight),
//! then loads every page of the console afresh (`about:blank`, then the page's URL, the token
//! already in local storage) `--repeat` times and reads:
//!
//! - first meaningful paint: the `scorch:ready:<route>` performance mark the page sets once its
//!   data is on screen, in ms from navigation start (target: under 1,000 ms);
//! - the slowest API call the page made until then, from `window.scorchTimings` (target: every
//!   call under 100 ms).
//!
//! A page that never becomes ready (20 s) is reported as such, with what it showed. Needs
//! Debian's `chromium` and `chromium-driver`.

mod fleet;

#[path = "../../crates/scorch/tests/e2e/console/browser.rs"]
mod browser;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use browser::Browser;
use fleet::TOKEN;
use serde_json::{Value, json};

const FOLDERS: usize = 20;
const IN_FLIGHT: usize = 64;
/// One job in this many fails (a threshold that is not a number).
const FAIL_EVERY: usize = 10;
const PAINT_TARGET_MS: f64 = 1000.0;
const API_TARGET_MS: f64 = 100.0;
const READY_TIMEOUT: Duration = Duration::from_secs(20);

struct Options {
    runbooks: usize,
    jobs: usize,
    repeat: usize,
}

fn options() -> Options {
    let mut o = Options {
        runbooks: 1000,
        jobs: 100_000,
        repeat: 5,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).and_then(|v| v.replace('_', "").parse::<usize>().ok());
        let target = match args[i].as_str() {
            "--runbooks" => &mut o.runbooks,
            "--jobs" => &mut o.jobs,
            "--repeat" => &mut o.repeat,
            other => panic!("unknown argument {other}; usage: console-bench [--runbooks N] [--jobs N] [--repeat N]"),
        };
        *target = value.unwrap_or_else(|| panic!("{} takes a number", args[i]));
        i += 2;
    }
    assert!(
        o.runbooks > 0 && o.repeat > 0,
        "--runbooks and --repeat must be at least 1"
    );
    o
}

fn folder(i: usize) -> String {
    format!("Team {:02}", i % FOLDERS + 1)
}

/// Runbook `i`: four activities (three links), four parameters.
fn runbook(i: usize) -> String {
    format!(
        r#"format: 1
runbook: Service {i:04} rollout
description: Rolls service {i} out to its tier (console benchmark).
concurrency: 1000
returns: [ {{ name: Ok, type: boolean }}, {{ name: Tier, type: string }} ]
activities:
  - id: init
    name: Initialize Data
    type: initialize_data
    properties:
      parameters:
        - {{ name: Target, type: string, default: "web-{i}" }}
        - {{ name: Count, type: integer, default: 3 }}
        - {{ name: Threshold, type: string, default: "1" }}
        - {{ name: Strict, type: boolean, default: false }}
  - id: check
    name: Check the count
    type: compare_values
    properties: {{ kind: number, left: "{{{{ init.Count }}}}", op: ge, right: "{{{{ init.Threshold }}}}" }}
  - id: tier
    name: Find the tier
    type: map_published_data
    properties:
      input: "{{{{ init.Target }}}}"
      rules: [ {{ pattern: "web-*", value: "web" }}, {{ pattern: "db-*", value: "database" }} ]
      default: other
  - id: ret
    name: Return
    type: return_data
    properties: {{ values: {{ Ok: "{{{{ check.result }}}}", Tier: "{{{{ tier.output }}}}" }} }}
links:
  - {{ from: init, to: tier }}
  - {{ from: tier, to: check }}
  - {{ from: check, to: ret }}
"#
    )
}

async fn seed_runbooks(fleet: &fleet::Fleet, client: &reqwest::Client, n: usize) -> Vec<String> {
    for f in 0..FOLDERS.min(n) {
        // The folder may be made by the check-in itself; an answer other than 2xx is fine here.
        let _ = client
            .post(format!("{}/api/v1/folders", fleet.management))
            .bearer_auth(TOKEN)
            .json(&json!({ "path": folder(f) }))
            .send()
            .await;
    }
    let next = Arc::new(AtomicUsize::new(0));
    let ids = Arc::new(std::sync::Mutex::new(vec![String::new(); n]));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (next, ids, client) = (next.clone(), ids.clone(), client.clone());
        let management = fleet.management.clone();
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return;
                }
                let done = fleet::push(&client, &management, &runbook(i), &folder(i)).await;
                let id = done["id"].as_str().expect("the check-in's id").to_string();
                ids.lock().unwrap()[i] = id;
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("a push task");
    }
    Arc::try_unwrap(ids).unwrap().into_inner().unwrap()
}

/// Starts `jobs` jobs (runbook `k % runbooks` for job `k`), `IN_FLIGHT` at once, each waiting
/// for its end; returns (completed, failed).
async fn seed_jobs(web: &str, client: &reqwest::Client, ids: &[String], jobs: usize) -> (usize, usize) {
    let ids = Arc::new(ids.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..IN_FLIGHT {
        let (ids, next, done, client) = (ids.clone(), next.clone(), done.clone(), client.clone());
        let url = format!("{web}/api/v1/jobs");
        tasks.spawn(async move {
            let (mut completed, mut failed) = (0, 0);
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= jobs {
                    return (completed, failed);
                }
                // Each runbook's every tenth job fails.
                let round = k / ids.len();
                let threshold = if round % FAIL_EVERY == FAIL_EVERY - 1 {
                    "not-a-number"
                } else {
                    "1"
                };
                let body = json!({
                    "runbook_id": ids[k % ids.len()],
                    "parameters": { "Count": (k % 7) as i64, "Threshold": threshold, "Strict": k % 2 == 0 },
                    "wait": true,
                });
                let answer: Value = client
                    .post(&url)
                    .bearer_auth(TOKEN)
                    .json(&body)
                    .send()
                    .await
                    .expect("start a job")
                    .json()
                    .await
                    .expect("a JSON answer");
                match answer["status"].as_str() {
                    Some("completed") => completed += 1,
                    Some("failed") => failed += 1,
                    _ => panic!("job {k} did not end as expected: {answer}"),
                }
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n % 10_000 == 0 {
                    eprintln!("  {n} jobs in {:.0} s", started.elapsed().as_secs_f64());
                }
            }
        });
    }
    let (mut completed, mut failed) = (0, 0);
    while let Some(r) = tasks.join_next().await {
        let (c, f) = r.expect("a job task");
        completed += c;
        failed += f;
    }
    (completed, failed)
}

/// One page to measure: a label, its hash route, the route name its ready mark carries, and
/// whether it is loaded signed out.
struct Page {
    label: String,
    route: String,
    ready: &'static str,
    signed_out: bool,
}

#[derive(Default)]
struct Measured {
    /// First meaningful paint of each load that became ready, ms.
    paints: Vec<f64>,
    /// Loads that never became ready: what the page showed.
    never_ready: Vec<String>,
    /// The slowest API call over every load: ms, method and path with query.
    slowest: Option<(f64, String)>,
    calls: usize,
}

async fn measure(b: &Browser, page: &Page, repeat: usize) -> Measured {
    let mut m = Measured::default();
    for _ in 0..repeat {
        b.load(&page.route).await;
        let deadline = Instant::now() + READY_TIMEOUT;
        let paint = loop {
            let mark = b
                .client
                .execute(
                    "const e = performance.getEntriesByName('scorch:ready:' + arguments[0])[0]; \
                     return e ? e.startTime : null;",
                    vec![json!(page.ready)],
                )
                .await
                .unwrap_or(Value::Null);
            if let Some(ms) = mark.as_f64() {
                break Some(ms);
            }
            if Instant::now() >= deadline {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let timings = b.js("return window.scorchTimings || [];", vec![]).await;
        for t in timings.as_array().into_iter().flatten() {
            let ms = t["ms"].as_f64().unwrap_or(0.0);
            m.calls += 1;
            let what = format!(
                "{} {}{}{}",
                t["method"].as_str().unwrap_or("GET"),
                t["path"].as_str().unwrap_or("?"),
                if t["query"].as_str().unwrap_or("").is_empty() {
                    ""
                } else {
                    "?"
                },
                t["query"].as_str().unwrap_or("")
            );
            let status = t["status"].as_u64().unwrap_or(0);
            let what = if status >= 400 || status == 0 {
                format!("{what} (HTTP {status})")
            } else {
                what
            };
            if m.slowest.as_ref().is_none_or(|(slowest, _)| ms > *slowest) {
                m.slowest = Some((ms, what));
            }
        }
        match paint {
            Some(ms) => m.paints.push(ms),
            None => m.never_ready.push(b.describe().await),
        }
    }
    m
}

fn median(sorted: &[f64]) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// A job (and its instance) of runbook `id` with `status`, newest first.
async fn a_job(web: &str, client: &reqwest::Client, id: &str, status: &str) -> Value {
    let list: Value = client
        .get(format!("{web}/api/v1/jobs?runbook_id={id}&status={status}&limit=1"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("list jobs")
        .json()
        .await
        .expect("a JSON answer");
    list["items"][0].clone()
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let o = options();
    let fleet = fleet::start("sqlite");
    let client = reqwest::Client::builder().pool_max_idle_per_host(128).build().unwrap();
    fleet.wait_up(&client).await;
    // Settings for the settings page.
    for (kind, name, body) in [
        ("variables", "DeployTarget", json!({ "value": "prod-eu" })),
        ("counters", "Deployments", json!({ "value": 7 })),
    ] {
        let r = client
            .put(format!("{}/api/v1/{kind}/{name}", fleet.management))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .expect("set a setting");
        assert!(r.status().is_success(), "set {kind}/{name}: {}", r.status());
    }

    let seeding = Instant::now();
    let ids = seed_runbooks(&fleet, &client, o.runbooks).await;
    let pushed = seeding.elapsed().as_secs_f64();
    eprintln!(
        "pushed {} runbooks in {pushed:.1} s; starting {} jobs",
        o.runbooks, o.jobs
    );
    let jobs_began = Instant::now();
    let (completed, failed) = seed_jobs(&fleet.web, &client, &ids, o.jobs).await;
    let jobs_took = jobs_began.elapsed().as_secs_f64();
    println!(
        "seeded {} runbooks in {FOLDERS} folders ({pushed:.1} s) and {} jobs ({completed} completed, {failed} failed) \
         in {jobs_took:.1} s ({:.0} jobs/s, {IN_FLIGHT} in flight); seeding took {:.1} s",
        o.runbooks,
        completed + failed,
        (completed + failed) as f64 / jobs_took.max(1e-9),
        seeding.elapsed().as_secs_f64()
    );

    let runbook = &ids[0];
    let failed_job = a_job(&fleet.web, &client, runbook, "failed").await;
    let job_id = failed_job["id"].as_str().unwrap_or_default().to_string();
    let instance_id = failed_job["instance_id"].as_str().unwrap_or_default().to_string();
    assert!(
        !job_id.is_empty() && !instance_id.is_empty(),
        "no failed job with an instance for runbook {runbook}: {failed_job}"
    );
    let page = |label: &str, route: String, ready: &'static str| Page {
        label: label.to_string(),
        route,
        ready,
        signed_out: false,
    };
    let mut pages = vec![Page {
        label: "sign-in".into(),
        route: "/signin".into(),
        ready: "signin",
        signed_out: true,
    }];
    pages.extend([
        page("runbooks", "/runbooks".into(), "runbooks"),
        page("runbook (graph)", format!("/runbooks/{runbook}"), "runbook"),
        page("jobs", "/jobs".into(), "jobs"),
        page("jobs ?runbook_id", format!("/jobs?runbook_id={runbook}"), "jobs"),
        page("jobs ?status=failed", "/jobs?status=failed".into(), "jobs"),
        page("job", format!("/jobs/{job_id}"), "job"),
        page("instance (failed)", format!("/instances/{instance_id}"), "instance"),
        page("servers", "/servers".into(), "servers"),
        page("settings", "/settings".into(), "settings"),
        page("audit", "/audit".into(), "audit"),
    ]);

    let shots = browser::screenshot_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    let b = Browser::start(&fleet.console, &shots).await;
    let mut results = Vec::new();
    for p in &pages {
        b.load("/signin").await;
        b.js("window.localStorage.clear();", vec![]).await;
        if !p.signed_out {
            b.store_token(TOKEN).await;
        }
        let m = measure(&b, p, o.repeat).await;
        results.push(m);
    }
    b.close().await;

    println!();
    println!(
        "{:<22} {:>12} {:>10} {:>8}  {:>10}   {:>11} {:>7}  (that call)",
        "page", "paint median", "paint max", "<1000ms", "API calls", "slowest API", "<100ms"
    );
    let mut overall_paint: Option<(f64, &str)> = None;
    let mut overall_call: Option<(f64, String, &str)> = None;
    let mut problems = Vec::new();
    for (p, m) in pages.iter().zip(&results) {
        let mut sorted = m.paints.clone();
        sorted.sort_by(f64::total_cmp);
        let max = sorted.last().copied();
        let (median_text, max_text) = match max {
            Some(max) => (format!("{:.0} ms", median(&sorted)), format!("{max:.0} ms")),
            None => ("-".into(), "-".into()),
        };
        let paint_ok = if !m.never_ready.is_empty() {
            format!("NO ({}/{} never ready)", m.never_ready.len(), o.repeat)
        } else if max.is_some_and(|x| x < PAINT_TARGET_MS) {
            "yes".into()
        } else {
            "NO".into()
        };
        let (call_ms, call_ok, call_what) = match &m.slowest {
            Some((ms, what)) => (
                format!("{ms:.1} ms"),
                if *ms < API_TARGET_MS { "yes" } else { "NO" },
                what.clone(),
            ),
            None => ("-".into(), "-", "(no API call)".into()),
        };
        println!(
            "{:<22} {:>12} {:>10} {:>8}  {:>10}   {:>11} {:>7}  {}",
            p.label,
            median_text,
            max_text,
            paint_ok,
            format!("{:.0}/load", m.calls as f64 / o.repeat as f64),
            call_ms,
            call_ok,
            call_what
        );
        if let Some(max) = max
            && overall_paint.is_none_or(|(o, _)| max > o)
        {
            overall_paint = Some((max, &p.label));
        }
        if let Some((ms, what)) = &m.slowest
            && overall_call.as_ref().is_none_or(|(o, _, _)| *ms > *o)
        {
            overall_call = Some((*ms, what.clone(), &p.label));
        }
        for state in &m.never_ready {
            problems.push(format!(
                "{} never became ready in {READY_TIMEOUT:?}; it showed:\n{state}",
                p.label
            ));
        }
    }
    println!();
    match overall_paint {
        Some((ms, label)) => println!(
            "overall max paint: {ms:.0} ms ({label}); target < {PAINT_TARGET_MS:.0} ms: {}",
            if ms < PAINT_TARGET_MS && problems.is_empty() {
                "met"
            } else {
                "NOT met"
            }
        ),
        None => println!("overall max paint: no page became ready"),
    }
    match overall_call {
        Some((ms, what, label)) => println!(
            "overall slowest API call: {ms:.1} ms {what} ({label}); target < {API_TARGET_MS:.0} ms: {}",
            if ms < API_TARGET_MS { "met" } else { "NOT met" }
        ),
        None => println!("overall slowest API call: none recorded"),
    }
    println!(
        "({} loads per page; paint = the page's scorch:ready mark, ms from navigation start; API calls = those \
         window.scorchTimings holds once the page is ready, their times as the page saw them (waits for one of \
         the browser's six connections to the web service included); the first load fetched the console's \
         files cold; Chromium's back/forward cache is off)",
        o.repeat
    );
    for problem in &problems {
        println!("\n{problem}");
    }
    if problems.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
