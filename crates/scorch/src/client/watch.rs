//! `scorch job watch ID`: follows a job live through the web service. Activity runs are shown
//! as they start and end, and what they print (their live output) as it comes, each line
//! prefixed by the activity's name and stream; the command ends when the job does, with the exit
//! code of `scorch job start --wait`. A job already ended is shown whole.
//!
//! The event stream (`/api/v1/events`) says when to look again; what is shown is always read
//! from the API, so a missed or lagged event costs only a moment's delay (a slow poll covers it).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use serde_json::Value;

use super::connect;
use super::http::{Api, ClientError, FAILED};
use crate::cli::Connection;

/// How long to wait for an event before looking again anyway.
const POLL: Duration = Duration::from_secs(2);
/// Events read at most before the command looks again.
const MAX_EVENT_BYTES: usize = 64 * 1024;

pub async fn watch(id: &str, conn: &Connection) -> u8 {
    match follow(id.trim(), conn).await {
        Ok(code) => code,
        Err(e) => e.report(),
    }
}

/// What has been shown of one activity run.
#[derive(Default)]
struct Shown {
    name: String,
    started: bool,
    ended: bool,
    /// Where its output continues.
    offset: u64,
    /// A line not yet ended, per stream.
    partial: HashMap<String, String>,
}

async fn follow(id: &str, conn: &Connection) -> Result<u8, ClientError> {
    let api = connect::web_service(conn)?;
    // Listening before the first look, so nothing that happens after it goes unheard.
    let mut events = Events {
        response: api.open_stream(&["api", "v1", "events"]).await?,
        buffer: String::new(),
    };
    let mut runs: BTreeMap<u64, Shown> = BTreeMap::new();
    // Runs that printed since the last look, as the events tell.
    let mut printed = HashSet::new();
    // A short id is resolved by the first look; the full one then matches the events.
    let mut id = id.to_string();
    loop {
        let job: Value = api.get(&["api", "v1", "jobs", &id], &[]).await?;
        if let Some(full) = job["id"].as_str() {
            id = full.to_string();
        }
        let ended = job["status"]
            .as_str()
            .is_some_and(|s| !matches!(s, "pending" | "running"));
        let instance = job["instance_id"].as_str().map(str::to_string);
        if let Some(instance) = &instance {
            show_runs(&api, instance, &mut runs, |seq| ended || printed.contains(&seq)).await?;
        }
        if ended {
            return Ok(outcome(&api, &job, instance.as_deref()).await);
        }
        printed.clear();
        events.wait(&id, instance.as_deref(), &mut printed).await;
    }
}

/// Shows what is new of the instance's runs: starts, output, ends. A run's output is read
/// while it runs, once it has ended, and later only where `printed_since` says (a runbook
/// server writes output in batches, so some may land just after the run's end; all of it
/// before the job's end).
async fn show_runs(
    api: &Api,
    instance: &str,
    runs: &mut BTreeMap<u64, Shown>,
    printed_since: impl Fn(u64) -> bool,
) -> Result<(), ClientError> {
    let list: Value = match api.get(&["api", "v1", "instances", instance, "activities"], &[]).await {
        Ok(list) => list,
        // The job has its instance's id a moment before the instance is recorded.
        Err(e) if e.code.as_deref() == Some("not_found") => return Ok(()),
        Err(e) => return Err(e),
    };
    for run in list["items"].as_array().into_iter().flatten() {
        let Some(seq) = run["seq"].as_u64() else { continue };
        let shown = runs.entry(seq).or_default();
        if shown.ended {
            if printed_since(seq) {
                show_output(api, instance, seq, shown).await?;
                flush_partial(shown);
            }
            continue;
        }
        shown.name = run["name"].as_str().unwrap_or_default().to_string();
        let status = run["status"].as_str().unwrap_or_default();
        if !shown.started {
            shown.started = true;
            out!("[{}] started", shown.name);
        }
        show_output(api, instance, seq, shown).await?;
        if status != "running" {
            shown.ended = true;
            flush_partial(shown);
            let mut line = format!("[{}] {status}", shown.name);
            if let Some(ms) = run["duration_ms"].as_i64() {
                line.push_str(&format!(" ({ms} ms)"));
            }
            if let Some(error) = run["error"].as_str() {
                line.push_str(&format!(": {error}"));
            }
            out!("{line}");
        }
    }
    Ok(())
}

/// Prints the last lines of an ended run that did not end in a newline.
fn flush_partial(shown: &mut Shown) {
    for (stream, rest) in std::mem::take(&mut shown.partial) {
        if !rest.is_empty() {
            out!("[{}] {stream}: {rest}", shown.name);
        }
    }
}

/// Prints the run's output stored since it was last read, whole lines only.
async fn show_output(api: &Api, instance: &str, seq: u64, shown: &mut Shown) -> Result<(), ClientError> {
    loop {
        let seq_text = seq.to_string();
        let query = [("offset", shown.offset.to_string())];
        let page: Value = api
            .get(
                &["api", "v1", "instances", instance, "activities", &seq_text, "output"],
                &query,
            )
            .await?;
        for item in page["items"].as_array().into_iter().flatten() {
            let stream = item["stream"].as_str().unwrap_or("stdout").to_string();
            let partial = shown.partial.entry(stream.clone()).or_default();
            partial.push_str(item["text"].as_str().unwrap_or_default());
            while let Some(newline) = partial.find('\n') {
                let line: String = partial.drain(..=newline).collect();
                out!("[{}] {stream}: {}", shown.name, line.trim_end_matches(['\n', '\r']));
            }
        }
        shown.offset = page["next_offset"].as_u64().unwrap_or(shown.offset);
        if page["more"] != true {
            return Ok(());
        }
    }
}

/// The job's last line, and the exit code `job start --wait` gives: 0 when its instance ended
/// in success or warning, 1 otherwise.
async fn outcome(api: &Api, job: &Value, instance: Option<&str>) -> u8 {
    let job_status = job["status"].as_str().unwrap_or_default();
    let instance_status = match instance {
        Some(instance) => match api.get::<Value>(&["api", "v1", "instances", instance], &[]).await {
            Ok(detail) => detail["status"].as_str().unwrap_or_default().to_string(),
            Err(e) => return e.report(),
        },
        None => "never started".to_string(),
    };
    out!(
        "job {} {job_status}: {instance_status}",
        job["id"].as_str().unwrap_or_default()
    );
    match instance_status.as_str() {
        "success" | "warning" => 0,
        _ => FAILED,
    }
}

/// The event stream, read only to know when to look again.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    /// Returns on an event about the job or its instance, on `lagged`, or after [`POLL`],
    /// adding to `printed` the runs an `output` event names. A stream that broke is not read
    /// again: the poll then does its work.
    async fn wait(&mut self, job: &str, instance: Option<&str>, printed: &mut HashSet<u64>) {
        let deadline = tokio::time::Instant::now() + POLL;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(woken) = concerns(&block, job, instance) {
                    printed.extend(woken);
                    return;
                }
            }
            if self.buffer.len() > MAX_EVENT_BYTES {
                self.buffer.clear();
            }
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(_) => return tokio::time::sleep_until(deadline).await,
                Err(_) => return,
            }
        }
    }
}

/// Whether an event block names the job or its instance (or says events were skipped): `None`
/// when not, else the run an `output` event names, if it does.
fn concerns(block: &str, job: &str, instance: Option<&str>) -> Option<Option<u64>> {
    let mut event = "";
    let mut data = String::new();
    for line in block.lines() {
        if let Some(value) = line.strip_prefix("event:") {
            event = value.trim();
        } else if let Some(value) = line.strip_prefix("data:") {
            data.push_str(value.trim());
        }
    }
    if event == "lagged" {
        return Some(None);
    }
    let data = serde_json::from_str::<Value>(&data).ok()?;
    let named = |key: &str, id: Option<&str>| id.is_some_and(|id| data[key].as_str() == Some(id));
    let ours = match event {
        "job" => named("id", Some(job)),
        "instance" => named("job_id", Some(job)),
        "activity" | "output" => named("instance_id", instance),
        _ => false,
    };
    ours.then(|| data["seq"].as_u64().filter(|_| event == "output"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_about_the_job_or_its_instance_wake_the_watch() {
        let block = |event: &str, data: &str| format!("event: {event}\ndata: {data}\n\n");
        let instance = Some("i-1");
        assert_eq!(concerns(&block("job", r#"{"id":"j-1"}"#), "j-1", None), Some(None));
        let started = block("instance", r#"{"id":"i-1","job_id":"j-1"}"#);
        assert_eq!(concerns(&started, "j-1", None), Some(None));
        let printed = block("output", r#"{"instance_id":"i-1","seq":2}"#);
        assert_eq!(concerns(&printed, "j-1", instance), Some(Some(2)));
        let ran = block("activity", r#"{"instance_id":"i-1","seq":2}"#);
        assert_eq!(concerns(&ran, "j-1", instance), Some(None));
        assert_eq!(
            concerns(&block("lagged", r#"{"missed":3}"#), "j-1", instance),
            Some(None)
        );
        assert_eq!(
            concerns(&block("output", r#"{"instance_id":"i-2"}"#), "j-1", instance),
            None
        );
        assert_eq!(concerns(&printed, "j-1", None), None);
        assert_eq!(concerns(&block("job", r#"{"id":"j-2"}"#), "j-1", instance), None);
        assert_eq!(concerns(": keep-alive\n\n", "j-1", instance), None);
        assert_eq!(concerns(&block("job", "not json"), "j-1", instance), None);
    }
}
