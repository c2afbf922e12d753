//! What ends the web service's long requests when it stops.

use tokio_util::sync::CancellationToken;

/// Ends what would hold a graceful shutdown up (event streams, waiting starts).
#[derive(Clone)]
pub(super) struct Shutdown(pub(super) CancellationToken);
