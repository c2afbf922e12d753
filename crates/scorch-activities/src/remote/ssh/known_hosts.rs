//! The known_hosts file `host_key_check` trusts, in OpenSSH's format (`man sshd`, "SSH_KNOWN_HOSTS
//! FILE FORMAT"): comma-separated patterns with `*`, `?` and `!` negation, `[host]:port` for ports
//! other than 22, hashed names (`|1|salt|hash`, HMAC-SHA1 of the name), and `@revoked` keys.
//! `@cert-authority` lines are skipped (host certificates are not supported), and so are lines
//! that do not parse, as ssh does.

use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use russh::keys::ssh_key::known_hosts::{Entry, HostPatterns, Marker};
use russh::keys::{HashAlg, PublicKey};
use sha1::Sha1;
use tokio::io::AsyncWriteExt;

/// The largest known_hosts file read (a file with a million hosts is about 100 MB; this is ample
/// for real ones and bounds memory).
const MAX_FILE: u64 = 16 * 1024 * 1024;

/// What known_hosts says of the key a server offered.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    Known,
    /// No key is recorded for the host.
    Unknown,
    /// Keys are recorded for the host, and this is none of them (the first one's line).
    Changed {
        line: usize,
    },
    Revoked {
        line: usize,
    },
}

/// How a host is written in known_hosts: `host` on port 22, `[host]:port` otherwise, lower-case.
pub(super) fn host_key_name(host: &str, port: u16) -> String {
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    if port == 22 { host } else { format!("[{host}]:{port}") }
}

/// `SHA256:...` and the algorithm, as ssh shows a key.
pub(super) fn describe(key: &PublicKey) -> String {
    format!("{} ({})", key.fingerprint(HashAlg::Sha256), key.algorithm().as_str())
}

/// The verdict of known_hosts `text` on `key` offered by `name` (from [`host_key_name`]). Any
/// recorded key of another algorithm counts: a server offering a new kind of key is treated as
/// a changed key rather than trusted on first use.
pub(super) fn verdict(text: &str, name: &str, key: &PublicKey) -> Verdict {
    let mut recorded = None;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Ok(entry) = line.parse::<Entry>() else { continue };
        if !matches_host(entry.host_patterns(), name) {
            continue;
        }
        let same = entry.public_key().key_data() == key.key_data();
        match entry.marker() {
            Some(Marker::Revoked) if same => return Verdict::Revoked { line: index + 1 },
            Some(_) => {}
            None if same => return Verdict::Known,
            None => {
                recorded.get_or_insert(index + 1);
            }
        }
    }
    match recorded {
        Some(line) => Verdict::Changed { line },
        None => Verdict::Unknown,
    }
}

fn matches_host(patterns: &HostPatterns, name: &str) -> bool {
    match patterns {
        HostPatterns::HashedName { salt, hash } => Hmac::<Sha1>::new_from_slice(salt)
            .is_ok_and(|mac| mac.chain_update(name.as_bytes()).verify_slice(hash).is_ok()),
        HostPatterns::Patterns(patterns) => {
            let mut matched = false;
            for pattern in patterns {
                let pattern = pattern.to_ascii_lowercase();
                match pattern.strip_prefix('!') {
                    Some(negated) if glob(negated.as_bytes(), name.as_bytes()) => return false,
                    Some(_) => {}
                    None => matched |= glob(pattern.as_bytes(), name.as_bytes()),
                }
            }
            matched
        }
    }
}

/// ssh's host patterns: `*` is any run of characters, `?` any one.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| glob(rest, &text[skip..])),
        Some((b'?', rest)) => !text.is_empty() && glob(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && glob(rest, &text[1..]),
    }
}

/// The file's text; a missing file is empty.
pub(super) async fn read(path: &Path) -> std::io::Result<String> {
    use tokio::io::AsyncReadExt;
    let file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    file.take(MAX_FILE).read_to_end(&mut bytes).await?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Appends `name key` to the file, creating it (and its folder, private to the user) if missing.
/// One write of a whole line, in append mode, so hosts learned at once do not interleave.
pub(super) async fn learn(path: &Path, name: &str, key: &PublicKey) -> std::io::Result<()> {
    if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) {
        let mut builder = tokio::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        builder.mode(0o700);
        builder.create(folder).await?;
    }
    let key = key.to_openssh().map_err(std::io::Error::other)?;
    let mut file = tokio::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .await?;
    // A last line without its newline would swallow ours.
    let ends_open = match tokio::fs::read(path).await {
        Ok(bytes) => bytes.last().is_some_and(|b| *b != b'\n'),
        Err(_) => false,
    };
    let line = format!("{}{name} {key}\n", if ends_open { "\n" } else { "" });
    file.write_all(line.as_bytes()).await?;
    file.flush().await
}

/// `~/.ssh/known_hosts` of the user the runbook server runs as, from the passwd entry (as ssh
/// itself finds it, whatever `$HOME` says).
pub(super) async fn default_path() -> Option<PathBuf> {
    let user = tokio::task::spawn_blocking(|| nix::unistd::User::from_uid(nix::unistd::geteuid()))
        .await
        .ok()?
        .ok()??;
    Some(user.dir.join(".ssh").join("known_hosts"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(base64: &str) -> PublicKey {
        russh::keys::parse_public_key_base64(base64).unwrap()
    }

    const A: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
    const B: &str = "AAAAC3NzaC1lZDI1NTE5AAAAILIG2T/B0l0gaqj3puu510tu9N1OkQ4znY3LYuEm5zCF";

    #[test]
    fn plain_bracketed_wildcard_and_negated_patterns() {
        let text = format!(
            "# comment\n\
             not a valid line\n\
             [localhost]:2222 ssh-ed25519 {A}\n\
             web1.example.com,10.0.0.1 ssh-ed25519 {A} comment\n\
             *.prod.example.com,!db.prod.example.com ssh-ed25519 {B}\n"
        );
        let a = key(A);
        assert_eq!(host_key_name("LocalHost", 2222), "[localhost]:2222");
        assert_eq!(verdict(&text, &host_key_name("localhost", 2222), &a), Verdict::Known);
        assert_eq!(verdict(&text, &host_key_name("localhost", 22), &a), Verdict::Unknown);
        assert_eq!(verdict(&text, "10.0.0.1", &a), Verdict::Known);
        assert_eq!(verdict(&text, "app.prod.example.com", &key(B)), Verdict::Known);
        assert_eq!(verdict(&text, "app.prod.example.com", &a), Verdict::Changed { line: 5 });
        assert_eq!(verdict(&text, "db.prod.example.com", &key(B)), Verdict::Unknown);
    }

    #[test]
    fn hashed_names_and_revoked_keys() {
        // `ssh-keygen -H` of "example.com", from russh's tests.
        let text = format!(
            "|1|O33ESRMWPVkMYIwJ1Uw+n877jTo=|nuuC5vEqXlEZ/8BXQR7m619W6Ak= ssh-ed25519 {B}\n\
             @revoked * ssh-ed25519 {A}\n"
        );
        assert_eq!(verdict(&text, "example.com", &key(B)), Verdict::Known);
        assert_eq!(verdict(&text, "[example.com]:2222", &key(B)), Verdict::Unknown);
        assert_eq!(verdict(&text, "anything", &key(A)), Verdict::Revoked { line: 2 });
    }

    #[tokio::test]
    async fn learning_creates_the_file_and_keeps_lines_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new/.ssh/known_hosts");
        assert_eq!(read(&path).await.unwrap(), "");
        learn(&path, "[h]:2222", &key(A)).await.unwrap();
        std::fs::write(&path, std::fs::read_to_string(&path).unwrap().trim_end()).unwrap();
        learn(&path, "g", &key(B)).await.unwrap();
        let text = read(&path).await.unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert_eq!(verdict(&text, "[h]:2222", &key(A)), Verdict::Known);
        assert_eq!(verdict(&text, "g", &key(B)), Verdict::Known);
    }
}
