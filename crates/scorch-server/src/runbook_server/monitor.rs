//! Holding a monitor job (`spec/runbook-format.md`, "Monitor runbooks"): the job stays running
//! while its watcher waits for events; each event becomes a trigger row (with the watcher's
//! checkpoint, in one commit) before anything runs, and each trigger row becomes exactly one
//! instance, started from the row: the holder reads the job's triggers after the last it read,
//! woken by its own watcher, by `Change::Trigger` (a webhook call recorded by the web service)
//! or by a slow poll. A server taking the job over resumes the instances of the triggers whose
//! instance had not ended, and the watcher resumes from the checkpoint.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use scorch_activity::{ActivityError, Row, Trigger, TriggerSink, Watch};
use scorch_engine::{Engine, EngineError, InstanceRequest};
use scorch_model::Plan;
use scorch_store::{Claim, JobPath, JobStatus, NewTrigger, StoreError, TriggerRecord};
use serde_json::Value;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, debug, error, warn};
use uuid::Uuid;

use super::gate::Gate;

/// The safety net when a trigger's announcement is lost.
const POLL: Duration = Duration::from_secs(2);
/// Triggers read at once.
const PAGE: u32 = 256;

/// What a held monitor job needs of its server.
pub(super) struct Hold {
    pub store: Arc<dyn JobPath>,
    pub engine: Arc<Engine>,
    pub server: String,
    pub plan: Arc<Plan>,
    pub watcher: Arc<dyn Watch>,
    /// Woken when a trigger of this job is announced.
    pub wake: Arc<Notify>,
    /// Instances monitor jobs run on this server (they take its slots).
    pub instances: Arc<AtomicUsize>,
    /// Whether the runbook's schedule lets a trigger fire now.
    pub gate: Gate,
}

/// How a held monitor job ended.
enum Stopped {
    /// The job was canceled: it ends `canceled`.
    Canceled,
    /// The server is stopping: the job is handed back.
    Draining,
    /// The watcher failed (bad properties, a folder gone): the job ends `failed`.
    Failed(String),
    /// Another server holds the job now: nothing more to record.
    Lost,
}

impl Hold {
    /// Holds the job until it is canceled (`cancel`), the server drains (`shutdown`) or the
    /// watcher fails; then ends or hands back the job.
    pub(super) async fn run(self, claim: Claim, cancel: CancellationToken, shutdown: CancellationToken) {
        let job_id = claim.job.id;
        let sink = Arc::new(StoreSink {
            store: self.store.clone(),
            job_id,
            server: self.server.clone(),
            wake: self.wake.clone(),
            running: Arc::new(AtomicUsize::new(0)),
            lost: AtomicBool::new(false),
            gate: self.gate.clone(),
        });
        let stopped = self.hold(&claim, &sink, &cancel, &shutdown).await;
        let status = match stopped {
            Stopped::Lost => return,
            Stopped::Draining => return super::hand_back(&self.store, job_id, &self.server).await,
            Stopped::Canceled => JobStatus::Canceled,
            Stopped::Failed(why) => {
                error!(error = %why, "the monitor stopped");
                let _ = sink
                    .note(
                        &format!("stopped:{}", Uuid::now_v7()),
                        &format!("the monitor stopped: {why}"),
                    )
                    .await;
                JobStatus::Failed
            }
        };
        if let Err(e) = self.store.finish_job(job_id, &self.server, status).await {
            warn!(error = %e, "cannot record the end of the monitor job");
        }
    }

    async fn hold(
        &self,
        claim: &Claim,
        sink: &Arc<StoreSink>,
        cancel: &CancellationToken,
        shutdown: &CancellationToken,
    ) -> Stopped {
        let job_id = claim.job.id;
        // Read before the open triggers, so that none recorded in between is missed (one read
        // twice is started once: see `Instances::launched`).
        let (checkpoint, cursor) = match self.resume_point(job_id).await {
            Ok(found) => found,
            Err(e) => return Stopped::Failed(format!("cannot read the monitor's state: {e}")),
        };
        let watching = cancel.child_token();
        let ctx = match self
            .engine
            .watch_context(&self.plan, job_id, checkpoint, watching.clone())
            .await
        {
            Ok(ctx) => ctx,
            Err(e) => return Stopped::Failed(e.to_string()),
        };
        let mut instances = Instances {
            hold: self,
            claim,
            cancel: cancel.clone(),
            running: sink.running.clone(),
            tasks: JoinSet::new(),
            launched: HashMap::new(),
            cursor,
            stalled: false,
        };
        match self.store.open_triggers(job_id).await {
            Ok(open) => open.iter().for_each(|t| instances.launch(t, true)),
            Err(e) => return Stopped::Failed(format!("cannot read the monitor's triggers: {e}")),
        }
        let watcher = self.watcher.clone();
        let sink_for_watcher: Arc<dyn TriggerSink> = sink.clone();
        let mut watch = tokio::spawn(async move { watcher.watch(ctx, sink_for_watcher).await }.in_current_span());
        let mut poll = tokio::time::interval(POLL);
        let stopped = loop {
            tokio::select! {
                _ = cancel.cancelled() => break Stopped::Canceled,
                _ = shutdown.cancelled() => break Stopped::Draining,
                ended = &mut watch => {
                    break match ended {
                        // The watcher stops when the job is canceled (its token is a child of
                        // `cancel`); `select!` may see its end before the cancellation.
                        Ok(Ok(())) if cancel.is_cancelled() => Stopped::Canceled,
                        Ok(Ok(())) => Stopped::Failed("the monitor stopped watching".into()),
                        Ok(Err(_)) if sink.lost.load(Ordering::SeqCst) => Stopped::Lost,
                        Ok(Err(e)) => Stopped::Failed(e.to_string()),
                        Err(e) => Stopped::Failed(format!("the monitor panicked: {e}")),
                    };
                }
                _ = self.wake.notified() => instances.read_new().await,
                _ = poll.tick() => instances.poll().await,
                Some(done) = instances.tasks.join_next() => instances.ended(done),
            }
        };
        watching.cancel();
        if !watch.is_finished() {
            let _ = watch.await;
        }
        // Canceled: the instances were canceled with the job; draining: the engine stops them
        // at their next activity and they resume where the job goes; failed: they finish.
        instances.wait().await;
        stopped
    }

    /// The watcher's checkpoint and the last trigger's seq.
    async fn resume_point(&self, job_id: Uuid) -> Result<(Option<Value>, i64), StoreError> {
        let checkpoint = match self.store.monitor_checkpoint(job_id).await? {
            Some(text) => {
                Some(serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("monitor checkpoint: {e}")))?)
            }
            None => None,
        };
        Ok((checkpoint, self.store.last_trigger(job_id).await?))
    }
}

/// The instances a held monitor job runs.
struct Instances<'a> {
    hold: &'a Hold,
    claim: &'a Claim,
    cancel: CancellationToken,
    /// How many run now (`busy`).
    running: Arc<AtomicUsize>,
    /// Each instance's id and trigger seq, and whether it stopped before its end was recorded.
    tasks: JoinSet<(Uuid, i64, bool)>,
    /// Some instance stopped before its end was recorded: resume the open ones at the next poll.
    stalled: bool,
    /// Instances started here that a read may still return (seq after `cursor` when launched):
    /// each trigger is started once.
    launched: HashMap<Uuid, i64>,
    /// The last trigger read.
    cursor: i64,
}

impl Instances<'_> {
    /// Starts the instances of the triggers recorded since the last read.
    async fn read_new(&mut self) {
        loop {
            let page = match self.hold.store.triggers(self.claim.job.id, self.cursor, PAGE).await {
                Ok(page) => page,
                Err(e) => return warn!(error = %e, "cannot read the monitor's triggers"),
            };
            for trigger in &page {
                self.cursor = self.cursor.max(trigger.seq);
                self.launch(trigger, false);
            }
            let cursor = self.cursor;
            self.launched.retain(|_, seq| *seq > cursor);
            if page.len() < PAGE as usize {
                return;
            }
        }
    }

    /// Starts (or, taking over, resumes) the instance of `trigger`, unless it is a note or was
    /// started here already.
    fn launch(&mut self, trigger: &TriggerRecord, resume: bool) {
        let Some(instance_id) = trigger.instance_id else {
            return;
        };
        if self.launched.insert(instance_id, trigger.seq).is_some() {
            return;
        }
        let parameters: Row = match serde_json::from_str(&trigger.data) {
            Ok(row) => row,
            Err(e) => return error!(%instance_id, error = %e, "a trigger's data is not a row; not started"),
        };
        let request = InstanceRequest {
            plan: self.hold.plan.clone(),
            runbook_id: self.claim.job.runbook_id,
            job_id: self.claim.job.id,
            instance_id,
            parameters,
            cancel: self.cancel.child_token(),
            events: None,
            resume,
        };
        self.running.fetch_add(1, Ordering::SeqCst);
        self.hold.instances.fetch_add(1, Ordering::SeqCst);
        let (engine, store, seq) = (self.hold.engine.clone(), self.hold.store.clone(), trigger.seq);
        let span = tracing::info_span!("instance_of_trigger", %instance_id, seq);
        self.tasks.spawn(
            async move {
                // Whether the instance stopped before its end was recorded (a database that went
                // away): it is resumed here once the database answers again.
                let stalled = match engine.run_to_end(request).await {
                    Ok(ended) => match store.journal().instance_finished(&ended.end).await {
                        Ok(()) => false,
                        Err(e) => {
                            error!(error = %e, "cannot record the end of a monitor's instance; resuming it shortly");
                            true
                        }
                    },
                    Err(EngineError::Drained) => {
                        debug!("drained; the instance resumes with the job");
                        false
                    }
                    Err(e) => {
                        error!(error = %e, "a monitor's instance stopped; resuming it shortly");
                        true
                    }
                };
                (instance_id, seq, stalled)
            }
            .instrument(span),
        );
    }

    fn ended(&mut self, done: Result<(Uuid, i64, bool), tokio::task::JoinError>) {
        self.running.fetch_sub(1, Ordering::SeqCst);
        self.hold.instances.fetch_sub(1, Ordering::SeqCst);
        match done {
            Ok((instance_id, _, true)) => {
                self.launched.remove(&instance_id);
                self.stalled = true;
            }
            Ok((instance_id, seq, false)) if seq <= self.cursor => {
                self.launched.remove(&instance_id);
            }
            _ => {}
        }
    }

    /// At each poll: new triggers, and the instances that stopped before their end was recorded
    /// (resumed from their journal, as a server taking the job over would).
    async fn poll(&mut self) {
        self.read_new().await;
        if !self.stalled {
            return;
        }
        match self.hold.store.open_triggers(self.claim.job.id).await {
            Ok(open) => {
                self.stalled = false;
                open.iter().for_each(|t| self.launch(t, true));
            }
            Err(e) => warn!(error = %e, "cannot read the monitor's open triggers yet"),
        }
    }

    async fn wait(&mut self) {
        while let Some(done) = self.tasks.join_next().await {
            self.ended(done);
        }
    }
}

/// The watcher's sink: triggers, checkpoints and notes go to the store.
struct StoreSink {
    store: Arc<dyn JobPath>,
    job_id: Uuid,
    server: String,
    wake: Arc<Notify>,
    running: Arc<AtomicUsize>,
    /// Set when the store refused a write because the job is no longer this server's.
    lost: AtomicBool,
    gate: Gate,
}

impl StoreSink {
    /// The error a watcher gets when the job is no longer this server's (it stops then).
    fn lost(&self) -> ActivityError {
        self.lost.store(true, Ordering::SeqCst);
        ActivityError::Failed("the monitor job is no longer held by this runbook server".into())
    }

    async fn record(&self, trigger: NewTrigger, checkpoint: Option<&str>) -> Result<bool, ActivityError> {
        match self
            .store
            .record_trigger(self.job_id, Some(&self.server), &trigger, checkpoint)
            .await
        {
            Ok(Some(_)) => {
                self.wake.notify_one();
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(StoreError::Conflict(_) | StoreError::NotFound(_)) => Err(self.lost()),
            Err(e) => Err(ActivityError::Transient(format!("the trigger was not recorded: {e}"))),
        }
    }
}

#[scorch_activity::async_trait]
impl TriggerSink for StoreSink {
    async fn fire(&self, trigger: Trigger, checkpoint: Value) -> Result<bool, ActivityError> {
        if let Some(outside) = self.gate.refuses(Timestamp::now()).await {
            self.save(checkpoint).await?;
            self.note(
                &format!("outside:{}", trigger.key),
                &format!("not fired for {}: {outside}", trigger.key),
            )
            .await?;
            return Ok(false);
        }
        let mut row = trigger.row;
        row.insert(
            scorch_activities::monitor::TRIGGERED_AT.into(),
            Value::from(Timestamp::now().to_string()),
        );
        let record = NewTrigger {
            key: trigger.key,
            instance_id: Some(Uuid::now_v7()),
            data: Value::Object(row).to_string(),
        };
        self.record(record, Some(&checkpoint.to_string())).await
    }

    async fn save(&self, checkpoint: Value) -> Result<(), ActivityError> {
        match self
            .store
            .save_checkpoint(self.job_id, &self.server, &checkpoint.to_string())
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict(_) | StoreError::NotFound(_)) => Err(self.lost()),
            Err(e) => Err(ActivityError::Transient(format!("the checkpoint was not saved: {e}"))),
        }
    }

    async fn note(&self, key: &str, text: &str) -> Result<(), ActivityError> {
        let note = NewTrigger {
            key: key.to_string(),
            instance_id: None,
            data: text.to_string(),
        };
        self.record(note, None).await.map(|_| ())
    }

    fn busy(&self) -> bool {
        self.running.load(Ordering::SeqCst) > 0
    }
}
