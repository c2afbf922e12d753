//! OpenPGP file encryption and decryption with rpgp (the `pgp` crate, pure Rust), interoperable
//! with GnuPG. Encryption streams: the file is read, and the result written, a block at a time,
//! so memory does not grow with the file. Decryption holds the encrypted message whole (rpgp
//! checks its integrity before releasing any plaintext), hence its size cap. The result goes to
//! a temporary file beside
//! `output`, renamed over it only once complete, so a failure (a wrong key, a tampered message,
//! a cancellation) leaves no half-written output.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use pgp::errors::Error as PgpError;
use scorch_activity::props::Props;
use scorch_activity::{ActivityContext, ActivityError};
use tokio::time::Instant;

use super::{MIB, read_capped};
use crate::files::{io_failed, write_atomic_with};

mod pgp_decrypt_file;
mod pgp_encrypt_file;

pub use pgp_decrypt_file::PgpDecryptFile;
pub use pgp_encrypt_file::PgpEncryptFile;

/// The most read from a key file: real keys, even with many signatures, are a few KiB.
const MAX_KEY: u64 = MIB;

/// The paths both activities work on: `file` (which must exist) and `output`.
struct Paths {
    file: PathBuf,
    output: PathBuf,
}

impl Paths {
    fn from_props(ctx: &ActivityContext, props: &Props) -> Result<Self, ActivityError> {
        Ok(Paths {
            file: ctx.resolve_path(&props.non_empty("file")?),
            output: ctx.resolve_path(&props.non_empty("output")?),
        })
    }

    /// Opens `file` for reading, as a reader that stops at a cancellation or the deadline.
    fn open(&self, type_name: &str, stop: Stop) -> Result<Stoppable<BufReader<File>>, ActivityError> {
        let file = File::open(&self.file).map_err(|e| io_failed(type_name, &self.file, &e))?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(ActivityError::failed(type_name, self.file.display(), "is a folder"));
        }
        Ok(Stoppable {
            inner: BufReader::new(file),
            stop,
        })
    }

    /// Writes `output` atomically through `write`: a failure leaves it as it was.
    fn write_output(
        &self,
        type_name: &str,
        write: impl FnOnce(&mut File) -> Result<(), ActivityError>,
    ) -> Result<(), ActivityError> {
        write_atomic_with(&self.output, |e| io_failed(type_name, &self.output, &e), write)
    }
}

/// A key given as armored text or as the path of a key file (armored or binary). Reads it;
/// the text of a key never appears in an error.
async fn key_bytes(ctx: &ActivityContext, props: &Props, property: &str) -> Result<Vec<u8>, ActivityError> {
    let type_name = props.type_name();
    let value = props.non_empty(property)?;
    if value.contains("-----BEGIN PGP") {
        return Ok(value.into_bytes());
    }
    let path = ctx.resolve_path(value.trim());
    let is_file = !value.contains('\n') && tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_file());
    if !is_file {
        return Err(ActivityError::invalid(
            type_name,
            property,
            "neither an armored OpenPGP key nor the path of a key file",
        ));
    }
    read_capped(type_name, &path, MAX_KEY).await
}

/// When the work must stop: the job's cancellation, or the activity's deadline.
#[derive(Clone)]
struct Stop(ActivityContext);

impl Stop {
    /// The error for a stop, if it is time to stop.
    fn check(&self) -> Result<(), ActivityError> {
        if self.0.cancel.is_cancelled() {
            Err(ActivityError::Canceled)
        } else if self.0.deadline.is_some_and(|at| Instant::now() >= at) {
            Err(ActivityError::TimedOut)
        } else {
            Ok(())
        }
    }
}

/// A reader that fails once the work must stop, so streaming ends within a block. (Its error is
/// not `Interrupted`, which readers retry.)
struct Stoppable<R> {
    inner: R,
    stop: Stop,
}

impl<R: Read> Read for Stoppable<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stop.check().is_err() {
            return Err(io::Error::other(STOPPED));
        }
        self.inner.read(buf)
    }
}

impl<R: io::BufRead> io::BufRead for Stoppable<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.stop.check().is_err() {
            return Err(io::Error::other(STOPPED));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.inner.consume(amt);
    }
}

impl<R> std::fmt::Debug for Stoppable<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stoppable")
    }
}

const STOPPED: &str = "stopped";

/// The error for an rpgp failure while streaming `path`: a stop as such, a system io error in
/// the usual words, anything else (rpgp reports a failed integrity check as an io error too)
/// as `what: the error`.
fn stream_failed(type_name: &str, path: &Path, stop: &Stop, err: &PgpError, what: &str) -> ActivityError {
    if let Err(stopped) = stop.check() {
        return stopped;
    }
    match err {
        PgpError::IO { source, .. } if source.raw_os_error().is_some() => io_failed(type_name, path, source),
        PgpError::IO { source, .. } => ActivityError::failed(type_name, path.display(), format!("{what}: {source}")),
        _ => ActivityError::failed(type_name, path.display(), format!("{what}: {err}")),
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use std::path::Path;
    use std::process::{Command, Output};

    use crate::test_peers::{find_program, peer_missing};

    /// GnuPG with a home of its own (its agent stopped when dropped): the other side.
    pub struct Gpg {
        home: tempfile::TempDir,
    }

    /// A key pair gpg made, both halves exported armored.
    pub struct Key {
        pub public: String,
        pub secret: String,
    }

    /// GnuPG, or `None` (after `peer_missing`) where it is not installed.
    pub fn gpg() -> Option<Gpg> {
        if find_program("gpg").is_none() {
            peer_missing("gpg", "apt-get install gnupg");
            return None;
        }
        let home = tempfile::Builder::new().prefix("gpg").tempdir_in("/tmp").unwrap();
        Some(Gpg { home })
    }

    impl Gpg {
        /// Runs gpg in batch mode with `passphrase` (empty: none) given on the command line.
        pub fn run(&self, passphrase: Option<&str>, args: &[&str]) -> Output {
            Command::new("gpg")
                .env("GNUPGHOME", self.home.path())
                .args([
                    "--batch",
                    "--yes",
                    "--quiet",
                    "--pinentry-mode",
                    "loopback",
                    "--trust-model",
                    "always",
                ])
                .args(["--passphrase", passphrase.unwrap_or("")])
                .args(args)
                .output()
                .unwrap()
        }

        fn ok(&self, passphrase: Option<&str>, args: &[&str]) -> Vec<u8> {
            let out = self.run(passphrase, args);
            assert!(
                out.status.success(),
                "gpg {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        }

        /// A new key (ed25519 to sign, cv25519 to encrypt) for `uid`, protected by `passphrase`.
        pub fn key(&self, uid: &str, passphrase: Option<&str>) -> Key {
            self.ok(
                passphrase,
                &["--quick-gen-key", uid, "future-default", "default", "never"],
            );
            self.export(uid, passphrase)
        }

        /// A new RSA key (2048 bits, to sign, with a subkey to encrypt) for `uid`.
        pub fn rsa_key(&self, uid: &str) -> Key {
            self.ok(None, &["--quick-gen-key", uid, "rsa2048", "sign", "never"]);
            let listing = String::from_utf8(self.ok(None, &["--with-colons", "--list-keys", uid])).unwrap();
            let fingerprint = listing
                .lines()
                .find_map(|l| l.strip_prefix("fpr:"))
                .and_then(|rest| rest.trim_matches(':').split(':').next_back())
                .unwrap()
                .to_string();
            self.ok(None, &["--quick-add-key", &fingerprint, "rsa2048", "encr", "never"]);
            self.export(uid, None)
        }

        fn export(&self, uid: &str, passphrase: Option<&str>) -> Key {
            let public = self.ok(None, &["--armor", "--export", uid]);
            let secret = self.ok(passphrase, &["--armor", "--export-secret-keys", uid]);
            Key {
                public: String::from_utf8(public).unwrap(),
                secret: String::from_utf8(secret).unwrap(),
            }
        }

        /// What `gpg --decrypt` makes of `file`.
        pub fn decrypt(&self, file: &Path, passphrase: Option<&str>) -> Vec<u8> {
            self.ok(passphrase, &["--decrypt", &file.display().to_string()])
        }

        /// Encrypts `file` to `uid` into `output` (`--armor` when `armor`).
        pub fn encrypt(&self, file: &Path, uid: &str, output: &Path, armor: bool) {
            let (file, output) = (file.display().to_string(), output.display().to_string());
            let mut args = vec!["--recipient", uid, "--output", &output];
            if armor {
                args.push("--armor");
            }
            args.extend(["--encrypt", &file]);
            self.ok(None, &args);
        }
    }

    impl Drop for Gpg {
        fn drop(&mut self) {
            let _ = Command::new("gpgconf")
                .env("GNUPGHOME", self.home.path())
                .args(["--kill", "gpg-agent"])
                .output();
        }
    }
}
