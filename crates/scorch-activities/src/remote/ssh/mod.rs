//! `run_ssh_command`: runs a command on one host over SSH and publishes its exit code and output.
//! The engine runs it once per host for `hosts: [..]`, a list in `host` or a computer group.
//! Each stream is published up to 1 MiB (the live output's bound); the rest is dropped.

mod known_hosts;
mod session;

use std::sync::Arc;
use std::time::Duration;

use russh::keys::PrivateKey;
use scorch_activity::process::ProcessOutput;
use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value};
use tokio::net::TcpStream;

use self::session::{Credential, HostKeyCheck, HostKeyPolicy, Session};
use super::{CATEGORY, cancelable, duration_prop, peer_name, port_prop, resolve, transient_io};
use crate::io_words::io_why;
use crate::system::{finish, streams_row, success_codes};

const TYPE: &str = "run_ssh_command";

/// How long connecting, the handshake and authentication may take by default.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: CATEGORY,
    summary: "Runs a command on a host over SSH and publishes its exit code and output.",
    idempotent: false,
    properties: &[
        "host",
        "port",
        "username",
        "password",
        "private_key",
        "passphrase",
        "host_key_check",
        "known_hosts",
        "command",
        "stdin",
        "success_codes",
        "connect_timeout",
        "timeout",
    ],
    required: &["host", "username", "command"],
    publishes: &["host", "exit_code", "stdout", "stderr"],
};

pub struct RunSshCommand;

#[scorch_activity::async_trait]
impl Activity for RunSshCommand {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let password = props.opt_str("password")?.filter(|p| !p.is_empty());
        let private_key = props.opt_str("private_key")?.filter(|k| !k.trim().is_empty());
        let passphrase = props.opt_str("passphrase")?.filter(|p| !p.is_empty());
        for secret in [&password, &private_key, &passphrase].into_iter().flatten() {
            ctx.secrets.remember(secret);
        }
        let host = props.non_empty("host")?;
        let port = port_prop(&props, "port")?.unwrap_or(22);
        let username = props.non_empty("username")?;
        let command = props.non_empty("command")?;
        let stdin = props.opt_str("stdin")?;
        let success_codes = success_codes(&props)?;
        let connect_timeout = duration_prop(&props, "connect_timeout")?.unwrap_or(CONNECT_TIMEOUT);
        let timeout = duration_prop(&props, "timeout")?;
        let check = match props.choice("host_key_check", &["strict", "accept_new", "off"], "strict")? {
            "strict" => HostKeyCheck::Strict,
            "accept_new" => HostKeyCheck::AcceptNew,
            _ => HostKeyCheck::Off,
        };
        let known_hosts = match props.opt_str("known_hosts")?.filter(|p| !p.is_empty()) {
            Some(path) => ctx.resolve_path(&path),
            // Not read without a check.
            None if check == HostKeyCheck::Off => std::path::PathBuf::new(),
            None => known_hosts::default_path().await.ok_or_else(|| {
                ActivityError::invalid(
                    TYPE,
                    "known_hosts",
                    "the server's user has no home folder: set known_hosts",
                )
            })?,
        };
        let credential = match (password, private_key) {
            (Some(_), Some(_)) => {
                return Err(ActivityError::InvalidInput(format!(
                    "{TYPE}: set password or private_key, not both"
                )));
            }
            (Some(password), None) => Credential::Password(password),
            (None, Some(key)) => Credential::Key(Arc::new(decode_key(key, passphrase).await?)),
            (None, None) => {
                return Err(ActivityError::InvalidInput(format!(
                    "{TYPE}: set password or private_key"
                )));
            }
        };
        let policy = HostKeyPolicy {
            check,
            known_hosts,
            name: known_hosts::host_key_name(&host, port),
        };

        let peer = peer_name(&host, port);
        let addrs = resolve(ctx, TYPE, &host, port).await?;
        let connecting = async {
            let stream = TcpStream::connect(&addrs[..]).await.map_err(|e| {
                let why = format!("{TYPE}: {peer}: {}", io_why(&e));
                if transient_io(&e) {
                    ActivityError::Transient(why)
                } else {
                    ActivityError::Failed(why)
                }
            })?;
            Session::start(stream, policy, &username, &credential)
                .await
                .map_err(|why| ActivityError::failed(TYPE, &peer, why))
        };
        let mut session = match cancelable(ctx, tokio::time::timeout(connect_timeout, connecting)).await? {
            Ok(session) => session?,
            Err(_) => {
                return Err(ActivityError::Transient(format!(
                    "{TYPE}: {peer}: connecting timed out after {}",
                    shown(connect_timeout)
                )));
            }
        };

        let limit = async {
            match timeout {
                Some(timeout) => tokio::time::sleep(timeout).await,
                None => std::future::pending().await,
            }
        };
        let deadline = async {
            match ctx.deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let ended = tokio::select! {
            done = session.exec(ctx, &command, stdin) => Ok(done),
            () = limit => Err(ActivityError::Failed(format!(
                "{TYPE}: {peer}: timed out after {}",
                shown(timeout.unwrap_or_default())
            ))),
            () = ctx.cancel.cancelled() => Err(ActivityError::Canceled),
            () = deadline => Err(ActivityError::TimedOut),
        };
        let finished = match ended {
            Ok(Ok(finished)) => {
                session.close().await;
                finished
            }
            Ok(Err(why)) => {
                session.kill().await;
                return Err(ActivityError::failed(TYPE, &peer, why));
            }
            Err(e) => {
                session.kill().await;
                return Err(e);
            }
        };
        let out = ProcessOutput {
            exit_code: finished.exit_code,
            stdout: finished.stdout,
            stderr: finished.stderr,
            pid: 0,
        };
        let mut row = scorch_activity::row! { "host" => host };
        row.extend(streams_row(&out));
        let mut output = finish(&out, &success_codes, vec![row]);
        if !output.error.is_empty() {
            output.error = format!("{TYPE}: {peer}: {}", output.error);
        }
        Ok(output)
    }
}

/// The `private_key` text (OpenSSH, PEM or PuTTY), decrypted with `passphrase`. Decrypting is
/// deliberately slow (bcrypt), so it runs off the async threads.
async fn decode_key(text: String, passphrase: Option<String>) -> Result<PrivateKey, ActivityError> {
    let has_passphrase = passphrase.is_some();
    let decoded = tokio::task::spawn_blocking(move || russh::keys::decode_secret_key(&text, passphrase.as_deref()))
        .await
        .map_err(|e| ActivityError::Failed(format!("{TYPE}: decoding the private key: {e}")))?;
    // The key's own words could quote it: say what is wrong without them.
    decoded.map_err(|e| {
        let why = match e {
            russh::keys::Error::KeyIsEncrypted => "the key is encrypted: set passphrase",
            _ if has_passphrase => "not an OpenSSH private key, or the wrong passphrase",
            _ => "not an OpenSSH private key",
        };
        ActivityError::invalid(TYPE, "private_key", why)
    })
}

/// A duration as written in properties: `2s`, `1500ms`.
fn shown(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod test_sshd;

#[cfg(test)]
mod tests {
    use super::test_sshd::{MISSING_HINT, PASSPHRASE, PASSWORD, PASSWORD_USER, Sshd, sshd};
    use super::*;
    use crate::test_peers::{free_port, peer_missing};
    use scorch_activity::{ErrorKind, Status, json};
    use std::path::PathBuf;

    fn ctx() -> ActivityContext {
        ActivityContext::standalone(TYPE, std::env::temp_dir())
    }

    async fn run(properties: Value) -> Result<ActivityOutput, ActivityError> {
        RunSshCommand.run(&ctx(), properties).await
    }

    fn server() -> Option<&'static Sshd> {
        let found = sshd();
        if found.is_none() {
            peer_missing("sshd", MISSING_HINT);
        }
        found
    }

    /// Whether sshd can log in the `scorch-ssh` user (it must run as root for that).
    fn password_user_exists() -> bool {
        let exists = nix::unistd::User::from_name(PASSWORD_USER).ok().flatten().is_some();
        if !exists || !nix::unistd::geteuid().is_root() {
            peer_missing(
                "the scorch-ssh user and a root sshd",
                "as root: useradd scorch-ssh and set its password (see .ci/run)",
            );
            return false;
        }
        true
    }

    /// Properties for a key login to the shared sshd, its host key known.
    fn props(sshd: &Sshd, command: &str) -> Value {
        let known_hosts = sshd.known_hosts("known_hosts", &[format!("{} {}", sshd.name(), sshd.host_key)]);
        json!({
            "host": "127.0.0.1", "port": sshd.port, "username": sshd.user, "private_key": sshd.key,
            "known_hosts": known_hosts, "command": command,
        })
    }

    #[tokio::test]
    async fn runs_a_command_with_a_key_and_publishes_its_output() {
        let Some(sshd) = server() else { return };
        let out = run(props(sshd, "echo out; echo err >&2; echo two")).await.unwrap();
        assert_eq!(out.status, Status::Success);
        assert_eq!(
            out.rows,
            vec![scorch_activity::row! {
                "host" => "127.0.0.1", "exit_code" => 0, "stdout" => "out\ntwo", "stderr" => "err",
            }]
        );
    }

    #[tokio::test]
    async fn an_encrypted_key_needs_its_passphrase() {
        let Some(sshd) = server() else { return };
        let mut properties = props(sshd, "echo ok");
        properties["private_key"] = json!(sshd.encrypted_key);
        let err = run(properties.clone()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "run_ssh_command: property 'private_key': the key is encrypted: set passphrase"
        );
        properties["passphrase"] = json!("Not-the-passphrase-7");
        let err = run(properties.clone()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "run_ssh_command: property 'private_key': not an OpenSSH private key, or the wrong passphrase"
        );
        properties["passphrase"] = json!(PASSPHRASE);
        let out = run(properties).await.unwrap();
        assert_eq!(out.rows[0]["stdout"], "ok");
    }

    #[tokio::test]
    async fn stdin_is_fed_and_a_failing_exit_code_still_publishes() {
        let Some(sshd) = server() else { return };
        let mut properties = props(sshd, "tr a-z A-Z; echo 'disk full' >&2; exit 3");
        properties["stdin"] = json!("hello\nworld\n");
        let out = run(properties.clone()).await.unwrap();
        assert_eq!(out.status, Status::Failed);
        assert_eq!(
            out.error,
            format!("run_ssh_command: 127.0.0.1:{}: disk full", sshd.port)
        );
        assert_eq!(out.rows[0]["exit_code"], 3);
        assert_eq!(out.rows[0]["stdout"], "HELLO\nWORLD");
        properties["success_codes"] = json!([0, 3]);
        assert_eq!(run(properties).await.unwrap().status, Status::Success);
    }

    #[tokio::test]
    async fn password_login() {
        let Some(sshd) = server() else { return };
        if !password_user_exists() {
            return;
        }
        let mut properties = props(sshd, "id -un");
        properties.as_object_mut().unwrap().remove("private_key");
        properties["username"] = json!(PASSWORD_USER);
        properties["password"] = json!(PASSWORD);
        let out = run(properties.clone()).await.unwrap();
        assert_eq!(out.rows[0]["stdout"], PASSWORD_USER);

        properties["password"] = json!("Not-the-password-42");
        let err = run(properties).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert_eq!(
            err.to_string(),
            format!(
                "run_ssh_command: 127.0.0.1:{}: authentication failed for user 'scorch-ssh' (password)",
                sshd.port
            )
        );
    }

    #[tokio::test]
    async fn a_key_the_server_does_not_accept_or_cannot_read_fails_without_showing_it() {
        let Some(sshd) = server() else { return };
        let mut properties = props(sshd, "true");
        properties["private_key"] = json!(sshd.stranger_key);
        let err = run(properties.clone()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "run_ssh_command: 127.0.0.1:{}: authentication failed for user '{}' (private key)",
                sshd.port, sshd.user
            )
        );
        let garbage =
            "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END OPENSSH PRIVATE KEY-----";
        properties["private_key"] = json!(garbage);
        let err = run(properties.clone()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "run_ssh_command: property 'private_key': not an OpenSSH private key"
        );
        assert!(!err.to_string().contains("c2VjcmV0"));
        properties["password"] = json!("pw");
        assert_eq!(
            run(properties).await.unwrap_err().to_string(),
            "run_ssh_command: set password or private_key, not both"
        );
    }

    #[tokio::test]
    async fn strict_refuses_an_unknown_key_and_accept_new_learns_it() {
        let Some(sshd) = server() else { return };
        let dir = tempfile::tempdir().unwrap();
        let known_hosts = dir.path().join("sub/known_hosts");
        let mut properties = props(sshd, "echo in");
        properties["known_hosts"] = json!(known_hosts);
        let err = run(properties.clone()).await.unwrap_err();
        let fingerprint = russh::keys::parse_public_key_base64(sshd.host_key.split(' ').nth(1).unwrap())
            .unwrap()
            .fingerprint(russh::keys::HashAlg::Sha256)
            .to_string();
        assert_eq!(
            err.to_string(),
            format!(
                "run_ssh_command: 127.0.0.1:{}: unknown host key {fingerprint} (ssh-ed25519): not in known_hosts {} (host_key_check: strict)",
                sshd.port,
                known_hosts.display()
            )
        );
        assert!(!known_hosts.exists());

        properties["host_key_check"] = json!("accept_new");
        assert_eq!(run(properties.clone()).await.unwrap().rows[0]["stdout"], "in");
        let learned = std::fs::read_to_string(&known_hosts).unwrap();
        assert_eq!(learned, format!("{} {}\n", sshd.name(), sshd.host_key));
        properties["host_key_check"] = json!("strict");
        assert_eq!(run(properties).await.unwrap().rows[0]["stdout"], "in");
    }

    #[tokio::test]
    async fn a_changed_key_is_refused_even_with_accept_new_but_not_with_off() {
        let Some(sshd) = server() else { return };
        let mut properties = props(sshd, "echo in");
        let known_hosts = sshd.known_hosts("changed", &[format!("{} {}", sshd.name(), sshd.other_host_key)]);
        properties["known_hosts"] = json!(known_hosts);
        for check in ["strict", "accept_new"] {
            properties["host_key_check"] = json!(check);
            let err = run(properties.clone()).await.unwrap_err().to_string();
            assert!(
                err.starts_with(&format!(
                    "run_ssh_command: 127.0.0.1:{}: host key changed: the server offers SHA256:",
                    sshd.port
                )),
                "{err}"
            );
            assert!(err.contains("line 1 has another key"), "{err}");
        }
        properties["host_key_check"] = json!("off");
        assert_eq!(run(properties).await.unwrap().rows[0]["stdout"], "in");
    }

    #[tokio::test]
    async fn a_hashed_entry_is_known() {
        let Some(sshd) = server() else { return };
        let known_hosts = sshd.known_hosts("hashed", &[format!("{} {}", sshd.name(), sshd.host_key)]);
        let hashed = std::process::Command::new(crate::test_peers::find_program("ssh-keygen").unwrap())
            .args(["-q", "-H", "-f"])
            .arg(&known_hosts)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(hashed.success());
        assert!(std::fs::read_to_string(&known_hosts).unwrap().starts_with("|1|"));
        let mut properties = props(sshd, "echo in");
        properties["known_hosts"] = json!(known_hosts);
        assert_eq!(run(properties).await.unwrap().rows[0]["stdout"], "in");
    }

    /// sshd takes `signal` requests only where it dropped privileges after login: not for root,
    /// so this logs in as the `scorch-ssh` user (by key: the fixture's keys are anyone's).
    #[tokio::test]
    async fn the_timeout_kills_the_remote_command() {
        let Some(sshd) = server() else { return };
        if !password_user_exists() {
            return;
        }
        let shared = tempfile::tempdir().unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let pid_file = shared.path().join("pid");
        let command = format!("echo $$ > {}; sleep 30; echo late", pid_file.display());
        let mut properties = props(sshd, &command);
        properties["username"] = json!(PASSWORD_USER);
        properties["timeout"] = json!("2s");
        let started = std::time::Instant::now();
        let err = run(properties).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("run_ssh_command: 127.0.0.1:{}: timed out after 2s", sshd.port)
        );
        assert!(started.elapsed() < Duration::from_secs(6));
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let proc = PathBuf::from(format!("/proc/{}", pid.trim()));
        let gone = std::time::Instant::now();
        while proc.exists() {
            assert!(
                gone.elapsed() < Duration::from_secs(5),
                "the remote command outlived the timeout"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test]
    async fn cancelation_closes_the_session() {
        let Some(sshd) = server() else { return };
        let ctx = ctx();
        let cancel = ctx.cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            cancel.cancel();
        });
        let err = RunSshCommand.run(&ctx, props(sshd, "sleep 30")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Canceled);
    }

    #[tokio::test]
    async fn a_closed_port_is_refused_and_bad_input_is_named() {
        let port = free_port();
        let properties = json!({"host": "127.0.0.1", "port": port, "username": "u", "password": "Secret-pw-99",
            "known_hosts": "/nonexistent/known_hosts", "command": "true"});
        let err = run(properties.clone()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transient);
        assert_eq!(
            err.to_string(),
            format!("run_ssh_command: 127.0.0.1:{port}: connection refused")
        );
        assert!(!err.to_string().contains("Secret-pw-99"));

        // TEST-NET-1: nothing answers (or no route to it at all).
        let mut unreachable = properties.clone();
        unreachable["host"] = json!("192.0.2.1");
        unreachable["connect_timeout"] = json!("300ms");
        let err = run(unreachable).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transient);
        assert!(
            err.to_string()
                .starts_with(&format!("run_ssh_command: 192.0.2.1:{port}: ")),
            "{err}"
        );

        let mut no_credential = properties.clone();
        no_credential.as_object_mut().unwrap().remove("password");
        assert_eq!(
            run(no_credential).await.unwrap_err().to_string(),
            "run_ssh_command: set password or private_key"
        );
        let mut bad = properties.clone();
        bad["host_key_check"] = json!("maybe");
        assert!(
            run(bad)
                .await
                .unwrap_err()
                .to_string()
                .starts_with("run_ssh_command: property 'host_key_check':")
        );
        let mut bad = properties;
        bad["connect_timeout"] = json!("soon");
        assert!(
            run(bad)
                .await
                .unwrap_err()
                .to_string()
                .starts_with("run_ssh_command: property 'connect_timeout':")
        );
    }

    #[test]
    fn signals_become_shell_exit_codes() {
        assert_eq!(session::signal_exit_code(&russh::Sig::KILL), 137);
        assert_eq!(session::signal_exit_code(&russh::Sig::Custom("WINCH".into())), 128 + 28);
        assert_eq!(session::signal_exit_code(&russh::Sig::Custom("NOPE".into())), -1);
    }
}
