//! The open connections of one role: at most a bound at once, each in a phase that says what
//! it waits for, so that one waiting for its client can be timed out, or closed to make room.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::limits::HttpLimits;

/// What a connection waits for, and since when.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// The rest of a request head (since the connection opened, or its next request's first byte).
    Head(Instant),
    /// The rest of a request body (since its head came).
    Body(Instant),
    /// Our answer: the request is complete and in flight.
    Answering,
    /// A next request (since the last answer was handed over).
    Idle(Instant),
}

/// One connection's phase, and what closes it.
pub(super) struct ConnectionState {
    phase: Mutex<Phase>,
    changed: Notify,
    close: CancellationToken,
    /// Whether it was closed to make room for new connections.
    made_room: AtomicBool,
}

impl ConnectionState {
    fn new() -> Self {
        Self {
            phase: Mutex::new(Phase::Head(Instant::now())),
            changed: Notify::new(),
            close: CancellationToken::new(),
            made_room: AtomicBool::new(false),
        }
    }

    fn phase(&self) -> Phase {
        *self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves to the phase `next` makes of the current one, if any. A move to answering (which
    /// every request makes) only takes the deadline away, so it does not wake
    /// [`expired`](Self::expired): that is found when the old deadline passes. Every other move
    /// may bring the deadline forward (a body's timeout may be shorter than a head's).
    fn update(&self, next: impl FnOnce(Phase) -> Option<Phase>) {
        let mut phase = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(new) = next(*phase) {
            *phase = new;
            if !matches!(new, Phase::Answering) {
                self.changed.notify_one();
            }
        }
    }

    /// When the current phase's wait for the client runs out; `None` while a request is in
    /// flight.
    fn deadline(&self, limits: &HttpLimits) -> Option<Instant> {
        match self.phase() {
            Phase::Head(since) => Some(since + limits.header_read_timeout),
            Phase::Body(since) => Some(since + limits.body_read_timeout),
            Phase::Idle(since) => Some(since + limits.idle_timeout),
            Phase::Answering => None,
        }
    }

    /// Bytes came in: the first of a next request starts its head's clock.
    pub(super) fn heard(&self) {
        self.update(|phase| matches!(phase, Phase::Idle(_)).then(|| Phase::Head(Instant::now())));
    }

    /// A request head came: its body is awaited (when it has one), then our answer, which is in
    /// flight until the guard returned is dropped.
    pub(super) fn request(self: &Arc<Self>, has_body: bool) -> Answering {
        let next = if has_body {
            Phase::Body(Instant::now())
        } else {
            Phase::Answering
        };
        self.update(|_| Some(next));
        Answering(self.clone())
    }

    /// The request body has come, or will not be read: our answer is all that is awaited.
    pub(super) fn body_read(&self) {
        self.update(|phase| matches!(phase, Phase::Body(_)).then_some(Phase::Answering));
    }

    /// Whether it is reading a request head: no request of it is in flight, so what is written
    /// now can only be hyper's own answer to a head it could not read.
    pub(super) fn reading_head(&self) -> bool {
        matches!(self.phase(), Phase::Head(_))
    }

    /// Since when it has waited for its client; `None` while a request is in flight.
    fn waiting_since(&self) -> Option<Instant> {
        match self.phase() {
            Phase::Head(since) | Phase::Body(since) | Phase::Idle(since) => Some(since),
            Phase::Answering => None,
        }
    }

    /// Completes when the connection is to be closed: made room for another, closed at
    /// shutdown, or waiting for its client past its phase's deadline.
    pub(super) async fn expired(&self, limits: &HttpLimits) {
        loop {
            let deadline = self.deadline(limits);
            let passed = async {
                match deadline {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                // The phase may have moved on since (without a wake): look again.
                () = passed => if self.deadline(limits).is_some_and(|d| d <= Instant::now()) {
                    return;
                },
                () = self.changed.notified() => {}
                () = self.close.cancelled() => return,
            }
        }
    }
}

/// A request in flight; dropped once its answer is handed over, which makes the connection idle.
pub(super) struct Answering(Arc<ConnectionState>);

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.update(|_| Some(Phase::Idle(Instant::now())));
    }
}

/// The connections of one role.
pub(super) struct Connections {
    places: Arc<Semaphore>,
    open: Mutex<HashMap<u64, Arc<ConnectionState>>>,
    next_id: AtomicU64,
    /// Connections closed to make room that have not given their place back yet.
    making_room: AtomicUsize,
    /// How many to close at once to make room: a scan of every connection is paid for once
    /// for this many new ones.
    room_at_once: usize,
}

/// A connection's place among the open ones, given up when dropped.
pub(super) struct Admitted {
    id: u64,
    state: Arc<ConnectionState>,
    connections: Arc<Connections>,
    _place: OwnedSemaphorePermit,
}

impl Admitted {
    pub(super) fn state(&self) -> Arc<ConnectionState> {
        self.state.clone()
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.connections.lock().remove(&self.id);
        if self.state.made_room.load(Ordering::Relaxed) {
            self.connections.making_room.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Connections {
    pub(super) fn new(max: usize) -> Arc<Self> {
        let max = max.max(1);
        Arc::new(Self {
            places: Arc::new(Semaphore::new(max)),
            open: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            making_room: AtomicUsize::new(0),
            room_at_once: (max / 16).max(1),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<ConnectionState>>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for a new connection. At the bound, the connections that have waited longest
    /// for their clients are closed to make room (a sixteenth of the bound at once), so slow
    /// clients cannot starve new ones; when every connection has a request in flight, this
    /// waits for one to end.
    pub(super) async fn admit(self: &Arc<Self>) -> Admitted {
        let place = match self.places.clone().try_acquire_owned() {
            Ok(place) => place,
            Err(_) => {
                if self.making_room.load(Ordering::Relaxed) == 0 {
                    self.close_longest_waiting();
                }
                self.places
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the semaphore is never closed")
            }
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(ConnectionState::new());
        self.lock().insert(id, state.clone());
        Admitted {
            id,
            state,
            connections: self.clone(),
            _place: place,
        }
    }

    fn close_longest_waiting(&self) {
        let open = self.lock();
        let mut waiting: Vec<(Instant, &Arc<ConnectionState>)> = open
            .values()
            .filter_map(|c| c.waiting_since().map(|since| (since, c)))
            .collect();
        let count = self.room_at_once.min(waiting.len());
        if count < waiting.len() {
            waiting.select_nth_unstable_by_key(count, |(since, _)| *since);
        }
        for (_, connection) in &waiting[..count] {
            connection.made_room.store(true, Ordering::Relaxed);
            connection.close.cancel();
        }
        self.making_room.fetch_add(count, Ordering::Relaxed);
    }

    /// Closes every connection that has no request in flight (at shutdown).
    pub(super) fn close_waiting(&self) {
        for connection in self.lock().values() {
            if connection.waiting_since().is_some() {
                connection.close.cancel();
            }
        }
    }
}
