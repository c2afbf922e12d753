//! Runs one token: the activity's runs (one, its retries, a whole loop), each journaled before
//! the scheduler sees it; replays runs the journal already holds.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use jiff::Timestamp;
use scorch_activity::{ActivityContext, ActivityError, ActivityOutput, ErrorKind, LiveOutput, Row, RunIds, Status};
use scorch_model::plan::{Flatten, Step};
use serde_json::Value;
use tracing::Instrument as _;

use crate::catalog::JUNCTION;
use crate::data::{Path, PathScope, RunData};
use crate::record::recorded_rows;
use crate::repeat::{Attempts, Next, next};
use crate::shared::{Shared, Stop, Token};
use crate::{Event, RunKey, RunRecord, RunState, keys};

/// What running a token produced: the last run, and problems to report on the instance.
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
    let mut at = Attempts::FIRST;
    loop {
        let key = keys::attempt(token.key, at.run);
        let replayed = shared.replay.get(&key);
        if let Some(rec) = replayed
            && let RunState::Finished(status) = rec.state
        {
            let run = Arc::new(from_record(rec, status, at, loop_started));
            shared.emit(Event::Finished {
                record: rec.clone(),
                replayed: true,
            });
            // The journal holds what followed, or the crash came before it: go on at once.
            match next(shared, step, token, &run, rec.error_kind, at, &mut problems) {
                again @ (Next::Retry(_) | Next::Loop(_)) => {
                    at = at.after(&again);
                    continue;
                }
                Next::Done | Next::Exhausted(_) => return Ok(Executed { run, problems }),
            }
        }
        let seq = match replayed {
            Some(rec) => rec.seq,
            None => shared.next_seq(),
        };
        let started_at = Timestamp::now();
        // Everything logged while the activity runs names its run (and, through the instance's
        // span, its job).
        let span = tracing::info_span!(
            "activity",
            run_seq = seq,
            activity_id = %step.id,
            activity_name = %step.name,
            activity_type = %step.type_name,
            attempt = at.run,
        );
        let interrupted = replayed.is_some() && !step.idempotent;
        let (mut output, kind) = if interrupted {
            settle(Err(ActivityError::Failed("interrupted".into())))
        } else {
            if !step.idempotent {
                let rec = record(shared, step, seq, key, at.run, started_at, None);
                shared.journal.run_started(&rec).await?;
            }
            shared.emit(Event::Started {
                seq,
                activity_id: step.id.clone(),
                name: step.name.clone(),
                attempt: at.run,
            });
            settle(
                run_attempt(shared, step, token, seq, at.run)
                    .instrument(span.clone())
                    .await,
            )
        };
        let ended_at = Timestamp::now();
        if let Some(observer) = &shared.observer {
            let took = ended_at.duration_since(started_at).unsigned_abs();
            observer.run_ended(&step.type_name, output.status, took);
        }
        output.rows = flatten(&step.flatten, std::mem::take(&mut output.rows));
        let mut run = Arc::new(RunData {
            status: output.status,
            error: output.error,
            rows: output.rows,
            started_at,
            ended_at,
            attempt: at.run,
            loop_attempts: at.loop_attempt,
            loop_duration_ms: ended_at.duration_since(loop_started).as_millis() as i64,
        });
        let decision = next(shared, step, token, &run, kind, at, &mut problems);
        if let Next::Exhausted(max) = decision
            && let Some(data) = Arc::get_mut(&mut run)
        {
            let note = format!("loop ended after {max} attempts without an exit condition holding");
            data.error = if data.error.is_empty() {
                note
            } else {
                format!("{}; {note}", data.error)
            };
        }
        let rec = record(shared, step, seq, key, at.run, started_at, Some((&run, kind)));
        // Not its error: it may quote a parameter, which logs never show (the record has it).
        let (status, error_kind) = (run.status.as_str(), kind.map(ErrorKind::as_str));
        span.in_scope(|| tracing::debug!(status, error_kind, "activity run ended"));
        if step.idempotent {
            shared.journal.idempotent_run_finished(&rec).await?;
        } else {
            shared.journal.run_finished(&rec).await?;
        }
        shared.emit(Event::Finished {
            record: rec,
            replayed: false,
        });
        let wait = match decision {
            Next::Retry(wait) | Next::Loop(wait) => wait,
            Next::Done | Next::Exhausted(_) => return Ok(Executed { run, problems }),
        };
        // A cancel ends the wait and the token; a draining server stops here, and the resumed
        // instance goes on from this run.
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shared.cancel.cancelled() => return Ok(Executed { run, problems }),
            _ = shared.drain.cancelled() => return Err(Stop::Drained),
        }
        at = at.after(&decision);
    }
}

/// A run's output, and the kind of its failure when it failed (an output the activity itself
/// reports failed is `failed`).
fn settle(result: Result<ActivityOutput, ActivityError>) -> (ActivityOutput, Option<ErrorKind>) {
    match result {
        Ok(output) => {
            let kind = (output.status == Status::Failed).then_some(ErrorKind::Failed);
            (output, kind)
        }
        Err(e) => (ActivityOutput::failed(e.to_string(), Vec::new()), Some(e.kind())),
    }
}

/// One run: render the properties along the token's path and run the activity. A panic in it
/// is a plain failure.
async fn run_attempt(
    shared: &Shared,
    step: &Step,
    token: &Token,
    seq: u64,
    attempt: u32,
) -> Result<ActivityOutput, ActivityError> {
    if step.type_name == JUNCTION {
        return Ok(junction_output(shared, step, &token.path));
    }
    let scope = PathScope {
        facts: &shared.facts,
        path: &token.path,
    };
    let properties = step
        .properties
        .render(&scope)
        .map_err(|why| ActivityError::InvalidInput(format!("{}: {why}", step.type_name)))?;
    let activity = shared.registry.get(&step.type_name).ok_or_else(|| {
        ActivityError::Failed(format!(
            "activity type '{}' is not installed on this runbook server",
            step.type_name
        ))
    })?;
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
        output: shared.output.as_ref().map_or_else(LiveOutput::default, |sink| {
            LiveOutput::new(sink.clone(), shared.instance_id, seq, shared.secrets.clone())
        }),
    };
    let run = AssertUnwindSafe(crate::hosts::run(activity.as_ref(), &ctx, properties)).catch_unwind();
    let result = match deadline {
        Some(at) => tokio::time::timeout_at(at, run)
            .await
            .unwrap_or(Ok(Err(ActivityError::TimedOut))),
        None => run.await,
    };
    // What the run printed is stored before its end is recorded.
    ctx.output.flush().await;
    let output = result.unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(ActivityError::Failed(format!(
            "{}: the activity crashed: {why}",
            step.type_name
        )))
    })?;
    if step.type_name == "return_data" && output.status != Status::Failed {
        return typed_returns(shared, output);
    }
    Ok(output)
}

/// Return values converted to their declared types.
fn typed_returns(shared: &Shared, mut output: ActivityOutput) -> Result<ActivityOutput, ActivityError> {
    for row in &mut output.rows {
        for (name, ty) in &shared.plan.returns {
            if let Some(v) = row.get_mut(name) {
                *v = ty
                    .coerce(v)
                    .map_err(|why| ActivityError::InvalidInput(format!("return_data: return value '{name}': {why}")))?;
            }
        }
    }
    Ok(output)
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

fn from_record(rec: &RunRecord, status: Status, at: Attempts, loop_started: Timestamp) -> RunData {
    let ended_at = rec.ended_at.unwrap_or(rec.started_at);
    RunData {
        status,
        error: rec.error.clone(),
        rows: rec.rows.as_ref().clone(),
        started_at: rec.started_at,
        ended_at,
        attempt: at.run,
        loop_attempts: at.loop_attempt,
        loop_duration_ms: ended_at.duration_since(loop_started).as_millis().max(0) as i64,
    }
}

/// The journal's record of a run: running when `end` is `None`, else finished as `end` says.
fn record(
    shared: &Shared,
    step: &Step,
    seq: u64,
    key: RunKey,
    attempt: u32,
    started_at: Timestamp,
    end: Option<(&RunData, Option<ErrorKind>)>,
) -> RunRecord {
    let rows: &[Row] = end.map_or(&[], |(run, _)| &run.rows);
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
        state: end.map_or(RunState::Running, |(run, _)| RunState::Finished(run.status)),
        error: end.map_or_else(String::new, |(run, _)| {
            crate::record::recorded_text(&run.error, &shared.secrets)
        }),
        error_kind: end.and_then(|(_, kind)| kind),
        started_at,
        ended_at: end.map(|(run, _)| run.ended_at),
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
