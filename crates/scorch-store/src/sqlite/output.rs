//! Live output on SQLite: a runbook server's batch of chunks is one write of the group-commit
//! writer, acknowledged once committed without waiting for the disk (losing the last moments of
//! output in a power failure costs nothing the journal needs).

use std::collections::HashSet;

use rusqlite::{Connection, params};
use scorch_activity::OutputChunk;

use super::SqliteStore;
use super::cold::output::stream_code;
use super::writer::{Relaxed, Write, refusal};
use crate::{Change, StoreError};

// The chunk's instance is found by UUID: an unknown instance selects nothing, so the chunk is
// dropped. The WHERE clause also tells SQLite's parser that ON CONFLICT is not a join's ON.
const INSERT_OUTPUT: &str = "INSERT INTO activity_output (instance_id, seq, at, stream, text)
     SELECT id, ?2, ?3, ?4, ?5 FROM instances WHERE uuid = ?1
     ON CONFLICT (instance_id, seq, at) DO NOTHING";

pub(super) async fn append(store: &SqliteStore, chunks: &[OutputChunk]) -> Result<(), StoreError> {
    if chunks.is_empty() {
        return Ok(());
    }
    store.writer.submit(Relaxed(OutputRows(chunks.to_vec()))).await
}

struct OutputRows(Vec<OutputChunk>);

impl Write for OutputRows {
    type Output = ();
    type Error = StoreError;

    fn apply(&mut self, conn: &Connection) -> rusqlite::Result<Result<(), StoreError>> {
        let mut insert = conn.prepare_cached(INSERT_OUTPUT)?;
        for chunk in &self.0 {
            let done = insert.execute(params![
                chunk.instance_id,
                chunk.seq as i64,
                chunk.offset as i64,
                stream_code(chunk.stream),
                chunk.text,
            ]);
            if let Err(err) = done {
                return refusal(err, |_| StoreError::Invalid("live output breaks a constraint".into()));
            }
        }
        Ok(Ok(()))
    }

    fn changes(&self, _: &(), send: &mut dyn FnMut(Change)) {
        let mut told = HashSet::new();
        for chunk in &self.0 {
            if told.insert((chunk.instance_id, chunk.seq)) {
                send(Change::Output {
                    instance_id: chunk.instance_id,
                    seq: chunk.seq,
                });
            }
        }
    }
}
