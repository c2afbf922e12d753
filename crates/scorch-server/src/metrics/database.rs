//! What the database knows, read on each scrape (never counted per job): jobs by status, the age
//! of the oldest pending job, and each runbook server's heartbeat and load.

use std::sync::atomic::AtomicU64;

use jiff::Timestamp;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode_registry;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use scorch_store::{JobStatus, Store, StoreError};

use super::StatusLabel;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServerLabel {
    server: String,
}

/// A runbook server's load as one scrape shows it.
pub(super) struct ServerLoad {
    pub name: String,
    pub running: u32,
    pub max_instances: u32,
    /// Seconds since its last heartbeat, when the figures come from the database.
    pub heartbeat_age: Option<f64>,
}

type Seconds = Gauge<f64, AtomicU64>;

/// Seconds from `then` to `now`, never negative (clocks of two machines may disagree a little).
fn age(now: Timestamp, then: Timestamp) -> f64 {
    now.duration_since(then).as_secs_f64().max(0.0)
}

/// Appends the database's figures to an exposition.
pub(super) async fn encode(out: &mut String, store: &dyn Store) -> Result<(), StoreError> {
    let (counts, servers) = tokio::try_join!(store.job_counts(), store.servers())?;
    let now = Timestamp::now();
    let mut registry = Registry::default();
    let jobs = Family::<StatusLabel, Gauge>::default();
    let oldest_pending = Seconds::default();
    for status in [
        JobStatus::Pending,
        JobStatus::Running,
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Canceled,
    ] {
        let count = counts.iter().find(|c| c.status == status);
        let jobs_in = count.map_or(0, |c| i64::try_from(c.jobs).unwrap_or(i64::MAX));
        jobs.get_or_create(&StatusLabel {
            status: status.as_str(),
        })
        .set(jobs_in);
        if let (JobStatus::Pending, Some(c)) = (status, count) {
            oldest_pending.set(age(now, c.oldest_created_at));
        }
    }
    registry.register(
        "scorch_jobs",
        "Jobs in the orchestration database by status (pending: the queue's depth)",
        jobs,
    );
    registry.register(
        "scorch_job_queue_oldest_age_seconds",
        "How long the oldest pending job has waited to be claimed (0 when none waits)",
        oldest_pending,
    );
    let loads = servers.into_iter().map(|s| ServerLoad {
        heartbeat_age: s.heartbeat_at.map(|at| age(now, at)),
        name: s.name,
        running: s.running,
        max_instances: s.max_instances,
    });
    register_servers(&mut registry, loads);
    encode_registry(out, &registry).expect("writing to a String cannot fail");
    Ok(())
}

/// Registers the runbook servers' figures: from the database on `/metrics`, from the server
/// itself on its own port (without a heartbeat age).
pub(super) fn register_servers(registry: &mut Registry, servers: impl IntoIterator<Item = ServerLoad>) {
    let running = Family::<ServerLabel, Gauge>::default();
    let max = Family::<ServerLabel, Gauge>::default();
    let heartbeat = Family::<ServerLabel, Seconds>::default();
    let mut any_heartbeat = false;
    for s in servers {
        let label = ServerLabel { server: s.name };
        running.get_or_create(&label).set(i64::from(s.running));
        max.get_or_create(&label).set(i64::from(s.max_instances));
        if let Some(age) = s.heartbeat_age {
            heartbeat.get_or_create(&label).set(age);
            any_heartbeat = true;
        }
    }
    registry.register(
        "scorch_runbook_server_running_instances",
        "Instances a runbook server runs (at its last heartbeat, from the database)",
        running,
    );
    registry.register(
        "scorch_runbook_server_max_instances",
        "Instances a runbook server runs at once at most",
        max,
    );
    if any_heartbeat {
        registry.register(
            "scorch_runbook_server_heartbeat_age_seconds",
            "Seconds since a runbook server's last heartbeat (a silent one has stopped)",
            heartbeat,
        );
    }
}
