//! A runbook server killed with SIGKILL and started again within a second under the same name,
//! as every `scorch up` restart and every supervised `runbook-server --name X` does (issue 13):
//! on SQLite (`scorch up`) and on a PostgreSQL fleet, 200 jobs, every job ends, none is lost, no
//! finished activity runs twice, and the processes of the activities it was running died with it.
//! Nothing is synchronised by sleeping: every wait polls with a deadline.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use crate::support::Fleet;
use serde_json::{Value, json};

const JOBS: usize = 200;
/// The runbook server's name in both tests.
const SERVER: &str = "crash-rb";

/// Two appends around a non-idempotent script that waits for `release` to exist and then
/// appends to `after`: the test kills the server while every running script waits, and creates
/// `release` once it runs again, so a script killed with its server leaves no line there, and
/// one that outlived it would.
fn crash_runbook(log: &Path, release: &Path, after: &Path) -> String {
    let (log, release, after) = (log.display(), release.display(), after.display());
    format!(
        r#"format: 1
runbook: Crash
concurrency: 60
activities:
  - id: a
    type: append_line
    properties: {{ file: "{log}", text: "{{{{ runbook.job_id }}}} a" }}
  - id: pause
    type: run_program
    properties:
      program: sh
      arguments: ["-c", "until [ -e {release} ]; do sleep 0.05; done; echo {{{{ runbook.job_id }}}} >> {after}"]
  - id: b
    type: append_line
    properties: {{ file: "{log}", text: "{{{{ runbook.job_id }}}} b" }}
links:
  - {{ from: a, to: pause }}
  - {{ from: pause, to: b }}
"#
    )
}

/// Starts the jobs through the REST API (4 clients at once); their ids.
async fn start_jobs(fleet: &Fleet) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for task in fleet.start_jobs("ops/Crash", JOBS, 4) {
        ids.extend(task.await.expect("a posting task"));
    }
    assert_eq!(ids.len(), JOBS, "every start made its own job");
    ids
}

/// Waits until every job has ended (the restarted server resumes what its previous life held at
/// once: the lease, 10 s, is no part of it), then checks the outcome.
async fn check_every_job_ends_once(fleet: &Fleet, ids: &BTreeSet<String>, log: &Path, after: &Path) {
    let jobs = fleet
        .all_jobs_final(JOBS, Duration::from_secs(60), "after the restart", |j| {
            format!("{}: {} on {}", j["id"], j["status"], j["claimed_by"])
        })
        .await;
    let found: BTreeSet<String> = jobs.keys().cloned().collect();
    assert_eq!(&found, ids, "the jobs listed are exactly the jobs started");

    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for job in jobs.values() {
        *by_status.entry(job["status"].as_str().unwrap()).or_default() += 1;
    }
    assert!(
        by_status.keys().all(|s| *s == "completed" || *s == "failed"),
        "{by_status:?}"
    );

    // No (job, step) twice; every completed job has both steps.
    let text = std::fs::read_to_string(log).expect("the step log");
    let mut steps: BTreeMap<(String, String), usize> = BTreeMap::new();
    for line in text.lines() {
        let (job, step) = line.split_once(' ').expect("a line '<job> <step>'");
        assert!(ids.contains(job), "a line of an unknown job: {line:?}");
        *steps.entry((job.to_string(), step.to_string())).or_default() += 1;
    }
    let twice: Vec<_> = steps.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "steps that ran twice: {twice:?}");
    let finished_scripts: BTreeSet<String> = std::fs::read_to_string(after)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();

    let mut interrupted = 0;
    for (id, job) in &jobs {
        let instance = job["instance_id"].as_str().expect("an instance");
        let (status, runs) = fleet.get(&format!("/api/v1/instances/{instance}/activities")).await;
        assert_eq!(status, 200, "{runs}");
        let runs = runs["items"].as_array().cloned().unwrap_or_default();
        let mut seen = BTreeSet::new();
        for run in &runs {
            let key = (run["id"].to_string(), run["attempt"].to_string());
            assert!(seen.insert(key), "job {id}: an activity run recorded twice: {runs:?}");
        }
        if job["status"] == "completed" {
            for step in ["a", "b"] {
                assert!(
                    steps.contains_key(&(id.clone(), step.to_string())),
                    "job {id} has no '{step}'"
                );
            }
            assert!(
                finished_scripts.contains(id),
                "job {id} completed without its script's line"
            );
            continue;
        }
        // Failed: only because its script was running when the server was killed. The script
        // died with the server: its last act never happened.
        let errors: Vec<&Value> = runs
            .iter()
            .filter(|r| r["status"] == "failed")
            .map(|r| &r["error"])
            .collect();
        assert_eq!(errors, [&json!("interrupted")], "job {id}: {runs:?}");
        assert!(
            !finished_scripts.contains(id),
            "job {id}: its script was recorded interrupted but finished its work after the kill"
        );
        interrupted += 1;
    }
    eprintln!("crash: {JOBS} jobs, {by_status:?}, {interrupted} scripts interrupted by the kill");
}

/// How the killed runbook server is started again.
enum Restart {
    /// `scorch up`, every role in the process.
    Up,
    /// `scorch runbook-server --name SERVER`.
    RunbookServer,
}

/// Pushes the runbook, starts the jobs, kills [`SERVER`] once it runs 10 of them (every running
/// script then waits for its release), starts it again at once, releases the scripts and
/// checks that every job ends once.
async fn kill_and_restart(fleet: &mut Fleet, restart: Restart) {
    let (log, release, after) = (fleet.path("steps.log"), fleet.path("release"), fleet.path("after.log"));
    let runbook = crash_runbook(&log, &release, &after);
    fleet.push("crash.runbook.yaml", &runbook, "ops").await.ok();
    let ids = start_jobs(fleet).await;
    fleet.wait_running_on(SERVER, 10).await;
    fleet.proc(SERVER).kill9();
    fleet.procs.retain(|p| p.name != SERVER);
    match restart {
        Restart::Up => fleet.start_up(SERVER).await,
        Restart::RunbookServer => fleet.start_runbook_server(SERVER, 50),
    }
    std::fs::write(&release, "").expect("release the scripts");
    check_every_job_ends_once(fleet, &ids, &log, &after).await;
}

/// `scorch up` (its runbook server named through `SCORCH_RUNBOOK_SERVER_NAME`) killed and started
/// again at once on the same data directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scorch_up_killed_and_restarted_at_once_resumes_every_job() {
    let mut fleet = Fleet::sqlite();
    fleet.env.push(("SCORCH_RUNBOOK_SERVER_NAME".into(), SERVER.into()));
    // The process is named after its runbook server, which the web service lists by that name.
    fleet.start_up(SERVER).await;
    fleet.wait_servers_alive(&[SERVER]).await;
    kill_and_restart(&mut fleet, Restart::Up).await;
}

/// On a PostgreSQL fleet: one of two runbook servers killed and started again at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fleet_server_killed_and_restarted_at_once_resumes_every_job() {
    let Some(mut fleet) = Fleet::postgres() else { return };
    fleet.start_management().await;
    fleet.start_web().await;
    fleet.start_runbook_server(SERVER, 50);
    fleet.start_runbook_server("rb2", 50);
    fleet.wait_servers_alive(&[SERVER, "rb2"]).await;
    kill_and_restart(&mut fleet, Restart::RunbookServer).await;
}
