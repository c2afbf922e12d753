//! The runbook server: registers, heartbeats, claims jobs through leases in the orchestration
//! database and runs them with the engine. It opens no port (but the optional metrics port the
//! binary may start beside it: `crate::metrics::port`). Woken by the store's change
//! notifications, with a slow poll only as a safety net.

mod gate;
mod heard;
mod invoker;
mod monitor;
mod output;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use scorch_engine::{Engine, EngineConfig, EngineError, InstanceRequest, InstanceStatus};
use scorch_model::Plan;
use scorch_store::{Change, Claim, JobFilter, JobPath, JobStatus, ServerRegistration, StoreError};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, debug, error, info, warn};
use uuid::Uuid;

use crate::metrics::{Metrics, TimedJournal};
use crate::plans::Plans;
use crate::secrets::{OpenedSettings, SecretBox};
use gate::Gate;
use heard::HeardQueue;
pub use invoker::StoreInvoker;

#[derive(Debug, Clone)]
pub struct RunbookServerOptions {
    pub name: String,
    pub host: String,
    /// Instances running at once at most.
    pub max_instances: u32,
    pub heartbeat: Duration,
    /// A job's lease: another server takes it over when this long passes without renewal.
    pub lease: Duration,
    /// The safety-net poll for work when no notification arrives.
    pub poll: Duration,
    /// On a graceful stop, how long running activities get to finish.
    pub drain_grace: Duration,
    pub engine: EngineConfig,
    /// Opens encrypted variables; without it activities see them as stored.
    pub secrets: Option<Arc<SecretBox>>,
    /// Where activity runs, claims, journal writes and job ends are counted; `None`: not counted.
    pub metrics: Option<Arc<Metrics>>,
}

impl RunbookServerOptions {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            host: String::new(),
            max_instances: 50,
            heartbeat: Duration::from_secs(2),
            lease: Duration::from_secs(10),
            poll: Duration::from_secs(2),
            drain_grace: Duration::from_secs(10),
            engine: EngineConfig {
                server: name.to_string(),
                ..EngineConfig::default()
            },
            secrets: None,
            metrics: None,
        }
    }
}

/// How long a runbook server that is not first to claim a new job waits before it looks for it.
const SECOND_LOOK: Duration = Duration::from_millis(25);

/// Waits before retrying a database that does not answer; grows to a few seconds.
async fn backoff(attempt: &mut u32, shutdown: &CancellationToken) {
    let delay = Duration::from_millis(200 * 2u64.pow((*attempt).min(4)));
    *attempt += 1;
    tokio::select! {
        _ = tokio::time::sleep(delay) => {}
        _ = shutdown.cancelled() => {}
    }
}

/// Runs the runbook server until `shutdown`, then drains: running instances finish their
/// in-flight activities and are handed back to be resumed (here on restart, or elsewhere).
pub async fn run(store: Arc<dyn JobPath>, plans: Arc<Plans>, opts: RunbookServerOptions, shutdown: CancellationToken) {
    let registration = ServerRegistration {
        name: opts.name.clone(),
        host: opts.host.clone(),
        max_instances: opts.max_instances,
        packs: Vec::new(),
    };
    let mut attempt = 0;
    while let Err(e) = store.register_server(&registration).await {
        warn!(server = %opts.name, error = %e, "cannot register with the orchestration database; retrying");
        backoff(&mut attempt, &shutdown).await;
        if shutdown.is_cancelled() {
            return;
        }
    }
    // This process runs nothing yet: whatever is held under its name is a previous life's (killed,
    // then started again within the lease), handed back to be resumed now rather than left to a
    // lease this process would otherwise never let expire.
    attempt = 0;
    loop {
        match store.release_held_jobs(&opts.name).await {
            Ok(released) => {
                if !released.is_empty() {
                    warn!(server = %opts.name, jobs = released.len(), "resuming the jobs a previous run of this server held");
                }
                break;
            }
            Err(e) => {
                warn!(server = %opts.name, error = %e, "cannot hand back what a previous run of this server held; retrying");
                backoff(&mut attempt, &shutdown).await;
                if shutdown.is_cancelled() {
                    return;
                }
            }
        }
    }
    info!(server = %opts.name, max_instances = opts.max_instances, "runbook server started");
    let waiters = crate::jobs::JobWaiters::start(store.clone());
    let invoker = Arc::new(StoreInvoker {
        store: store.clone(),
        plans: plans.clone(),
        waiters,
    });
    let settings: Arc<dyn scorch_activity::GlobalSettings> = match &opts.secrets {
        Some(secrets) => Arc::new(OpenedSettings {
            inner: store.settings(),
            secrets: secrets.clone(),
        }),
        None => store.settings(),
    };
    let (output, writing_output) = output::Batcher::start(store.clone());
    let journal = match &opts.metrics {
        Some(metrics) => Arc::new(TimedJournal {
            inner: store.journal(),
            metrics: metrics.clone(),
        }),
        None => store.journal(),
    };
    let mut engine = Engine::new(plans.registry().clone(), journal, settings.clone(), opts.engine.clone())
        .with_invoker(invoker)
        .with_output(output.clone());
    if let Some(metrics) = &opts.metrics {
        engine = engine.with_observer(metrics.clone());
    }
    let engine = Arc::new(engine);
    let mut server = Server {
        store,
        plans,
        engine,
        opts,
        running: HashMap::new(),
        tasks: JoinSet::new(),
        claims: JoinSet::new(),
        peers: Vec::new(),
        queue: HeardQueue::default(),
        settings,
        monitors: HashSet::new(),
        monitor_instances: Arc::new(AtomicUsize::new(0)),
        shutdown: shutdown.clone(),
    };
    server.serve(&shutdown).await;
    server.drain().await;
    output.stop();
    let _ = writing_output.await;
}

/// A job this server runs.
struct Running {
    cancel: CancellationToken,
    /// Whether the change its claim made has come by (that one is not a cancellation request).
    claim_seen: bool,
    /// Told of the job's triggers (a monitor job's).
    wake: Arc<Notify>,
}

struct Server {
    store: Arc<dyn JobPath>,
    plans: Arc<Plans>,
    engine: Arc<Engine>,
    opts: RunbookServerOptions,
    /// Each running job.
    running: HashMap<Uuid, Running>,
    tasks: JoinSet<Uuid>,
    /// The claim in flight, if any.
    claims: JoinSet<Claimed>,
    /// The runbook servers alive at the last heartbeat (this one included), by name: they share
    /// out who claims each new job first.
    peers: Vec<String>,
    /// The pending jobs heard of.
    queue: HeardQueue,
    settings: Arc<dyn scorch_activity::GlobalSettings>,
    /// The monitor jobs held (among `running`): they take no slot, their instances do.
    monitors: HashSet<Uuid>,
    /// Instances of held monitor jobs running now.
    monitor_instances: Arc<AtomicUsize>,
    /// The server's stop: a held monitor hands its job back.
    shutdown: CancellationToken,
}

/// A claim's outcome: how many jobs it asked for, and what it got.
type Claimed = (usize, Result<Vec<Claim>, StoreError>);

impl Server {
    async fn serve(&mut self, shutdown: &CancellationToken) {
        let mut changes = self.store.subscribe_jobs();
        self.read_queue().await;
        let mut heartbeat = tokio::time::interval(self.opts.heartbeat);
        let mut poll = tokio::time::interval(self.opts.poll);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut db_failures = 0;
        // Claim only when there may be work: a new job, a freed slot while jobs are pending, a
        // missed notification, a heartbeat (leases of a dead server expire without a
        // notification) or the poll. (Journal changes are many and never mean new work.) The
        // claim runs beside this loop, one at a time: what comes in meanwhile is for the next one.
        let mut look_for_work = true;
        // When to look for new jobs that another server was first to claim, in case it did not.
        let mut second_look: Option<tokio::time::Instant> = None;
        loop {
            if look_for_work && self.claims.is_empty() && self.free() > 0 {
                look_for_work = false;
                self.claim_work();
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = heartbeat.tick() => {
                    self.beat().await;
                    if self.queue.needs_read() {
                        self.read_queue().await;
                    }
                    look_for_work = true;
                }
                _ = tokio::time::sleep_until(second_look.unwrap_or_else(tokio::time::Instant::now)), if second_look.is_some() => {
                    second_look = None;
                    // Nothing to do when the first claimers took what they were first for.
                    look_for_work |= self.queue.may_wait();
                }
                change = changes.recv() => match change {
                    Ok(Change::Job { id, status: JobStatus::Pending, .. }) => {
                        self.queue.heard(id, JobStatus::Pending);
                        match first_to_claim(&self.peers, &self.opts.name, id) {
                            true => look_for_work = true,
                            false => {
                                second_look.get_or_insert_with(|| tokio::time::Instant::now() + SECOND_LOOK);
                            }
                        }
                    }
                    Err(_) | Ok(Change::Missed) => {
                        self.queue.missed();
                        look_for_work = true;
                    }
                    Ok(Change::Job { id, status, .. }) => {
                        self.queue.heard(id, status);
                        self.job_changed(id, status).await;
                    }
                    Ok(Change::Trigger { job_id }) => {
                        if let Some(running) = self.running.get(&job_id) {
                            running.wake.notify_one();
                        }
                    }
                    Ok(_) => {}
                },
                Some(done) = self.tasks.join_next() => {
                    if let Ok(job_id) = done {
                        self.running.remove(&job_id);
                        if !self.monitors.remove(&job_id) {
                            self.count_running(-1);
                        }
                    }
                    look_for_work |= self.queue.may_wait();
                }
                Some(claimed) = self.claims.join_next() => {
                    let claimed = claimed.unwrap_or_else(|e| (0, Err(StoreError::Unavailable(e.to_string()))));
                    look_for_work |= self.claimed(claimed, &mut db_failures, shutdown).await;
                }
                _ = poll.tick() => look_for_work = true,
            }
        }
    }

    /// A change to a job this server runs may be a cancellation request: a running job is read
    /// to see, except for the change its own claim made; a canceled one is stopped. (Every job
    /// makes these changes, so reading them all would cost a read per job. A request missed here
    /// is still seen at the next heartbeat, whose lease renewal reports it.)
    async fn job_changed(&mut self, id: Uuid, status: JobStatus) {
        let Some(running) = self.running.get_mut(&id) else {
            return;
        };
        let cancel = match status {
            JobStatus::Running if !running.claim_seen => {
                running.claim_seen = true;
                false
            }
            JobStatus::Running => self
                .store
                .job(id)
                .await
                .is_ok_and(|job| job.cancel_requested || job.status == JobStatus::Canceled),
            JobStatus::Canceled => true,
            JobStatus::Pending | JobStatus::Completed | JobStatus::Failed => false,
        };
        if cancel && let Some(running) = self.running.get(&id) {
            running.cancel.cancel();
        }
    }

    /// Starts the jobs a claim took. Whether to look for work again: the claim took as many as it
    /// asked for (there may be more once slots free up), or failed (after a pause).
    async fn claimed(&mut self, (asked, claims): Claimed, db_failures: &mut u32, shutdown: &CancellationToken) -> bool {
        match claims {
            Ok(claims) => {
                *db_failures = 0;
                let again = claims.len() == asked;
                self.queue.taken(claims.iter().map(|claim| claim.job.id), !again);
                claims.into_iter().for_each(|claim| self.start(claim));
                again
            }
            Err(e) => {
                warn!(server = %self.opts.name, error = %e, "cannot claim work; retrying");
                backoff(db_failures, shutdown).await;
                true
            }
        }
    }

    /// Reads the pending jobs, which job changes then keep up to date.
    async fn read_queue(&mut self) {
        let pending = JobFilter {
            status: Some(JobStatus::Pending),
            limit: heard::MAX_HEARD as u32 + 1,
            ..JobFilter::default()
        };
        match self.store.list_jobs(&pending).await {
            Ok(jobs) => self.queue.read(jobs.into_iter().map(|job| job.id)),
            Err(e) => {
                warn!(server = %self.opts.name, error = %e, "cannot read the job queue");
                self.queue.missed();
            }
        }
    }

    /// Instances this server may still start: held monitor jobs take no slot (a server may hold
    /// thousands), the instances their triggers start do.
    fn free(&self) -> usize {
        let instances = self.running.len() - self.monitors.len() + self.monitor_instances.load(Ordering::SeqCst);
        (self.opts.max_instances as usize).saturating_sub(instances)
    }

    /// Claims as many jobs as there are free slots, in one request, beside the serving loop.
    fn claim_work(&mut self) {
        let (store, server, lease) = (self.store.clone(), self.opts.name.clone(), self.opts.lease);
        let (alive_within, free, metrics) = (self.opts.heartbeat * 3, self.free(), self.opts.metrics.clone());
        self.claims.spawn(async move {
            let began = std::time::Instant::now();
            let claims = store.claim_jobs(&server, lease, alive_within, free).await;
            if let Some(metrics) = metrics {
                metrics.claim_took(began.elapsed());
            }
            (free, claims)
        });
    }

    /// Tells the metrics of an instance more (`1`) or fewer (`-1`) running here.
    fn count_running(&self, change: i64) {
        if let Some(metrics) = &self.opts.metrics {
            metrics.instances_running(change);
        }
    }

    fn start(&mut self, claim: Claim) {
        let cancel = CancellationToken::new();
        // A job resumed after its cancellation was asked for stops at once.
        if claim.job.cancel_requested {
            cancel.cancel();
        }
        let wake = Arc::new(Notify::new());
        let running = Running {
            cancel: cancel.clone(),
            claim_seen: false,
            wake: wake.clone(),
        };
        self.running.insert(claim.job.id, running);
        let plan = self.plans.get(&claim.runbook);
        let gate = Gate {
            schedule: plan.as_ref().ok().and_then(|plan| plan.runbook.schedule.clone()),
            settings: self.settings.clone(),
        };
        if let Ok(plan) = &plan
            && let Some(watcher) = plan
                .monitor
                .and_then(|i| self.plans.registry().watcher(&plan.steps[i].type_name))
        {
            self.monitors.insert(claim.job.id);
            let hold = monitor::Hold {
                store: self.store.clone(),
                engine: self.engine.clone(),
                server: self.opts.name.clone(),
                plan: plan.clone(),
                watcher: watcher.clone(),
                wake,
                instances: self.monitor_instances.clone(),
                gate,
            };
            let span = tracing::info_span!("monitor", job_id = %claim.job.id, runbook = %claim.runbook.name, server = %self.opts.name);
            let shutdown = self.shutdown.clone();
            self.tasks.spawn(
                async move {
                    let job_id = claim.job.id;
                    debug!("monitor job held");
                    hold.run(claim, cancel, shutdown).await;
                    job_id
                }
                .instrument(span),
            );
            return;
        }
        self.count_running(1);
        let (store, engine, server, metrics) = (
            self.store.clone(),
            self.engine.clone(),
            self.opts.name.clone(),
            self.opts.metrics.clone(),
        );
        // Everything logged for the job (its instance and activity runs too) names it.
        let span = tracing::info_span!(
            "job",
            job_id = %claim.job.id,
            runbook = %claim.runbook.name,
            server = %server,
            resume = claim.resume,
        );
        self.tasks.spawn(
            async move {
                let job_id = claim.job.id;
                debug!("job claimed");
                run_job(&store, plan, &gate, &engine, &server, claim, cancel, metrics.as_deref()).await;
                job_id
            }
            .instrument(span),
        );
    }

    async fn beat(&mut self) {
        if let Err(e) = self.store.heartbeat(&self.opts.name, self.running.len() as u32).await {
            warn!(server = %self.opts.name, error = %e, "heartbeat failed");
            return;
        }
        if let Ok(servers) = self.store.servers().await {
            let alive_since = jiff::Timestamp::now() - self.opts.heartbeat * 3;
            self.peers = servers
                .into_iter()
                .filter(|s| s.heartbeat_at.is_some_and(|at| at >= alive_since))
                .map(|s| s.name)
                .collect();
            self.peers.sort();
        }
        let held: Vec<Uuid> = self.running.keys().copied().collect();
        match self.store.renew_leases(&self.opts.name, &held, self.opts.lease).await {
            Ok(cancel_requested) => {
                for id in cancel_requested {
                    if let Some(running) = self.running.get(&id) {
                        running.cancel.cancel();
                    }
                }
            }
            Err(e) => warn!(server = %self.opts.name, error = %e, "cannot renew leases"),
        }
    }

    /// Lets in-flight activities finish (up to the grace period); drained instances are handed
    /// back by their tasks.
    async fn drain(mut self) {
        self.engine.drain();
        // Jobs a claim in flight takes are handed straight back, to run elsewhere (or here on
        // restart).
        while let Some(claimed) = self.claims.join_next().await {
            for claim in claimed.ok().and_then(|(_, claims)| claims.ok()).unwrap_or_default() {
                if let Err(e) = self.store.release_job(claim.job.id, &self.opts.name).await {
                    warn!(job_id = %claim.job.id, error = %e, "cannot hand the job back; its lease will expire instead");
                }
            }
        }
        let grace = tokio::time::sleep(self.opts.drain_grace);
        tokio::pin!(grace);
        loop {
            tokio::select! {
                next = self.tasks.join_next() => if next.is_none() { break },
                _ = &mut grace => {
                    warn!(server = %self.opts.name, left = self.tasks.len(), "drain grace passed; stopping the rest");
                    self.tasks.shutdown().await;
                    break;
                }
            }
        }
        info!(server = %self.opts.name, "runbook server stopped");
    }
}

/// Whether runbook server `name` is the first to try claiming new job `id`, among `peers` (the
/// servers alive, sorted). Every alive server is woken by each new job, and all claiming at once
/// costs each a claim (and the database its work) for a job only one gets: the job's id picks one
/// to claim at once, and the others look a moment later ([`SECOND_LOOK`]; finding nothing to do,
/// cheaply, when it was taken). A server that is full, down or not preferred by the job's runbook
/// thus delays a job by that moment only.
fn first_to_claim(peers: &[String], name: &str, id: Uuid) -> bool {
    match peers.len() {
        0 | 1 => true,
        n => peers[(id.as_u128() % n as u128) as usize] == name || !peers.iter().any(|p| p == name),
    }
}

/// Runs one claimed job to its end (or until drained) and records the job's outcome.
#[allow(clippy::too_many_arguments)]
async fn run_job(
    store: &Arc<dyn JobPath>,
    plan: Result<Arc<Plan>, String>,
    gate: &Gate,
    engine: &Engine,
    server: &str,
    claim: Claim,
    cancel: CancellationToken,
    metrics: Option<&Metrics>,
) {
    let job_id = claim.job.id;
    let plan = match plan {
        Ok(plan) => plan,
        Err(why) => {
            error!(error = %why, "the job's runbook cannot run on this server");
            let _ = store.finish_job(job_id, server, JobStatus::Failed).await;
            return;
        }
    };
    if !claim.resume
        && let Some(why) = gate.refuses(jiff::Timestamp::now()).await
    {
        return refuse(store, &claim, server, why).await;
    }
    let request = InstanceRequest {
        plan,
        runbook_id: claim.runbook.id,
        job_id,
        instance_id: claim.instance_id,
        parameters: claim.job.parameters.clone(),
        cancel,
        events: None,
        resume: claim.resume,
    };
    let ended = match engine.run_to_end(request).await {
        Ok(ended) => ended,
        Err(EngineError::Drained) => return hand_back(store, job_id, server).await,
        Err(e) => {
            // This server renews the leases of every job it holds, so a job it stopped running
            // must be handed back explicitly for a server (this one too) to resume it.
            error!(error = %e, "the instance stopped; handing it back to be resumed");
            return hand_back(store, job_id, server).await;
        }
    };
    let status = match ended.outcome.status {
        InstanceStatus::Success | InstanceStatus::Warning => JobStatus::Completed,
        InstanceStatus::Canceled => JobStatus::Canceled,
        InstanceStatus::Failed | InstanceStatus::Running => JobStatus::Failed,
    };
    // The instance's end and the job's, in one commit where the store can.
    let began = std::time::Instant::now();
    let finished = store.finish_instance_and_job(&ended.end, job_id, server, status).await;
    if let Some(metrics) = metrics {
        metrics.journal_write_took(began.elapsed());
    }
    match finished {
        Ok(()) => {
            if let Some(metrics) = metrics {
                metrics.job_ended(status);
            }
            debug!(status = status.as_str(), "job ended");
        }
        // No longer this server's job (its lease was taken over): the holder ends it.
        Err(e @ StoreError::Conflict(_)) => {
            warn!(error = %e, "the job was taken over before its end was recorded");
        }
        // Not recorded (the database refused it, or an earlier record of the instance that the
        // engine did not wait for was not written): hand the job back so that it is resumed from
        // what was recorded, rather than left running under this server's renewed lease.
        Err(e) => {
            error!(error = %e, "cannot record the end of the instance and its job; handing it back to be resumed");
            hand_back(store, job_id, server).await;
        }
    }
}

/// Ends a job that may not start now (`outside schedule NAME`) as `canceled`, with an instance
/// that ran nothing and says why.
async fn refuse(store: &Arc<dyn JobPath>, claim: &Claim, server: &str, why: String) {
    debug!(reason = %why, "the job may not start now");
    let now = jiff::Timestamp::now();
    let start = scorch_engine::InstanceStart {
        instance_id: claim.instance_id,
        job_id: claim.job.id,
        runbook_id: claim.runbook.id,
        runbook_name: claim.runbook.name.clone(),
        server: server.to_string(),
        parameters: claim.job.parameters.clone(),
        started_at: now,
    };
    let end = scorch_engine::InstanceEnd {
        instance_id: claim.instance_id,
        status: InstanceStatus::Canceled,
        returns: Default::default(),
        ended_at: now,
        problems: vec![why],
    };
    let recorded = match store.journal().instance_started(&start).await {
        Ok(()) => {
            store
                .finish_instance_and_job(&end, claim.job.id, server, JobStatus::Canceled)
                .await
        }
        Err(e) => Err(StoreError::Unavailable(e.to_string())),
    };
    if let Err(e) = recorded {
        warn!(error = %e, "cannot record that the job may not start now; handing it back");
        hand_back(store, claim.job.id, server).await;
    }
}

/// Releases a job this server no longer runs, retrying while the database is unreachable.
async fn hand_back(store: &Arc<dyn JobPath>, job_id: Uuid, server: &str) {
    let mut attempt = 0;
    let never = CancellationToken::new();
    loop {
        match store.release_job(job_id, server).await {
            Ok(()) => return,
            Err(StoreError::Unavailable(e)) if attempt < 60 => {
                warn!(job_id = %job_id, error = %e, "cannot hand the job back yet; retrying");
                backoff(&mut attempt, &never).await;
            }
            Err(e) => return warn!(job_id = %job_id, error = %e, "cannot hand the job back"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_new_job_has_one_first_claimer_among_alive_servers() {
        let peers: Vec<String> = ["rb1", "rb2", "rb3"].map(String::from).to_vec();
        let mut firsts = HashMap::new();
        for _ in 0..300 {
            let id = Uuid::now_v7();
            let first: Vec<&String> = peers.iter().filter(|p| first_to_claim(&peers, p, id)).collect();
            assert_eq!(first.len(), 1, "{id}: {first:?}");
            *firsts.entry(first[0].clone()).or_insert(0) += 1;
        }
        // Shared out, not all on one server.
        assert_eq!(firsts.len(), 3, "{firsts:?}");
        // Alone, or not (yet) among the alive: claim at once.
        let id = Uuid::now_v7();
        assert!(first_to_claim(&peers[..1], "rb1", id));
        assert!(first_to_claim(&[], "rb1", id));
        assert!(first_to_claim(&peers, "rb9", id));
    }
}
