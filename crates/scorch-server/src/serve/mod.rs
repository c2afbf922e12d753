//! Serving a role's HTTP/1 connections within bounds, so slow or idle clients cannot use up the
//! process's file descriptors or memory: a request head must arrive within a time, and its body
//! within another; a connection idle between requests is closed; and a role holds at most so
//! many connections, those that have waited longest for their clients making room for new ones.
//! A request in flight (an event stream, a start waiting for its job) is never timed out.

mod connections;
mod limits;
mod tracked;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Once};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::{Body as _, Incoming};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::listener::{Listener, Secure};
use connections::{Admitted, Connections};
pub use limits::HttpLimits;
use tracked::{TrackedIo, TrackedRequestBody, TrackedResponseBody};

/// hyper's own bound on a request head, and on what it buffers of a connection. It is above the
/// JSON APIs' limits (`api::MAX_URI_BYTES`, `api::MAX_HEADER_BYTES`) so that they, not hyper,
/// answer most oversized heads, in their error shape; hyper answers a larger head itself: 431
/// with an empty body.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// What every connection's task of one role shares.
struct Role {
    app: Router,
    limits: HttpLimits,
    http: http1::Builder,
    secure: Secure,
}

/// Serves `app` on `listener` until `shutdown`, then stops taking connections, closes those
/// with no request in flight, and returns once the requests in flight have been answered
/// (ending them early is the app's business: it sees `shutdown` too).
pub async fn serve(listener: Listener, app: Router, limits: HttpLimits, shutdown: CancellationToken) {
    raise_file_limit();
    let mut http = http1::Builder::new();
    // Timeouts are kept per connection (`connections`), which can tell a head from an idle wait.
    http.max_buf_size(MAX_HEAD_BYTES).header_read_timeout(None);
    let role = Arc::new(Role {
        app,
        limits,
        http,
        secure: listener.secure(),
    });
    let connections = Connections::new(limits.max_connections);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, client) = tokio::select! {
            accepted = listener.accept_tcp() => accepted,
            () = shutdown.cancelled() => break,
        };
        let admitted = tokio::select! {
            admitted = connections.admit() => admitted,
            () = shutdown.cancelled() => break,
        };
        tokio::spawn(connection(role.clone(), stream, client, admitted, graceful.watcher()));
    }
    drop(listener);
    connections.close_waiting();
    graceful.shutdown().await;
}

/// One connection, from its TLS handshake to its close.
async fn connection(role: Arc<Role>, stream: TcpStream, client: SocketAddr, admitted: Admitted, graceful: Watcher) {
    let state = admitted.state();
    let served = async {
        let Some(io) = role.secure.handshake(stream, client).await else {
            return;
        };
        let io = TokioIo::new(TrackedIo::new(io, state.clone()));
        let app = role.app.clone();
        let tracked = state.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let answering = tracked.request(!request.body().is_end_stream());
            let mut request = request.map(|body| Body::new(TrackedRequestBody::new(body, tracked.clone())));
            request.extensions_mut().insert(ConnectInfo(client));
            let answer = app.clone().oneshot(request);
            async move {
                let response = answer.await.unwrap_or_else(|never| match never {});
                Ok::<_, Infallible>(response.map(|body| TrackedResponseBody::new(body, answering)))
            }
        });
        if let Err(e) = graceful.watch(role.http.serve_connection(io, service)).await {
            tracing::debug!(%client, error = %e, "a connection ended with an error");
        }
    };
    tokio::select! {
        () = served => {}
        () = state.expired(&role.limits) => {
            tracing::debug!(%client, "closed a connection that had no request in flight: it was too slow, or made room");
        }
    }
    drop(admitted);
}

/// Lets the process hold as many files as its hard limit allows (the soft limit is often 1,024,
/// fewer than one role's connections), once.
fn raise_file_limit() {
    static RAISED: Once = Once::new();
    RAISED.call_once(|| match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open files limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open files limit"),
    });
}
