//! Live output: what a running `run_script` prints reaches the API and the event stream while
//! it runs, masked, bounded, authorized like its instance, and stays once the job has ended.

use std::sync::atomic::Ordering;
use std::time::Duration;

use scorch_activity::live::TRUNCATED_MARKER;
use scorch_store::Role;
use scorch_store::prelude::*;
use serde_json::{Value, json};

use super::Web;
use super::events::EventStream;

const WITHIN: Duration = Duration::from_secs(30);

/// A runbook in `Ops` whose one activity runs `script` with bash.
fn printing(name: &str, script: &str) -> String {
    let script = serde_json::to_string(script).unwrap();
    format!(
        "format: 1\nrunbook: {name}\nfolder: Ops\nactivities:\n  - id: print\n    type: run_script\n    \
         properties: {{ script: {script} }}\n"
    )
}

async fn start(web: &Web, token: &str, runbook: uuid::Uuid) -> (String, String) {
    let (status, job) = web
        .post("/api/v1/jobs", token, &json!({"runbook_id": runbook.to_string()}))
        .await;
    assert_eq!(status, 201, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let job = web
        .poll(&format!("/api/v1/jobs/{id}"), token, WITHIN, |j| {
            j["instance_id"].is_string()
        })
        .await;
    (id, job["instance_id"].as_str().unwrap().to_string())
}

/// Every page of run `seq`'s output from `offset`: the items and where to go on from.
async fn read_all(web: &Web, token: &str, instance: &str, seq: u64, mut offset: u64) -> (Vec<Value>, u64) {
    let mut items = Vec::new();
    loop {
        let path = format!("/api/v1/instances/{instance}/activities/{seq}/output?offset={offset}");
        let (status, page) = web.get(&path, token).await;
        assert_eq!(status, 200, "{page}");
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        offset = page["next_offset"].as_u64().unwrap();
        if page["more"] != true {
            return (items, offset);
        }
    }
}

fn text(items: &[Value]) -> String {
    items.iter().map(|i| i["text"].as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_script_is_seen_line_by_line_before_it_ends_with_secrets_masked() {
    let web = Web::start().await;
    web.sqlite.set_variable("Password", "hunter2-xyz", true).await.unwrap();
    let go_on = web.dir.path().join("go-on");
    let script = format!(
        "echo 'first line'; echo 'pw={{{{ var.Password }}}}'; echo 'careful' >&2; \
         while [ ! -f '{}' ]; do sleep 0.05; done; echo 'last line'",
        go_on.display()
    );
    let runbook = web.push(&printing("Printer", &script)).await;
    let admin = web.user("root", true, &[]).await;
    let outsider = web.user("olga", false, &[("Elsewhere", Role::Viewer)]).await;
    let mut events = EventStream::open(&web, &admin).await;
    let mut outsider_events = EventStream::open(&web, &outsider).await;
    let (job, instance) = start(&web, &admin, runbook).await;

    // The script waits for the file: what arrives now arrived while it ran.
    let seen = events
        .until(WITHIN, |e, d| e == "output" && d["instance_id"] == instance.as_str())
        .await;
    let output = &seen.last().unwrap().1;
    assert_eq!(output["runbook_id"], runbook.to_string());
    let seq = output["seq"].as_u64().unwrap();
    let mut offset = 0;
    let mut items = Vec::new();
    while !text(&items).contains("pw=") || !text(&items).contains("careful") {
        let (more, next) = read_all(&web, &admin, &instance, seq, offset).await;
        items.extend(more);
        offset = next;
        if !text(&items).contains("careful") {
            events
                .until(WITHIN, |e, d| e == "output" && d["instance_id"] == instance.as_str())
                .await;
        }
    }
    let (_, job_now) = web.get(&format!("/api/v1/jobs/{job}"), &admin).await;
    assert_eq!(job_now["status"], "running", "the output came before the end");
    let stdout: String = items
        .iter()
        .filter(|i| i["stream"] == "stdout")
        .map(|i| i["text"].as_str().unwrap())
        .collect();
    assert_eq!(stdout, "first line\npw=******\n");
    assert!(
        items
            .iter()
            .any(|i| i["stream"] == "stderr" && i["text"] == "careful\n"),
        "{items:?}"
    );
    assert!(!text(&items).contains("hunter2"));

    // Someone who cannot see the runbook neither reads nor hears of its output.
    let path = format!("/api/v1/instances/{instance}/activities/{seq}/output");
    let (status, refused) = web.get(&path, &outsider).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{refused}"
    );
    assert!(outsider_events.next(Duration::from_millis(300)).await.is_none());

    std::fs::write(&go_on, "").unwrap();
    web.poll(&format!("/api/v1/jobs/{job}"), &admin, WITHIN, |j| {
        j["status"] == "completed"
    })
    .await;
    // Kept after the end, from where the reader was.
    let (rest, _) = read_all(&web, &admin, &instance, seq, offset).await;
    assert_eq!(text(&rest), "last line\n");
    let (all, _) = read_all(&web, &admin, &instance, seq, 0).await;
    assert_eq!(text(&all).lines().count(), 4);

    // Bad requests say what was wrong.
    for (path, status) in [
        (format!("/api/v1/instances/{instance}/activities/first/output"), 400),
        (
            format!("/api/v1/instances/{instance}/activities/0/output?offset=-1"),
            400,
        ),
        ("/api/v1/instances/nope/activities/0/output".to_string(), 400),
        (
            format!("/api/v1/instances/{}/activities/0/output", uuid::Uuid::now_v7()),
            404,
        ),
    ] {
        let (got, body) = web.get(&path, &admin).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(
            body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
    let anonymous = web.request(reqwest::Method::GET, &path, None).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    web.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_past_one_mebibyte_is_cut_with_one_marker() {
    let web = Web::start().await;
    // 1.5 MiB of 64-byte lines, then a line that must not be kept.
    let script = "for i in $(seq 24576); do printf '%063d\\n' $i; done; echo 'after the bound'";
    let runbook = web.push(&printing("Chatty", script)).await;
    let admin = web.user("root", true, &[]).await;
    let (job, instance) = start(&web, &admin, runbook).await;
    web.poll(&format!("/api/v1/jobs/{job}"), &admin, WITHIN, |j| {
        j["status"] == "completed"
    })
    .await;
    let (items, end) = read_all(&web, &admin, &instance, 0, 0).await;
    let all = text(&items);
    assert!(all.ends_with(TRUNCATED_MARKER), "{}", &all[all.len() - 200..]);
    assert_eq!(all.matches(TRUNCATED_MARKER).count(), 1);
    assert_eq!(all.len() - TRUNCATED_MARKER.len(), 1024 * 1024);
    assert_eq!(end, all.len() as u64);
    assert!(!all.contains("after the bound"));
    assert!(items.iter().all(|i| i["text"].as_str().unwrap().len() <= 16 * 1024));
    web.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_database_does_not_hold_a_printing_program_back() {
    let web = Web::start().await;
    let done = web.dir.path().join("done");
    // 2 MiB of lines, then a mark that the program got to its end.
    let script = format!("yes 'a line of output' | head -c 2097152; touch '{}'", done.display());
    let runbook = web.push(&printing("Stalled", &script)).await;
    let admin = web.user("root", true, &[]).await;
    web.store.stall_output.store(true, Ordering::SeqCst);
    let (job, instance) = start(&web, &admin, runbook).await;
    let deadline = tokio::time::Instant::now() + WITHIN;
    while !done.exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the program was held back by the output's writes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (items, _) = read_all(&web, &admin, &instance, 0, 0).await;
    assert!(items.is_empty(), "nothing was written while the database stalled");
    web.store.stall_output.store(false, Ordering::SeqCst);
    web.poll(&format!("/api/v1/jobs/{job}"), &admin, WITHIN, |j| {
        j["status"] == "completed"
    })
    .await;
    let all = web
        .poll(
            &format!("/api/v1/instances/{instance}/activities/0/output?offset=0"),
            &admin,
            WITHIN,
            |page| page["items"].as_array().is_some_and(|i| !i.is_empty()),
        )
        .await;
    assert_eq!(
        all["items"][0]["text"].as_str().unwrap().lines().next(),
        Some("a line of output")
    );
    let (items, _) = read_all(&web, &admin, &instance, 0, 0).await;
    assert!(text(&items).ends_with(TRUNCATED_MARKER));
    web.stop().await;
}
