//! Probes shared by `get_computer_status` and `get_internet_application_status`: a timed TCP
//! connection, and a text service's greeting.

use std::net::SocketAddr;
use std::time::Duration;

use scorch_activity::{ActivityContext, ActivityError};
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;

use super::{cancelable, show_duration, transient_io};
use crate::io_words::io_why;

/// Why a peer could not be reached, and whether that is worth retrying.
pub(super) type Unreached = (String, bool);

/// A TCP connection to the first of `addrs` that accepts, each tried for up to `timeout`; else
/// why the last one failed.
pub(super) async fn connect(
    ctx: &ActivityContext,
    addrs: &[SocketAddr],
    timeout: Duration,
) -> Result<Result<(TcpStream, SocketAddr), Unreached>, ActivityError> {
    let mut last = ("no address".to_string(), false);
    for addr in addrs {
        match cancelable(ctx, tokio::time::timeout(timeout, TcpStream::connect(addr))).await? {
            Ok(Ok(stream)) => return Ok(Ok((stream, *addr))),
            Ok(Err(e)) => last = (io_why(&e), transient_io(&e)),
            Err(_) => last = (format!("no connection within {}", show_duration(timeout)), true),
        }
    }
    Ok(Err(last))
}

/// Most bytes of a greeting read from a peer.
pub(super) const MAX_GREETING_BYTES: usize = 4096;

/// The greeting a text service (SMTP, FTP, POP3) sends on connecting: its first line, and for a
/// multi-line reply (`220-...` lines up to `220 ...`) every line, read for up to `timeout`.
pub(super) async fn greeting(
    ctx: &ActivityContext,
    stream: &mut TcpStream,
    timeout: Duration,
) -> Result<Result<String, Unreached>, ActivityError> {
    let mut bytes = Vec::new();
    let read = async {
        let mut buf = [0u8; 512];
        while !complete(&bytes) && bytes.len() < MAX_GREETING_BYTES {
            match stream.read(&mut buf).await {
                Ok(0) => return Err(("the connection closed before a greeting".to_string(), true)),
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
                Err(e) => return Err((io_why(&e), transient_io(&e))),
            }
        }
        Ok(())
    };
    match cancelable(ctx, tokio::time::timeout(timeout, read)).await? {
        Ok(Ok(())) => {}
        Ok(Err(unreached)) => return Ok(Err(unreached)),
        Err(_) => return Ok(Err((format!("no greeting within {}", show_duration(timeout)), true))),
    }
    bytes.truncate(MAX_GREETING_BYTES);
    let text = String::from_utf8_lossy(&bytes);
    Ok(Ok(text
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()))
}

/// Whether `bytes` hold a whole greeting: complete lines, the last not a `NNN-` continuation.
fn complete(bytes: &[u8]) -> bool {
    if !bytes.ends_with(b"\n") {
        return false;
    }
    let last = bytes[..bytes.len() - 1]
        .rsplit(|b| *b == b'\n')
        .next()
        .unwrap_or_default();
    !(last.len() >= 4 && last[..3].iter().all(u8::is_ascii_digit) && last[3] == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_replies_end_on_a_line_without_a_dash() {
        assert!(complete(b"+OK ready\r\n"));
        assert!(!complete(b"220-first\r\n"));
        assert!(!complete(b"220-first\r\n220 sec"));
        assert!(complete(b"220-first\r\n220 second\r\n"));
        assert!(!complete(b""));
    }
}
