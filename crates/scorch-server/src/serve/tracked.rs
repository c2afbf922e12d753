//! Wrappers that tell a connection's state what happens on it: bytes read, a request body read
//! to its end, an answer handed over.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::connections::{Answering, ConnectionState};

/// The connection's byte stream; a read that brings bytes may start a request's head. hyper's
/// own answer to a head it could not read (an error status with an empty body, written before
/// any of scorch's code sees the request) goes out in the API's error shape instead.
pub(super) struct TrackedIo<T> {
    io: T,
    state: Arc<ConnectionState>,
    /// The answer sent in place of hyper's, and how much of it is written.
    replacement: Option<(Vec<u8>, usize)>,
}

impl<T> TrackedIo<T> {
    pub(super) fn new(io: T, state: Arc<ConnectionState>) -> Self {
        Self {
            io,
            state,
            replacement: None,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TrackedIo<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.state.heard();
        }
        read
    }
}

impl<T: AsyncWrite + Unpin> TrackedIo<T> {
    /// Whether `buf` is hyper's answer to an unreadable head, or follows it; if so, the
    /// replacement is (being) written instead.
    fn replacing(&mut self, buf: &[u8]) -> bool {
        if self.replacement.is_none()
            && self.state.reading_head()
            && let Some(answer) = unreadable_head_answer(buf)
        {
            self.replacement = Some((answer, 0));
        }
        self.replacement.is_some()
    }

    /// Writes what is left of the replacement; hyper's bytes count as written once it is.
    fn poll_replacement(&mut self, cx: &mut Context<'_>, hypers: usize) -> Poll<io::Result<usize>> {
        let Some((answer, written)) = &mut self.replacement else {
            return Poll::Ready(Ok(hypers));
        };
        while *written < answer.len() {
            match Pin::new(&mut self.io).poll_write(cx, &answer[*written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(hypers))
    }
}

/// What hyper writes when it cannot read a request head (a control character in the path or a
/// header value, bad framing, an unknown version, a head too large): `HTTP/1.1 4xx` or `5xx`
/// with `content-length: 0`. scorch's own error answers always have a JSON body, so they never
/// look so. Returns the same status in the API's error shape, closing the connection as hyper
/// would.
fn unreadable_head_answer(written: &[u8]) -> Option<Vec<u8>> {
    let code = std::str::from_utf8(written.strip_prefix(b"HTTP/1.1 ")?.get(..3)?).ok()?;
    let status = StatusCode::from_u16(code.parse().ok()?).ok()?;
    let head_end = written.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&written[..head_end]).to_ascii_lowercase();
    if !(status.is_client_error() || status.is_server_error())
        || !(head.contains("\r\ncontent-length: 0\r\n") || head.ends_with("\r\ncontent-length: 0"))
    {
        return None;
    }
    let (code, message) = match status {
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ("headers_too_large", "the request head is too large"),
        StatusCode::URI_TOO_LONG => ("uri_too_long", "the request target is too long"),
        StatusCode::HTTP_VERSION_NOT_SUPPORTED => ("http_version_not_supported", "speak HTTP/1.1"),
        _ => (
            "bad_request",
            "the request is not valid HTTP/1.1: a control character in the path or a header value, \
             or a malformed Content-Length, version or header field",
        ),
    };
    let body = serde_json::json!({ "error": { "code": code, "message": message } }).to_string();
    let reason = status.canonical_reason().unwrap_or("Error");
    let answer = format!(
        "HTTP/1.1 {} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        status.as_u16(),
        body.len()
    );
    Some(answer.into_bytes())
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TrackedIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.replacing(buf) {
            true => self.poll_replacement(cx, buf.len()),
            false => Pin::new(&mut self.io).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| &b[..]);
        match self.replacing(first) {
            true => self.poll_replacement(cx, first.len()),
            false => Pin::new(&mut self.io).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A request's body; its end, or its drop unread, leaves only our answer awaited.
pub(super) struct TrackedRequestBody {
    body: Incoming,
    state: Arc<ConnectionState>,
}

impl TrackedRequestBody {
    pub(super) fn new(body: Incoming, state: Arc<ConnectionState>) -> Self {
        Self { body, state }
    }
}

impl HttpBody for TrackedRequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let frame = Pin::new(&mut self.body).poll_frame(cx);
        if matches!(frame, Poll::Ready(None | Some(Err(_)))) {
            self.state.body_read();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for TrackedRequestBody {
    fn drop(&mut self) {
        self.state.body_read();
    }
}

/// An answer's body: the request is in flight until hyper has taken all of it.
pub(super) struct TrackedResponseBody {
    body: Body,
    _answering: Answering,
}

impl TrackedResponseBody {
    pub(super) fn new(body: Body, answering: Answering) -> Self {
        Self {
            body,
            _answering: answering,
        }
    }
}

impl HttpBody for TrackedResponseBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
