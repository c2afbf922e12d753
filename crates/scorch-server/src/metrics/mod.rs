//! Prometheus metrics (OpenMetrics text). What only a runbook server sees (activity runs, claims,
//! journal writes, job ends) is counted in its process by [`Metrics`], with atomics made once
//! per activity type so a run allocates nothing; what the database knows (jobs by status, the
//! queue, runbook servers and their load) is read on each scrape ([`database`]).
//!
//! The web service and management server serve both at `GET /metrics` ([`route`]); a runbook
//! server on its own serves its counters on its optional port ([`port`]).

mod database;
pub mod port;
pub(crate) mod route;
mod timed_journal;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use scorch_activity::Status;
use scorch_engine::RunObserver;
use scorch_store::JobStatus;

pub(crate) use timed_journal::TimedJournal;

/// The answer's content type: what `encode` writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    activity_type: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TypeLabel {
    activity_type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

/// One activity type's counters, by outcome, and its durations.
struct TypeMetrics {
    success: Counter,
    warning: Counter,
    failed: Counter,
    duration: Histogram,
}

/// Durations from a millisecond to an hour (activities), and from 100 µs to about 6 s (database
/// round trips).
fn run_buckets() -> impl Iterator<Item = f64> {
    [0.001, 0.005, 0.025, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0, 3600.0].into_iter()
}

fn latency_buckets() -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(0.0001, 3.0, 11)
}

/// This process's counters.
pub struct Metrics {
    registry: Registry,
    /// By activity type; made for every registered type up front.
    types: HashMap<&'static str, TypeMetrics>,
    claims: Histogram,
    journal: Histogram,
    /// Completed, failed, canceled.
    jobs_ended: [Counter; 3],
    /// Instances this process's runbook server runs now (shown on its own port only: the
    /// database's figure for every server is on `/metrics`).
    running: Gauge,
}

impl Metrics {
    /// Counters for the activity types of `activities` (and `junction`, which the engine runs).
    pub fn new(activities: &scorch_activity::Registry) -> Arc<Self> {
        let mut registry = Registry::default();
        let runs = Family::<RunLabels, Counter>::default();
        let durations = Family::<TypeLabel, Histogram>::new_with_constructor(|| Histogram::new(run_buckets()));
        let type_names = activities
            .iter()
            .map(|a| a.descriptor().type_name)
            .chain([scorch_engine::JUNCTION]);
        let types = type_names
            .map(|name| {
                let outcome = |outcome| {
                    runs.get_or_create(&RunLabels {
                        activity_type: name,
                        outcome,
                    })
                    .clone()
                };
                let metrics = TypeMetrics {
                    success: outcome("success"),
                    warning: outcome("warning"),
                    failed: outcome("failed"),
                    duration: durations.get_or_create(&TypeLabel { activity_type: name }).clone(),
                };
                (name, metrics)
            })
            .collect();
        registry.register(
            "scorch_activity_runs",
            "Activity runs ended on this runbook server, by activity type and outcome",
            runs,
        );
        registry.register(
            "scorch_activity_run_duration_seconds",
            "How long activity runs took, by activity type",
            durations,
        );
        let claims = Histogram::new(latency_buckets());
        registry.register(
            "scorch_job_claim_duration_seconds",
            "How long a runbook server's claim of pending jobs took in the database",
            claims.clone(),
        );
        let journal = Histogram::new(latency_buckets());
        registry.register(
            "scorch_journal_write_duration_seconds",
            "How long a durable journal record took to be committed (group commit included)",
            journal.clone(),
        );
        let ended = Family::<StatusLabel, Counter>::default();
        let jobs_ended = [JobStatus::Completed, JobStatus::Failed, JobStatus::Canceled].map(|status| {
            ended
                .get_or_create(&StatusLabel {
                    status: status.as_str(),
                })
                .clone()
        });
        registry.register(
            "scorch_jobs_ended",
            "Jobs this runbook server ran to their end, by status",
            ended,
        );
        Arc::new(Self {
            registry,
            types,
            claims,
            journal,
            jobs_ended,
            running: Gauge::default(),
        })
    }

    pub(crate) fn claim_took(&self, took: Duration) {
        self.claims.observe(took.as_secs_f64());
    }

    pub(crate) fn journal_write_took(&self, took: Duration) {
        self.journal.observe(took.as_secs_f64());
    }

    pub(crate) fn job_ended(&self, status: JobStatus) {
        let [completed, failed, canceled] = &self.jobs_ended;
        match status {
            JobStatus::Completed => completed.inc(),
            JobStatus::Failed => failed.inc(),
            JobStatus::Canceled => canceled.inc(),
            JobStatus::Pending | JobStatus::Running => return,
        };
    }

    /// One more (or, `-1`, one fewer) instance running on this process's runbook server.
    pub(crate) fn instances_running(&self, change: i64) {
        self.running.inc_by(change);
    }

    /// This process's counters, without the end-of-exposition marker ([`finish`]).
    fn encode(&self, out: &mut String) {
        encode_registry(out, &self.registry).expect("writing to a String cannot fail");
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl RunObserver for Metrics {
    fn run_ended(&self, type_name: &str, status: Status, duration: Duration) {
        // A type not installed here fails before it runs; nothing to count by.
        let Some(m) = self.types.get(type_name) else { return };
        match status {
            Status::Success => m.success.inc(),
            Status::Warning => m.warning.inc(),
            Status::Failed => m.failed.inc(),
        };
        m.duration.observe(duration.as_secs_f64());
    }
}

/// Ends an exposition.
fn finish(mut out: String) -> String {
    encode_eof(&mut out).expect("writing to a String cannot fail");
    out
}
