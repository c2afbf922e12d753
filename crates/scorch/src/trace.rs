//! The tester's readable live trace: each run as it starts and ends, coloured on a terminal.

use std::io::IsTerminal;

use scorch_activity::Status;
use scorch_engine::{Event, InstanceStatus, RunRecord, RunState};
use serde_json::{Map, Value};
use tokio::sync::mpsc::UnboundedReceiver;

pub struct Trace {
    colour: bool,
}

const GREEN: &str = "32";
const YELLOW: &str = "33";
const RED: &str = "31";
const DIM: &str = "2";

impl Trace {
    #[allow(clippy::disallowed_methods, reason = "the binary reads the environment: NO_COLOR")]
    pub fn new() -> Self {
        Self {
            colour: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Prints events until the engine drops its sender.
    pub async fn follow(self, mut events: UnboundedReceiver<Event>) {
        while let Some(event) = events.recv().await {
            match event {
                Event::Started {
                    seq,
                    activity_id,
                    name,
                    attempt,
                } => {
                    let attempt = if attempt > 1 {
                        format!(" attempt {attempt}")
                    } else {
                        String::new()
                    };
                    let label = if *name == *activity_id {
                        name.to_string()
                    } else {
                        format!("{name} ({activity_id})")
                    };
                    out!("{} {label}{attempt}", self.paint(DIM, &format!("#{seq:<3} start ")));
                }
                Event::Finished { record, replayed } => self.finished(&record, replayed),
            }
        }
    }

    fn finished(&self, r: &RunRecord, replayed: bool) {
        let (status, code) = match r.state {
            RunState::Finished(Status::Success) => ("success", GREEN),
            RunState::Finished(Status::Warning) => ("warning", YELLOW),
            RunState::Finished(Status::Failed) => ("failed", RED),
            RunState::Running => ("running", DIM),
        };
        let ms = r
            .ended_at
            .map(|e| e.duration_since(r.started_at).as_millis())
            .unwrap_or_default();
        let note = if replayed { " (from the journal)" } else { "" };
        out!(
            "{} {} {} {ms} ms, attempt {}{note}",
            self.paint(DIM, &format!("#{:<3} end   ", r.seq)),
            r.activity_id,
            self.paint(code, status),
            r.attempt
        );
        for (i, row) in r.rows.iter().enumerate().take(20) {
            let prefix = if r.rows.len() > 1 {
                format!("row {}: ", i + 1)
            } else {
                String::new()
            };
            out!("       {prefix}{}", fields(row));
        }
        if r.rows.len() > 20 {
            out!("       ... {} more rows", r.rows.len() - 20);
        }
        if !r.error.is_empty() {
            out!("       {} {}", self.paint(code, "error:"), r.error);
        }
    }

    pub fn summary(&self, status: InstanceStatus, returns: &Map<String, Value>, problems: &[String], runs: usize) {
        let code = match status {
            InstanceStatus::Success => GREEN,
            InstanceStatus::Warning => YELLOW,
            _ => RED,
        };
        out!();
        for p in problems {
            out!("{} {p}", self.paint(RED, "problem:"));
        }
        out!(
            "instance {} after {runs} activity runs",
            self.paint(code, status.as_str())
        );
        if !returns.is_empty() {
            out!("returns: {}", fields(returns));
        }
    }
}

/// `name=value` pairs on one line, long values shortened.
fn fields(row: &Map<String, Value>) -> String {
    row.iter()
        .map(|(k, v)| {
            let text = scorch_model::template::value_text(v).replace('\n', "\\n");
            let short: String = text.chars().take(120).collect();
            let ellipsis = if text.chars().count() > 120 { "..." } else { "" };
            format!("{k}={short}{ellipsis}")
        })
        .collect::<Vec<_>>()
        .join("  ")
}
