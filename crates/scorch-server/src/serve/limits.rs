//! The bounds a role's HTTP connections are served within.

use std::time::Duration;

/// How long clients may take, and how many connections a role holds at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// A request head must arrive whole within this, counted from the connection's start (its
    /// TLS handshake included) or from the first byte of its next request.
    pub header_read_timeout: Duration,
    /// A request body must arrive whole within this, counted from the end of its head.
    pub body_read_timeout: Duration,
    /// A connection with no request in flight is closed after this long.
    pub idle_timeout: Duration,
    /// At most this many connections at once. Past it, those that have waited longest for their
    /// clients (for a request head, a body, or a next request) are closed to make room, a
    /// sixteenth of the bound at a time; when every connection has a request in flight, a new
    /// one waits for a place.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
        }
    }
}
