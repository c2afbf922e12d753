//! One SSH session: connecting (host key checked against known_hosts), authenticating, running
//! one command with its stdin, its output streamed live, and closing, killing the command when
//! the run ends early.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, Handle, Msg};
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh::{ChannelMsg, ChannelWriteHalf, Disconnect, Sig};
use scorch_activity::ActivityContext;
use scorch_activity::live::{LineWriter, LiveOutput, Stream};

use super::known_hosts::{self, Verdict};

/// The most of each stream published (the same bound as live output); the rest is read and
/// dropped so the command can finish.
const MAX_PUBLISHED: usize = LiveOutput::LIMIT as usize;

/// How long closing a session (and asking the server to kill the command) may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum HostKeyCheck {
    Strict,
    AcceptNew,
    Off,
}

pub(super) struct HostKeyPolicy {
    pub check: HostKeyCheck,
    pub known_hosts: PathBuf,
    /// How the host is written in known_hosts (see [`known_hosts::host_key_name`]).
    pub name: String,
}

pub(super) enum Credential {
    Password(String),
    Key(Arc<PrivateKey>),
}

/// russh's side of the handshake: decides on the server's key, and keeps why it refused it.
struct Client {
    policy: HostKeyPolicy,
    refused: Arc<Mutex<Option<String>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(&mut self, offered: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let verdict = match offered {
            PublicKeyOrCertificate::PublicKey { key, .. } => check_key(&self.policy, key).await,
            PublicKeyOrCertificate::Certificate(_) => Err("host certificates are not supported".to_string()),
        };
        match verdict {
            Ok(()) => Ok(true),
            Err(why) => {
                *self.refused.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
                Ok(false)
            }
        }
    }
}

/// Whether `key` may be trusted for the host under the policy; learns it when that is allowed.
async fn check_key(policy: &HostKeyPolicy, key: &PublicKey) -> Result<(), String> {
    if policy.check == HostKeyCheck::Off {
        return Ok(());
    }
    let file = policy.known_hosts.display();
    let text = known_hosts::read(&policy.known_hosts)
        .await
        .map_err(|e| format!("cannot read known_hosts {file}: {}", crate::io_words::io_why(&e)))?;
    let offered = known_hosts::describe(key);
    match known_hosts::verdict(&text, &policy.name, key) {
        Verdict::Known => Ok(()),
        Verdict::Unknown if policy.check == HostKeyCheck::AcceptNew => {
            known_hosts::learn(&policy.known_hosts, &policy.name, key)
                .await
                .map_err(|e| format!("cannot add the host key to {file}: {}", crate::io_words::io_why(&e)))
        }
        Verdict::Unknown => Err(format!(
            "unknown host key {offered}: not in known_hosts {file} (host_key_check: strict)"
        )),
        Verdict::Changed { line } => Err(format!(
            "host key changed: the server offers {offered}, known_hosts {file} line {line} has another key \
             for it (possible man-in-the-middle)"
        )),
        Verdict::Revoked { line } => Err(format!("host key {offered} is revoked in {file} line {line}")),
    }
}

/// An authenticated session, running at most one command. Dropped before [`Session::close`], it
/// kills the command and closes (the engine dropping a run at its own timeout).
pub(super) struct Session {
    handle: Option<Handle<Client>>,
    channel: Option<ChannelWriteHalf<Msg>>,
}

impl Session {
    /// The SSH handshake over `stream`, then authentication as `username`; errors in words.
    pub async fn start(
        stream: tokio::net::TcpStream,
        policy: HostKeyPolicy,
        username: &str,
        credential: &Credential,
    ) -> Result<Self, String> {
        let _ = stream.set_nodelay(true);
        let refused = Arc::new(Mutex::new(None));
        let client = Client {
            policy,
            refused: refused.clone(),
        };
        let config = Arc::new(client::Config::default());
        let mut handle = match client::connect_stream(config, stream, client).await {
            Ok(handle) => handle,
            Err(e) => {
                let refused = refused.lock().unwrap_or_else(|e| e.into_inner()).take();
                return Err(refused.unwrap_or_else(|| protocol_why(&e)));
            }
        };
        let (method, result) = match credential {
            Credential::Password(password) => ("password", handle.authenticate_password(username, password).await),
            Credential::Key(key) => {
                let hash = handle.best_supported_rsa_hash().await.ok().flatten().flatten();
                let key = PrivateKeyWithHashAlg::new(key.clone(), hash);
                ("private key", handle.authenticate_publickey(username, key).await)
            }
        };
        let session = Self {
            handle: Some(handle),
            channel: None,
        };
        match result {
            Ok(result) if result.success() => Ok(session),
            Ok(_) => Err(format!("authentication failed for user '{username}' ({method})")),
            Err(e) => Err(protocol_why(&e)),
        }
    }

    /// Runs `command` to its end, `stdin` (when given) fed to it, and returns its exit code and
    /// output. Both streams go to the run's live output as they come.
    pub async fn exec(
        &mut self,
        ctx: &ActivityContext,
        command: &str,
        stdin: Option<String>,
    ) -> Result<Finished, String> {
        let handle = self.handle.as_ref().ok_or("the session is closed")?;
        let (mut read, write) = handle
            .channel_open_session()
            .await
            .map_err(|e| protocol_why(&e))?
            .split();
        let write = &*self.channel.insert(write);
        write.exec(true, command).await.map_err(|e| protocol_why(&e))?;
        let feed = async {
            if let Some(text) = stdin {
                write.data_bytes(text.into_bytes()).await?;
            }
            write.eof().await
        };
        let mut stdout = Capture::new(ctx.output.lines(Stream::Stdout));
        let mut stderr = Capture::new(ctx.output.lines(Stream::Stderr));
        let reading = async move {
            let mut exit_code = None;
            while let Some(message) = read.wait().await {
                match message {
                    ChannelMsg::Data { data } => stdout.push(&data),
                    ChannelMsg::ExtendedData { data, ext: 1 } => stderr.push(&data),
                    ChannelMsg::ExitStatus { exit_status } => exit_code = Some(exit_status as i32),
                    ChannelMsg::ExitSignal { signal_name, .. } => exit_code = Some(signal_exit_code(&signal_name)),
                    ChannelMsg::Failure => return Err("the server refused to run the command".to_string()),
                    _ => {}
                }
            }
            let exit_code =
                exit_code.ok_or_else(|| "the channel closed before the command reported its exit".to_string())?;
            Ok((exit_code, stdout, stderr))
        };
        // The command may exit without reading all its input: reading decides when it is over.
        tokio::pin!(feed, reading);
        let mut fed = false;
        let (exit_code, stdout, stderr) = loop {
            tokio::select! {
                result = &mut reading => break result?,
                _ = &mut feed, if !fed => fed = true,
            }
        };
        Ok(Finished {
            exit_code,
            stdout: stdout.finish(),
            stderr: stderr.finish(),
        })
    }

    /// Ends the session politely (the command, if any, has finished).
    pub async fn close(mut self) {
        self.channel = None;
        if let Some(handle) = self.handle.take() {
            let bye = handle.disconnect(Disconnect::ByApplication, "", "en");
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, bye).await;
        }
    }

    /// Kills the command and ends the session.
    pub async fn kill(mut self) {
        kill(self.handle.take(), self.channel.take()).await;
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let (handle, channel) = (self.handle.take(), self.channel.take());
        if handle.is_some()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(kill(handle, channel));
        }
    }
}

/// Asks sshd to KILL the command (a `signal` request: sshd signals the command's process
/// group), then closes the channel and the connection. sshd refuses signal requests in a root
/// login (it keeps no privilege separation then), and closing the session only closes a
/// command's pipes: a root command that never writes again outlives the session.
async fn kill(handle: Option<Handle<Client>>, channel: Option<ChannelWriteHalf<Msg>>) {
    let work = async {
        if let Some(channel) = &channel {
            let _ = channel.signal(Sig::KILL).await;
            let _ = channel.close().await;
        }
        if let Some(handle) = &handle {
            let _ = handle.disconnect(Disconnect::ByApplication, "", "en").await;
        }
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, work).await;
}

pub(super) struct Finished {
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// One stream's bytes: streamed live, and kept up to [`MAX_PUBLISHED`].
struct Capture {
    live: LineWriter,
    kept: Vec<u8>,
}

impl Capture {
    fn new(live: LineWriter) -> Self {
        Self { live, kept: Vec::new() }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.live.push(bytes);
        let room = MAX_PUBLISHED.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn finish(self) -> String {
        self.live.finish();
        String::from_utf8_lossy(&self.kept).into_owned()
    }
}

/// A command killed by a signal exits 128 + its number, as shells report it (-1 if unknown).
pub(super) fn signal_exit_code(signal: &Sig) -> i32 {
    let name = match signal {
        Sig::Custom(name) => name.clone(),
        other => format!("{other:?}"),
    };
    format!("SIG{name}")
        .parse::<nix::sys::signal::Signal>()
        .map_or(-1, |s| 128 + s as i32)
}

/// A protocol failure in words (russh's errors hold no credentials).
fn protocol_why(e: &russh::Error) -> String {
    match e {
        russh::Error::IO(e) => crate::io_words::io_why(e),
        russh::Error::Disconnect | russh::Error::HUP => "the server closed the connection".into(),
        russh::Error::Version => "not an SSH server".into(),
        other => other.to_string(),
    }
}
