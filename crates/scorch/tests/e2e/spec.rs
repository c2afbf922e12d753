//! The table-driven spec suite: every rule of `spec/runbook-format.md` (and the control and utility
//! activity behaviours it relies on) as one small runbook in `tests/spec/NAME.runbook.yaml` (or
//! `.runbook.json`) beside the outcome the contract requires in `tests/spec/NAME.expect.json`.
//!
//! Each case runs `scorch runbook test FILE --json ARGS` (or `scorch runbook check FILE` when
//! `"command"` says `"check"`; a list runs each command against the same expectation) in a fresh
//! temporary folder, which also replaces `{tmp}` in the arguments. All cases run, a few at a time, and
//! the test fails once at the end with one line per failing case. `SPEC_CASE=text` runs only the cases
//! whose name contains `text`.
//!
//! Expectation keys (all optional):
//! - `comment`: the rule the case checks (not compared).
//! - `command`: `"test"` (default), `"check"`, or a list of both.
//! - `args`: extra arguments; `{tmp}` becomes the case's temporary folder.
//! - `exit_code`, `status`: the exit code and the instance status.
//! - `returns`: a subset of the return data, compared as text, case-insensitive (as `check.py`).
//! - `returns_exact`: a subset of the return data, compared as JSON values (types included).
//! - `runs`: activity id -> number of runs.
//! - `attempts`: activity id -> its runs' attempt numbers, in order; `attempts_unordered`: sorted.
//! - `statuses`: activity id -> its runs' statuses, in order.
//! - `order`: the exact sequence of activity ids in `activities`.
//! - `before`: `[[A, B], ...]`: every run of A is listed before, and ended no later than the start of,
//!   every run of B.
//! - `run`: activity id -> a subset of its first run's object (`name`, `status`, ...).
//! - `published`: activity id -> a subset of its first run's `published` object (a list of subsets
//!   when it published several rows), values compared as JSON.
//! - `published_exact`: activity id -> its first run's `published`, exactly.
//! - `published_runs`: activity id -> one published subset per run, matched in any order.
//! - `published_nonempty`: activity id -> fields that its first run publishes with a non-empty value.
//! - `activity_error_contains`: activity id -> text in its first run (as `check.py`).
//! - `last_error_contains`: activity id -> text in the `error` of its last run.
//! - `problems_contain`: texts that the instance's `problems` must contain; `no_problems: true`.
//! - `stderr_contains`, `stdout_contains`, `stdout_lacks`, `stderr_lacks`: texts in (or not in) the output.
//! - `files`: path relative to the temporary folder -> its exact content after the run.
//! - `files_absent`: paths relative to the temporary folder that must not exist `settle_ms` after the run.
//! - `min_gap_ms`: `{from, to, ms, from_attempt?, to_attempt?}` (or a list): the start of `to`'s run is
//!   at least `ms` after the end of `from`'s run (first runs, or the given attempts).
//! - `max_wall_ms`: the whole `scorch` process ends within this many milliseconds.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

/// How many cases run at once.
const WORKERS: usize = 4;
/// A `scorch` process still running after this long is killed and its case fails.
const PROCESS_LIMIT: Duration = Duration::from_secs(60);

const KNOWN_KEYS: &[&str] = &[
    "comment",
    "command",
    "args",
    "exit_code",
    "status",
    "returns",
    "returns_exact",
    "runs",
    "attempts",
    "attempts_unordered",
    "statuses",
    "order",
    "before",
    "run",
    "published",
    "published_exact",
    "published_runs",
    "published_nonempty",
    "activity_error_contains",
    "last_error_contains",
    "problems_contain",
    "no_problems",
    "stderr_contains",
    "stdout_contains",
    "stdout_lacks",
    "stderr_lacks",
    "files",
    "files_absent",
    "settle_ms",
    "min_gap_ms",
    "max_wall_ms",
];

/// Keys that need the JSON document on stdout.
const DOC_KEYS: &[&str] = &[
    "status",
    "returns",
    "returns_exact",
    "runs",
    "attempts",
    "attempts_unordered",
    "statuses",
    "order",
    "before",
    "run",
    "published",
    "published_exact",
    "published_runs",
    "published_nonempty",
    "activity_error_contains",
    "last_error_contains",
    "problems_contain",
    "no_problems",
    "min_gap_ms",
];

struct Case {
    name: String,
    runbook: PathBuf,
    expect: PathBuf,
}

#[test]
#[allow(clippy::disallowed_methods, reason = "SPEC_CASE picks the cases to run")]
fn spec_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spec");
    let filter = std::env::var("SPEC_CASE").unwrap_or_default();
    let (cases, mut failures) = discover(&dir);
    let cases: Vec<Case> = cases.into_iter().filter(|c| c.name.contains(&filter)).collect();
    assert!(!cases.is_empty() || !filter.is_empty(), "no cases in {}", dir.display());

    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(case) = cases.get(i) else { break };
                    let started = Instant::now();
                    let problems = run_case(case);
                    let took = started.elapsed().as_millis();
                    results.lock().unwrap().push((case.name.clone(), problems, took));
                }
            });
        }
    });

    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, problems, took) in &results {
        if problems.is_empty() {
            println!("ok   {name} ({took} ms)");
        } else {
            println!("FAIL {name} ({took} ms): {}", problems.join("; "));
            failures.push(format!("{name}: {}", problems.join("; ")));
        }
    }
    let passed = results.iter().filter(|r| r.1.is_empty()).count();
    println!("{passed} passed, {} failed", failures.len());
    if !failures.is_empty() {
        panic!(
            "{} of {} spec cases failed:\n{}",
            failures.len(),
            results.len(),
            failures.join("\n")
        );
    }
}

/// Every `NAME.runbook.yaml` / `NAME.runbook.json` with its `NAME.expect.json`; orphans are failures.
fn discover(dir: &Path) -> (Vec<Case>, Vec<String>) {
    let mut cases = Vec::new();
    let mut failures = Vec::new();
    let mut expects = BTreeMap::new();
    let mut runbooks = BTreeMap::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        if let Some(name) = file.strip_suffix(".expect.json") {
            expects.insert(name.to_string(), path);
        } else if let Some(name) = file
            .strip_suffix(".runbook.yaml")
            .or_else(|| file.strip_suffix(".runbook.json"))
        {
            if runbooks.insert(name.to_string(), path).is_some() {
                failures.push(format!("{name}: both a .runbook.yaml and a .runbook.json"));
            }
        } else {
            failures.push(format!(
                "{file}: neither NAME.runbook.yaml, NAME.runbook.json nor NAME.expect.json"
            ));
        }
    }
    for (name, runbook) in runbooks {
        match expects.remove(&name) {
            Some(expect) => cases.push(Case { name, runbook, expect }),
            None => failures.push(format!("{name}: no {name}.expect.json")),
        }
    }
    for name in expects.keys() {
        failures.push(format!("{name}: an expectation without a runbook"));
    }
    (cases, failures)
}

fn run_case(case: &Case) -> Vec<String> {
    let expect: Map<String, Value> = match std::fs::read_to_string(&case.expect)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(e) => e,
        Err(e) => return vec![format!("bad expectation file: {e}")],
    };
    let unknown: Vec<&String> = expect.keys().filter(|k| !KNOWN_KEYS.contains(&k.as_str())).collect();
    if !unknown.is_empty() {
        return vec![format!("unknown expectation keys {unknown:?}")];
    }
    let commands: Vec<String> = match expect.get("command") {
        None => vec!["test".into()],
        Some(Value::String(c)) => vec![c.clone()],
        Some(Value::Array(cs)) => cs.iter().filter_map(|c| c.as_str().map(String::from)).collect(),
        Some(other) => return vec![format!("bad command {other}")],
    };
    let mut problems = Vec::new();
    for command in &commands {
        let tmp = tempfile::tempdir().expect("a temporary folder");
        let label = if commands.len() > 1 {
            format!("[{command}] ")
        } else {
            String::new()
        };
        match execute(case, command, &expect, tmp.path()) {
            Ok(outcome) => problems.extend(
                compare(&expect, &outcome, tmp.path(), command)
                    .into_iter()
                    .map(|p| format!("{label}{p}")),
            ),
            Err(e) => problems.push(format!("{label}{e}")),
        }
    }
    problems
}

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    wall: Duration,
}

fn execute(case: &Case, command: &str, expect: &Map<String, Value>, tmp: &Path) -> Result<Outcome, String> {
    let tmp_text = tmp.display().to_string();
    let args: Vec<String> = match expect.get("args") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().unwrap_or_default().replace("{tmp}", &tmp_text))
            .collect(),
        Some(other) => return Err(format!("bad args {other}")),
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scorch"));
    cmd.arg("runbook").arg(command).arg(&case.runbook);
    if command == "test" {
        cmd.arg("--json");
    }
    cmd.args(&args)
        .current_dir(tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("cannot start scorch: {e}"))?;
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > PROCESS_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "scorch still running after {} s: killed",
                PROCESS_LIMIT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let wall = started.elapsed();
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Ok(Outcome {
        code: status.code(),
        stdout,
        stderr,
        wall,
    })
}

/// The runs of the document, by position.
struct Doc {
    doc: Value,
    runs: Vec<Value>,
}

impl Doc {
    fn of<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.runs
            .iter()
            .filter(move |r| r.get("id").and_then(Value::as_str) == Some(id))
    }

    fn first<'a>(&'a self, id: &'a str) -> Option<&'a Value> {
        self.of(id).next()
    }
}

fn compare(expect: &Map<String, Value>, o: &Outcome, tmp: &Path, command: &str) -> Vec<String> {
    let mut p = Vec::new();
    let tail = |s: &str| {
        let s = s.trim();
        let start = s.char_indices().rev().nth(300).map_or(0, |(i, _)| i);
        s[start..].replace('\n', " | ")
    };
    if let Some(code) = expect.get("exit_code")
        && o.code.map(Value::from).as_ref() != Some(code)
    {
        p.push(format!(
            "exit code {:?}, expected {code} (stderr: {})",
            o.code,
            tail(&o.stderr)
        ));
    }
    for text in strings(expect.get("stderr_contains")) {
        if !o.stderr.contains(&text) {
            p.push(format!("stderr lacks {text:?} (stderr: {})", tail(&o.stderr)));
        }
    }
    for text in strings(expect.get("stdout_contains")) {
        if !o.stdout.contains(&text) {
            p.push(format!("stdout lacks {text:?}"));
        }
    }
    for text in strings(expect.get("stdout_lacks")) {
        if o.stdout.contains(&text) {
            p.push(format!("stdout shows {text:?}"));
        }
    }
    for text in strings(expect.get("stderr_lacks")) {
        if o.stderr.contains(&text) {
            p.push(format!("stderr shows {text:?}"));
        }
    }
    if let Some(ms) = expect.get("max_wall_ms").and_then(Value::as_u64)
        && o.wall > Duration::from_millis(ms)
    {
        p.push(format!(
            "scorch took {} ms, expected at most {ms} ms",
            o.wall.as_millis()
        ));
    }
    if let Some(ms) = expect.get("settle_ms").and_then(Value::as_u64) {
        std::thread::sleep(Duration::from_millis(ms));
    }
    if let Some(Value::Object(files)) = expect.get("files") {
        for (rel, want) in files {
            match std::fs::read_to_string(tmp.join(rel)) {
                Ok(got) if Some(got.as_str()) == want.as_str() => {}
                Ok(got) => p.push(format!("file {rel} holds {got:?}, expected {want}")),
                Err(e) => p.push(format!("file {rel}: {e}")),
            }
        }
    }
    for rel in strings(expect.get("files_absent")) {
        if tmp.join(&rel).exists() {
            p.push(format!("file {rel} exists, expected none"));
        }
    }
    if command == "check" || !DOC_KEYS.iter().any(|k| expect.contains_key(*k)) {
        return p;
    }
    let doc: Value = match serde_json::from_str(&o.stdout) {
        Ok(d) => d,
        Err(e) => {
            p.push(format!(
                "stdout is not one JSON document ({e}): {} / stderr: {}",
                tail(&o.stdout),
                tail(&o.stderr)
            ));
            return p;
        }
    };
    let runs = doc
        .get("activities")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let d = Doc { doc, runs };
    compare_doc(expect, &d, &mut p);
    p
}

fn compare_doc(expect: &Map<String, Value>, d: &Doc, p: &mut Vec<String>) {
    if let Some(status) = expect.get("status")
        && d.doc.get("status") != Some(status)
    {
        p.push(format!("status {}, expected {status}", show(d.doc.get("status"))));
    }
    let returns = d.doc.get("returns");
    for (name, want) in object(expect.get("returns")) {
        let got = returns.and_then(|r| r.get(name));
        if got.map(text).map(|t| t.to_lowercase()) != Some(text(want).to_lowercase()) {
            p.push(format!("return {name} = {}, expected {want}", show(got)));
        }
    }
    for (name, want) in object(expect.get("returns_exact")) {
        let got = returns.and_then(|r| r.get(name));
        if got != Some(want) {
            p.push(format!("return {name} = {}, expected exactly {want}", show(got)));
        }
    }
    for (id, count) in object(expect.get("runs")) {
        let n = d.of(id).count();
        if Some(n as u64) != count.as_u64() {
            p.push(format!("{id} ran {n} times, expected {count}"));
        }
    }
    for (id, want) in object(expect.get("attempts")) {
        let got: Vec<Value> = d
            .of(id)
            .map(|r| r.get("attempt").cloned().unwrap_or(Value::Null))
            .collect();
        if Some(&got) != want.as_array() {
            p.push(format!("{id} attempts {}, expected {want}", Value::from(got)));
        }
    }
    for (id, want) in object(expect.get("attempts_unordered")) {
        let mut got: Vec<u64> = d
            .of(id)
            .filter_map(|r| r.get("attempt").and_then(Value::as_u64))
            .collect();
        let mut want: Vec<u64> = want
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        got.sort_unstable();
        want.sort_unstable();
        if got != want {
            p.push(format!("{id} attempts {got:?} (sorted), expected {want:?}"));
        }
    }
    for (id, want) in object(expect.get("statuses")) {
        let got: Vec<Value> = d
            .of(id)
            .map(|r| r.get("status").cloned().unwrap_or(Value::Null))
            .collect();
        if Some(&got) != want.as_array() {
            p.push(format!("{id} statuses {}, expected {want}", Value::from(got)));
        }
    }
    if let Some(want) = expect.get("order") {
        let got: Vec<Value> = d
            .runs
            .iter()
            .map(|r| r.get("id").cloned().unwrap_or(Value::Null))
            .collect();
        if Some(&got) != want.as_array() {
            p.push(format!("order {}, expected {want}", Value::from(got)));
        }
    }
    for pair in expect.get("before").and_then(Value::as_array).into_iter().flatten() {
        let (Some(a), Some(b)) = (pair.get(0).and_then(Value::as_str), pair.get(1).and_then(Value::as_str)) else {
            p.push(format!("bad before entry {pair}"));
            continue;
        };
        let positions = |id: &str| -> Vec<usize> {
            d.runs
                .iter()
                .enumerate()
                .filter(|(_, r)| r.get("id").and_then(Value::as_str) == Some(id))
                .map(|(i, _)| i)
                .collect()
        };
        let last_a = positions(a).into_iter().max();
        let first_b = positions(b).into_iter().min();
        match (last_a, first_b) {
            (Some(la), Some(fb)) if la < fb => {}
            (Some(_), Some(_)) => p.push(format!("a run of {a} is listed after a run of {b}")),
            _ => p.push(format!("before [{a}, {b}]: one of them did not run")),
        }
        let latest_end = d.of(a).filter_map(|r| time(r, "ended_at")).max();
        let earliest_start = d.of(b).filter_map(|r| time(r, "started_at")).min();
        if let (Some(end), Some(start)) = (latest_end, earliest_start)
            && start < end
        {
            p.push(format!("{b} started at {start}, before {a} ended at {end}"));
        }
    }
    for (id, want) in object(expect.get("run")) {
        match d.first(id) {
            Some(run) => subset(&format!("{id}'s run"), want, run, p),
            None => p.push(format!("{id} did not run")),
        }
    }
    for (id, want) in object(expect.get("published")) {
        match d.first(id).and_then(|r| r.get("published")) {
            Some(got) => match (want, got) {
                (Value::Array(wants), Value::Array(gots)) if wants.len() == gots.len() => {
                    for (i, (w, g)) in wants.iter().zip(gots).enumerate() {
                        subset(&format!("{id} row {}", i + 1), w, g, p);
                    }
                }
                (Value::Array(_), _) => p.push(format!("{id} published {got}, expected rows {want}")),
                _ => subset(&format!("{id} published"), want, got, p),
            },
            None => p.push(format!("{id} did not run")),
        }
    }
    for (id, want) in object(expect.get("published_exact")) {
        let got = d.first(id).and_then(|r| r.get("published"));
        if got != Some(want) {
            p.push(format!("{id} published {}, expected exactly {want}", show(got)));
        }
    }
    for (id, wants) in object(expect.get("published_runs")) {
        let mut gots: Vec<Value> = d
            .of(id)
            .map(|r| r.get("published").cloned().unwrap_or(Value::Null))
            .collect();
        let wants = wants.as_array().cloned().unwrap_or_default();
        if gots.len() != wants.len() {
            p.push(format!(
                "{id} ran {} times, expected {} (published {})",
                gots.len(),
                wants.len(),
                Value::from(gots)
            ));
            continue;
        }
        for want in &wants {
            match gots.iter().position(|g| {
                let mut none = Vec::new();
                subset("", want, g, &mut none);
                none.is_empty()
            }) {
                Some(i) => {
                    gots.remove(i);
                }
                None => p.push(format!(
                    "no run of {id} published {want} (left: {})",
                    Value::from(gots.clone())
                )),
            }
        }
    }
    for (id, fields) in object(expect.get("published_nonempty")) {
        let published = d.first(id).and_then(|r| r.get("published"));
        for field in strings(Some(fields)) {
            let value = published.and_then(|pb| pb.get(&field));
            let empty = match value {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.is_empty(),
                _ => false,
            };
            if empty {
                p.push(format!("{id} published {field} = {}, expected a value", show(value)));
            }
        }
    }
    for (id, want) in object(expect.get("activity_error_contains")) {
        let first = d.first(id).map(|r| r.to_string()).unwrap_or_default();
        let want = text(want);
        if !first.contains(&want) {
            p.push(format!("{id}'s run does not mention {want:?}: {first}"));
        }
    }
    for (id, want) in object(expect.get("last_error_contains")) {
        let last = d
            .of(id)
            .last()
            .and_then(|r| r.get("error"))
            .map(text)
            .unwrap_or_default();
        let want = text(want);
        if !last.contains(&want) {
            p.push(format!("{id}'s last error {last:?} lacks {want:?}"));
        }
    }
    let problems: Vec<String> = d
        .doc
        .get("problems")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    for want in strings(expect.get("problems_contain")) {
        if !problems.iter().any(|pr| pr.contains(&want)) {
            p.push(format!("no problem mentions {want:?} (problems: {problems:?})"));
        }
    }
    if expect.get("no_problems") == Some(&Value::Bool(true)) && !problems.is_empty() {
        p.push(format!("unexpected problems {problems:?}"));
    }
    let gaps = match expect.get("min_gap_ms") {
        Some(Value::Array(a)) => a.clone(),
        Some(one) => vec![one.clone()],
        None => Vec::new(),
    };
    for gap in gaps {
        min_gap(d, &gap, p);
    }
}

/// The start of `to`'s run is at least `ms` after the end of `from`'s run.
fn min_gap(d: &Doc, gap: &Value, p: &mut Vec<String>) {
    let field = |k: &str| gap.get(k).and_then(Value::as_str).unwrap_or_default();
    let attempt = |k: &str| gap.get(k).and_then(Value::as_u64);
    let pick = |id: &str, at: Option<u64>| {
        d.of(id)
            .find(|r| at.is_none() || r.get("attempt").and_then(Value::as_u64) == at)
            .cloned()
    };
    let (from, to) = (field("from"), field("to"));
    let ms = gap.get("ms").and_then(Value::as_i64).unwrap_or_default();
    let (Some(a), Some(b)) = (pick(from, attempt("from_attempt")), pick(to, attempt("to_attempt"))) else {
        p.push(format!("min_gap_ms {gap}: a run is missing"));
        return;
    };
    match (time(&a, "ended_at"), time(&b, "started_at")) {
        (Some(end), Some(start)) => {
            let got = start.duration_since(end).as_millis() as i64;
            if got < ms {
                p.push(format!(
                    "{to} started {got} ms after {from} ended, expected at least {ms} ms"
                ));
            }
        }
        _ => p.push(format!("min_gap_ms {gap}: runs lack ended_at/started_at timestamps")),
    }
}

/// Every key of `want` is in `got` with an equal value (objects compare as subsets, recursively).
fn subset(what: &str, want: &Value, got: &Value, p: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                match g.get(k) {
                    Some(gv) if matches!(wv, Value::Object(_)) => subset(&format!("{what}.{k}"), wv, gv, p),
                    Some(gv) if gv == wv => {}
                    gv => p.push(format!("{what}: {k} = {}, expected {wv}", show(gv))),
                }
            }
        }
        _ if want == got => {}
        _ => p.push(format!("{what} = {got}, expected {want}")),
    }
}

fn time(run: &Value, key: &str) -> Option<jiff::Timestamp> {
    run.get(key)?.as_str()?.parse().ok()
}

fn object(v: Option<&Value>) -> impl Iterator<Item = (&String, &Value)> {
    v.and_then(Value::as_object).into_iter().flatten()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array).into_iter().flatten().map(text).collect()
}

/// A value as text: strings as they are, anything else as JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn show(v: Option<&Value>) -> String {
    v.map_or_else(|| "(absent)".to_string(), Value::to_string)
}
