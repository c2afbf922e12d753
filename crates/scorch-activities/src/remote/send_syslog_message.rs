//! `send_syslog_message`: sends one syslog message over UDP or TCP, in RFC 5424 or RFC 3164
//! format. Over TCP an RFC 5424 message is framed by octet counting (RFC 6587 3.4.1:
//! `LENGTH SP MESSAGE`) and an RFC 3164 message by a trailing newline (RFC 6587 3.4.2).

use std::time::Duration;

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};

use super::{CATEGORY, cancelable, peer_name, port_prop, resolve, transient_io};
use crate::io_words::io_why;
use crate::syslog::{FACILITIES, Parts, SEVERITIES, code, local_hostname};

const TYPE: &str = "send_syslog_message";

/// How long connecting and sending may take before the peer counts as unavailable.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: CATEGORY,
    summary: "Sends a syslog message (RFC 5424 or RFC 3164) over UDP or TCP.",
    idempotent: false,
    properties: &[
        "server", "port", "protocol", "format", "facility", "severity", "app_name", "message",
    ],
    required: &["server", "message"],
    publishes: &["sent_bytes"],
};

pub struct SendSyslogMessage;

#[scorch_activity::async_trait]
impl Activity for SendSyslogMessage {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let server = props.non_empty("server")?;
        let port = port_prop(&props, "port")?.unwrap_or(514);
        let tcp = props.choice("protocol", &["udp", "tcp"], "udp")? == "tcp";
        let format = props.choice("format", &["rfc5424", "rfc3164"], "rfc5424")?;
        let facility = code(&props, "facility", "user", FACILITIES)?;
        let severity = code(&props, "severity", "info", SEVERITIES)?;
        let app_name = props.str_or("app_name", "scorch")?;
        let message = props.str("message")?;
        let parts = Parts {
            type_name: TYPE,
            pri: facility * 8 + severity,
            hostname: local_hostname(),
            app_name,
            procid: std::process::id(),
            message,
        };
        let bytes = if format == "rfc5424" {
            let text = parts.rfc5424(&jiff::Timestamp::now())?;
            if tcp {
                format!("{} {text}", text.len()).into_bytes()
            } else {
                text.into_bytes()
            }
        } else {
            let text = parts.rfc3164(&jiff::Zoned::now())?;
            if tcp {
                format!("{text}\n").into_bytes()
            } else {
                text.into_bytes()
            }
        };
        let peer = peer_name(&server, port);
        let addrs = resolve(ctx, TYPE, &server, port).await?;
        let send = async {
            if tcp {
                let mut stream = TcpStream::connect(&addrs[..]).await?;
                stream.write_all(&bytes).await?;
                stream.shutdown().await?;
                Ok(bytes.len())
            } else {
                let addr = addrs[0];
                let local: std::net::SocketAddr = if addr.is_ipv4() {
                    ([0, 0, 0, 0], 0).into()
                } else {
                    ([0u16; 8], 0).into()
                };
                let socket = UdpSocket::bind(local).await?;
                socket.send_to(&bytes, addr).await
            }
        };
        let sent = match cancelable(ctx, tokio::time::timeout(SEND_TIMEOUT, send)).await? {
            Ok(Ok(sent)) => sent,
            Ok(Err(e)) if transient_io(&e) => {
                return Err(ActivityError::Transient(format!("{TYPE}: {peer}: {}", io_why(&e))));
            }
            Ok(Err(e)) => return Err(ActivityError::failed(TYPE, peer, io_why(&e))),
            Err(_) => return Err(ActivityError::Transient(format!("{TYPE}: {peer}: timed out"))),
        };
        Ok(ActivityOutput::row(row! { "sent_bytes" => sent }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorch_activity::json;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    fn ctx() -> ActivityContext {
        ActivityContext::standalone(TYPE, std::env::temp_dir())
    }

    async fn run(properties: Value) -> Result<ActivityOutput, ActivityError> {
        SendSyslogMessage.run(&ctx(), properties).await
    }

    /// Checks an RFC 5424 message and returns its PRI, app name and message.
    fn parse_5424(text: &str) -> (u32, String, String) {
        let re = regex::Regex::new(
            r"(?s)^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) (\S+) (\S+) (\d+) - - (.*)$",
        )
        .unwrap();
        let c = re.captures(text).unwrap_or_else(|| panic!("not RFC 5424: {text:?}"));
        assert!(c[2].parse::<jiff::Timestamp>().is_ok());
        assert_eq!(&c[3], local_hostname());
        assert_eq!(c[5].parse::<u32>().unwrap(), std::process::id());
        (c[1].parse().unwrap(), c[4].to_string(), c[6].to_string())
    }

    /// Checks an RFC 3164 message and returns its PRI, tag and message.
    fn parse_3164(text: &str) -> (u32, String, String) {
        let re = regex::Regex::new(
            r"^<(\d{1,3})>((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 1-3]\d \d\d:\d\d:\d\d) (\S+) ([^\[\s]+)\[(\d+)\]: (.*)$",
        )
        .unwrap();
        let c = re.captures(text).unwrap_or_else(|| panic!("not RFC 3164: {text:?}"));
        assert!(!c[3].contains('.') || c[3].parse::<std::net::IpAddr>().is_ok());
        (c[1].parse().unwrap(), c[4].to_string(), c[6].to_string())
    }

    #[tokio::test]
    async fn udp_sends_one_datagram_in_either_format() {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = socket.local_addr().unwrap().port();
        let mut buf = vec![0u8; 65536];

        let out = run(json!({"server": "127.0.0.1", "port": port, "message": "disk full on /var"}))
            .await
            .unwrap();
        let (n, _) = socket.recv_from(&mut buf).await.unwrap();
        assert_eq!(out.rows[0]["sent_bytes"], n);
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        // user (1) * 8 + info (6)
        assert_eq!(parse_5424(text), (14, "scorch".into(), "disk full on /var".into()));

        let out = run(
            json!({"server": "localhost", "port": port, "format": "rfc3164", "facility": "local4",
            "severity": "ERR", "app_name": "backup", "message": "job failed"}),
        )
        .await
        .unwrap();
        let (n, _) = socket.recv_from(&mut buf).await.unwrap();
        assert_eq!(out.rows[0]["sent_bytes"], n);
        // local4 (20) * 8 + err (3)
        assert_eq!(
            parse_3164(std::str::from_utf8(&buf[..n]).unwrap()),
            (163, "backup".into(), "job failed".into())
        );
    }

    async fn tcp_receive(properties: Value) -> (ActivityOutput, Vec<u8>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut properties = properties;
        properties["port"] = json!(listener.local_addr().unwrap().port());
        properties["protocol"] = json!("tcp");
        let (out, received) = tokio::join!(run(properties), async {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut received = Vec::new();
            stream.read_to_end(&mut received).await.unwrap();
            received
        });
        (out.unwrap(), received)
    }

    #[tokio::test]
    async fn tcp_frames_5424_by_octet_count_and_3164_by_newline() {
        let message = "two\nlines é";
        let (out, received) = tcp_receive(json!({"server": "127.0.0.1", "message": message,
            "facility": "kern", "severity": "emerg"}))
        .await;
        assert_eq!(out.rows[0]["sent_bytes"], received.len());
        let text = std::str::from_utf8(&received).unwrap();
        let (len, frame) = text.split_once(' ').unwrap();
        assert_eq!(len.parse::<usize>().unwrap(), frame.len());
        assert_eq!(parse_5424(frame), (0, "scorch".into(), message.into()));

        let (out, received) = tcp_receive(json!({"server": "127.0.0.1", "message": message,
            "format": "rfc3164", "facility": "local7", "severity": "debug"}))
        .await;
        assert_eq!(out.rows[0]["sent_bytes"], received.len());
        let text = std::str::from_utf8(&received).unwrap();
        let line = text.strip_suffix('\n').unwrap();
        assert!(!line.contains('\n'));
        // local7 (23) * 8 + debug (7)
        assert_eq!(parse_3164(line), (191, "scorch".into(), "two lines é".into()));
    }

    #[tokio::test]
    async fn bad_input_is_named() {
        let err = run(json!({"server": "127.0.0.1", "message": "m", "facility": "bogus"}))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), scorch_activity::ErrorKind::InvalidInput);
        assert_eq!(
            err.to_string(),
            "send_syslog_message: property 'facility': unknown facility 'bogus' (one of kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, ntp, audit, alert, clock, local0, local1, local2, local3, local4, local5, local6, local7)"
        );
        let err = run(json!({"server": "127.0.0.1", "message": "m", "severity": "8"}))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "send_syslog_message: property 'severity': unknown severity '8' (one of emerg, alert, crit, err, warning, notice, info, debug)"
        );
        let err = run(json!({"server": "127.0.0.1", "message": "m", "protocol": "sctp"}))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), scorch_activity::ErrorKind::InvalidInput);
        assert!(
            err.to_string().starts_with("send_syslog_message: property 'protocol':"),
            "{err}"
        );
        assert!(!err.to_string().contains('\n'));
        let err = run(json!({"server": "127.0.0.1", "message": "m", "app_name": "has space"}))
            .await
            .unwrap_err();
        assert!(
            err.to_string().starts_with("send_syslog_message: property 'app_name':"),
            "{err}"
        );
        let err = run(json!({"server": "127.0.0.1", "message": "m", "port": 70000}))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "send_syslog_message: property 'port': 70000 is not a port (1-65535)"
        );
    }

    #[tokio::test]
    async fn refused_tcp_is_transient_and_names_the_peer() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let err = run(json!({"server": "127.0.0.1", "port": port, "protocol": "tcp", "message": "m"}))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), scorch_activity::ErrorKind::Transient);
        assert_eq!(
            err.to_string(),
            format!("send_syslog_message: 127.0.0.1:{port}: connection refused")
        );
        let err = run(json!({"server": "nonexistent.invalid", "message": "m"}))
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("send_syslog_message: nonexistent.invalid: cannot resolve the host name"),
            "{err}"
        );
        assert!(!err.to_string().contains('\n'));
    }
}
