//! One shared `reqwest::Client` per TLS setting for the whole process, so connections to a peer
//! are pooled and reused across runs (the SDK stays free of reqwest); and how HTTP and SMTP
//! errors read.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// How a client checks the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TlsSetting {
    /// The system's trusted roots.
    Verify,
    /// No checking at all (`verify_tls: false`).
    NoVerify,
    /// The system's roots plus these PEM certificates (`ca_certificate`).
    ExtraRoots(Vec<u8>),
}

/// The process's client for `tls`, built on first use. `Err` when the extra roots are not PEM
/// certificates (or the client cannot be built), with the reason.
pub fn client(tls: &TlsSetting) -> Result<reqwest::Client, String> {
    static CLIENTS: OnceLock<Mutex<HashMap<TlsSetting, reqwest::Client>>> = OnceLock::new();
    let mut clients = CLIENTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(client) = clients.get(tls) {
        return Ok(client.clone());
    }
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("scorch/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::limited(10));
    match tls {
        TlsSetting::Verify => {}
        TlsSetting::NoVerify => builder = builder.tls_danger_accept_invalid_certs(true),
        TlsSetting::ExtraRoots(pem) => {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| e.to_string())?;
            if certs.is_empty() {
                return Err("no PEM certificate in it".into());
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
    }
    let client = builder.build().map_err(|e| innermost(&e))?;
    clients.insert(tls.clone(), client.clone());
    Ok(client)
}

/// An answer's body, read up to `cap` bytes, and whether it held more (the rest is not read).
pub async fn body_up_to(mut response: reqwest::Response, cap: usize) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
        if body.len() > cap {
            body.truncate(cap);
            return Ok((body, true));
        }
    }
    Ok((body, false))
}

/// The text of the deepest cause of `error` (`Connection refused (os error 111)`, not
/// `error sending request for url (...)`).
pub fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

/// Whether a TLS handshake failed (a certificate that is not trusted, a protocol mismatch): rustls
/// errors reach reqwest and lettre as `InvalidData` I/O errors, possibly wrapped in others.
pub fn tls_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        current = match e.downcast_ref::<std::io::Error>() {
            Some(io) if io.kind() == std::io::ErrorKind::InvalidData => return true,
            // An I/O error's `source` skips the error it wraps.
            Some(io) => io.get_ref().map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    false
}
