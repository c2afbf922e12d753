//! `send_event_log_message`: writes a message to this host's log, as a program's `syslog(3)`
//! call does: one RFC 3164 datagram (without the host name, facility user, tag `scorch[PID]`)
//! to the log socket, `/dev/log`, where journald or the syslog daemon listens.

use std::time::Duration;

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};
use tokio::net::UnixDatagram;

use super::CATEGORY;
use crate::io_words::io_why;
use crate::syslog::{Parts, SEVERITIES, code};

const TYPE: &str = "send_event_log_message";

/// How long writing may wait on a log daemon whose queue is full.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: CATEGORY,
    summary: "Writes a message to this host's system log (journald or syslog, through /dev/log).",
    idempotent: false,
    properties: &["message", "severity", "socket"],
    required: &["message"],
    publishes: &["message"],
};

pub struct SendEventLogMessage;

#[scorch_activity::async_trait]
impl Activity for SendEventLogMessage {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let message = props.str("message")?;
        let severity = code(&props, "severity", "info", SEVERITIES)?;
        let socket = ctx.resolve_path(&props.str_or("socket", "/dev/log")?);
        let parts = Parts {
            type_name: TYPE,
            pri: 8 + severity, // facility user (1)
            hostname: String::new(),
            app_name: "scorch".into(),
            procid: std::process::id(),
            message,
        };
        let datagram = parts.rfc3164_local(&jiff::Zoned::now())?;
        let send = async {
            let sock = UnixDatagram::unbound()?;
            sock.send_to(datagram.as_bytes(), &socket).await
        };
        let failed = |why: String| ActivityError::failed(TYPE, socket.display(), why);
        match crate::remote::cancelable(ctx, tokio::time::timeout(SEND_TIMEOUT, send)).await? {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(failed(io_why(&e))),
            Err(_) => return Err(failed("timed out (the log daemon is not reading)".into())),
        }
        Ok(ActivityOutput::row(row! { "message" => parts.message }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_peers::{find_program, peer_missing};
    use scorch_activity::{ErrorKind, json};
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::time::Instant;

    /// Debian's rsyslogd listening on a log socket in a temp dir, writing each message as
    /// `SEVERITY FACILITY TAG MSG` to a file there; killed when dropped.
    struct Rsyslog {
        child: Child,
        dir: tempfile::TempDir,
    }

    impl Rsyslog {
        fn start() -> Option<Self> {
            let Some(rsyslogd) = find_program("rsyslogd") else {
                peer_missing("rsyslogd", "install Debian's rsyslog package");
                return None;
            };
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path().display();
            let conf = dir.path().join("rsyslog.conf");
            std::fs::write(
                &conf,
                format!(
                    r#"global(workDirectory="{d}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{d}/log")
template(name="line" type="string" string="%syslogseverity-text% %syslogfacility-text% %syslogtag%%msg%\n")
*.* action(type="omfile" file="{d}/out" template="line")
"#
                ),
            )
            .unwrap();
            let child = Command::new(rsyslogd)
                .arg("-n")
                .arg("-f")
                .arg(&conf)
                .arg("-i")
                .arg(dir.path().join("pid"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let rsyslog = Self { child, dir };
            let started = Instant::now();
            while !rsyslog.socket().exists() {
                assert!(started.elapsed() < Duration::from_secs(10), "rsyslogd did not start");
                std::thread::sleep(Duration::from_millis(20));
            }
            Some(rsyslog)
        }

        fn socket(&self) -> PathBuf {
            self.dir.path().join("log")
        }

        /// Waits (bounded) for a logged line holding `text`.
        fn line_with(&self, text: &str) -> String {
            let started = Instant::now();
            loop {
                let out = std::fs::read_to_string(self.dir.path().join("out")).unwrap_or_default();
                if let Some(line) = out.lines().find(|l| l.contains(text)) {
                    return line.to_string();
                }
                assert!(started.elapsed() < Duration::from_secs(10), "no '{text}' logged: {out}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    impl Drop for Rsyslog {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn ctx() -> ActivityContext {
        ActivityContext::standalone(TYPE, std::env::temp_dir())
    }

    #[tokio::test]
    async fn rsyslog_logs_the_message_with_its_severity() {
        let Some(rsyslog) = Rsyslog::start() else { return };
        let socket = rsyslog.socket();
        let out = SendEventLogMessage
            .run(&ctx(), json!({"message": "backup finished", "socket": socket}))
            .await
            .unwrap();
        assert_eq!(out.rows[0]["message"], "backup finished");
        let pid = std::process::id();
        assert_eq!(
            rsyslog.line_with("backup finished"),
            format!("info user scorch[{pid}]: backup finished")
        );

        SendEventLogMessage
            .run(
                &ctx(),
                json!({"message": "disk full\non /var", "severity": "crit", "socket": socket}),
            )
            .await
            .unwrap();
        assert_eq!(
            rsyslog.line_with("disk full"),
            format!("crit user scorch[{pid}]: disk full on /var")
        );
    }

    #[tokio::test]
    async fn a_missing_socket_fails_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("log");
        let err = SendEventLogMessage
            .run(&ctx(), json!({"message": "m", "socket": missing}))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert_eq!(err.to_string(), format!("{TYPE}: {}: not found", missing.display()));
        // A socket nobody reads from any more.
        let bound = std::os::unix::net::UnixDatagram::bind(&missing).unwrap();
        drop(bound);
        let err = SendEventLogMessage
            .run(&ctx(), json!({"message": "m", "socket": missing}))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{TYPE}: {}: connection refused", missing.display())
        );
    }

    #[tokio::test]
    async fn bad_input_is_named() {
        let err = SendEventLogMessage
            .run(&ctx(), json!({"message": "m", "severity": "loud"}))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(
            err.to_string(),
            "send_event_log_message: property 'severity': unknown severity 'loud' (one of emerg, alert, crit, err, warning, notice, info, debug)"
        );
        let err = SendEventLogMessage.run(&ctx(), json!({})).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "send_event_log_message: property 'message': is required"
        );
    }
}
