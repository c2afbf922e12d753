//! Engine behaviour that needs more than a runbook file: resuming from the journal, interrupted
//! runs, cancellation, bounded concurrency, fan-out at scale, published-data caps, panics,
//! retries after transient errors, live output.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scorch_activity::{
    Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, ErrorKind, MemorySettings, Registry, Status,
    Value, async_trait, row,
};
use scorch_engine::{
    Engine, EngineConfig, Event, InstanceEnd, InstanceRequest, InstanceStart, InstanceStatus, Journal, JournalError,
    MemoryJournal, Outcome, RegistryCatalog, RunObserver, RunRecord, RunState,
};
use scorch_model::{Plan, compile, load};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Counts runs per activity id and the most runs in flight at once; optionally waits on a gate.
#[derive(Default)]
struct Probe {
    runs: Mutex<HashMap<String, usize>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    gate_reached: Notify,
}

impl Probe {
    fn runs(&self, id: &str) -> usize {
        self.runs.lock().unwrap().get(id).copied().unwrap_or(0)
    }
}

struct Count {
    probe: Arc<Probe>,
    descriptor: Descriptor,
}

static COUNT: Descriptor = Descriptor {
    type_name: "test.count",
    category: "Test",
    summary: "counts its runs",
    idempotent: false,
    properties: &["sleep_ms", "rows", "panic", "size", "transient", "fail"],
    required: &[],
    publishes: &["n", "blob"],
};

static GATE: Descriptor = Descriptor {
    type_name: "test.gate",
    idempotent: false,
    ..COUNT
};
static COUNT_IDEMPOTENT: Descriptor = Descriptor {
    type_name: "test.count_idempotent",
    idempotent: true,
    ..COUNT
};
static GATE_IDEMPOTENT: Descriptor = Descriptor {
    type_name: "test.gate_idempotent",
    idempotent: true,
    ..COUNT
};

#[async_trait]
impl Activity for Count {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    async fn run(&self, ctx: &ActivityContext, props: Value) -> Result<ActivityOutput, ActivityError> {
        *self
            .probe
            .runs
            .lock()
            .unwrap()
            .entry(ctx.ids.activity_id.clone())
            .or_default() += 1;
        // Fails transiently for its first `transient` attempts.
        let transient = props.get("transient").and_then(Value::as_u64).unwrap_or(0);
        if u64::from(ctx.ids.attempt) <= transient {
            let attempt = ctx.ids.attempt;
            return Err(ActivityError::Transient(format!("refused at attempt {attempt}")));
        }
        if props.get("fail").is_some() {
            return Err(ActivityError::Failed("failed for good".into()));
        }
        let now = self.probe.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.probe.max_in_flight.fetch_max(now, Ordering::SeqCst);
        if self.descriptor.type_name.starts_with("test.gate") {
            self.probe.gate_reached.notify_one();
            ctx.cancel.cancelled().await;
        }
        if props.get("panic").is_some() {
            panic!("boom");
        }
        let sleep = props.get("sleep_ms").and_then(Value::as_u64).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(sleep)).await;
        self.probe.in_flight.fetch_sub(1, Ordering::SeqCst);
        let rows = props.get("rows").and_then(Value::as_u64).unwrap_or(1);
        let size = props.get("size").and_then(Value::as_u64).unwrap_or(0) as usize;
        Ok(ActivityOutput::rows(
            (0..rows).map(|n| row! {"n" => n, "blob" => "x".repeat(size)}).collect(),
        ))
    }
}

fn registry(probe: &Arc<Probe>) -> Arc<Registry> {
    let mut registry = scorch_activities::standard();
    for d in [&COUNT, &COUNT_IDEMPOTENT, &GATE, &GATE_IDEMPOTENT] {
        registry.register(Arc::new(Count {
            probe: probe.clone(),
            descriptor: *d,
        }));
    }
    Arc::new(registry)
}

fn plan(registry: &Registry, yaml: &str) -> Arc<Plan> {
    let loaded = load(yaml).unwrap_or_else(|e| panic!("{e:?}"));
    Arc::new(compile(&loaded, &RegistryCatalog(registry)).unwrap_or_else(|e| panic!("{e:?}")))
}

struct Harness {
    engine: Engine,
    journal: Arc<MemoryJournal>,
    plan: Arc<Plan>,
    instance_id: Uuid,
}

impl Harness {
    fn new(probe: &Arc<Probe>, yaml: &str, config: EngineConfig) -> Self {
        Self::with_journal(probe, yaml, config, Arc::new(MemoryJournal::default()), Uuid::now_v7())
    }

    fn with_journal(
        probe: &Arc<Probe>,
        yaml: &str,
        config: EngineConfig,
        journal: Arc<MemoryJournal>,
        instance_id: Uuid,
    ) -> Self {
        let registry = registry(probe);
        let plan = plan(&registry, yaml);
        let engine = Engine::new(registry, journal.clone(), Arc::new(MemorySettings::default()), config);
        Self {
            engine,
            journal,
            plan,
            instance_id,
        }
    }

    fn request(&self, cancel: CancellationToken, resume: bool) -> InstanceRequest {
        InstanceRequest {
            plan: self.plan.clone(),
            runbook_id: Uuid::nil(),
            job_id: Uuid::nil(),
            instance_id: self.instance_id,
            parameters: Default::default(),
            cancel,
            events: None,
            resume,
        }
    }

    async fn run(&self) -> Outcome {
        self.engine
            .run(self.request(CancellationToken::new(), false))
            .await
            .unwrap()
    }
}

const CHAIN_WITH_GATE: &str = "
format: 1
runbook: Resume
returns: [ { name: N, type: integer } ]
activities:
  - { id: a, type: test.count }
  - { id: b, type: test.count }
  - { id: c, type: GATE }
  - { id: d, type: test.count }
  - { id: on_failure, type: test.count }
  - { id: ret, type: return_data, properties: { values: { N: '{{ d.n }}' } } }
links:
  - { from: a, to: b }
  - { from: b, to: c }
  - { from: c, to: d }
  - { from: c, to: on_failure, include: [ { status: [failed] } ] }
  - { from: d, to: ret }
";

/// Runs until the gate activity is reached, then drops the engine mid-run (a crash), and
/// returns the journal it left.
async fn crash_at_gate(probe: &Arc<Probe>, yaml: &str) -> (Arc<MemoryJournal>, Uuid) {
    let h = Harness::new(probe, yaml, EngineConfig::default());
    let (journal, instance_id) = (h.journal.clone(), h.instance_id);
    let task = tokio::spawn(async move { h.engine.run(h.request(CancellationToken::new(), false)).await });
    probe.gate_reached.notified().await;
    task.abort();
    let _ = task.await;
    (journal, instance_id)
}

/// Resumes the instance `journal` holds, running `yaml`, to its end.
async fn resume(probe: &Arc<Probe>, yaml: &str, journal: Arc<MemoryJournal>, instance_id: Uuid) -> Outcome {
    let h = Harness::with_journal(probe, yaml, EngineConfig::default(), journal, instance_id);
    h.engine.run(h.request(CancellationToken::new(), true)).await.unwrap()
}

#[tokio::test]
async fn resume_replays_finished_runs_and_reruns_an_idempotent_one() {
    let probe = Arc::new(Probe::default());
    let yaml = CHAIN_WITH_GATE.replace("GATE", "test.gate_idempotent");
    let (journal, instance_id) = crash_at_gate(&probe, &yaml).await;
    assert_eq!((probe.runs("a"), probe.runs("b"), probe.runs("c")), (1, 1, 1));
    // The resumed gate passes at once: its activity now sees a canceled token only if canceled,
    // so swap the gate for a plain count under the same id.
    let resumed_yaml = yaml.replace("type: test.gate_idempotent", "type: test.count");
    let outcome = resume(&probe, &resumed_yaml, journal.clone(), instance_id).await;
    assert_eq!(outcome.status, InstanceStatus::Success, "{outcome:?}");
    assert_eq!(outcome.returns["N"], 0);
    assert_eq!(
        (probe.runs("a"), probe.runs("b"), probe.runs("c"), probe.runs("d")),
        (1, 1, 2, 1)
    );
    let runs = journal.runs(instance_id).await.unwrap();
    let ids: Vec<&str> = runs.iter().map(|r| &*r.activity_id).collect();
    assert_eq!(ids, ["a", "b", "c", "d", "ret"]);
}

#[tokio::test]
async fn resume_fails_an_interrupted_non_idempotent_run_and_follows_failure_links() {
    let probe = Arc::new(Probe::default());
    let yaml = CHAIN_WITH_GATE.replace("GATE", "test.gate");
    let (journal, instance_id) = crash_at_gate(&probe, &yaml).await;
    let running: Vec<_> = journal
        .all_runs()
        .into_iter()
        .filter(|r| r.state == RunState::Running)
        .collect();
    assert_eq!(running.len(), 1, "the gate's start was journaled");
    let outcome = resume(&probe, &yaml, journal.clone(), instance_id).await;
    assert_eq!(outcome.status, InstanceStatus::Failed);
    assert_eq!(
        (probe.runs("a"), probe.runs("b"), probe.runs("c")),
        (1, 1, 1),
        "nothing finished ran twice"
    );
    assert_eq!((probe.runs("d"), probe.runs("on_failure")), (0, 1));
    let c = journal.all_runs().into_iter().find(|r| &*r.activity_id == "c").unwrap();
    assert_eq!(
        (c.state, c.error.as_str()),
        (RunState::Finished(scorch_activity::Status::Failed), "interrupted")
    );
}

#[tokio::test]
async fn cancel_stops_running_activities_and_starts_nothing_more() {
    let probe = Arc::new(Probe::default());
    let h = Harness::new(
        &probe,
        &CHAIN_WITH_GATE.replace("GATE", "test.gate"),
        EngineConfig::default(),
    );
    let cancel = CancellationToken::new();
    let run = h.engine.run(h.request(cancel.clone(), false));
    let outcome = tokio::join!(run, async {
        probe.gate_reached.notified().await;
        cancel.cancel();
    })
    .0
    .unwrap();
    assert_eq!(outcome.status, InstanceStatus::Canceled);
    assert_eq!((probe.runs("d"), probe.runs("on_failure")), (0, 0));
    let end = h.journal.instance_end(h.instance_id).unwrap();
    assert_eq!(end.status, InstanceStatus::Canceled);
}

#[tokio::test]
async fn fan_out_is_bounded_by_max_parallel() {
    let probe = Arc::new(Probe::default());
    let yaml = "
format: 1
runbook: Wide
activities:
  - { id: gen, type: test.count, properties: { rows: 200 } }
  - { id: each, type: test.count, properties: { sleep_ms: 5 } }
links: [ { from: gen, to: each } ]
";
    let h = Harness::new(
        &probe,
        yaml,
        EngineConfig {
            max_parallel: 8,
            ..Default::default()
        },
    );
    let outcome = h.run().await;
    assert_eq!(outcome.status, InstanceStatus::Success);
    assert_eq!(probe.runs("each"), 200);
    let max = probe.max_in_flight.load(Ordering::SeqCst);
    assert!(max <= 8 && max > 1, "max in flight {max}");
}

#[tokio::test]
async fn ten_thousand_rows_fan_out_completes() {
    let probe = Arc::new(Probe::default());
    let yaml = "
format: 1
runbook: Huge
activities:
  - { id: gen, type: test.count, properties: { rows: 10000 } }
  - { id: each, type: compare_values, properties: { kind: number, left: '{{ gen.n }}', op: ge, right: '0' } }
links: [ { from: gen, to: each } ]
";
    let h = Harness::new(&probe, yaml, EngineConfig::default());
    assert_eq!(h.run().await.status, InstanceStatus::Success);
    let runs = h.journal.all_runs();
    assert_eq!(runs.len(), 10_001);
    assert!(runs.iter().skip(1).all(|r| r.rows[0]["result"] == true));
}

#[tokio::test]
async fn published_data_is_capped_with_a_marker() {
    let probe = Arc::new(Probe::default());
    let yaml = "
format: 1
runbook: Big
activities:
  - { id: big, type: test.count, properties: { rows: 10, size: 1000 } }
  - { id: next, type: test.count }
links: [ { from: big, to: next, include: [ { data: big.n, op: equals, value: '9' } ] } ]
";
    let h = Harness::new(
        &probe,
        yaml,
        EngineConfig {
            published_cap_bytes: 4096,
            ..Default::default()
        },
    );
    assert_eq!(h.run().await.status, InstanceStatus::Success);
    let big = h
        .journal
        .all_runs()
        .into_iter()
        .find(|r| &*r.activity_id == "big")
        .unwrap();
    assert!(big.truncated);
    assert!(big.rows.len() < 10);
    assert!(
        big.rows.last().unwrap()["_truncated"]
            .as_str()
            .unwrap()
            .contains("4096 bytes")
    );
    // The data bus keeps every row: the link on the tenth row still fired.
    assert_eq!(probe.runs("next"), 1);
}

#[tokio::test]
async fn a_panicking_activity_fails_its_run_not_the_engine() {
    let probe = Arc::new(Probe::default());
    let yaml = "
format: 1
runbook: Panic
activities:
  - { id: bad, type: test.count, properties: { panic: true } }
  - { id: handler, type: test.count }
links: [ { from: bad, to: handler, include: [ { status: [failed] } ] } ]
";
    let h = Harness::new(&probe, yaml, EngineConfig::default());
    let outcome = h.run().await;
    assert_eq!(outcome.status, InstanceStatus::Failed);
    assert_eq!(probe.runs("handler"), 1);
    let bad = h
        .journal
        .all_runs()
        .into_iter()
        .find(|r| &*r.activity_id == "bad")
        .unwrap();
    assert!(bad.error.contains("crashed: boom"), "{}", bad.error);
    assert_eq!(bad.error_kind, Some(ErrorKind::Failed), "a panic is a plain failure");
}

#[tokio::test]
async fn draining_stops_between_loop_attempts_and_the_resumed_loop_goes_on() {
    let probe = Arc::new(Probe::default());
    let yaml = "
format: 1
runbook: Drain
activities:
  - id: poll
    type: test.count
    loop: { delay: DELAY, max_attempts: 3, exit_when: [ { status: [failed] } ] }
  - { id: after, type: test.count }
links: [ { from: poll, to: after } ]
";
    let h = Harness::new(&probe, &yaml.replace("DELAY", "1h"), EngineConfig::default());
    let journal = h.journal.clone();
    let instance_id = h.instance_id;
    let request = h.request(CancellationToken::new(), false);
    let engine = Arc::new(h.engine);
    let running = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run(request).await }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while probe.runs("poll") < 1 {
        assert!(tokio::time::Instant::now() < deadline, "the first attempt never ran");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    engine.drain();
    let stopped = running.await.unwrap();
    assert!(
        matches!(stopped, Err(scorch_engine::EngineError::Drained)),
        "{stopped:?}"
    );
    assert!(
        journal.instance_end(instance_id).is_none(),
        "a drained instance is not finished"
    );

    let outcome = resume(&probe, &yaml.replace("DELAY", "10ms"), journal, instance_id).await;
    assert_eq!(outcome.status, InstanceStatus::Success);
    assert_eq!(
        (probe.runs("poll"), probe.runs("after")),
        (3, 1),
        "attempt 1 was replayed, not run again"
    );
}

/// A journal that loses what the contract lets it lose in a crash of its database: the finishes of
/// idempotent runs are kept aside until the next durable record (which makes them durable too, as
/// a write-ahead log flushed in order would) and dropped by [`LossyJournal::crash`].
#[derive(Default)]
struct LossyJournal {
    durable: MemoryJournal,
    unflushed: Mutex<Vec<RunRecord>>,
    /// (activity id, whether its finish was handed over as an idempotent run's), in order.
    finishes: Mutex<Vec<(String, bool)>>,
}

impl LossyJournal {
    async fn flush(&self) {
        let unflushed = std::mem::take(&mut *self.unflushed.lock().unwrap());
        for run in unflushed {
            self.durable.run_finished(&run).await.unwrap();
        }
    }

    fn crash(&self) {
        self.unflushed.lock().unwrap().clear();
    }
}

#[async_trait]
impl Journal for LossyJournal {
    async fn instance_started(&self, start: &InstanceStart) -> Result<(), JournalError> {
        self.durable.instance_started(start).await
    }

    async fn run_started(&self, run: &RunRecord) -> Result<(), JournalError> {
        self.flush().await;
        self.durable.run_started(run).await
    }

    async fn run_finished(&self, run: &RunRecord) -> Result<(), JournalError> {
        self.finishes.lock().unwrap().push((run.activity_id.to_string(), false));
        self.flush().await;
        self.durable.run_finished(run).await
    }

    async fn idempotent_run_finished(&self, run: &RunRecord) -> Result<(), JournalError> {
        self.finishes.lock().unwrap().push((run.activity_id.to_string(), true));
        self.unflushed.lock().unwrap().push(run.clone());
        Ok(())
    }

    async fn instance_finished(&self, end: &InstanceEnd) -> Result<(), JournalError> {
        self.flush().await;
        self.durable.instance_finished(end).await
    }

    async fn runs(&self, instance_id: Uuid) -> Result<Vec<RunRecord>, JournalError> {
        self.durable.runs(instance_id).await
    }
}

/// Only idempotent activities' finishes are handed over as such (a store may acknowledge them
/// before they are durable); a resume after losing them, and every idempotent finish since the
/// last durable record, runs those again and nothing else.
#[tokio::test]
async fn idempotent_finishes_lost_in_a_crash_run_again_on_resume() {
    let yaml = "
format: 1
runbook: Lossy
activities:
  - { id: i1, type: test.count_idempotent }
  - { id: b, type: test.count }
  - { id: i2, type: test.count_idempotent }
  - { id: gate, type: test.gate_idempotent }
  - { id: c, type: test.count }
links: [ { from: i1, to: b }, { from: b, to: i2 }, { from: i2, to: gate }, { from: gate, to: c } ]
";
    let probe = Arc::new(Probe::default());
    let registry = registry(&probe);
    let journal = Arc::new(LossyJournal::default());
    let instance_id = Uuid::now_v7();
    let request = move |plan: Arc<Plan>, resume: bool| InstanceRequest {
        plan,
        runbook_id: Uuid::nil(),
        job_id: Uuid::nil(),
        instance_id,
        parameters: Default::default(),
        cancel: CancellationToken::new(),
        events: None,
        resume,
    };
    let engine = Engine::new(
        registry.clone(),
        journal.clone(),
        Arc::new(MemorySettings::default()),
        EngineConfig::default(),
    );
    let plan_before = plan(&registry, yaml);
    let task = tokio::spawn(async move { engine.run(request(plan_before, false)).await });
    probe.gate_reached.notified().await;
    task.abort();
    let _ = task.await;
    assert_eq!(
        *journal.finishes.lock().unwrap(),
        [
            ("i1".to_string(), true),
            ("b".to_string(), false),
            ("i2".to_string(), true)
        ]
    );
    // i1 was made durable by b's records; i2's finish is lost with the database.
    journal.crash();
    let kept: Vec<String> = journal
        .runs(instance_id)
        .await
        .unwrap()
        .iter()
        .map(|r| r.activity_id.to_string())
        .collect();
    assert_eq!(kept, ["i1", "b"]);

    let resumed = yaml.replace("type: test.gate_idempotent", "type: test.count_idempotent");
    let engine = Engine::new(
        registry.clone(),
        journal.clone(),
        Arc::new(MemorySettings::default()),
        EngineConfig::default(),
    );
    let outcome = engine.run(request(plan(&registry, &resumed), true)).await.unwrap();
    assert_eq!(outcome.status, InstanceStatus::Success, "{outcome:?}");
    assert_eq!(
        (
            probe.runs("i1"),
            probe.runs("b"),
            probe.runs("i2"),
            probe.runs("gate"),
            probe.runs("c")
        ),
        (1, 1, 2, 2, 1),
        "only the idempotent runs whose finish was lost ran again"
    );
    // The instance's end made every record before it durable.
    assert!(journal.unflushed.lock().unwrap().is_empty());
    let runs = journal.runs(instance_id).await.unwrap();
    let ids: Vec<&str> = runs.iter().map(|r| &*r.activity_id).collect();
    assert_eq!(ids, ["i1", "b", "i2", "gate", "c"]);
    assert!(runs.iter().all(|r| matches!(r.state, RunState::Finished(_))));
    assert!(journal.durable.instance_end(instance_id).is_some());
}

/// A run as (activity id, attempt, status, error kind).
type Attempt = (String, u32, Status, Option<ErrorKind>);

/// Each run as an [`Attempt`], in the order the runs started.
fn attempts(runs: &[RunRecord]) -> Vec<Attempt> {
    runs.iter()
        .map(|r| {
            let RunState::Finished(status) = r.state else {
                panic!("run {} of {} is still running", r.attempt, r.activity_id)
            };
            (r.activity_id.to_string(), r.attempt, status, r.error_kind)
        })
        .collect()
}

fn attempt(id: &str, n: u32, status: Status, kind: Option<ErrorKind>) -> Attempt {
    (id.to_string(), n, status, kind)
}

/// Attempts 1 to `n` of `id`, each failed transiently, and then `rest`.
fn transient_then(id: &str, n: u32, rest: &[Attempt]) -> Vec<Attempt> {
    let failed = (1..=n).map(|a| attempt(id, a, Status::Failed, Some(ErrorKind::Transient)));
    failed.chain(rest.iter().cloned()).collect()
}

/// Runs `yaml` to its end: its outcome and every run.
async fn run_all(probe: &Arc<Probe>, yaml: &str) -> (Outcome, Vec<RunRecord>) {
    let h = Harness::new(probe, yaml, EngineConfig::default());
    let outcome = h.run().await;
    (outcome, h.journal.all_runs())
}

const FLAKY: &str = "
format: 1
runbook: Flaky
activities:
  - id: flaky
    type: test.count
    properties: PROPERTIES
    retry: RETRY
  - { id: next, type: test.count }
  - { id: on_failure, type: test.count }
links:
  - { from: flaky, to: next }
  - { from: flaky, to: on_failure, include: [ { status: [failed] } ] }
";

fn flaky(properties: &str, retry: &str) -> String {
    FLAKY.replace("PROPERTIES", properties).replace("RETRY", retry)
}

#[tokio::test]
async fn transient_failures_are_retried_each_a_run_and_links_fire_once() {
    let probe = Arc::new(Probe::default());
    let yaml = flaky("{ transient: 2 }", "{ max_attempts: 4, delay: 1ms }");
    let (outcome, runs) = run_all(&probe, &yaml).await;
    assert_eq!(outcome.status, InstanceStatus::Success, "only the last attempt counts");
    assert_eq!(
        attempts(&runs),
        transient_then(
            "flaky",
            2,
            &[
                attempt("flaky", 3, Status::Success, None),
                attempt("next", 1, Status::Success, None)
            ]
        )
    );
    assert_eq!(runs[1].error, "refused at attempt 2");
    let keys: std::collections::HashSet<_> = runs.iter().map(|r| r.key).collect();
    assert_eq!(keys.len(), runs.len(), "every attempt has its own run key");
    assert_eq!(
        (probe.runs("flaky"), probe.runs("next"), probe.runs("on_failure")),
        (3, 1, 0)
    );
}

#[tokio::test]
async fn an_exhausted_retry_ends_failed_with_the_last_error() {
    let probe = Arc::new(Probe::default());
    let yaml = flaky("{ transient: 10 }", "{ max_attempts: 3, delay: 1ms, backoff: 1.5 }");
    let (outcome, runs) = run_all(&probe, &yaml).await;
    assert_eq!(outcome.status, InstanceStatus::Failed);
    assert_eq!(
        attempts(&runs),
        transient_then("flaky", 3, &[attempt("on_failure", 1, Status::Success, None)])
    );
    assert_eq!(runs[2].error, "refused at attempt 3");
    assert_eq!((probe.runs("next"), probe.runs("on_failure")), (0, 1));
}

/// Only a transient error is retried: a `failed` one, a `timed_out` one (the activity's own
/// timeout) and a transient one under `max_attempts: 1` end the activity at once.
#[tokio::test]
async fn other_failures_and_max_attempts_1_are_final() {
    let probe = Arc::new(Probe::default());
    let yaml = "
format: 1
runbook: Final
activities:
  - { id: failed, type: test.count, properties: { fail: true }, retry: { max_attempts: 4, delay: 1ms } }
  - { id: slow, type: test.gate, timeout: 10ms, retry: { max_attempts: 4, delay: 1ms } }
  - { id: once, type: test.count, properties: { transient: 5 }, retry: { max_attempts: 1 } }
  - { id: end, type: test.count }
links:
  - { from: failed, to: slow, include: [ { status: [failed] } ] }
  - { from: slow, to: once, include: [ { status: [failed] } ] }
  - { from: once, to: end, include: [ { status: [failed] } ] }
";
    let (outcome, runs) = run_all(&probe, yaml).await;
    assert_eq!(outcome.status, InstanceStatus::Failed);
    assert_eq!(
        attempts(&runs),
        [
            attempt("failed", 1, Status::Failed, Some(ErrorKind::Failed)),
            attempt("slow", 1, Status::Failed, Some(ErrorKind::TimedOut)),
            attempt("once", 1, Status::Failed, Some(ErrorKind::Transient)),
            attempt("end", 1, Status::Success, None),
        ]
    );
    assert_eq!(runs[1].error, "timed out");
}

#[tokio::test]
async fn retries_happen_within_each_loop_attempt() {
    let probe = Arc::new(Probe::default());
    let yaml = "
format: 1
runbook: Loop
activities:
  - id: poll
    type: test.count
    properties: { transient: 1 }
    retry: { max_attempts: 2, delay: 1ms }
    loop: { max_attempts: 2, exit_when: [ { status: [failed] } ] }
";
    let (_, runs) = run_all(&probe, yaml).await;
    assert_eq!(
        attempts(&runs),
        transient_then(
            "poll",
            1,
            &[
                attempt("poll", 2, Status::Success, None),
                attempt("poll", 3, Status::Success, None)
            ]
        ),
        "loop attempt 1 took a retry; loop attempt 2 did not need one"
    );
    assert!(
        runs[2].error.contains("loop ended after 2 attempts"),
        "{}",
        runs[2].error
    );
}

type Running = tokio::task::JoinHandle<Result<Outcome, scorch_engine::EngineError>>;

/// Starts `yaml` and returns once its first run is journaled (the flaky runbook then waits to
/// retry), with the journal and instance to resume.
async fn first_run_then_wait(
    probe: &Arc<Probe>,
    yaml: &str,
    cancel: CancellationToken,
) -> (Arc<MemoryJournal>, Uuid, Running) {
    let h = Harness::new(probe, yaml, EngineConfig::default());
    let (journal, instance_id) = (h.journal.clone(), h.instance_id);
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let mut request = h.request(cancel, false);
    request.events = Some(tx);
    let task = tokio::spawn(async move { h.engine.run(request).await });
    while let Some(event) = events.recv().await {
        if matches!(event, Event::Finished { .. }) {
            break;
        }
    }
    (journal, instance_id, task)
}

#[tokio::test]
async fn a_cancel_during_a_retry_wait_ends_the_instance_at_once() {
    let probe = Arc::new(Probe::default());
    let yaml = flaky("{ transient: 2 }", "{ max_attempts: 4, delay: 1h }");
    let cancel = CancellationToken::new();
    let (journal, _, task) = first_run_then_wait(&probe, &yaml, cancel.clone()).await;
    cancel.cancel();
    let outcome = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the wait ended with the cancel")
        .unwrap()
        .unwrap();
    assert_eq!(outcome.status, InstanceStatus::Canceled);
    assert_eq!(attempts(&journal.all_runs()), transient_then("flaky", 1, &[]));
    assert_eq!((probe.runs("next"), probe.runs("on_failure")), (0, 0), "no link fired");
}

#[tokio::test]
async fn a_resume_between_retries_replays_finished_attempts_and_continues_the_count() {
    let probe = Arc::new(Probe::default());
    let retry = "{ max_attempts: 3, delay: DELAY }";
    let yaml = flaky("{ transient: 10 }", retry);
    let (journal, instance_id, task) =
        first_run_then_wait(&probe, &yaml.replace("DELAY", "1h"), CancellationToken::new()).await;
    task.abort(); // a crash while waiting to retry
    let _ = task.await;
    assert_eq!(probe.runs("flaky"), 1);

    let outcome = resume(&probe, &yaml.replace("DELAY", "1ms"), journal.clone(), instance_id).await;
    assert_eq!(outcome.status, InstanceStatus::Failed);
    assert_eq!(
        attempts(&journal.all_runs()),
        transient_then("flaky", 3, &[attempt("on_failure", 1, Status::Success, None)])
    );
    assert_eq!(
        probe.runs("flaky"),
        3,
        "attempt 1 was replayed, and the resumed instance ran only the 2 attempts left"
    );
}

/// Takes live output, and notes at each flush what the journal held of the runs then.
struct Recorder {
    chunks: Mutex<Vec<scorch_activity::OutputChunk>>,
    journal: Arc<MemoryJournal>,
    states_at_flush: Mutex<Vec<Vec<RunState>>>,
}

#[async_trait]
impl scorch_activity::OutputSink for Recorder {
    fn send(&self, chunk: scorch_activity::OutputChunk) {
        self.chunks.lock().unwrap().push(chunk);
    }

    async fn flush(&self) {
        let states = self.journal.all_runs().iter().map(|r| r.state).collect();
        self.states_at_flush.lock().unwrap().push(states);
    }
}

const PRINTING: &str = "
format: 1
runbook: Printing
logging: { published_data: KEEP }
activities:
  - { id: quiet, type: test.count }
  - id: loud
    type: run_program
    properties: { program: sh, arguments: [-c, 'echo out; echo err >&2'] }
links:
  - { from: quiet, to: loud }
";

#[tokio::test]
async fn live_output_reaches_the_sink_and_is_flushed_before_the_run_ends() {
    for keep in [true, false] {
        let probe = Arc::new(Probe::default());
        let journal = Arc::new(MemoryJournal::default());
        let recorder = Arc::new(Recorder {
            chunks: Mutex::default(),
            journal: journal.clone(),
            states_at_flush: Mutex::default(),
        });
        let yaml = PRINTING.replace("KEEP", &keep.to_string());
        let mut h = Harness::with_journal(&probe, &yaml, EngineConfig::default(), journal, Uuid::now_v7());
        h.engine = h.engine.with_output(recorder.clone());
        assert_eq!(h.run().await.status, InstanceStatus::Success);
        let chunks = recorder.chunks.lock().unwrap();
        let flushes = recorder.states_at_flush.lock().unwrap();
        if !keep {
            assert!(
                chunks.is_empty() && flushes.is_empty(),
                "a runbook that keeps no published data streams nothing"
            );
            continue;
        }
        let mut texts: Vec<_> = chunks
            .iter()
            .map(|c| (c.seq, c.stream.as_str(), c.text.as_str()))
            .collect();
        texts.sort();
        assert_eq!(texts, [(1, "stderr", "err\n"), (1, "stdout", "out\n")]);
        // One flush, for the run that printed, while its start alone was journaled.
        assert_eq!(*flushes, [vec![RunState::Finished(Status::Success), RunState::Running]]);
    }
}

/// Each run's end as an observer (metrics) hears of it.
#[derive(Default)]
struct Heard(Mutex<Vec<(String, Status)>>);

impl RunObserver for Heard {
    fn run_ended(&self, type_name: &str, status: Status, _took: Duration) {
        self.0.lock().unwrap().push((type_name.to_string(), status));
    }
}

#[tokio::test]
async fn an_observer_hears_each_run_by_type_but_not_runs_replayed_from_the_journal() {
    let probe = Arc::new(Probe::default());
    let yaml = CHAIN_WITH_GATE.replace("GATE", "test.gate_idempotent");
    let (journal, instance_id) = crash_at_gate(&probe, &yaml).await;
    let resumed_yaml = yaml.replace("type: test.gate_idempotent", "type: test.count");
    let heard = Arc::new(Heard::default());
    let mut h = Harness::with_journal(&probe, &resumed_yaml, EngineConfig::default(), journal, instance_id);
    h.engine = h.engine.with_observer(heard.clone());
    let outcome = h.engine.run(h.request(CancellationToken::new(), true)).await.unwrap();
    assert_eq!(outcome.status, InstanceStatus::Success, "{outcome:?}");
    // `a` and `b` come from the journal; the interrupted gate, `d` and `ret` run.
    let heard = heard.0.lock().unwrap().clone();
    let expected = [
        ("test.count", Status::Success),
        ("test.count", Status::Success),
        ("return_data", Status::Success),
    ];
    assert_eq!(heard, expected.map(|(t, s)| (t.to_string(), s)));
}

/// `{{ group.NAME }}` in `host` runs the activity once per host of the group, and the next
/// activity once per row; `hosts:` is taken only where `host` is.
#[tokio::test]
async fn a_computer_group_runs_an_activity_once_per_host() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let yaml = format!(
        "
format: 1
runbook: Group
activities:
  - {{ id: ping, type: get_computer_status, properties: {{ host: '{{{{ group.Local }}}}', port: {port} }} }}
  - {{ id: each, type: test.count }}
links:
  - {{ from: ping, to: each }}
"
    );
    let probe = Arc::new(Probe::default());
    let registry = registry(&probe);
    let settings = Arc::new(MemorySettings::default());
    settings.set_group(
        "Local",
        vec!["127.0.0.1".into(), "localhost".into(), "127.0.0.1".into()],
    );
    let journal = Arc::new(MemoryJournal::default());
    let engine = Engine::new(registry.clone(), journal.clone(), settings, EngineConfig::default());
    let outcome = engine
        .run(InstanceRequest::standalone(plan(&registry, &yaml)))
        .await
        .unwrap();
    assert_eq!(outcome.status, InstanceStatus::Success, "{outcome:?}");
    assert_eq!(probe.runs("each"), 3);
    let ping = journal
        .all_runs()
        .into_iter()
        .find(|r| &*r.activity_id == "ping")
        .unwrap();
    let hosts: Vec<&str> = ping.rows.iter().map(|r| r["host"].as_str().unwrap()).collect();
    assert_eq!(hosts, ["127.0.0.1", "localhost", "127.0.0.1"]);

    let refused = |yaml: &str| compile(&load(yaml).unwrap(), &RegistryCatalog(&registry)).unwrap_err();
    let wrong =
        refused("format: 1\nrunbook: X\nactivities:\n  - { id: a, type: test.count, properties: { hosts: [a] } }\n");
    assert!(wrong[0].message.contains("has no property 'hosts'"), "{wrong:?}");
}
