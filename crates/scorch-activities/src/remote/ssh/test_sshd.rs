//! For the tests: one real OpenSSH `sshd` per test binary, on a free loopback port, with its own
//! host key, configuration and authorized keys in a temporary folder. It serves the current
//! user by key, and the `scorch-ssh` user (made by `.ci/run`) by password or key.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::test_peers::{find_program, free_port};

/// The password-only user `.ci/run` creates.
pub const PASSWORD_USER: &str = "scorch-ssh";
pub const PASSWORD: &str = "Scorch-ssh-test-pw1";
pub const PASSPHRASE: &str = "correct horse battery";

pub struct Sshd {
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// The user the test runs as, who may log in with either key.
    pub user: String,
    pub key: String,
    /// Encrypted with [`PASSPHRASE`].
    pub encrypted_key: String,
    /// A key sshd does not accept.
    pub stranger_key: String,
    /// `ssh-ed25519 AAAA...`: the server's host key, and another one.
    pub host_key: String,
    pub other_host_key: String,
    /// Runs sshd and kills it when its stdin closes: at drop, or when the test binary exits.
    watchdog: Child,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // Closing its stdin has the watchdog stop sshd.
        drop(self.watchdog.stdin.take());
        let _ = self.watchdog.wait();
    }
}

/// The shared sshd, started on first use; `None` when OpenSSH's programs are missing (the caller
/// reports [`crate::test_peers::peer_missing`]).
pub fn sshd() -> Option<&'static Sshd> {
    static SSHD: OnceLock<Option<Sshd>> = OnceLock::new();
    SSHD.get_or_init(start).as_ref()
}

pub const MISSING_HINT: &str = "apt-get install openssh-server (see .ci/run)";

fn keygen(dir: &Path, name: &str, passphrase: &str) -> (String, String) {
    let path = dir.join(name);
    let ok = Command::new(find_program("ssh-keygen").expect("ssh-keygen"))
        .args(["-q", "-t", "ed25519", "-N", passphrase, "-C", name, "-f"])
        .arg(&path)
        .status()
        .expect("run ssh-keygen")
        .success();
    assert!(ok, "ssh-keygen failed");
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    let public = public.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    (std::fs::read_to_string(&path).unwrap(), public)
}

fn start() -> Option<Sshd> {
    let sshd = find_program("sshd")?;
    find_program("ssh-keygen")?;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, host_key) = keygen(d, "host_key", "");
    let (_, other_host_key) = keygen(d, "other_host_key", "");
    let (key, key_pub) = keygen(d, "id_plain", "");
    let (encrypted_key, encrypted_pub) = keygen(d, "id_encrypted", PASSPHRASE);
    let (stranger_key, _) = keygen(d, "id_stranger", "");
    std::fs::write(d.join("authorized_keys"), format!("{key_pub}\n{encrypted_pub}\n")).unwrap();
    // sshd reads authorized_keys as the user logging in, who may be another than ours.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(d.join("authorized_keys"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let root = nix::unistd::geteuid().is_root();
    if root {
        // sshd's privilege separation folder, absent where the service never ran.
        std::fs::create_dir_all("/run/sshd").unwrap();
    }
    let port = free_port();
    let config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
         AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM no\n\
         PasswordAuthentication yes\nKbdInteractiveAuthentication no\nPermitRootLogin yes\n\
         MaxStartups 200\nMaxSessions 200\nLogLevel ERROR\n",
        d = d.display()
    );
    std::fs::write(d.join("sshd_config"), config).unwrap();
    let mut watchdog = Command::new("sh")
        .arg("-c")
        .arg(r#""$0" -f "$1" -D -e & pid=$!; read -r _; kill "$pid""#)
        .arg(&sshd)
        .arg(d.join("sshd_config"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start sshd");
    let _ = watchdog.stdin.as_mut().unwrap().flush();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "sshd did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let user = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .unwrap()
        .name;
    Some(Sshd {
        port,
        dir,
        user,
        key,
        encrypted_key,
        stranger_key,
        host_key,
        other_host_key,
        watchdog,
    })
}

impl Sshd {
    /// A known_hosts file of these lines, in the fixture's folder.
    pub fn known_hosts(&self, name: &str, lines: &[String]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
        path
    }

    /// `[127.0.0.1]:PORT` as known_hosts names this server.
    pub fn name(&self) -> String {
        format!("[127.0.0.1]:{}", self.port)
    }
}
