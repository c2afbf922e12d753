//! Activities' live output on its way to the store: the engine's [`OutputSink`]. Chunks wait in
//! memory and are written in batches (every [`FLUSH_EVERY`], or sooner once [`FLUSH_BYTES`] wait),
//! one write per batch for every run of this server, never one per line. A program never waits
//! for the store: while a write is slow, chunks queue up to [`MAX_PENDING`] bytes, and past that
//! they are dropped, leaving a marker in their place in that run's output.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scorch_activity::{OutputChunk, OutputSink};
use scorch_store::JobPath;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::warn;
use uuid::Uuid;

/// How long output may wait before it is written.
const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// Output waiting that makes a write start at once.
const FLUSH_BYTES: usize = 16 * 1024;
/// Output kept waiting in memory at most (besides the batch being written) while the store is
/// slow; more is dropped.
const MAX_PENDING: usize = 8 * 1024 * 1024;
/// Runs whose dropped output this server remembers at once; it forgets them all past this.
const MAX_GAPS: usize = 4096;
/// Written where output was dropped, when the gap has room for it.
const DROPPED_MARKER: &str = "\n[scorch: output dropped here: the database was too slow to take it]\n";

/// How long the end of a run waits for its output to be written.
const FLUSH_WAIT: Duration = Duration::from_secs(5);

/// The sink the engine writes to; [`Batcher::stop`] writes what is left.
pub(super) struct Batcher {
    pending: Mutex<Pending>,
    wake: Notify,
    stop: CancellationToken,
    /// How many takes of the write loop are written (or given up).
    written: watch::Sender<u64>,
}

#[derive(Default)]
struct Pending {
    chunks: Vec<OutputChunk>,
    bytes: usize,
    /// How many times the write loop took what waited.
    taken: u64,
    /// Per run: where its dropped output starts, and how many bytes were dropped.
    gaps: HashMap<(Uuid, u64), (u64, u64)>,
}

impl Pending {
    /// Adds `chunk` to the last chunk waiting when it continues it, keeping chunks bounded.
    fn push(&mut self, chunk: OutputChunk) {
        self.bytes += chunk.text.len();
        if let Some(last) = self.chunks.last_mut()
            && (last.instance_id, last.seq, last.stream) == (chunk.instance_id, chunk.seq, chunk.stream)
            && last.end() == chunk.offset
            && last.text.len() + chunk.text.len() <= scorch_activity::LiveOutput::MAX_CHUNK
        {
            last.text.push_str(&chunk.text);
            return;
        }
        self.chunks.push(chunk);
    }
}

#[async_trait::async_trait]
impl OutputSink for Batcher {
    fn send(&self, chunk: OutputChunk) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let run = (chunk.instance_id, chunk.seq);
        if pending.bytes + chunk.text.len() > MAX_PENDING {
            if pending.gaps.len() >= MAX_GAPS {
                pending.gaps.clear();
            }
            pending.gaps.entry(run).or_insert((chunk.offset, 0)).1 += chunk.text.len() as u64;
            return;
        }
        if let Some((at, dropped)) = pending.gaps.remove(&run)
            && dropped >= DROPPED_MARKER.len() as u64
        {
            pending.push(OutputChunk {
                offset: at,
                text: DROPPED_MARKER.to_string(),
                ..chunk.clone()
            });
        }
        pending.push(chunk);
        if pending.bytes >= FLUSH_BYTES {
            self.wake.notify_one();
        }
    }

    /// Returns once the output sent so far is written (or after [`FLUSH_WAIT`]): at once when
    /// nothing waits or is being written.
    async fn flush(&self) {
        let target = {
            let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            if pending.chunks.is_empty() && *self.written.borrow() == pending.taken {
                return;
            }
            // The next take holds everything waiting now.
            pending.taken + 1
        };
        self.wake.notify_one();
        let mut written = self.written.subscribe();
        let _ = tokio::time::timeout(FLUSH_WAIT, written.wait_for(|&n| n >= target)).await;
    }
}

impl Batcher {
    /// A batcher writing to `store` from a task of its own, until [`Batcher::stop`].
    pub(super) fn start(store: Arc<dyn JobPath>) -> (Arc<Self>, JoinHandle<()>) {
        let batcher = Arc::new(Batcher {
            pending: Mutex::default(),
            wake: Notify::new(),
            stop: CancellationToken::new(),
            written: watch::Sender::new(0),
        });
        let task = tokio::spawn(batcher.clone().write_loop(store));
        (batcher, task)
    }

    /// Ends the write loop once what waits is written.
    pub(super) fn stop(&self) {
        self.stop.cancel();
    }

    async fn write_loop(self: Arc<Self>, store: Arc<dyn JobPath>) {
        loop {
            let stopping = tokio::select! {
                _ = tokio::time::sleep(FLUSH_EVERY) => false,
                _ = self.wake.notified() => false,
                _ = self.stop.cancelled() => true,
            };
            let (chunks, take) = {
                let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                pending.bytes = 0;
                pending.taken += 1;
                (std::mem::take(&mut pending.chunks), pending.taken)
            };
            if !chunks.is_empty()
                && let Err(e) = store.append_output(&chunks).await
            {
                // The output is lost (the runs go on); the journal has its own retries.
                warn!(error = %e, chunks = chunks.len(), "cannot store activities' live output; it is lost");
            }
            self.written.send_replace(take);
            if stopping {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorch_activity::Stream;

    fn chunk(seq: u64, offset: u64, text: &str) -> OutputChunk {
        OutputChunk {
            instance_id: Uuid::nil(),
            seq,
            stream: Stream::Stdout,
            offset,
            text: text.into(),
        }
    }

    fn batcher() -> Batcher {
        Batcher {
            pending: Mutex::default(),
            wake: Notify::new(),
            stop: CancellationToken::new(),
            written: watch::Sender::new(0),
        }
    }

    #[test]
    fn contiguous_chunks_of_a_run_are_merged() {
        let b = batcher();
        b.send(chunk(1, 0, "a\n"));
        b.send(chunk(1, 2, "b\n"));
        b.send(chunk(2, 0, "c\n"));
        b.send(chunk(1, 4, "d\n"));
        let pending = b.pending.lock().unwrap();
        let texts: Vec<_> = pending
            .chunks
            .iter()
            .map(|c| (c.seq, c.offset, c.text.as_str()))
            .collect();
        assert_eq!(texts, vec![(1, 0, "a\nb\n"), (2, 0, "c\n"), (1, 4, "d\n")]);
        assert_eq!(pending.bytes, 8);
    }

    #[test]
    fn past_the_memory_bound_output_is_dropped_and_marked() {
        let b = batcher();
        let big = "x".repeat(scorch_activity::LiveOutput::MAX_CHUNK);
        let mut offset = 0;
        while b.pending.lock().unwrap().bytes + big.len() <= MAX_PENDING {
            b.send(chunk(offset / big.len() as u64 % 7, offset, &big));
            offset += big.len() as u64;
        }
        b.send(chunk(9, 0, &big));
        b.send(chunk(9, big.len() as u64, "late\n"));
        let pending = b.pending.lock().unwrap();
        assert!(pending.bytes <= MAX_PENDING);
        assert!(!pending.chunks.iter().any(|c| c.seq == 9));
        drop(pending);
        // The store caught up: the next chunk of that run goes after a marker where it lost some.
        b.pending.lock().unwrap().bytes = 0;
        b.pending.lock().unwrap().chunks.clear();
        b.send(chunk(9, big.len() as u64 + 5, "after\n"));
        let pending = b.pending.lock().unwrap();
        let texts: Vec<_> = pending.chunks.iter().map(|c| (c.offset, c.text.as_str())).collect();
        assert_eq!(texts, vec![(0, DROPPED_MARKER), (big.len() as u64 + 5, "after\n")]);
    }
}
