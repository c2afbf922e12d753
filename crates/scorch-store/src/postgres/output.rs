//! Live output on PostgreSQL: a runbook server's batch of chunks is one statement on the pool
//! (rows from arrays, with the notification of each run in it, so readers hear of the output
//! exactly when it commits). Not the journal writer's: output is never waited on by the engine,
//! and a batch of it must not delay the journal's commits.

use std::collections::HashSet;

use scorch_activity::OutputChunk;

use super::PgStore;
use super::changes::items;
use super::cold::output::stream_code;
use crate::{Change, StoreError};

// A chunk of an instance the store does not know joins nothing and is dropped.
const INSERT_OUTPUT: &str = "WITH stored AS (
         INSERT INTO activity_output (instance_id, seq, at, stream, text)
         SELECT i.id, c.seq, c.at, c.stream, c.text
         FROM UNNEST($1::uuid[], $2::bigint[], $3::bigint[], $4::smallint[], $5::text[]) AS c(uuid, seq, at, stream, text)
         JOIN instances i ON i.uuid = c.uuid
         ON CONFLICT (instance_id, seq, at) DO NOTHING)
     SELECT scorch_notify($6)";

pub(super) async fn append(store: &PgStore, chunks: &[OutputChunk]) -> Result<(), StoreError> {
    if chunks.is_empty() {
        return Ok(());
    }
    let mut told = HashSet::new();
    let runs: Vec<Change> = chunks
        .iter()
        .filter(|chunk| told.insert((chunk.instance_id, chunk.seq)))
        .map(|chunk| Change::Output {
            instance_id: chunk.instance_id,
            seq: chunk.seq,
        })
        .collect();
    sqlx::query(INSERT_OUTPUT)
        .bind(chunks.iter().map(|c| c.instance_id).collect::<Vec<_>>())
        .bind(chunks.iter().map(|c| c.seq as i64).collect::<Vec<_>>())
        .bind(chunks.iter().map(|c| c.offset as i64).collect::<Vec<_>>())
        .bind(chunks.iter().map(|c| stream_code(c.stream)).collect::<Vec<_>>())
        .bind(chunks.iter().map(|c| c.text.as_str()).collect::<Vec<_>>())
        .bind(items(&runs))
        .execute(store.pool())
        .await?;
    Ok(())
}
