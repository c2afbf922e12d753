//! `GET /api/v1/events`: a live stream (server-sent events) of job, instance and activity
//! changes, and of activity runs' new output (ids only), of the runbooks the caller can see.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use scorch_engine::RunState;
use scorch_store::{Change, Store};
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::shutdown::Shutdown;
use super::wire::{ActivityEvent, InstanceEvent, JobEvent, LaggedEvent, OutputEvent};
use crate::api::wire::ErrorBody;
use crate::api::{AppState, Caller};

const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Forget the cached lookups past this many entries (a long-lived stream sees every instance).
const CACHE_LIMIT: usize = 10_000;

/// A live stream of changes to the runbooks the caller can see.
///
/// Server-sent events: `job` (data: JobEvent), `instance` (InstanceEvent), `activity`
/// (ActivityEvent) and `output` (OutputEvent: a run printed more) as JSON, `lagged`
/// (LaggedEvent) when the stream fell behind and skipped
/// changes (re-read what you show), and keep-alive comments every 15 s.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    operation_id = "stream_events",
    tag = "events",
    responses(
        (status = 200, description = "A text/event-stream of `job`, `instance`, `activity`, `output` and `lagged` events \
            (data: JobEvent, InstanceEvent, ActivityEvent, OutputEvent, LaggedEvent)", content_type = "text/event-stream", body = String),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn stream(
    State(state): State<AppState>,
    Extension(shutdown): Extension<Shutdown>,
    caller: Caller,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let feed = Feed {
        changes: state.store.subscribe(),
        store: state.store.clone(),
        sees_all: caller.can_see(""),
        caller,
        shutdown: shutdown.0,
        runbooks: HashMap::new(),
        instances: HashMap::new(),
    };
    let events = futures_util::stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok(event), feed))
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

struct Feed {
    changes: tokio::sync::broadcast::Receiver<Change>,
    store: Arc<dyn Store>,
    caller: Caller,
    sees_all: bool,
    shutdown: CancellationToken,
    /// Whether the caller may see each runbook.
    runbooks: HashMap<Uuid, bool>,
    /// The runbook of each instance.
    instances: HashMap<Uuid, Uuid>,
}

impl Feed {
    /// The next event for this caller; `None` ends the stream (shutdown).
    async fn next(&mut self) -> Option<Event> {
        loop {
            let change = tokio::select! {
                _ = self.shutdown.cancelled() => return None,
                change = self.changes.recv() => change,
            };
            match change {
                Ok(change) => {
                    if let Some(event) = self.event(change).await {
                        return Some(event);
                    }
                }
                Err(RecvError::Lagged(missed)) => return Some(sse("lagged", &LaggedEvent { missed })),
                Err(RecvError::Closed) => return None,
            }
        }
    }

    async fn event(&mut self, change: Change) -> Option<Event> {
        match change {
            Change::Job { id, runbook_id, status } => self.visible(runbook_id).await.then(|| {
                let data = JobEvent {
                    id: id.to_string(),
                    runbook_id: runbook_id.to_string(),
                    status: status.as_str().into(),
                };
                sse("job", &data)
            }),
            Change::Instance { id, job_id, status } => {
                let runbook_id = self.runbook_of(id).await?;
                self.visible(runbook_id).await.then(|| {
                    let data = InstanceEvent {
                        id: id.to_string(),
                        job_id: job_id.to_string(),
                        runbook_id: runbook_id.to_string(),
                        status: status.as_str().into(),
                    };
                    sse("instance", &data)
                })
            }
            Change::ActivityRun {
                instance_id,
                seq,
                activity_id,
                state,
            } => {
                let runbook_id = self.runbook_of(instance_id).await?;
                self.visible(runbook_id).await.then(|| {
                    let status = match state {
                        RunState::Running => "running",
                        RunState::Finished(s) => s.as_str(),
                    };
                    let data = ActivityEvent {
                        instance_id: instance_id.to_string(),
                        runbook_id: runbook_id.to_string(),
                        seq,
                        activity_id,
                        status: status.into(),
                    };
                    sse("activity", &data)
                })
            }
            Change::Output { instance_id, seq } => {
                let runbook_id = self.runbook_of(instance_id).await?;
                self.visible(runbook_id).await.then(|| {
                    let data = OutputEvent {
                        instance_id: instance_id.to_string(),
                        runbook_id: runbook_id.to_string(),
                        seq,
                    };
                    sse("output", &data)
                })
            }
            // A trigger shows as the instance it starts.
            Change::Trigger { .. } => None,
            // The service lost its connection to the database for a moment: how many is unknown.
            Change::Missed => Some(sse("lagged", &LaggedEvent { missed: 0 })),
        }
    }

    /// Whether the caller may see the runbook; a runbook that cannot be read is not shown.
    async fn visible(&mut self, runbook_id: Uuid) -> bool {
        if self.sees_all {
            return true;
        }
        if let Some(&visible) = self.runbooks.get(&runbook_id) {
            return visible;
        }
        let visible = match self.store.runbook(runbook_id, None).await {
            Ok(runbook) => self.caller.can_see(&runbook.folder),
            Err(scorch_store::StoreError::NotFound(_)) => false,
            // The database hiccuped: do not cache the answer.
            Err(_) => return false,
        };
        if self.runbooks.len() >= CACHE_LIMIT {
            self.runbooks.clear();
        }
        self.runbooks.insert(runbook_id, visible);
        visible
    }

    /// The runbook an instance runs, or `None` when it cannot be read.
    async fn runbook_of(&mut self, instance_id: Uuid) -> Option<Uuid> {
        if let Some(&runbook) = self.instances.get(&instance_id) {
            return Some(runbook);
        }
        let runbook = self.store.instance(instance_id).await.ok()?.runbook_id;
        if self.instances.len() >= CACHE_LIMIT {
            self.instances.clear();
        }
        self.instances.insert(instance_id, runbook);
        Some(runbook)
    }
}

fn sse(kind: &str, data: &impl Serialize) -> Event {
    Event::default()
        .event(kind)
        .data(serde_json::to_string(data).unwrap_or_default())
}
