//! `send_email`: one message over SMTP (STARTTLS, implicit TLS or plain), with attachments.

use std::path::Path;
use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};
use tokio::io::AsyncReadExt as _;

use super::{CATEGORY, cancelable, one_line, peer_name, port_prop, show_duration, timeout_prop, transient_io};
use crate::io_words::io_why;

const TYPE: &str = "send_email";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Most bytes of body file and attachments together, read into memory before sending (most
/// mail servers refuse larger messages anyway).
const MAX_CONTENT_BYTES: u64 = 25 * 1024 * 1024;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: CATEGORY,
    summary: "Sends an e-mail over SMTP (STARTTLS, TLS or plain), with optional attachments.",
    idempotent: false,
    properties: &[
        "server",
        "port",
        "security",
        "username",
        "password",
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "body",
        "body_file",
        "html",
        "attachments",
        "priority",
        "verify_tls",
        "timeout",
    ],
    required: &["server", "from"],
    publishes: &["message_id", "recipients"],
};

pub struct SendEmail;

#[scorch_activity::async_trait]
impl Activity for SendEmail {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let server = props.non_empty("server")?;
        let server = server.trim().trim_start_matches('[').trim_end_matches(']').to_string();
        let security = props.choice("security", &["starttls", "tls", "none"], "starttls")?;
        let port = port_prop(&props, "port")?.unwrap_or(match security {
            "tls" => 465,
            "none" => 25,
            _ => 587,
        });
        let peer = peer_name(&server, port);
        let credentials = credentials(ctx, &props)?;
        let verify_tls = props.bool_or("verify_tls", true)?;
        let timeout = timeout_prop(&props, DEFAULT_TIMEOUT)?;
        let (message, message_id) = message(ctx, &props).await?;
        let recipients = message.envelope().to().len();

        let tls = |domain: &str| {
            TlsParameters::builder(domain.to_string())
                .dangerous_accept_invalid_certs(!verify_tls)
                .build_rustls()
                .map_err(|e| ActivityError::failed(TYPE, &peer, format!("TLS: {}", one_line(&e.to_string()))))
        };
        let tls = match security {
            "tls" => Tls::Wrapper(tls(&server)?),
            "none" => Tls::None,
            _ => Tls::Required(tls(&server)?),
        };
        let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.as_str())
            .port(port)
            .tls(tls)
            .timeout(Some(timeout));
        if let Some(credentials) = credentials {
            transport = transport.credentials(credentials);
        }
        let transport = transport.build();
        match cancelable(ctx, tokio::time::timeout(timeout, transport.send(message))).await? {
            Ok(Ok(_)) => Ok(ActivityOutput::row(row! {
                "message_id" => message_id,
                "recipients" => recipients,
            })),
            Ok(Err(e)) => Err(smtp_error(ctx, &peer, timeout, &e)),
            Err(_) => Err(ActivityError::Transient(format!(
                "{TYPE}: {peer}: no answer within {}",
                show_duration(timeout)
            ))),
        }
    }
}

/// `username` and `password`, the password remembered as a secret.
fn credentials(ctx: &ActivityContext, props: &Props) -> Result<Option<Credentials>, ActivityError> {
    let username = props.opt_str("username")?.filter(|u| !u.is_empty());
    let password = props.opt_str("password")?.unwrap_or_default();
    if !password.is_empty() {
        ctx.secrets.remember(&password);
    }
    match username {
        Some(user) => Ok(Some(Credentials::new(user, password))),
        None if !password.is_empty() => Err(ActivityError::invalid(TYPE, "username", "is required with password")),
        None => Ok(None),
    }
}

/// The message and its id, with the body file and attachments read (a missing one fails here,
/// before any connection).
async fn message(ctx: &ActivityContext, props: &Props) -> Result<(Message, String), ActivityError> {
    let from = mailboxes(props, "from")?;
    let [from] = <[Mailbox; 1]>::try_from(from)
        .map_err(|_| ActivityError::invalid(TYPE, "from", "must be exactly one address"))?;
    let (to, cc, bcc) = (
        mailboxes(props, "to")?,
        mailboxes(props, "cc")?,
        mailboxes(props, "bcc")?,
    );
    if to.is_empty() && cc.is_empty() && bcc.is_empty() {
        return Err(ActivityError::invalid(
            TYPE,
            "to",
            "give at least one recipient in to, cc or bcc",
        ));
    }
    let message_id = format!(
        "{}.{:016x}@{}",
        jiff::Timestamp::now().as_millisecond(),
        rand::random::<u64>(),
        from.email.domain()
    );
    let mut builder = Message::builder()
        .from(from)
        .subject(props.opt_str("subject")?.unwrap_or_default())
        .message_id(Some(format!("<{message_id}>")));
    for mailbox in to {
        builder = builder.to(mailbox);
    }
    for mailbox in cc {
        builder = builder.cc(mailbox);
    }
    for mailbox in bcc {
        builder = builder.bcc(mailbox);
    }
    let (x_priority, importance) = match props.choice("priority", &["normal", "low", "high"], "normal")? {
        "high" => ("1 (Highest)", "High"),
        "low" => ("5 (Lowest)", "Low"),
        _ => ("3 (Normal)", "Normal"),
    };
    builder = builder
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Priority"),
            x_priority.into(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Importance"),
            importance.into(),
        ));

    let mut budget = MAX_CONTENT_BYTES;
    let body = match (
        props.opt_str("body")?,
        props.opt_str("body_file")?.filter(|f| !f.is_empty()),
    ) {
        (Some(_), Some(_)) => {
            return Err(ActivityError::invalid(
                TYPE,
                "body_file",
                "give body or body_file, not both",
            ));
        }
        (Some(body), None) => body,
        (None, Some(file)) => {
            let bytes = read_capped(&ctx.resolve_path(&file), &mut budget).await?;
            String::from_utf8(bytes)
                .map_err(|_| ActivityError::failed(TYPE, ctx.resolve_path(&file).display(), "is not UTF-8 text"))?
        }
        (None, None) => String::new(),
    };
    let body = if props.bool_or("html", false)? {
        SinglePart::html(body)
    } else {
        SinglePart::plain(body)
    };
    let mut attachments = Vec::new();
    for file in props.str_list("attachments")? {
        let path = ctx.resolve_path(&file);
        let bytes = read_capped(&path, &mut budget).await?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or(file);
        let mime = mime_guess::from_path(&path).first_or_octet_stream();
        let content_type = ContentType::parse(mime.essence_str()).unwrap_or(ContentType::TEXT_PLAIN);
        attachments.push(Attachment::new(name).body(bytes, content_type));
    }
    let message = if attachments.is_empty() {
        builder.singlepart(body)
    } else {
        let parts = attachments
            .into_iter()
            .fold(MultiPart::mixed().singlepart(body), MultiPart::singlepart);
        builder.multipart(parts)
    };
    let message = message.map_err(|e| ActivityError::invalid(TYPE, "to", e))?;
    Ok((message, message_id))
}

/// The addresses of an address property: a list, or a comma-separated text (`Ann <a@x.org>`).
fn mailboxes(props: &Props, name: &str) -> Result<Vec<Mailbox>, ActivityError> {
    let items = props.str_list(name)?;
    items
        .iter()
        .flat_map(|item| item.split(','))
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|address| {
            address
                .parse::<Mailbox>()
                .map_err(|_| ActivityError::invalid(TYPE, name, format!("'{address}' is not an e-mail address")))
        })
        .collect()
}

/// A file's bytes, counted against `budget` (the bytes still allowed for the whole message).
async fn read_capped(path: &Path, budget: &mut u64) -> Result<Vec<u8>, ActivityError> {
    let failed = |why: String| ActivityError::failed(TYPE, path.display(), why);
    let file = tokio::fs::File::open(path).await.map_err(|e| failed(io_why(&e)))?;
    let mut bytes = Vec::new();
    // One byte past the budget tells a file that is too large from one that just fits.
    file.take(*budget + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| failed(io_why(&e)))?;
    if bytes.len() as u64 > *budget {
        return Err(failed(format!(
            "the body file and attachments exceed {} MiB together",
            MAX_CONTENT_BYTES / (1024 * 1024)
        )));
    }
    *budget -= bytes.len() as u64;
    Ok(bytes)
}

/// A failed exchange as a one-line error: refused connections, timeouts and 4xx answers are
/// worth a retry; TLS failures and 5xx answers (a rejected login, an unknown recipient) are not.
fn smtp_error(
    ctx: &ActivityContext,
    peer: &str,
    timeout: Duration,
    error: &lettre::transport::smtp::Error,
) -> ActivityError {
    let line = |why: String| ctx.secrets.mask(&format!("{TYPE}: {peer}: {}", one_line(&why)));
    let source = std::error::Error::source(error)
        .map(|s| s.to_string())
        .unwrap_or_default();
    if error.is_timeout() {
        return ActivityError::Transient(line(format!("no answer within {}", show_duration(timeout))));
    }
    if let Some(code) = error.status() {
        let text = line(format!("the server answered {code}: {source}"));
        return if error.is_transient() {
            ActivityError::Transient(text)
        } else {
            ActivityError::Failed(text)
        };
    }
    let io = io_error(error);
    if error.is_tls() || super::http_clients::tls_failure(error) {
        let why = io.map_or_else(|| super::http_clients::innermost(error), ToString::to_string);
        return ActivityError::Failed(line(format!("TLS: {why}")));
    }
    if let Some(io) = io {
        let why = line(io_why(io));
        return if transient_io(io) {
            ActivityError::Transient(why)
        } else {
            ActivityError::Failed(why)
        };
    }
    ActivityError::Failed(line(error.to_string()))
}

/// The I/O error under `error`, if any.
fn io_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a std::io::Error> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::smtp_peer::{PASSWORD, USER, smtp_peer};
    use scorch_activity::{ErrorKind, json};
    use tokio::net::TcpListener;

    async fn run_in(dir: &Path, properties: Value) -> Result<ActivityOutput, ActivityError> {
        SendEmail
            .run(&ActivityContext::standalone(TYPE, dir.to_path_buf()), properties)
            .await
    }

    async fn run(properties: Value) -> Result<ActivityOutput, ActivityError> {
        run_in(&std::env::temp_dir(), properties).await
    }

    /// A message to `port` on loopback with `security`, plus `extra` properties.
    fn mail(port: u16, security: &str, extra: Value) -> Value {
        let mut props = json!({"server": "127.0.0.1", "port": port, "security": security, "verify_tls": false,
            "from": "Runbook <runbook@scorch.test>", "to": "ops@example.test", "subject": "Disk full"});
        props
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        props
    }

    fn message_id(out: &ActivityOutput) -> String {
        out.rows[0]["message_id"].as_str().unwrap().to_string()
    }

    #[tokio::test]
    async fn text_over_starttls_with_login_cc_and_hidden_bcc() {
        let Some(peer) = smtp_peer() else { return };
        let extra = json!({"username": USER, "password": PASSWORD, "body": "The disk is full.\nPlease look.",
            "to": "Ann <ann@example.test>, bob@example.test", "cc": ["carl@example.test"], "bcc": "dee@example.test",
            "priority": "high"});
        let out = run(mail(peer.starttls, "starttls", extra)).await.unwrap();
        assert_eq!(out.rows[0]["recipients"], 4);
        let id = message_id(&out);
        assert!(id.ends_with("@scorch.test"), "{id}");
        let got = peer.received(&id);
        assert_eq!(got.from, "runbook@scorch.test");
        let mut to = got.to.clone();
        to.sort();
        assert_eq!(
            to,
            [
                "ann@example.test",
                "bob@example.test",
                "carl@example.test",
                "dee@example.test"
            ]
        );
        assert_eq!(got.user.as_deref(), Some(USER));
        assert_eq!(
            (got.body_type.as_str(), got.body.replace("\r\n", "\n").trim_end()),
            ("text/plain", "The disk is full.\nPlease look.")
        );
        let headers = got.data.split("\r\n\r\n").next().unwrap();
        for line in [
            "Subject: Disk full",
            "Cc: carl@example.test",
            "X-Priority: 1 (Highest)",
            "Importance: High",
        ] {
            assert!(headers.lines().any(|l| l == line), "no '{line}' in {headers}");
        }
        assert!(
            headers.contains("ann@example.test") && headers.contains("bob@example.test"),
            "{headers}"
        );
        // Bcc is in the envelope only.
        assert!(!got.data.contains("dee@example.test"), "{}", got.data);
    }

    #[tokio::test]
    async fn html_over_implicit_tls_with_a_body_file_and_attachments() {
        let Some(peer) = smtp_peer() else { return };
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("body.html"), "<p>Report <b>attached</b></p>").unwrap();
        std::fs::create_dir(dir.path().join("out")).unwrap();
        let csv = b"host,free\nweb1,3%\n".to_vec();
        let png: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        std::fs::write(dir.path().join("report.csv"), &csv).unwrap();
        std::fs::write(dir.path().join("out/chart.png"), &png).unwrap();
        let extra = json!({"username": USER, "password": PASSWORD, "html": true, "body_file": "body.html",
            "attachments": ["report.csv", dir.path().join("out/chart.png")], "priority": "low"});
        let out = run_in(dir.path(), mail(peer.tls, "tls", extra)).await.unwrap();
        assert_eq!(out.rows[0]["recipients"], 1);
        let got = peer.received(&message_id(&out));
        assert_eq!(
            (got.body_type.as_str(), got.body.trim_end()),
            ("text/html", "<p>Report <b>attached</b></p>")
        );
        assert_eq!(
            got.attachments,
            vec![
                ("report.csv".to_string(), "text/csv".to_string(), csv),
                ("chart.png".to_string(), "image/png".to_string(), png),
            ]
        );
        assert!(got.data.contains("X-Priority: 5 (Lowest)"));
    }

    #[tokio::test]
    async fn plain_smtp_without_login() {
        let Some(peer) = smtp_peer() else { return };
        let out = run(mail(
            peer.plain,
            "none",
            json!({"body": "plain", "to": ["x@example.test"]}),
        ))
        .await
        .unwrap();
        let got = peer.received(&message_id(&out));
        assert_eq!((got.to, got.user), (vec!["x@example.test".to_string()], None));
        assert!(got.data.contains("X-Priority: 3 (Normal)"));
    }

    #[tokio::test]
    async fn a_rejected_password_is_one_line_without_the_password() {
        let Some(peer) = smtp_peer() else { return };
        let extra = json!({"username": USER, "password": "wrong-Pa55word"});
        let err = run(mail(peer.starttls, "starttls", extra)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "send_email: 127.0.0.1:{}: the server answered 535",
                peer.starttls
            )),
            "{text}"
        );
        assert!(!text.contains("wrong-Pa55word") && !text.contains('\n'), "{text}");
    }

    #[tokio::test]
    async fn a_self_signed_certificate_fails_unless_verify_tls_is_off() {
        let Some(peer) = smtp_peer() else { return };
        for (port, security) in [(peer.starttls, "starttls"), (peer.tls, "tls")] {
            let err = run(mail(port, security, json!({"verify_tls": true})))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Failed);
            let text = err.to_string();
            assert!(
                text.starts_with(&format!("send_email: 127.0.0.1:{port}: TLS: ")),
                "{text}"
            );
            assert!(text.contains("certificate") && !text.contains('\n'), "{text}");
        }
    }

    #[tokio::test]
    async fn a_missing_attachment_fails_before_connecting() {
        let dir = tempfile::tempdir().unwrap();
        // Nothing listens on port 9: reaching it would fail with "connection refused".
        let err = run_in(dir.path(), mail(9, "none", json!({"attachments": "nope.pdf"})))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("send_email: {}: not found", dir.path().join("nope.pdf").display())
        );
    }

    #[tokio::test]
    async fn refused_and_silent_servers_fail_transiently() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let err = run(mail(port, "starttls", json!({}))).await.unwrap_err();
        assert_eq!(
            err,
            ActivityError::Transient(format!("send_email: 127.0.0.1:{port}: connection refused"))
        );

        // Accepts connections (the kernel's backlog) and never greets.
        let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = silent.local_addr().unwrap().port();
        let err = run(mail(port, "none", json!({"timeout": "300ms"}))).await.unwrap_err();
        assert_eq!(
            err,
            ActivityError::Transient(format!("send_email: 127.0.0.1:{port}: no answer within 300ms"))
        );
    }

    #[tokio::test]
    async fn an_unknown_server_name_is_one_line() {
        let mut props = mail(25, "none", json!({}));
        props["server"] = json!("nonexistent.invalid");
        let text = run(props).await.unwrap_err().to_string();
        assert!(text.starts_with("send_email: nonexistent.invalid:25: "), "{text}");
        assert!(!text.contains('\n'), "{text}");
    }

    #[tokio::test]
    async fn the_body_file_and_attachments_are_capped_together() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ten.bin");
        std::fs::write(&file, [7u8; 10]).unwrap();
        let mut budget = 15;
        assert_eq!(read_capped(&file, &mut budget).await.unwrap(), vec![7u8; 10]);
        assert_eq!(budget, 5);
        let err = read_capped(&file, &mut budget).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "send_email: {}: the body file and attachments exceed 25 MiB together",
                file.display()
            )
        );
    }

    #[tokio::test]
    async fn cancel_stops_the_exchange() {
        let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = silent.local_addr().unwrap().port();
        let ctx = ActivityContext::standalone(TYPE, std::env::temp_dir());
        ctx.cancel.cancel();
        let err = SendEmail.run(&ctx, mail(port, "none", json!({}))).await.unwrap_err();
        assert_eq!(err, ActivityError::Canceled);
    }

    #[tokio::test]
    async fn the_default_port_follows_security() {
        for (security, port) in [("starttls", 587), ("tls", 465), ("none", 25)] {
            let mut props = mail(0, security, json!({"timeout": "2s"}));
            props.as_object_mut().unwrap().remove("port");
            let err = run(props).await.unwrap_err();
            let text = err.to_string();
            assert!(text.starts_with(&format!("send_email: 127.0.0.1:{port}: ")), "{text}");
        }
    }

    #[tokio::test]
    async fn bad_input_is_named() {
        let cases = [
            (
                json!({"to": ""}),
                "send_email: property 'to': give at least one recipient in to, cc or bcc",
            ),
            (
                json!({"cc": "not an address"}),
                "send_email: property 'cc': 'not an address' is not an e-mail address",
            ),
            (
                json!({"from": "a@x.test, b@x.test"}),
                "send_email: property 'from': must be exactly one address",
            ),
            (
                json!({"body": "a", "body_file": "b"}),
                "send_email: property 'body_file': give body or body_file, not both",
            ),
            (
                json!({"security": "ssl"}),
                "send_email: property 'security': 'ssl' is not one of starttls, tls, none",
            ),
            (
                json!({"priority": "urgent"}),
                "send_email: property 'priority': 'urgent' is not one of normal, low, high",
            ),
            (
                json!({"password": "pw"}),
                "send_email: property 'username': is required with password",
            ),
        ];
        for (extra, expected) in cases {
            let err = run(mail(9, "none", extra)).await.unwrap_err();
            assert_eq!(
                (err.kind(), err.to_string()),
                (ErrorKind::InvalidInput, expected.to_string())
            );
        }
    }
}
