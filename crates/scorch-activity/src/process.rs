//! Running a child process on behalf of an activity. The child leads its own process group, so
//! a timeout, a cancellation or dropping the run's future kills the whole tree it started. On
//! Linux the child also dies with the process that started it (a parent-death signal), so an
//! activity's work does not go on behind a runbook server killed with SIGKILL, whose resumed
//! instance records that run as interrupted. What the child writes is streamed to the run's
//! live output ([`crate::live`]) as it comes, and kept whole for the activity to publish.

use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::live::{LineWriter, Stream};
use crate::{ActivityContext, ActivityError};

/// What to start.
#[derive(Debug, Clone, Default)]
pub struct ProcessSpec {
    pub program: String,
    pub args: Vec<String>,
    /// Defaults to the context's working directory.
    pub working_dir: Option<PathBuf>,
    /// Added to (and overriding) the inherited environment.
    pub env: Vec<(String, String)>,
    pub stdin: Option<String>,
}

/// What a finished process left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessOutput {
    /// The exit code; 128 + N when killed by signal N (as shells report it).
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
    pub pid: u32,
}

/// Kills the process group when dropped while armed.
struct GroupKiller(Option<u32>);

impl Drop for GroupKiller {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            kill_group(pid);
        }
    }
}

#[cfg(unix)]
fn kill_group(pid: u32) {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;
    if let Ok(pid) = i32::try_from(pid) {
        // The group may already be gone; nothing to do then.
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

#[cfg(not(unix))]
fn kill_group(_pid: u32) {
    // Elsewhere `kill_on_drop` stops the direct child only.
}

/// Starts `cmd`. On Linux through [`spawner`], so that the child is killed when this process
/// dies, and only then.
#[cfg(target_os = "linux")]
async fn spawn(cmd: Command) -> std::io::Result<tokio::process::Child> {
    let (reply, child) = tokio::sync::oneshot::channel();
    let request = SpawnRequest {
        cmd,
        runtime: tokio::runtime::Handle::current(),
        reply,
    };
    spawner()
        .send(request)
        .map_err(|_| std::io::Error::other("the process spawner is gone"))?;
    child
        .await
        .map_err(|_| std::io::Error::other("the process spawner is gone"))?
}

#[cfg(not(target_os = "linux"))]
async fn spawn(mut cmd: Command) -> std::io::Result<tokio::process::Child> {
    cmd.spawn()
}

#[cfg(target_os = "linux")]
struct SpawnRequest {
    cmd: Command,
    runtime: tokio::runtime::Handle,
    reply: tokio::sync::oneshot::Sender<std::io::Result<tokio::process::Child>>,
}

/// The one thread that starts children, for the life of the process. A parent-death signal
/// fires when the *thread* that forked the child ends, not the process: a child started from a
/// runtime's thread would be killed when that thread retires (a blocking pool's idle thread
/// does after seconds), so every child is forked here, from a thread that never ends.
#[cfg(target_os = "linux")]
fn spawner() -> &'static std::sync::mpsc::Sender<SpawnRequest> {
    static SPAWNER: std::sync::OnceLock<std::sync::mpsc::Sender<SpawnRequest>> = std::sync::OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (send, requests) = std::sync::mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("scorch-spawner".into())
            .spawn(move || {
                for SpawnRequest {
                    mut cmd,
                    runtime,
                    reply,
                } in requests
                {
                    // The child's pipes and reaping belong to the caller's runtime.
                    let _entered = runtime.enter();
                    let _ = reply.send(die_with_parent(&mut cmd).spawn());
                }
            })
            .expect("start the process spawner thread");
        send
    })
}

/// Has the child killed (SIGKILL) when the thread that forks it ends, which for [`spawner`]'s
/// thread is when this process dies. A parent already gone by the time the child asks (it died
/// between the fork and the request) makes the child exit at once instead.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn die_with_parent(cmd: &mut Command) -> &mut Command {
    use nix::sys::signal::Signal;
    let parent = nix::unistd::getpid();
    // SAFETY: the closure runs in the child between fork and exec, where only async-signal-safe
    // functions may be called: prctl(2) and getppid(2) are system calls, and the error paths
    // allocate nothing (an errno becomes an `io::Error` in place).
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            if nix::unistd::getppid() != parent {
                return Err(nix::errno::Errno::ESRCH.into());
            }
            Ok(())
        })
    }
}

#[cfg(unix)]
fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(-1)
}

#[cfg(not(unix))]
fn exit_code(status: std::process::ExitStatus) -> i32 {
    status.code().unwrap_or(-1)
}

/// Starts `spec`, feeds its stdin, and waits for it to exit, honouring the context's
/// cancellation and deadline. `type_name` prefixes error messages.
pub async fn run(ctx: &ActivityContext, type_name: &str, spec: ProcessSpec) -> Result<ProcessOutput, ActivityError> {
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .current_dir(spec.working_dir.as_ref().unwrap_or(&ctx.working_dir))
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(if spec.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = spawn(cmd).await.map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::NotFound {
            "program not found".to_string()
        } else {
            e.to_string()
        };
        ActivityError::failed(type_name, &spec.program, why)
    })?;
    let pid = child.id().unwrap_or(0);
    let mut killer = GroupKiller(Some(pid));
    if let (Some(text), Some(mut stdin)) = (spec.stdin, child.stdin.take()) {
        // A child that exits without reading its input is not an error of ours.
        tokio::spawn(async move {
            let _ = stdin.write_all(text.as_bytes()).await;
        });
    }
    let deadline = async {
        match ctx.deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    // Both pipes are read as the program writes, each byte kept for the published data and
    // streamed to the run's live output line by line.
    let stdout = read_all(child.stdout.take(), ctx.output.lines(Stream::Stdout));
    let stderr = read_all(child.stderr.take(), ctx.output.lines(Stream::Stderr));
    let finished = async { tokio::join!(child.wait(), stdout, stderr) };
    tokio::select! {
        (status, stdout, stderr) = finished => {
            killer.0 = None;
            let failed = |e: std::io::Error| ActivityError::failed(type_name, &spec.program, e);
            Ok(ProcessOutput {
                exit_code: exit_code(status.map_err(failed)?),
                stdout: String::from_utf8_lossy(&stdout.map_err(failed)?).into_owned(),
                stderr: String::from_utf8_lossy(&stderr.map_err(failed)?).into_owned(),
                pid,
            })
        }
        _ = ctx.cancel.cancelled() => Err(ActivityError::Canceled),
        _ = deadline => Err(ActivityError::TimedOut),
    }
}

/// Everything `pipe` yields until its end, written to `live` as it comes.
async fn read_all(pipe: Option<impl AsyncRead + Unpin>, mut live: LineWriter) -> std::io::Result<Vec<u8>> {
    let mut all = Vec::new();
    let Some(mut pipe) = pipe else { return Ok(all) };
    let mut buf = [0u8; 8192];
    loop {
        let n = pipe.read(&mut buf).await?;
        if n == 0 {
            live.finish();
            return Ok(all);
        }
        live.push(&buf[..n]);
        all.extend_from_slice(&buf[..n]);
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ctx() -> ActivityContext {
        ActivityContext::standalone("test", std::env::temp_dir())
    }

    #[tokio::test]
    async fn captures_output_and_exit_code() {
        let spec = ProcessSpec {
            program: "sh".into(),
            args: vec!["-c".into(), "read x; echo got $x; echo err >&2; exit 3".into()],
            stdin: Some("hi\n".into()),
            ..Default::default()
        };
        let out = run(&ctx(), "t", spec).await.unwrap();
        assert_eq!(
            (out.exit_code, out.stdout.as_str(), out.stderr.as_str()),
            (3, "got hi\n", "err\n")
        );
    }

    #[derive(Default)]
    struct Collect(std::sync::Mutex<Vec<crate::OutputChunk>>);

    impl crate::OutputSink for Collect {
        fn send(&self, chunk: crate::OutputChunk) {
            self.0.lock().unwrap().push(chunk);
        }
    }

    #[tokio::test]
    async fn output_is_streamed_while_the_program_runs() {
        let dir = tempfile::tempdir().unwrap();
        let go_on = dir.path().join("go-on");
        let sink = std::sync::Arc::new(Collect::default());
        let mut c = ctx();
        c.output = crate::LiveOutput::new(sink.clone(), uuid::Uuid::nil(), 0, Default::default());
        let script = format!(
            "echo first; echo warn >&2; while [ ! -f {} ]; do sleep 0.02; done; echo second",
            go_on.display()
        );
        let spec = ProcessSpec {
            program: "sh".into(),
            args: vec!["-c".into(), script],
            ..Default::default()
        };
        let running = tokio::spawn(async move { run(&c, "t", spec).await });
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while sink.0.lock().unwrap().len() < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "no live output while the program ran"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!running.is_finished());
        std::fs::write(&go_on, "").unwrap();
        let out = running.await.unwrap().unwrap();
        assert_eq!(out.stdout, "first\nsecond\n");
        let chunks = sink.0.lock().unwrap();
        let texts: Vec<_> = chunks.iter().map(|c| (c.stream.as_str(), c.text.as_str())).collect();
        assert!(texts.contains(&("stderr", "warn\n")), "{texts:?}");
        assert_eq!(texts.iter().filter(|(s, _)| *s == "stdout").count(), 2);
    }

    #[tokio::test]
    async fn deadline_kills_the_whole_tree() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        let mut c = ctx();
        c.deadline = Some(tokio::time::Instant::now() + Duration::from_millis(300));
        let script = format!("(sleep 1; touch {}) & sleep 30", marker.display());
        let spec = ProcessSpec {
            program: "sh".into(),
            args: vec!["-c".into(), script],
            ..Default::default()
        };
        assert_eq!(run(&c, "t", spec).await.unwrap_err(), ActivityError::TimedOut);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(!marker.exists(), "a grandchild outlived the timeout");
    }

    #[tokio::test]
    async fn missing_program_is_a_clear_failure() {
        let spec = ProcessSpec {
            program: "no-such-program-xyz".into(),
            ..Default::default()
        };
        let err = run(&ctx(), "run_program", spec).await.unwrap_err().to_string();
        assert_eq!(err, "run_program: no-such-program-xyz: program not found");
    }
}
