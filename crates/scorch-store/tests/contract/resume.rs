//! An instance stopped part-way (its journal became unavailable, as when the runbook server's
//! process dies) resumes from the store with a new engine: finished activities are replayed,
//! not run again, and the outcome is the one an uninterrupted run gives.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use scorch_engine::{
    Engine, EngineConfig, EngineError, InstanceEnd, InstanceRequest, InstanceStart, InstanceStatus, Journal,
    JournalError, Outcome, RegistryCatalog, RunRecord,
};
use scorch_model::{Plan, compile, load};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use scorch_store::Store;

use crate::job;

crate::contract!(an_instance_resumes_without_running_finished_steps_again);

/// Delegates to the store's journal until `allowed` runs have finished, then fails every call.
struct DyingJournal {
    inner: Arc<dyn Journal>,
    allowed: usize,
    finished: AtomicUsize,
}

impl DyingJournal {
    fn alive(&self) -> Result<(), JournalError> {
        if self.finished.load(Ordering::SeqCst) >= self.allowed {
            return Err(JournalError::Unavailable("the runbook server died".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl Journal for DyingJournal {
    async fn instance_started(&self, start: &InstanceStart) -> Result<(), JournalError> {
        self.inner.instance_started(start).await
    }
    async fn run_started(&self, run: &RunRecord) -> Result<(), JournalError> {
        self.alive()?;
        self.inner.run_started(run).await
    }
    async fn run_finished(&self, run: &RunRecord) -> Result<(), JournalError> {
        self.alive()?;
        self.inner.run_finished(run).await?;
        self.finished.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn instance_finished(&self, end: &InstanceEnd) -> Result<(), JournalError> {
        self.alive()?;
        self.inner.instance_finished(end).await
    }
    async fn runs(&self, instance_id: Uuid) -> Result<Vec<RunRecord>, JournalError> {
        self.inner.runs(instance_id).await
    }
}

/// Each step appends a line to one file, so a step run twice shows.
fn runbook(log: &std::path::Path) -> String {
    let mut y = String::from("format: 1\nrunbook: Steps\nreturns: [ { name: Lines, type: integer } ]\nactivities:\n");
    for step in ["a", "b", "c", "d"] {
        y.push_str(&format!(
            "  - {{ id: {step}, type: append_line, properties: {{ file: '{}', text: {step} }} }}\n",
            log.display()
        ));
    }
    y.push_str("  - { id: ret, type: return_data, properties: { values: { Lines: '{{ d.line_count }}' } } }\n");
    y.push_str(
        "links:\n  - { from: a, to: b }\n  - { from: b, to: c }\n  - { from: c, to: d }\n  - { from: d, to: ret }\n",
    );
    y
}

struct Run {
    plan: Arc<Plan>,
    runbook_id: Uuid,
    job_id: Uuid,
    instance_id: Uuid,
}

async fn run_with(
    journal: Arc<dyn Journal>,
    store: &Arc<dyn Store>,
    run: &Run,
    resume: bool,
) -> Result<Outcome, EngineError> {
    let engine = Engine::new(
        Arc::new(scorch_activities::standard()),
        journal,
        store.settings(),
        EngineConfig::default(),
    );
    engine
        .run(InstanceRequest {
            plan: run.plan.clone(),
            runbook_id: run.runbook_id,
            job_id: run.job_id,
            instance_id: run.instance_id,
            parameters: Default::default(),
            cancel: CancellationToken::new(),
            events: None,
            resume,
        })
        .await
}

async fn an_instance_resumes_without_running_finished_steps_again(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("steps.log");
    let registry = scorch_activities::standard();
    let loaded = load(&runbook(&log)).unwrap();
    let plan = Arc::new(compile(&loaded, &RegistryCatalog(&registry)).unwrap());
    let (runbook_id, version) = store.save_plan(&plan, "", "test").await.unwrap();
    assert_eq!(version, 1);
    let job_id = job(&store, runbook_id).await.id;
    let run = Run {
        plan,
        runbook_id,
        job_id,
        instance_id: Uuid::now_v7(),
    };

    let dying = Arc::new(DyingJournal {
        inner: store.journal(),
        allowed: 2,
        finished: AtomicUsize::new(0),
    });
    let first = run_with(dying, &store, &run, false).await;
    assert!(
        matches!(first, Err(EngineError::Journal(JournalError::Unavailable(_)))),
        "{first:?}"
    );
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "a\nb\n");

    // A new engine, with a journal of its own, continues the same instance from the store.
    let outcome = run_with(store.journal(), &store, &run, true).await.unwrap();
    assert_eq!(outcome.status, InstanceStatus::Success);
    assert_eq!(outcome.returns["Lines"], 4);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "a\nb\nc\nd\n",
        "no finished step ran twice"
    );
    let runs = store.journal().runs(run.instance_id).await.unwrap();
    let ids: Vec<&str> = runs.iter().map(|r| &*r.activity_id).collect();
    assert_eq!(ids, ["a", "b", "c", "d", "ret"]);
    let row = store.instance(run.instance_id).await.unwrap();
    assert_eq!(
        (row.status, row.returns["Lines"].clone()),
        (InstanceStatus::Success, 4.into())
    );
}
