//! `end_process`: signals processes by name glob or pid, then KILLs those still alive after
//! `kill_after`.

use std::str::FromStr;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::{CATEGORY, Target, is_alive};

const TYPE: &str = "end_process";

/// How often to look whether signalled processes have ended.
const POLL: Duration = Duration::from_millis(20);

/// How long to wait for processes to go after KILL, which cannot be ignored.
const AFTER_KILL: Duration = Duration::from_secs(5);

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: CATEGORY,
    summary: "Sends processes on this host a signal (TERM by default), by name (a glob) or pid; KILLs those still alive after kill_after.",
    idempotent: false,
    properties: &["name", "pid", "signal", "kill_after"],
    required: &[],
    publishes: &["ended"],
};

pub struct EndProcess;

#[scorch_activity::async_trait]
impl Activity for EndProcess {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let target = Target::from_props(&props)?;
        let signal = parse_signal(&props.str_or("signal", "TERM")?)?;
        let kill_after = props
            .opt_str("kill_after")?
            .filter(|s| !s.trim().is_empty())
            .map(|text| scorch_model::duration::parse_duration(&text))
            .transpose()
            .map_err(|why| ActivityError::invalid(TYPE, "kill_after", why))?;

        // Never this server itself, whatever the glob says.
        let own = std::process::id();
        let found: Vec<u32> = crate::files::blocking(TYPE, move || Ok(target.find()))
            .await?
            .into_iter()
            .filter(|pid| *pid != own)
            .collect();

        let mut signalled = Vec::with_capacity(found.len());
        for pid in found {
            match send(pid, signal) {
                Ok(()) => signalled.push(pid),
                // Ended between listing and signalling: nothing left to do for it.
                Err(Errno::ESRCH) => {}
                Err(Errno::EPERM) => {
                    return Err(ActivityError::failed(
                        TYPE,
                        format!("process {pid}"),
                        "permission denied",
                    ));
                }
                Err(e) => {
                    return Err(ActivityError::failed(
                        TYPE,
                        format!("process {pid}"),
                        e.desc().to_lowercase(),
                    ));
                }
            }
        }

        if let Some(grace) = kill_after
            && signal != Signal::SIGKILL
        {
            let alive = wait_until_gone(ctx, &signalled, grace).await?;
            for &pid in &alive {
                match send(pid, Signal::SIGKILL) {
                    Ok(()) | Err(Errno::ESRCH) => {}
                    Err(e) => {
                        return Err(ActivityError::failed(
                            TYPE,
                            format!("process {pid}"),
                            e.desc().to_lowercase(),
                        ));
                    }
                }
            }
            let still = wait_until_gone(ctx, &alive, AFTER_KILL).await?;
            if let Some(pid) = still.first() {
                return Err(ActivityError::failed(
                    TYPE,
                    format!("process {pid}"),
                    "still alive after KILL",
                ));
            }
        }
        Ok(ActivityOutput::row(row! { "ended" => signalled.len() }))
    }
}

fn send(pid: u32, signal: Signal) -> Result<(), Errno> {
    let pid = i32::try_from(pid).map_err(|_| Errno::ESRCH)?;
    kill(Pid::from_raw(pid), signal)
}

/// Polls until every pid has ended or `within` passes; returns those still alive.
async fn wait_until_gone(ctx: &ActivityContext, pids: &[u32], within: Duration) -> Result<Vec<u32>, ActivityError> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let alive: Vec<u32> = pids.iter().copied().filter(|pid| is_alive(*pid)).collect();
        if alive.is_empty() || tokio::time::Instant::now() >= deadline {
            return Ok(alive);
        }
        tokio::select! {
            () = ctx.cancel.cancelled() => return Err(ActivityError::Canceled),
            () = tokio::time::sleep(POLL.min(deadline - tokio::time::Instant::now())) => {}
        }
    }
}

/// `TERM`, `SIGTERM`, `term` or a number like `15`.
fn parse_signal(text: &str) -> Result<Signal, ActivityError> {
    let text = text.trim();
    let bad = || {
        ActivityError::invalid(
            TYPE,
            "signal",
            format!("'{text}' is not a signal (like TERM, INT, HUP, KILL or 15)"),
        )
    };
    if let Ok(number) = text.parse::<i32>() {
        return Signal::try_from(number).map_err(|_| bad());
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::test_support::{field, invalid, ok};
    use crate::host::test_support::Sleeper;
    use scorch_activity::json;

    #[tokio::test]
    async fn ends_a_process_by_name_with_term() {
        let dir = tempfile::tempdir().unwrap();
        let mut sleeper = Sleeper::start(false);
        let rows = ok(&EndProcess, dir.path(), json!({ "name": sleeper.name })).await;
        assert_eq!(field(&rows[0], "ended"), "1");
        assert_eq!(sleeper.ended_by(), Some(libc_signal(Signal::SIGTERM)));
    }

    #[tokio::test]
    async fn ends_a_process_by_pid_with_a_chosen_signal() {
        let dir = tempfile::tempdir().unwrap();
        let mut sleeper = Sleeper::start(false);
        let rows = ok(
            &EndProcess,
            dir.path(),
            // USR1, not INT: a shell starting jobs in the background (nohup, CI runners) makes
            // them ignore INT, and an ignored signal stays ignored across exec.
            json!({ "pid": sleeper.pid(), "signal": "usr1" }),
        )
        .await;
        assert_eq!(field(&rows[0], "ended"), "1");
        assert_eq!(sleeper.ended_by(), Some(libc_signal(Signal::SIGUSR1)));
    }

    #[tokio::test]
    async fn kill_after_ends_a_process_that_ignores_term() {
        let dir = tempfile::tempdir().unwrap();
        let mut sleeper = Sleeper::start(true);
        let props = json!({ "name": sleeper.name, "kill_after": "200ms" });
        let rows = ok(&EndProcess, dir.path(), props).await;
        assert_eq!(field(&rows[0], "ended"), "1");
        assert_eq!(sleeper.ended_by(), Some(libc_signal(Signal::SIGKILL)));
    }

    #[tokio::test]
    async fn no_match_ends_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let rows = ok(&EndProcess, dir.path(), json!({ "name": "no-such-process-zz*" })).await;
        assert_eq!(field(&rows[0], "ended"), "0");
    }

    #[tokio::test]
    async fn bad_input_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let err = invalid(&EndProcess, dir.path(), json!({"name": "x", "signal": "BOGUS"})).await;
        assert_eq!(
            err,
            "end_process: property 'signal': 'BOGUS' is not a signal (like TERM, INT, HUP, KILL or 15)"
        );
        let err = invalid(&EndProcess, dir.path(), json!({"name": "x", "kill_after": "soon"})).await;
        assert!(
            err.starts_with("end_process: property 'kill_after': 'soon' is not a duration"),
            "{err}"
        );
        invalid(&EndProcess, dir.path(), json!({})).await;
        assert_eq!(parse_signal("SIGHUP").unwrap(), Signal::SIGHUP);
        assert_eq!(parse_signal("9").unwrap(), Signal::SIGKILL);
    }

    fn libc_signal(signal: Signal) -> i32 {
        signal as i32
    }
}
