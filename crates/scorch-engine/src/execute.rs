//! Runs one token: the activity's attempts (one, or a whole loop), each journaled before the
//! scheduler sees it; replays attempts the journal already holds.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use jiff::Timestamp;
use scorch_activity::{ActivityContext, ActivityError, ActivityOutput, Row, RunIds, Status};
use scorch_model::condition::any_holds;
use scorch_model::plan::{Flatten, Step};
use serde_json::Value;

use crate::catalog::JUNCTION;
use crate::data::{Path, PathScope, RunData, extend};
use crate::instance::{Shared, Stop, Token};
use crate::record::recorded_rows;
use crate::{Event, RunKey, RunRecord, RunState, keys};

/// What running a token produced: the last attempt, and problems to report on the instance.
pub(crate) struct Executed {
    pub run: Arc<RunData>,
    pub problems: Vec<String>,
}

pub(crate) async fn execute(shared: &Shared, token: &Token) -> Result<Executed, Stop> {
    let step = &shared.plan.steps[token.step];
    if !token.delay.is_zero() {
        tokio::select! {
            _ = tokio::time::sleep(token.delay) => {}
            _ = shared.cancel.cancelled() => {}
            _ = shared.drain.cancelled() => return Err(Stop::Drained),
        }
    }
    let loop_started = Timestamp::now();
    let mut problems = Vec::new();
    let mut attempt = 1u32;
    loop {
        let key = keys::attempt(token.key, attempt);
        let replayed = shared.replay.get(&key);
        if let Some(rec) = replayed
            && let RunState::Finished(status) = rec.state
        {
            let run = Arc::new(from_record(rec, status, attempt, loop_started));
            shared.emit(Event::Finished {
                record: rec.clone(),
                replayed: true,
            });
            match next_attempt(shared, step, token, &run, attempt, &mut problems) {
                LoopStep::Again => {
                    attempt += 1;
                    continue;
                }
                _ => return Ok(Executed { run, problems }),
            }
        }
        let seq = match replayed {
            Some(rec) => rec.seq,
            None => shared.next_seq(),
        };
        let started_at = Timestamp::now();
        let interrupted = replayed.is_some() && !step.idempotent;
        let mut output = if interrupted {
            ActivityOutput::failed("interrupted", Vec::new())
        } else {
            if !step.idempotent {
                let rec = record(
                    shared,
                    step,
                    seq,
                    key,
                    attempt,
                    RunState::Running,
                    "",
                    started_at,
                    None,
                    &[],
                );
                shared.journal.run_started(&rec).await?;
            }
            shared.emit(Event::Started {
                seq,
                activity_id: step.id.clone(),
                name: step.name.clone(),
                attempt,
            });
            run_attempt(shared, step, token, attempt).await
        };
        let ended_at = Timestamp::now();
        output.rows = flatten(&step.flatten, std::mem::take(&mut output.rows));
        let mut run = Arc::new(RunData {
            status: output.status,
            error: output.error,
            rows: output.rows,
            started_at,
            ended_at,
            attempt,
            loop_attempts: attempt,
            loop_duration_ms: ended_at.duration_since(loop_started).as_millis() as i64,
        });
        let decision = next_attempt(shared, step, token, &run, attempt, &mut problems);
        if let LoopStep::Exhausted(max) = decision
            && let Some(data) = Arc::get_mut(&mut run)
        {
            let note = format!("loop ended after {max} attempts without an exit condition holding");
            data.error = if data.error.is_empty() {
                note
            } else {
                format!("{}; {note}", data.error)
            };
        }
        let rec = record(
            shared,
            step,
            seq,
            key,
            attempt,
            RunState::Finished(run.status),
            &run.error,
            started_at,
            Some(ended_at),
            &run.rows,
        );
        if step.idempotent {
            shared.journal.idempotent_run_finished(&rec).await?;
        } else {
            shared.journal.run_finished(&rec).await?;
        }
        shared.emit(Event::Finished {
            record: rec,
            replayed: false,
        });
        match decision {
            LoopStep::Again => {
                // A draining server stops between attempts; the resumed loop goes on from here.
                let delay = step.looping.as_ref().map_or(Duration::ZERO, |l| l.delay);
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shared.cancel.cancelled() => return Ok(Executed { run, problems }),
                    _ = shared.drain.cancelled() => return Err(Stop::Drained),
                }
                attempt += 1;
            }
            _ => return Ok(Executed { run, problems }),
        }
    }
}

enum LoopStep {
    Done,
    Again,
    Exhausted(u32),
}

/// Decides whether a looping activity runs again, from its own latest attempt.
fn next_attempt(
    shared: &Shared,
    step: &Step,
    token: &Token,
    run: &Arc<RunData>,
    attempt: u32,
    problems: &mut Vec<String>,
) -> LoopStep {
    let Some(lp) = &step.looping else { return LoopStep::Done };
    if shared.cancel.is_cancelled() {
        return LoopStep::Done;
    }
    let rows: Vec<Option<usize>> = if run.rows.is_empty() {
        vec![None]
    } else {
        (0..run.rows.len()).map(Some).collect()
    };
    let mut holds = |conditions| {
        rows.iter().any(|&row| {
            let path = extend(&token.path, token.step, run, row);
            let scope = PathScope {
                facts: &shared.facts,
                path: &path,
            };
            any_holds(conditions, run.status, &scope).unwrap_or_else(|why| {
                problems.push(format!("activity '{}': loop condition: {why}", step.id));
                false
            })
        })
    };
    if holds(&lp.continue_when) {
        // "Do not exit" wins over exit conditions.
    } else if holds(&lp.exit_when) {
        return LoopStep::Done;
    }
    if attempt >= lp.max_attempts {
        LoopStep::Exhausted(lp.max_attempts)
    } else {
        LoopStep::Again
    }
}

/// One attempt: render the properties along the token's path and run the activity.
async fn run_attempt(shared: &Shared, step: &Step, token: &Token, attempt: u32) -> ActivityOutput {
    if step.type_name == JUNCTION {
        return junction_output(shared, step, &token.path);
    }
    let properties = {
        let scope = PathScope {
            facts: &shared.facts,
            path: &token.path,
        };
        match step.properties.render(&scope) {
            Ok(p) => p,
            Err(why) => return ActivityOutput::failed(format!("{}: {why}", step.type_name), Vec::new()),
        }
    };
    let Some(activity) = shared.registry.get(&step.type_name) else {
        return ActivityOutput::failed(
            format!(
                "activity type '{}' is not installed on this runbook server",
                step.type_name
            ),
            Vec::new(),
        );
    };
    let deadline = step.timeout.map(|t| tokio::time::Instant::now() + t);
    let ctx = ActivityContext {
        ids: RunIds {
            job_id: shared.job_id,
            instance_id: shared.instance_id,
            runbook: shared.plan.runbook.name.clone(),
            activity_id: step.id.to_string(),
            activity_name: step.name.to_string(),
            server: shared.facts.server.clone(),
            attempt,
        },
        cancel: shared.cancel.child_token(),
        deadline,
        parameters: shared.parameters.clone(),
        settings: shared.settings.clone(),
        secrets: shared.secrets.clone(),
        working_dir: shared.working_dir.clone(),
        runbooks: shared.invoker.clone(),
    };
    let run = AssertUnwindSafe(activity.run(&ctx, properties)).catch_unwind();
    let result = match deadline {
        Some(at) => tokio::time::timeout_at(at, run)
            .await
            .unwrap_or(Ok(Err(ActivityError::TimedOut))),
        None => run.await,
    };
    let output = match result {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => ActivityOutput::failed(e.to_string(), Vec::new()),
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            ActivityOutput::failed(format!("{}: the activity crashed: {why}", step.type_name), Vec::new())
        }
    };
    if step.type_name == "return_data" && output.status != Status::Failed {
        return typed_returns(shared, output);
    }
    output
}

/// Return values converted to their declared types.
fn typed_returns(shared: &Shared, mut output: ActivityOutput) -> ActivityOutput {
    for row in &mut output.rows {
        for (name, ty) in &shared.plan.returns {
            if let Some(v) = row.get_mut(name) {
                match ty.coerce(v) {
                    Ok(typed) => *v = typed,
                    Err(why) => {
                        return ActivityOutput::failed(
                            format!("return_data: return value '{name}': {why}"),
                            Vec::new(),
                        );
                    }
                }
            }
        }
    }
    output
}

/// A junction publishes the chosen branch's rows (or one row) and which branch that was.
fn junction_output(shared: &Shared, step: &Step, path: &Path) -> ActivityOutput {
    let junction = step.junction.as_ref();
    let branch = junction.and_then(|j| j.return_data_from);
    let mut rows = Vec::new();
    let selected = branch.or_else(|| path.as_ref().map(|f| f.step));
    let selected_name = selected
        .map(|s| shared.plan.steps[s].id.to_string())
        .unwrap_or_default();
    if let Some(b) = branch {
        let mut cur = path.as_deref();
        while let Some(f) = cur {
            if f.step == b {
                rows = f.run.rows.clone();
                break;
            }
            cur = f.parent.as_deref();
        }
    }
    if rows.is_empty() {
        rows.push(Row::new());
    }
    for row in &mut rows {
        row.insert("selected_branch".into(), Value::from(selected_name.as_str()));
    }
    ActivityOutput::rows(rows)
}

/// Joins multi-valued published data into one row.
fn flatten(how: &Flatten, rows: Vec<Row>) -> Vec<Row> {
    if matches!(how, Flatten::None) || rows.len() < 2 {
        return rows;
    }
    let mut out = Row::new();
    for row in &rows {
        for key in row.keys() {
            if !out.contains_key(key) {
                out.insert(key.clone(), Value::Null);
            }
        }
    }
    for (key, slot) in out.iter_mut() {
        let values: Vec<String> = rows
            .iter()
            .map(|r| r.get(key).map(scorch_model::template::value_text).unwrap_or_default())
            .collect();
        *slot = Value::String(match how {
            Flatten::Csv => values.iter().map(|v| csv_field(v)).collect::<Vec<_>>().join(","),
            Flatten::Separator(sep) => values.join(sep),
            Flatten::None => unreachable!("handled above"),
        });
    }
    vec![out]
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

fn from_record(rec: &RunRecord, status: Status, attempt: u32, loop_started: Timestamp) -> RunData {
    let ended_at = rec.ended_at.unwrap_or(rec.started_at);
    RunData {
        status,
        error: rec.error.clone(),
        rows: rec.rows.as_ref().clone(),
        started_at: rec.started_at,
        ended_at,
        attempt,
        loop_attempts: attempt,
        loop_duration_ms: ended_at.duration_since(loop_started).as_millis().max(0) as i64,
    }
}

#[allow(clippy::too_many_arguments)]
fn record(
    shared: &Shared,
    step: &Step,
    seq: u64,
    key: RunKey,
    attempt: u32,
    state: RunState,
    error: &str,
    started_at: Timestamp,
    ended_at: Option<Timestamp>,
    rows: &[Row],
) -> RunRecord {
    let (rows, truncated) = if shared.keep_published && !rows.is_empty() {
        recorded_rows(rows, shared.published_cap, &shared.secrets)
    } else {
        (Vec::new(), false)
    };
    RunRecord {
        instance_id: shared.instance_id,
        seq,
        key,
        activity_id: step.id.clone(),
        activity_name: step.name.clone(),
        attempt,
        state,
        error: crate::record::recorded_text(error, &shared.secrets),
        started_at,
        ended_at,
        rows: Arc::new(rows),
        truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorch_activity::row;

    #[test]
    fn flatten_joins_rows() {
        let rows = vec![row! {"a" => "1", "b" => "x,y"}, row! {"a" => "2", "b" => "z"}];
        let lines = flatten(&Flatten::Separator(", ".into()), rows.clone());
        assert_eq!(lines, vec![row! {"a" => "1, 2", "b" => "x,y, z"}]);
        let csv = flatten(&Flatten::Csv, rows);
        assert_eq!(csv, vec![row! {"a" => "1,2", "b" => "\"x,y\",z"}]);
    }
}
