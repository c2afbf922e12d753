//! Live output: what an activity prints while it runs (a program's stdout and stderr), streamed
//! to the people watching the instance and kept with its published data.
//!
//! An activity writes through its context's [`LiveOutput`]; the host (a runbook server) hands an
//! [`OutputSink`] to the engine, which gives each run a `LiveOutput` bound to that run. The
//! `LiveOutput` masks secret values and keeps at most [`LiveOutput::LIMIT`] bytes per run, then
//! one truncation marker. Any activity that prints (a program, a remote command) uses the same
//! API: [`LiveOutput::lines`] for a byte stream, [`LiveOutput::write`] for text.

use std::sync::{Arc, Mutex};

use uuid::Uuid;

use crate::SecretRegistry;

/// Which of a program's streams a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// A piece of one run's output, already masked and within the run's bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputChunk {
    pub instance_id: Uuid,
    /// The run's `seq` in its instance (as journaled).
    pub seq: u64,
    pub stream: Stream,
    /// Where `text` starts in the run's output (bytes, both streams together): readers resume
    /// from an offset.
    pub offset: u64,
    pub text: String,
}

impl OutputChunk {
    /// Where the next chunk of the same run starts.
    pub fn end(&self) -> u64 {
        self.offset + self.text.len() as u64
    }
}

/// Where a host sends live output. `send` is called while the activity runs, so it must never
/// block: a host that cannot keep up drops chunks rather than slow the program down.
#[async_trait::async_trait]
pub trait OutputSink: Send + Sync {
    fn send(&self, chunk: OutputChunk);

    /// Returns once what was sent so far is stored (or the host gave up waiting for it). The
    /// engine awaits it when a run that printed ends, before the run's end is recorded, so that
    /// whoever sees the run end finds all its output.
    async fn flush(&self) {}
}

/// One run's live output, in its [`ActivityContext`](crate::ActivityContext). Without a sink
/// (tests, tools) writing does nothing.
#[derive(Clone, Default)]
pub struct LiveOutput(Option<Arc<Bound>>);

struct Bound {
    sink: Arc<dyn OutputSink>,
    instance_id: Uuid,
    seq: u64,
    secrets: Arc<SecretRegistry>,
    /// Bytes written so far, `None` once the run is past its bound (the marker written).
    written: Mutex<Option<u64>>,
}

/// Written once when a run's output reaches [`LiveOutput::LIMIT`].
pub const TRUNCATED_MARKER: &str = "\n[scorch: output past 1 MiB is not kept]\n";

impl LiveOutput {
    /// Output kept per run; past it, one [`TRUNCATED_MARKER`] and nothing more.
    pub const LIMIT: u64 = 1024 * 1024;
    /// The longest chunk handed to a sink.
    pub const MAX_CHUNK: usize = 16 * 1024;

    /// The output of run `seq` of `instance_id`, masked with `secrets`, sent to `sink`.
    pub fn new(sink: Arc<dyn OutputSink>, instance_id: Uuid, seq: u64, secrets: Arc<SecretRegistry>) -> Self {
        Self(Some(Arc::new(Bound {
            sink,
            instance_id,
            seq,
            secrets,
            written: Mutex::new(Some(0)),
        })))
    }

    /// Sends `text` (best in whole lines, so that a secret is never cut in two before it is
    /// masked), secrets masked and NUL characters replaced. Past the bound only the marker is
    /// sent, once.
    pub fn write(&self, stream: Stream, text: &str) {
        let Some(bound) = &self.0 else { return };
        if text.is_empty() {
            return;
        }
        // PostgreSQL cannot store NUL characters in text (published data replaces them too).
        let text = bound.secrets.mask_by_line(text).replace('\0', "\u{FFFD}");
        let mut written = bound.written.lock().unwrap_or_else(|e| e.into_inner());
        let Some(offset) = *written else { return };
        let room = (Self::LIMIT - offset) as usize;
        let kept = &text[..floor_char_boundary(&text, room)];
        let mut at = offset;
        for piece in pieces(kept, Self::MAX_CHUNK) {
            bound.send(stream, at, piece);
            at += piece.len() as u64;
        }
        if kept.len() < text.len() {
            bound.send(stream, at, TRUNCATED_MARKER);
            *written = None;
        } else {
            *written = Some(at);
        }
    }

    /// Waits until the output written so far is stored, if anything was written. The engine
    /// calls it when the run ends; activities need not.
    pub async fn flush(&self) {
        let Some(bound) = &self.0 else { return };
        let wrote = *bound.written.lock().unwrap_or_else(|e| e.into_inner()) != Some(0);
        if wrote {
            bound.sink.flush().await;
        }
    }

    /// A writer that takes `stream`'s raw bytes as they are read and writes them line by line.
    pub fn lines(&self, stream: Stream) -> LineWriter {
        LineWriter {
            output: self.clone(),
            stream,
            pending: Vec::new(),
        }
    }
}

impl Bound {
    fn send(&self, stream: Stream, offset: u64, text: &str) {
        self.sink.send(OutputChunk {
            instance_id: self.instance_id,
            seq: self.seq,
            stream,
            offset,
            text: text.to_string(),
        });
    }
}

/// Bytes of one stream, written to a [`LiveOutput`] in whole lines (a line longer than
/// [`LiveOutput::MAX_CHUNK`] in pieces). Invalid UTF-8 is replaced. Call
/// [`finish`](LineWriter::finish) at the end of the stream for a last line without a newline.
pub struct LineWriter {
    output: LiveOutput,
    stream: Stream,
    pending: Vec<u8>,
}

impl LineWriter {
    pub fn push(&mut self, bytes: &[u8]) {
        if self.output.0.is_none() {
            return;
        }
        self.pending.extend_from_slice(bytes);
        let whole = match self.pending.iter().rposition(|&b| b == b'\n') {
            Some(newline) => newline + 1,
            None if self.pending.len() >= LiveOutput::MAX_CHUNK => {
                // A long line: cut it, keeping an incomplete character for the next piece.
                match std::str::from_utf8(&self.pending) {
                    Ok(_) => self.pending.len(),
                    Err(e) if e.error_len().is_none() => e.valid_up_to().max(1),
                    Err(_) => self.pending.len(),
                }
            }
            None => return,
        };
        let rest = self.pending.split_off(whole);
        let lines = std::mem::replace(&mut self.pending, rest);
        self.output.write(self.stream, &String::from_utf8_lossy(&lines));
    }

    pub fn finish(mut self) {
        let last = std::mem::take(&mut self.pending);
        self.output.write(self.stream, &String::from_utf8_lossy(&last));
    }
}

/// The largest index at most `at` that starts a character of `text`.
fn floor_char_boundary(text: &str, at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    (0..=at).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0)
}

/// `text` cut into pieces of at most `max` bytes, on character boundaries.
fn pieces(text: &str, max: usize) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let cut = floor_char_boundary(rest, max).max(rest.chars().next().map_or(0, char::len_utf8));
        let (piece, after) = rest.split_at(cut);
        rest = after;
        Some(piece)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect(Mutex<Vec<OutputChunk>>);

    impl OutputSink for Collect {
        fn send(&self, chunk: OutputChunk) {
            self.0.lock().unwrap().push(chunk);
        }
    }

    fn live() -> (LiveOutput, Arc<Collect>, Arc<SecretRegistry>) {
        let sink = Arc::new(Collect::default());
        let secrets = Arc::new(SecretRegistry::default());
        (
            LiveOutput::new(sink.clone(), Uuid::nil(), 3, secrets.clone()),
            sink,
            secrets,
        )
    }

    fn texts(sink: &Collect) -> Vec<(Stream, u64, String)> {
        let chunks = sink.0.lock().unwrap();
        chunks.iter().map(|c| (c.stream, c.offset, c.text.clone())).collect()
    }

    #[test]
    fn lines_are_written_whole_with_offsets_across_streams() {
        let (out, sink, _) = live();
        let mut stdout = out.lines(Stream::Stdout);
        let mut stderr = out.lines(Stream::Stderr);
        stdout.push(b"one\ntw");
        stderr.push(b"oops\n");
        stdout.push(b"o\nthree");
        stdout.finish();
        stderr.finish();
        assert_eq!(
            texts(&sink),
            vec![
                (Stream::Stdout, 0, "one\n".into()),
                (Stream::Stderr, 4, "oops\n".into()),
                (Stream::Stdout, 9, "two\n".into()),
                (Stream::Stdout, 13, "three".into()),
            ]
        );
    }

    #[test]
    fn secrets_are_masked_before_anything_is_sent() {
        let (out, sink, secrets) = live();
        secrets.remember("hunter2");
        let mut stdout = out.lines(Stream::Stdout);
        stdout.push(b"pass=hun");
        stdout.push(b"ter2\n");
        assert_eq!(texts(&sink), vec![(Stream::Stdout, 0, "pass=******\n".into())]);
    }

    #[test]
    fn each_line_of_a_secret_that_spans_lines_is_masked() {
        let (out, sink, secrets) = live();
        secrets.remember("-----BEGIN KEY-----\r\nMIIEvQIBADAN\r\nab\r\n-----END KEY-----");
        // A program printing the key a line at a time: no write holds it whole.
        for line in [
            "-----BEGIN KEY-----\r\n",
            "MIIEvQIBADAN\r\n",
            "ab\r\n",
            "-----END KEY-----\n",
            "done\n",
        ] {
            out.write(Stream::Stdout, line);
        }
        let shown: String = texts(&sink).into_iter().map(|(_, _, text)| text).collect();
        // Lines too short to tell apart from ordinary text ("ab") are left as they are.
        assert_eq!(shown, "******\r\n******\r\nab\r\n******\ndone\n");
    }

    #[test]
    fn nul_characters_are_replaced() {
        let (out, sink, _) = live();
        out.write(Stream::Stdout, "a\0b\n");
        assert_eq!(texts(&sink), vec![(Stream::Stdout, 0, "a\u{FFFD}b\n".into())]);
    }

    #[test]
    fn output_past_the_limit_ends_with_one_marker() {
        let (out, sink, _) = live();
        let line = "é".repeat(1000) + "\n";
        for _ in 0..600 {
            out.write(Stream::Stdout, &line);
        }
        let chunks = sink.0.lock().unwrap();
        let last = chunks.last().unwrap();
        assert_eq!(last.text, TRUNCATED_MARKER);
        assert!(last.offset <= LiveOutput::LIMIT);
        assert!(chunks.iter().all(|c| c.text.len() <= LiveOutput::MAX_CHUNK));
        assert_eq!(chunks.iter().filter(|c| c.text == TRUNCATED_MARKER).count(), 1);
        let kept: u64 = chunks[..chunks.len() - 1].iter().map(|c| c.text.len() as u64).sum();
        assert_eq!(kept, last.offset);
    }

    #[test]
    fn a_long_line_is_cut_without_splitting_a_character() {
        let (out, sink, _) = live();
        let mut stdout = out.lines(Stream::Stdout);
        let long = "ü".repeat(LiveOutput::MAX_CHUNK);
        stdout.push(&long.as_bytes()[..LiveOutput::MAX_CHUNK + 1]);
        stdout.push(&long.as_bytes()[LiveOutput::MAX_CHUNK + 1..]);
        stdout.finish();
        let all: String = texts(&sink).into_iter().map(|(_, _, t)| t).collect();
        assert_eq!(all, long);
    }

    #[test]
    fn without_a_sink_nothing_happens() {
        let mut lines = LiveOutput::default().lines(Stream::Stderr);
        lines.push(b"ignored\n");
        lines.finish();
    }
}
