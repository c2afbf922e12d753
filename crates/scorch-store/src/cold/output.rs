//! Activity runs' live output as readers see it (each backend writes it on its job path).

use scorch_activity::{OutputChunk, Stream};
use sqlx::Row as _;
use uuid::Uuid;

use super::B;
use crate::StoreError;
use crate::backend::Backend;

/// How a stream is stored.
pub(crate) fn stream_code(stream: Stream) -> i16 {
    match stream {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    }
}

/// Run `seq`'s chunks that start at byte `offset` or later, in order, at most `limit`.
pub(crate) async fn read(
    store: &B,
    instance_id: Uuid,
    seq: u64,
    offset: u64,
    limit: u32,
) -> Result<Vec<OutputChunk>, StoreError> {
    let rows = sqlx::query(
        "SELECT o.at, o.stream, o.text FROM activity_output o JOIN instances i ON i.id = o.instance_id
         WHERE i.uuid = $1 AND o.seq = $2 AND o.at >= $3 ORDER BY o.at LIMIT $4",
    )
    .bind(instance_id)
    .bind(seq as i64)
    .bind(offset as i64)
    .bind(B::limit(limit))
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let at: i64 = row.try_get("at")?;
            let code: i16 = row.try_get("stream")?;
            let stream = match code {
                0 => Stream::Stdout,
                1 => Stream::Stderr,
                other => return Err(StoreError::Corrupt(format!("output stream code {other}"))),
            };
            Ok(OutputChunk {
                instance_id,
                seq,
                stream,
                offset: at as u64,
                text: row.try_get("text")?,
            })
        })
        .collect()
}
