//! What the HTTP roles listen on: plain TCP, or TLS (rustls) when a certificate is configured.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::either::Either;

/// A client that has not finished its TLS handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection as HTTP is spoken on it: plain, or after the TLS handshake.
pub type Io = Either<TcpStream, TlsStream<TcpStream>>;

/// A bound port, with TLS or without.
pub struct Listener {
    tcp: TcpListener,
    secure: Secure,
}

/// What secures an accepted connection: nothing, or a TLS handshake. Cheap to clone, so each
/// connection's task makes its own handshake and a slow client holds up no one else.
#[derive(Clone)]
pub(crate) struct Secure(Option<TlsAcceptor>);

impl From<TcpListener> for Listener {
    fn from(tcp: TcpListener) -> Self {
        Self {
            tcp,
            secure: Secure(None),
        }
    }
}

impl Listener {
    pub fn tls(tcp: TcpListener, acceptor: TlsAcceptor) -> Self {
        Self {
            tcp,
            secure: Secure(Some(acceptor)),
        }
    }

    /// The port it is bound to (the one the system chose, when bound to port 0).
    pub fn port(&self) -> Option<u16> {
        self.tcp.local_addr().ok().map(|a| a.port())
    }

    pub fn scheme(&self) -> &'static str {
        if self.secure.0.is_some() { "https" } else { "http" }
    }

    /// The next TCP connection, not yet secured.
    pub(crate) async fn accept_tcp(&self) -> (TcpStream, SocketAddr) {
        loop {
            match self.tcp.accept().await {
                Ok(accepted) => return accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    pub(crate) fn secure(&self) -> Secure {
        self.secure.clone()
    }
}

impl Secure {
    /// The connection ready for HTTP, or `None` when its TLS handshake failed or timed out.
    pub(crate) async fn handshake(&self, stream: TcpStream, client: SocketAddr) -> Option<Io> {
        let Some(tls) = &self.0 else {
            return Some(Either::Left(stream));
        };
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
            Ok(Ok(secured)) => Some(Either::Right(secured)),
            Ok(Err(e)) => {
                tracing::debug!(%client, error = %e, "TLS handshake failed");
                None
            }
            Err(_) => {
                tracing::debug!(%client, "TLS handshake timed out");
                None
            }
        }
    }
}

/// A TLS acceptor for a PEM certificate chain and private key; the error names the file.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect())
        .map_err(|e| format!("{}: cannot read a PEM certificate chain: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: holds no certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("{}: cannot read a PEM private key: {e}", key.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|e| {
            format!(
                "{}: the certificate and key do not make a TLS configuration: {e}",
                cert.display()
            )
        })?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Lets `axum::serve` take a listener, and callers ask it its address through axum's trait.
/// The roles serve with [`crate::serve`] instead, which handshakes in each connection's task.
impl axum::serve::Listener for Listener {
    type Io = Io;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, client) = self.accept_tcp().await;
            if let Some(io) = self.secure.handshake(stream, client).await {
                return (io, client);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
