//! Monitor runbooks through the real binary: webhooks answered as the contract says, each call
//! one instance; a monitor job that stays running until canceled.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::support::{Fleet, OwnPostgres, eventually, peer_missing, send};

const ON_DEPLOY: &str = r#"format: 1
runbook: On Deploy
returns:
  - { name: Body, type: string }
activities:
  - id: hook
    type: monitor_webhook
    properties: { hook: deployed, token: "{{ var.HookToken }}", max_body: 1KiB }
  - id: out
    type: return_data
    properties: { values: { Body: "{{ hook.body }}" } }
links:
  - { from: hook, to: out }
"#;

/// Calls the hook with `token` (none: no Authorization header) and `body`.
async fn call(fleet: &Fleet, hook: &str, token: Option<&str>, body: String) -> (u16, Value) {
    let mut request = fleet
        .http
        .post(format!("{}/api/v1/hooks/{hook}?env=prod", fleet.web))
        .header("content-type", "text/plain")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    send(request).await
}

/// The instances of job `job`, once `count` of them have ended.
async fn ended_instances(fleet: &Fleet, job: &str, count: usize) -> Vec<Value> {
    eventually("the webhook's instances to end", Duration::from_secs(60), || async {
        let (status, body) = fleet.get(&format!("/api/v1/instances?job_id={job}&limit=500")).await;
        assert_eq!(status, 200, "{body}");
        let items = body["items"].as_array().cloned().unwrap_or_default();
        let ended = items.iter().filter(|i| i["status"] != "running").count();
        (ended >= count).then_some(items)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_starts_one_instance_per_authorized_call() {
    let mut fleet = Fleet::sqlite();
    fleet.start_up("up").await;
    let (status, _) = send(
        fleet
            .http
            .put(format!("{}/api/v1/variables/HookToken", fleet.web))
            .bearer_auth(&fleet.admin)
            .json(&json!({ "value": "hook-s3cret", "encrypted": true })),
    )
    .await;
    assert_eq!(status, 200);
    fleet.push("on-deploy.runbook.yaml", ON_DEPLOY, "").await;

    assert_eq!(call(&fleet, "nobody-listens", Some("x"), "a".into()).await.0, 404);
    // Known, but no job runs it yet: the token is checked first, then the job.
    assert_eq!(call(&fleet, "deployed", Some("wrong"), "a".into()).await.0, 401);
    let (status, body) = call(&fleet, "deployed", Some("hook-s3cret"), "a".into()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );

    let (status, job) = fleet
        .post("/api/v1/jobs", &json!({ "runbook_path": "On Deploy" }))
        .await;
    assert_eq!(status, 201, "{job}");
    let job_id = job["id"].as_str().unwrap().to_string();
    eventually("the monitor job to run", Duration::from_secs(30), || async {
        let (_, job) = fleet.get(&format!("/api/v1/jobs/{job_id}")).await;
        (job["status"] == "running").then_some(())
    })
    .await;

    assert_eq!(call(&fleet, "deployed", None, "a".into()).await.0, 401);
    assert_eq!(
        call(&fleet, "deployed", Some("hook-s3cret-not"), "a".into()).await.0,
        401
    );
    let (status, body) = call(&fleet, "deployed", Some("hook-s3cret"), "x".repeat(2048)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("payload_too_large")),
        "{body}"
    );
    let (_, triggers) = fleet.get(&format!("/api/v1/jobs/{job_id}/triggers")).await;
    assert_eq!(triggers["items"], json!([]), "a refused call records nothing");

    // Concurrent calls: each is one trigger and one instance, with its own body.
    let calls: Vec<_> = (0..20)
        .map(|n| {
            let (http, url) = (fleet.http.clone(), format!("{}/api/v1/hooks/deployed", fleet.web));
            tokio::spawn(async move { send(http.post(url).bearer_auth("hook-s3cret").body(format!("call {n}"))).await })
        })
        .collect();
    let mut accepted = HashSet::new();
    for call in calls {
        let (status, body) = call.await.unwrap();
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["job_id"], job_id.as_str());
        accepted.insert(body["instance_id"].as_str().unwrap().to_string());
    }
    assert_eq!(accepted.len(), 20);
    let instances = ended_instances(&fleet, &job_id, 20).await;
    assert_eq!(instances.len(), 20, "{instances:#?}");
    let mut bodies = HashSet::new();
    for instance in &instances {
        assert!(accepted.contains(instance["id"].as_str().unwrap()), "{instance}");
        assert_eq!(instance["status"], "success", "{instance}");
        let body = instance["returns"]["Body"].as_str().unwrap().to_string();
        bodies.insert(body);
    }
    assert_eq!(bodies, (0..20).map(|n| format!("call {n}")).collect::<HashSet<_>>());
    // The published data of the webhook holds the call, never its token.
    let one = instances[0]["id"].as_str().unwrap();
    let (_, runs) = fleet.get(&format!("/api/v1/instances/{one}/activities")).await;
    let text = runs.to_string();
    assert!(text.contains("remote_addr"), "{text}");
    assert!(!text.contains("hook-s3cret"), "{text}");
    let (_, job) = fleet.get(&format!("/api/v1/jobs/{job_id}")).await;
    assert_eq!(job["status"], "running", "a monitor job runs on: {job}");

    let (status, _) = fleet.post(&format!("/api/v1/jobs/{job_id}/cancel"), &json!({})).await;
    assert_eq!(status, 200);
    eventually("the monitor job to end canceled", Duration::from_secs(30), || async {
        let (_, job) = fleet.get(&format!("/api/v1/jobs/{job_id}")).await;
        (job["status"] == "canceled").then_some(())
    })
    .await;
    assert_eq!(
        call(&fleet, "deployed", Some("hook-s3cret"), "late".into()).await.0,
        409
    );
    let logs = fleet.logs();
    assert!(!logs.contains("hook-s3cret"), "{logs}");
}

// Exactly once across a holder's death (issue text: "each trigger ... becomes exactly one
// instance: none lost and none doubled when the runbook server holding the monitor dies and
// another takes it over"). The lease is 10 s, so a takeover comes 10 to 12 s after the kill.

/// A `monitor_date_time` runbook `name` firing every second under `missed`; each instance appends
/// its scheduled time to `log` and returns it as `Tick`.
fn ticker(name: &str, missed: &str, log: &Path) -> String {
    format!(
        r#"format: 1
runbook: {name}
activities:
  - id: tick
    type: monitor_date_time
    properties: {{ every: 1s, missed: {missed} }}
  - id: log
    type: append_line
    properties: {{ file: "{log}", text: "{{{{ tick.scheduled_for }}}}" }}
  - id: out
    type: return_data
    properties: {{ values: {{ Tick: "{{{{ tick.scheduled_for }}}}" }} }}
links:
  - {{ from: tick, to: log }}
  - {{ from: log, to: out }}
returns:
  - {{ name: Tick, type: string }}
"#,
        log = log.display()
    )
}

/// A `monitor_file` runbook on `folder`; each instance appends the new file's name to `log` and
/// returns it as `Name`.
fn dropbox(folder: &Path, log: &Path) -> String {
    format!(
        r#"format: 1
runbook: Dropbox
activities:
  - id: drop
    type: monitor_file
    properties: {{ folder: "{folder}", settle: 200ms, interval: 500ms }}
  - id: log
    type: append_line
    properties: {{ file: "{log}", text: "{{{{ drop.name }}}}" }}
  - id: out
    type: return_data
    properties: {{ values: {{ Name: "{{{{ drop.name }}}}" }} }}
links:
  - {{ from: drop, to: log }}
  - {{ from: log, to: out }}
returns:
  - {{ name: Name, type: string }}
"#,
        folder = folder.display(),
        log = log.display()
    )
}

/// Starts a job of monitor runbook `path` and waits until it runs; its id.
async fn start_monitor(fleet: &Fleet, path: &str) -> String {
    let (status, job) = fleet.post("/api/v1/jobs", &json!({ "runbook_path": path })).await;
    assert_eq!(status, 201, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    job_where(fleet, &id, "running", |job| job["status"] == "running").await;
    id
}

/// Job `id` once `holds` is true of it (30 s at most; `what` names the wait).
async fn job_where(fleet: &Fleet, id: &str, what: &str, holds: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, job) = fleet.get(&format!("/api/v1/jobs/{id}")).await;
        assert_eq!(status, 200, "{job}");
        if holds(&job) {
            return job;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} not {what} in 30 s: {job}\n{}",
            fleet.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Cancels monitor job `id` and waits until it and every instance of it have ended.
async fn cancel_monitor(fleet: &Fleet, id: &str) {
    let (status, body) = fleet.post(&format!("/api/v1/jobs/{id}/cancel"), &json!({})).await;
    assert_eq!(status, 200, "{body}");
    job_where(fleet, id, "canceled", |job| job["status"] == "canceled").await;
    eventually(
        "the canceled job's instances to end",
        Duration::from_secs(30),
        || async {
            let running = instances(fleet, id).await.iter().any(|i| i["status"] == "running");
            (!running).then_some(())
        },
    )
    .await;
}

/// Every instance of job `id`.
async fn instances(fleet: &Fleet, id: &str) -> Vec<Value> {
    let (status, body) = fleet.get(&format!("/api/v1/instances?job_id={id}&limit=500")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["next_offset"].is_null(), "more than one page of instances");
    body["items"].as_array().cloned().unwrap_or_default()
}

/// Every trigger and note of job `id`, oldest first (all pages).
async fn triggers(fleet: &Fleet, id: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut after = 0;
    loop {
        let (status, body) = fleet
            .get(&format!("/api/v1/jobs/{id}/triggers?after={after}&limit=500"))
            .await;
        assert_eq!(status, 200, "{body}");
        items.extend(body["items"].as_array().cloned().unwrap_or_default());
        match body["next_after"].as_i64() {
            Some(next) => after = next,
            None => return items,
        }
    }
}

/// The keys of the triggers (not the notes) of job `id`.
async fn fired_keys(fleet: &Fleet, id: &str) -> Vec<String> {
    let all = triggers(fleet, id).await;
    all.iter()
        .filter(|t| t["note"].is_null())
        .map(|t| t["key"].as_str().unwrap().to_string())
        .collect()
}

/// The lines of `file` (none when it does not exist yet).
fn lines(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Checks that each trigger of job `id` became exactly one instance, and each instance acted once:
/// the triggers' instances are distinct and are exactly the job's instances; `log` holds no line
/// twice; each instance that succeeded returned `field` (its trigger's value) and wrote it to
/// `log`. An instance that did not succeed (canceled with the job, or interrupted by the kill
/// mid-append) may have left no line. The values returned, in trigger order.
async fn check_one_instance_each(fleet: &Fleet, id: &str, field: &str, log: &Path) -> Vec<String> {
    let all = triggers(fleet, id).await;
    let fired: Vec<&Value> = all.iter().filter(|t| t["note"].is_null()).collect();
    let keys: BTreeSet<&str> = fired.iter().map(|t| t["key"].as_str().unwrap()).collect();
    assert_eq!(keys.len(), fired.len(), "a trigger key recorded twice: {all:#?}");
    let by_instance: HashMap<String, &Value> = fired
        .iter()
        .map(|t| (t["instance_id"].as_str().expect("an instance").to_string(), *t))
        .collect();
    assert_eq!(
        by_instance.len(),
        fired.len(),
        "two triggers share an instance: {all:#?}"
    );

    let instances = instances(fleet, id).await;
    let found: BTreeSet<&str> = instances.iter().map(|i| i["id"].as_str().unwrap()).collect();
    let expected: BTreeSet<&str> = by_instance.keys().map(String::as_str).collect();
    assert_eq!(
        found, expected,
        "the job's instances are exactly its triggers' instances"
    );

    let written = lines(log);
    let mut seen = HashSet::new();
    for line in &written {
        assert!(seen.insert(line.as_str()), "{line} written twice: {written:#?}");
    }
    let mut returned = Vec::new();
    let mut unfinished = Vec::new();
    for instance in &instances {
        if instance["status"] != "success" {
            // Canceled with its job, or failed because the kill interrupted its append, which
            // is not run twice.
            let why = &instance["failed_activity"];
            let interrupted = instance["status"] == "failed" && why["id"] == "log" && why["error"] == "interrupted";
            assert!(instance["status"] == "canceled" || interrupted, "{instance}");
            unfinished.push(format!("{} {}", instance["id"], instance["status"]));
            continue;
        }
        let value = instance["returns"][field]
            .as_str()
            .expect("a returned value")
            .to_string();
        assert!(
            seen.contains(value.as_str()),
            "{value} returned but not written: {written:#?}"
        );
        returned.push(value);
    }
    let mut unique = returned.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), returned.len(), "a value returned twice: {returned:?}");
    eprintln!(
        "{id}: {} triggers, {} instances succeeded, not: {unfinished:?}",
        fired.len(),
        returned.len()
    );
    returned
}

/// Checks that `keys` (scheduled times) are every second from the first to the last, each once;
/// the times, sorted.
fn check_every_second(keys: &[String]) -> Vec<Timestamp> {
    let mut times: Vec<Timestamp> = keys
        .iter()
        .map(|k| k.parse().unwrap_or_else(|e| panic!("{k}: not a time: {e}")))
        .collect();
    times.sort();
    for pair in times.windows(2) {
        assert_eq!(
            pair[1].duration_since(pair[0]),
            SignedDuration::from_secs(1),
            "not one second apart (a gap or a double) in {keys:?}"
        );
    }
    times
}

/// Checks the ticks of a `missed: all` [`ticker`] job `id` that ran a while: every second fired
/// once, each one instance, no line of `log` twice and none that did not fire. The times fired.
async fn check_ticks(fleet: &Fleet, id: &str, log: &Path) -> Vec<Timestamp> {
    check_one_instance_each(fleet, id, "Tick", log).await;
    let keys = fired_keys(fleet, id).await;
    for line in lines(log) {
        assert!(keys.contains(&line), "{line} written but never fired: {keys:?}");
    }
    let times = check_every_second(&keys);
    assert!(times.len() >= 10, "{keys:?}");
    times
}

/// Waits until job `id` has fired a tick scheduled at or after `at`.
async fn ticked_past(fleet: &Fleet, id: &str, at: Timestamp) {
    eventually(&format!("a tick of {id} at {at}"), Duration::from_secs(30), || async {
        let keys = fired_keys(fleet, id).await;
        keys.iter()
            .any(|k| k.parse::<Timestamp>().is_ok_and(|t| t >= at))
            .then_some(())
    })
    .await;
}

/// Drops the files `names` into `folder`.
fn drop_files(folder: &Path, names: &[&str]) {
    for name in names {
        std::fs::write(folder.join(name), name).expect("drop a file");
    }
}

/// Waits until the monitor of job `id` fires for each of `names` (found in `log`).
async fn wait_fired(log: &Path, names: &[&str]) {
    eventually(&format!("{names:?} to fire"), Duration::from_secs(30), || async {
        let written = lines(log);
        names.iter().all(|n| written.iter().any(|l| l == n)).then_some(())
    })
    .await;
}

/// Waits until a file monitor watches `folder`: a file recorded in its first listing fires
/// nothing, so `ready-N` files are dropped, one a second, until one fires. Their names.
async fn wait_watching(folder: &Path, log: &Path) -> Vec<String> {
    let mut dropped = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let name = format!("ready-{}", dropped.len());
        drop_files(folder, &[&name]);
        dropped.push(name);
        tokio::time::sleep(Duration::from_secs(1)).await;
        if lines(log).iter().any(|l| l.starts_with("ready-")) {
            return dropped;
        }
        assert!(
            Instant::now() < deadline,
            "the file monitor never fired for {dropped:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitors_fire_exactly_once_across_a_runbook_server_killed_and_taken_over() {
    let Some(mut fleet) = Fleet::postgres() else { return };
    fleet.start_management().await;
    fleet.start_web().await;
    // rb1 alone first, so it holds both monitors; rb2 then takes them over.
    fleet.start_runbook_server("rb1", 50);
    fleet.wait_servers_alive(&["rb1"]).await;
    let (ticks, drops, inbox) = (fleet.path("ticks.log"), fleet.path("drops.log"), fleet.path("inbox"));
    std::fs::create_dir(&inbox).unwrap();
    fleet
        .push("ticker.runbook.yaml", &ticker("Ticker", "all", &ticks), "")
        .await;
    fleet.push("dropbox.runbook.yaml", &dropbox(&inbox, &drops), "").await;
    let ticker_job = start_monitor(&fleet, "Ticker").await;
    let dropbox_job = start_monitor(&fleet, "Dropbox").await;
    for job in [&ticker_job, &dropbox_job] {
        job_where(&fleet, job, "held by rb1", |j| j["claimed_by"] == "rb1").await;
    }
    let ready = wait_watching(&inbox, &drops).await;
    fleet.start_runbook_server("rb2", 50);
    fleet.wait_servers_alive(&["rb1", "rb2"]).await;

    drop_files(&inbox, &["before-1", "before-2", "before-3"]);
    wait_fired(&drops, &["before-1", "before-2", "before-3"]).await;
    ticked_past(&fleet, &ticker_job, Timestamp::now() + SignedDuration::from_secs(1)).await;
    // Dropped just before the kill: not settled yet, rb2 finds them by comparing the folder with
    // the checkpoint.
    drop_files(&inbox, &["unsettled-1", "unsettled-2"]);
    fleet.proc("rb1").kill9();
    let killed_at = Timestamp::now();
    drop_files(&inbox, &["down-1", "down-2", "down-3"]);

    for job in [&ticker_job, &dropbox_job] {
        job_where(&fleet, job, "taken over by rb2", |j| j["claimed_by"] == "rb2").await;
    }
    drop_files(&inbox, &["after-1", "after-2", "after-3"]);
    let named = [
        "before-1",
        "before-2",
        "before-3",
        "unsettled-1",
        "unsettled-2",
        "down-1",
        "down-2",
        "down-3",
        "after-1",
        "after-2",
        "after-3",
    ];
    wait_fired(&drops, &named).await;
    ticked_past(&fleet, &ticker_job, Timestamp::now() + SignedDuration::from_secs(6)).await;
    cancel_monitor(&fleet, &ticker_job).await;
    cancel_monitor(&fleet, &dropbox_job).await;

    let times = check_ticks(&fleet, &ticker_job, &ticks).await;
    let (first, last) = (times[0], times[times.len() - 1]);
    assert!(
        first < killed_at && killed_at + SignedDuration::from_secs(12) < last,
        "the ticks {first}..{last} span the kill at {killed_at} and the takeover"
    );

    check_one_instance_each(&fleet, &dropbox_job, "Name", &drops).await;
    let fired = fired_keys(&fleet, &dropbox_job).await;
    let mut written = lines(&drops);
    written.sort();
    // Each file dropped fired once, but a `ready-N` recorded in the monitor's first listing,
    // which fires nothing.
    let mut expected: Vec<String> = named.iter().map(|n| n.to_string()).collect();
    expected.extend(ready.into_iter().filter(|r| written.contains(r)));
    expected.sort();
    assert_eq!(written, expected, "each file dropped fired once (triggers: {fired:#?})");
    assert_eq!(fired.len(), expected.len(), "{fired:#?}");
}

/// `scorch up` on SQLite killed with SIGKILL and started again on the same data directory after a
/// few seconds down: a `missed: all` monitor fires each second it was down, once; a `missed:
/// skip` monitor records a note for each instead, and no instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_monitors_apply_their_missed_policy_across_scorch_up_killed_and_restarted() {
    let mut fleet = Fleet::sqlite();
    // The same runbook server name after the restart, as a supervised `scorch up` has.
    fleet.env.push(("SCORCH_RUNBOOK_SERVER_NAME".into(), "up".into()));
    fleet.start_up("up").await;
    let (all_log, skip_log) = (fleet.path("all.log"), fleet.path("skip.log"));
    fleet
        .push("all.runbook.yaml", &ticker("All", "all", &all_log), "")
        .await;
    fleet
        .push("skip.runbook.yaml", &ticker("Skip", "skip", &skip_log), "")
        .await;
    let all_job = start_monitor(&fleet, "All").await;
    let skip_job = start_monitor(&fleet, "Skip").await;
    for job in [&all_job, &skip_job] {
        ticked_past(&fleet, job, Timestamp::now() + SignedDuration::from_secs(2)).await;
    }

    fleet.proc("up").kill9();
    let killed_at = Timestamp::now();
    fleet.procs.retain(|p| p.name != "up");
    tokio::time::sleep(Duration::from_secs(4)).await;
    fleet.start_up("up").await;
    let restarted_at = Timestamp::now();
    for job in [&all_job, &skip_job] {
        ticked_past(&fleet, job, restarted_at + SignedDuration::from_secs(3)).await;
    }
    cancel_monitor(&fleet, &all_job).await;
    cancel_monitor(&fleet, &skip_job).await;

    let times = check_ticks(&fleet, &all_job, &all_log).await;
    let down = |t: &Timestamp| killed_at < *t && *t + SignedDuration::from_secs(1) < restarted_at;
    assert!(
        times.iter().filter(|t| down(t)).count() >= 3,
        "missed: all fired the seconds it was down ({killed_at}..{restarted_at}): {times:?}"
    );

    // missed: skip: the seconds down are notes, not instances; together they are every second.
    check_one_instance_each(&fleet, &skip_job, "Tick", &skip_log).await;
    let all = triggers(&fleet, &skip_job).await;
    let mut keys = Vec::new();
    let mut noted = Vec::new();
    for item in &all {
        let key = item["key"].as_str().unwrap();
        match item["note"].as_str() {
            None => keys.push(key.to_string()),
            Some(note) => {
                let time = key.strip_prefix("missed ").unwrap_or_else(|| panic!("{item}"));
                assert!(note.contains("policy skip"), "{item}");
                assert!(item["instance_id"].is_null(), "{item}");
                noted.push(time.to_string());
            }
        }
    }
    let noted_times = check_every_second(&noted);
    assert!(noted_times.len() >= 3, "a note per second down: {all:#?}");
    let second = SignedDuration::from_secs(1);
    assert!(
        noted_times
            .iter()
            .all(|t| killed_at - second < *t && *t < restarted_at + second),
        "only the seconds down ({killed_at}..{restarted_at}) are noted: {all:#?}"
    );
    keys.extend(noted);
    check_every_second(&keys);
}

/// A PostgreSQL restart (on a server of the test's own: restarting the shared one would break
/// other tests) under `scorch up`: a `missed: all` monitor fires each second once, through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fails: a trigger recorded during the restart gets an instance id but no instance (bug open)"]
async fn a_time_monitor_fires_each_second_once_across_a_postgres_restart() {
    let server = match OwnPostgres::start() {
        Ok(server) => Arc::new(server),
        Err(why) => {
            return peer_missing(
                &format!("a PostgreSQL cluster of the test's own ({why})"),
                "run as root",
            );
        }
    };
    // Dropped before the server, which drops its database.
    let mut fleet = Fleet::postgres_on(&server).expect("a database on the test's own server");
    fleet.start_up("up").await;
    let log = fleet.path("ticks.log");
    fleet
        .push("ticker.runbook.yaml", &ticker("Ticker", "all", &log), "")
        .await;
    let job = start_monitor(&fleet, "Ticker").await;
    ticked_past(&fleet, &job, Timestamp::now() + SignedDuration::from_secs(3)).await;
    let restarting = Timestamp::now();
    let restarted = server.clone();
    tokio::task::spawn_blocking(move || restarted.restart())
        .await
        .expect("the restart's thread");
    eventually(
        "the web service to reach the database again",
        Duration::from_secs(30),
        || async { (fleet.get(&format!("/api/v1/jobs/{job}")).await.0 == 200).then_some(()) },
    )
    .await;
    ticked_past(&fleet, &job, Timestamp::now() + SignedDuration::from_secs(5)).await;
    cancel_monitor(&fleet, &job).await;
    let times = check_ticks(&fleet, &job, &log).await;
    assert!(times[0] < restarting, "{times:?}");
}
