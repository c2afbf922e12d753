//! `get_internet_application_status`: whether a service answers as it should: a web page (status
//! 2xx, optionally containing a text), an SMTP, FTP or POP3 greeting, a DNS answer, or a TCP
//! connection.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_resolver::Resolver;
use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use reqwest::Url;
use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Row, Value, row};
use tokio::io::AsyncWriteExt as _;

use super::http_clients::{TlsSetting, body_up_to, client, innermost, tls_failure};
use super::{CATEGORY, cancelable, peer_name, port_prop, probes, resolve, show_duration, timeout_prop};
use crate::io_words::plain_reason;

const TYPE: &str = "get_internet_application_status";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes of a web page read (and published as `body`).
const MAX_BODY_BYTES: usize = 1024 * 1024;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: CATEGORY,
    summary: "Checks that an internet service answers as it should: a web page, an SMTP, FTP or POP3 greeting, a DNS answer, or a TCP port.",
    idempotent: true,
    properties: &[
        "kind",
        "url",
        "host",
        "port",
        "contains",
        "case_sensitive",
        "lookup",
        "expected_address",
        "timeout",
    ],
    required: &[],
    publishes: &[
        "kind",
        "host",
        "port",
        "response_ms",
        "status_code",
        "body",
        "greeting",
        "addresses",
    ],
};

pub struct GetInternetApplicationStatus;

/// What a check found: the row to publish and, when the service did not answer as it should, why.
struct Found {
    row: Row,
    wrong: Option<String>,
}

#[scorch_activity::async_trait]
impl Activity for GetInternetApplicationStatus {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let kind = props.choice("kind", &["http", "smtp", "ftp", "pop3", "dns", "tcp"], "http")?;
        let timeout = timeout_prop(&props, DEFAULT_TIMEOUT)?;
        let (peer, found) = match kind {
            "http" => http(ctx, &props, timeout).await?,
            "dns" => dns(ctx, &props, timeout).await?,
            _ => tcp(ctx, &props, kind, timeout).await?,
        };
        let mut row = row! { "kind" => kind };
        row.extend(found.row);
        Ok(match found.wrong {
            None => ActivityOutput::row(row),
            Some(why) => ActivityOutput::failed(ctx.secrets.mask(&format!("{TYPE}: {peer}: {why}")), vec![row]),
        })
    }
}

/// `host`, required, and `port` or the kind's default.
fn host_port(props: &Props, default_port: Option<u16>) -> Result<(String, u16), ActivityError> {
    let host = props.non_empty("host")?.trim().to_string();
    let port = port_prop(props, "port")?
        .or(default_port)
        .ok_or_else(|| ActivityError::invalid(TYPE, "port", "is required with kind tcp"))?;
    Ok((host, port))
}

fn elapsed_ms(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// The peer did not answer at all: worth a retry when it may come back.
fn unreached(peer: &str, (why, transient): probes::Unreached) -> ActivityError {
    let text = format!("{TYPE}: {peer}: {why}");
    if transient {
        ActivityError::Transient(text)
    } else {
        ActivityError::Failed(text)
    }
}

/// `tcp` (a connection) and `smtp`, `ftp`, `pop3` (a connection and the right greeting).
async fn tcp(
    ctx: &ActivityContext,
    props: &Props,
    kind: &str,
    timeout: Duration,
) -> Result<(String, Found), ActivityError> {
    let (default_port, expected) = match kind {
        "smtp" => (Some(25), "220"),
        "ftp" => (Some(21), "220"),
        "pop3" => (Some(110), "+OK"),
        _ => (None, ""),
    };
    let (host, port) = host_port(props, default_port)?;
    let peer = peer_name(&host, port);
    let addrs = resolve(ctx, TYPE, &host, port).await?;
    let started = Instant::now();
    let (mut stream, _) = probes::connect(ctx, &addrs, timeout)
        .await?
        .map_err(|u| unreached(&peer, u))?;
    let mut row = row! { "host" => host, "port" => port };
    if kind == "tcp" {
        row.insert("response_ms".into(), elapsed_ms(started).into());
        return Ok((peer, Found { row, wrong: None }));
    }
    let greeting = probes::greeting(ctx, &mut stream, timeout)
        .await?
        .map_err(|u| unreached(&peer, u))?;
    row.insert("response_ms".into(), elapsed_ms(started).into());
    // A polite goodbye; the check is done whatever the peer makes of it.
    let _ = tokio::time::timeout(Duration::from_millis(200), stream.write_all(b"QUIT\r\n")).await;
    let first = greeting.lines().next().unwrap_or_default().to_string();
    row.insert("greeting".into(), greeting.into());
    let wrong = (!first.starts_with(expected)).then(|| {
        let first = if first.is_empty() {
            "an empty line"
        } else {
            first.as_str()
        };
        format!("the greeting is not {expected}: {first}")
    });
    Ok((peer, Found { row, wrong }))
}

/// `http`: a GET of `url` (or `http://host:port/`), through the process's shared client.
async fn http(ctx: &ActivityContext, props: &Props, timeout: Duration) -> Result<(String, Found), ActivityError> {
    let url = match props.opt_str("url")?.filter(|u| !u.trim().is_empty()) {
        Some(text) => Url::parse(text.trim())
            .map_err(|e| ActivityError::invalid(TYPE, "url", format!("'{text}' is not a URL: {e}")))?,
        None if props.get("host").is_none() => {
            return Err(ActivityError::invalid(
                TYPE,
                "url",
                "is required with kind http (or give host)",
            ));
        }
        None => {
            let (host, port) = host_port(props, Some(80))?;
            let text = format!("http://{}/", peer_name(&host, port));
            Url::parse(&text).map_err(|e| ActivityError::invalid(TYPE, "host", format!("'{host}': {e}")))?
        }
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ActivityError::invalid(
            TYPE,
            "url",
            format!("'{url}' is not an http or https URL"),
        ));
    }
    if let Some(password) = url.password() {
        ctx.secrets.remember(password);
    }
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    let peer = ctx.secrets.mask(url.as_str());
    let client = client(&TlsSetting::Verify).map_err(|why| ActivityError::failed(TYPE, &peer, why))?;
    let started = Instant::now();
    let fail = |e: reqwest::Error| {
        let text = |why: String| ctx.secrets.mask(&format!("{TYPE}: {peer}: {why}"));
        if e.is_timeout() {
            ActivityError::Transient(text(format!("no answer within {}", show_duration(timeout))))
        } else if tls_failure(&e) {
            ActivityError::Failed(text(format!("TLS: {}", innermost(&e))))
        } else {
            ActivityError::Transient(text(plain_reason(&innermost(&e))))
        }
    };
    let work = async {
        let response = client.get(url.clone()).timeout(timeout).send().await.map_err(fail)?;
        let status = response.status();
        let (body, _) = body_up_to(response, MAX_BODY_BYTES).await.map_err(fail)?;
        Ok::<_, ActivityError>((status, String::from_utf8_lossy(&body).into_owned()))
    };
    let (status, body) = cancelable(ctx, work).await??;
    let wrong = if !status.is_success() {
        Some(match status.canonical_reason() {
            Some(reason) => format!("{} {reason}", status.as_u16()),
            None => status.as_u16().to_string(),
        })
    } else {
        let contains = props.opt_str("contains")?.unwrap_or_default();
        let found = if props.bool_or("case_sensitive", false)? {
            body.contains(&contains)
        } else {
            body.to_lowercase().contains(&contains.to_lowercase())
        };
        (!found).then(|| format!("the page does not contain '{contains}'"))
    };
    let row = row! {
        "host" => host,
        "port" => port,
        "response_ms" => elapsed_ms(started),
        "status_code" => status.as_u16(),
        "body" => ctx.secrets.mask(&body),
    };
    Ok((peer, Found { row, wrong }))
}

/// `dns`: A and AAAA queries for `lookup` to the server `host:port` (UDP, then TCP for a
/// truncated answer).
async fn dns(ctx: &ActivityContext, props: &Props, timeout: Duration) -> Result<(String, Found), ActivityError> {
    let (host, port) = host_port(props, Some(53))?;
    let lookup = props.non_empty("lookup")?.trim().trim_end_matches('.').to_string();
    let expected = props
        .opt_str("expected_address")?
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty());
    let peer = peer_name(&host, port);
    let server: SocketAddr = resolve(ctx, TYPE, &host, port).await?[0];
    let mut name_server = NameServerConfig::udp_and_tcp(server.ip());
    for connection in &mut name_server.connections {
        connection.port = port;
    }
    let mut options = ResolverOpts::default();
    options.timeout = timeout;
    options.attempts = 1;
    options.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    options.use_hosts_file = ResolveHosts::Never;
    options.cache_size = 0;
    let resolver = Resolver::builder_with_config(
        ResolverConfig::from_name_servers(vec![name_server]),
        TokioRuntimeProvider::default(),
    )
    .with_options(options)
    .build()
    .map_err(|e| ActivityError::failed(TYPE, &peer, e))?;
    let started = Instant::now();
    // The fully-qualified name: no search domains are tried.
    let answer = cancelable(
        ctx,
        tokio::time::timeout(timeout, resolver.lookup_ip(format!("{lookup}."))),
    )
    .await?;
    let response_ms = elapsed_ms(started);
    let no_answer = || unreached(&peer, (format!("no answer within {}", show_duration(timeout)), true));
    // A refusal (REFUSED, SERVFAIL) is an answer: the server is up but does not serve the name.
    let (addresses, refusal): (Vec<String>, _) = match answer {
        Err(_) | Ok(Err(NetError::Timeout)) => return Err(no_answer()),
        Ok(Ok(found)) => (found.iter().map(|ip| ip.to_string()).collect(), None),
        Ok(Err(NetError::Dns(DnsError::NoRecordsFound(_)))) => (Vec::new(), None),
        Ok(Err(NetError::Dns(DnsError::ResponseCode(code)))) => {
            (Vec::new(), Some(format!("{lookup}: the server answered {code}")))
        }
        Ok(Err(NetError::Io(e))) => {
            return Err(unreached(&peer, (crate::io_words::io_why(&e), super::transient_io(&e))));
        }
        Ok(Err(e)) => return Err(unreached(&peer, (plain_reason(&e.to_string()), true))),
    };
    let wrong = match &expected {
        _ if refusal.is_some() => refusal,
        _ if addresses.is_empty() => Some(format!("{lookup} has no address")),
        Some(want) if !addresses.iter().any(|a| a == want) => {
            Some(format!("{lookup} resolves to {}, not {want}", addresses.join(", ")))
        }
        _ => None,
    };
    let row = row! {
        "host" => host,
        "port" => port,
        "response_ms" => response_ms,
        "addresses" => addresses.join(","),
    };
    Ok((peer, Found { row, wrong }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::smtp_peer::smtp_peer;
    use crate::test_peers::{KillOnDrop, find_program, free_port, peer_missing, wait_for_port};
    use scorch_activity::{ErrorKind, Status, json};
    use std::path::Path;
    use std::process::{Command, Stdio};
    use tokio::net::TcpListener;

    async fn run(properties: Value) -> Result<ActivityOutput, ActivityError> {
        let ctx = ActivityContext::standalone(TYPE, std::env::temp_dir());
        GetInternetApplicationStatus.run(&ctx, properties).await
    }

    /// A port nothing listens on.
    async fn closed_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn smtp_greeting_from_aiosmtpd() {
        let Some(peer) = smtp_peer() else { return };
        let out = run(json!({"kind": "smtp", "host": "127.0.0.1", "port": peer.plain}))
            .await
            .unwrap();
        let row = &out.rows[0];
        assert_eq!(out.status, Status::Success);
        assert_eq!(
            (&row["kind"], &row["host"], &row["port"]),
            (&json!("smtp"), &json!("127.0.0.1"), &json!(peer.plain))
        );
        assert!(row["greeting"].as_str().unwrap().starts_with("220 "), "{row:?}");
        assert!(row["response_ms"].as_f64().unwrap() >= 0.0);

        // An SMTP server is not a POP3 one.
        let out = run(json!({"kind": "pop3", "host": "127.0.0.1", "port": peer.plain}))
            .await
            .unwrap();
        assert_eq!(out.status, Status::Failed);
        assert!(
            out.error.starts_with(&format!(
                "get_internet_application_status: 127.0.0.1:{}: the greeting is not +OK: 220 ",
                peer.plain
            )),
            "{}",
            out.error
        );
        assert!(out.rows[0]["greeting"].as_str().unwrap().starts_with("220 "));
    }

    #[tokio::test]
    async fn ftp_greeting_from_pyftpdlib() {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let server = Command::new("python3")
            .args(["-m", "pyftpdlib", "-i", "127.0.0.1", "-p", &port.to_string(), "-d"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(KillOnDrop);
        if server.is_err() || !wait_for_port(port) {
            return peer_missing("pyftpdlib", "pip install pyftpdlib");
        }
        let out = run(json!({"kind": "ftp", "host": "127.0.0.1", "port": port}))
            .await
            .unwrap();
        assert_eq!(out.status, Status::Success, "{}", out.error);
        assert!(
            out.rows[0]["greeting"].as_str().unwrap().starts_with("220 "),
            "{:?}",
            out.rows
        );
    }

    /// Dovecot serving POP3 only, configured in `dir`, on a free loopback port.
    fn dovecot(dir: &Path) -> Option<(KillOnDrop, u16)> {
        let program = find_program("dovecot")?;
        let port = free_port();
        let d = dir.display();
        let config = format!(
            "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\nprotocols = pop3\n\
             listen = 127.0.0.1\nssl = no\ndisable_plaintext_auth = no\nmail_location = maildir:{d}/mail\n\
             service pop3-login {{\n inet_listener pop3 {{\n port = {port}\n }}\n inet_listener pop3s {{\n port = 0\n }}\n}}\n\
             passdb {{\n driver = static\n args = password=unused\n}}\n\
             userdb {{\n driver = static\n args = uid=nobody gid=nogroup home={d}/home\n}}\n"
        );
        std::fs::write(dir.join("dovecot.conf"), config).unwrap();
        let child = Command::new(program)
            .arg("-F")
            .arg("-c")
            .arg(dir.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let child = KillOnDrop(child);
        wait_for_port(port).then_some((child, port))
    }

    #[tokio::test]
    async fn pop3_greeting_from_dovecot() {
        let dir = tempfile::tempdir().unwrap();
        let Some((_dovecot, port)) = dovecot(dir.path()) else {
            return peer_missing("dovecot", "apt-get install dovecot-pop3d (the test runs it as root)");
        };
        let out = run(json!({"kind": "pop3", "host": "127.0.0.1", "port": port}))
            .await
            .unwrap();
        assert_eq!(out.status, Status::Success, "{}", out.error);
        assert!(
            out.rows[0]["greeting"].as_str().unwrap().starts_with("+OK "),
            "{:?}",
            out.rows
        );

        // A POP3 server is not an SMTP one.
        let out = run(json!({"kind": "smtp", "host": "127.0.0.1", "port": port}))
            .await
            .unwrap();
        assert!(
            out.error.starts_with(&format!(
                "get_internet_application_status: 127.0.0.1:{port}: the greeting is not 220: +OK "
            )),
            "{}",
            out.error
        );
    }

    /// dnsmasq answering `app.test` (and its subdomains) with 127.0.0.7, and no other name under
    /// `test`, on a free loopback port.
    fn dnsmasq(dir: &Path) -> Option<(KillOnDrop, u16)> {
        let program = find_program("dnsmasq")?;
        let port = free_port();
        let child = Command::new(program)
            .args(["--no-daemon", "--bind-interfaces", "--listen-address=127.0.0.1"])
            .arg(format!("--port={port}"))
            .args([
                "--address=/app.test/127.0.0.7",
                "--local=/test/",
                "--no-resolv",
                "--no-hosts",
            ])
            .arg(format!("--pid-file={}", dir.join("dnsmasq.pid").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let child = KillOnDrop(child);
        // dnsmasq listens on TCP as well as UDP: the TCP port tells it is ready.
        wait_for_port(port).then_some((child, port))
    }

    #[tokio::test]
    async fn dns_answers_from_dnsmasq() {
        let dir = tempfile::tempdir().unwrap();
        let Some((_dnsmasq, port)) = dnsmasq(dir.path()) else {
            return peer_missing("dnsmasq", "apt-get install dnsmasq-base");
        };
        let query = |lookup: &str, expected: &str| json!({"kind": "dns", "host": "127.0.0.1", "port": port, "lookup": lookup, "expected_address": expected});
        let out = run(query("app.test", "127.0.0.7")).await.unwrap();
        assert_eq!(out.status, Status::Success, "{}", out.error);
        let row = &out.rows[0];
        assert_eq!(
            (&row["kind"], &row["addresses"], &row["port"]),
            (&json!("dns"), &json!("127.0.0.7"), &json!(port))
        );

        let out = run(query("www.app.test", "")).await.unwrap();
        assert_eq!(out.rows[0]["addresses"], "127.0.0.7");

        let out = run(query("app.test", "10.9.9.9")).await.unwrap();
        assert_eq!(
            (out.status, out.error.as_str()),
            (
                Status::Failed,
                format!(
                    "get_internet_application_status: 127.0.0.1:{port}: app.test resolves to 127.0.0.7, not 10.9.9.9"
                )
                .as_str()
            )
        );

        let out = run(query("missing.test", "")).await.unwrap();
        assert_eq!(
            out.error,
            format!("get_internet_application_status: 127.0.0.1:{port}: missing.test has no address")
        );
    }

    #[tokio::test]
    async fn a_dns_server_that_does_not_answer_times_out() {
        // A UDP socket that reads queries and never answers.
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let err =
            run(json!({"kind": "dns", "host": "127.0.0.1", "port": port, "lookup": "app.test", "timeout": "300ms"}))
                .await
                .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transient);
        assert_eq!(
            err.to_string(),
            format!("get_internet_application_status: 127.0.0.1:{port}: no answer within 300ms")
        );
    }

    async fn web_server() -> SocketAddr {
        use axum::routing::get;
        let app = axum::Router::new()
            .route("/", get(|| async { "Welcome to the Shop" }))
            .route(
                "/down",
                get(|| async { (axum::http::StatusCode::SERVICE_UNAVAILABLE, "down") }),
            );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    #[tokio::test]
    async fn http_status_and_contains() {
        let addr = web_server().await;
        let url = format!("http://{addr}/");
        let out = run(json!({"kind": "http", "url": url, "contains": "the shop"}))
            .await
            .unwrap();
        assert_eq!(out.status, Status::Success, "{}", out.error);
        let row = &out.rows[0];
        assert_eq!(
            (
                &row["kind"],
                &row["host"],
                &row["port"],
                &row["status_code"],
                &row["body"]
            ),
            (
                &json!("http"),
                &json!("127.0.0.1"),
                &json!(addr.port()),
                &json!(200),
                &json!("Welcome to the Shop")
            )
        );

        let out = run(json!({"kind": "http", "url": url, "contains": "the shop", "case_sensitive": true}))
            .await
            .unwrap();
        assert_eq!(
            (out.status, out.error),
            (
                Status::Failed,
                format!("get_internet_application_status: {url}: the page does not contain 'the shop'")
            )
        );

        let out = run(json!({"kind": "http", "url": format!("{url}down")})).await.unwrap();
        assert_eq!(
            out.error,
            format!("get_internet_application_status: {url}down: 503 Service Unavailable")
        );
        assert_eq!(out.rows[0]["status_code"], 503);

        // A password in the URL stays secret.
        let out = run(json!({"kind": "http", "url": format!("http://ann:Pa55-w0rd@{addr}/down")}))
            .await
            .unwrap();
        assert_eq!(
            out.error,
            format!("get_internet_application_status: http://ann:******@{addr}/down: 503 Service Unavailable")
        );

        // host and port stand for http://host:port/.
        let out = run(json!({"kind": "http", "host": "127.0.0.1", "port": addr.port()}))
            .await
            .unwrap();
        assert_eq!(out.rows[0]["body"], "Welcome to the Shop");
    }

    #[tokio::test]
    async fn tcp_connects_or_fails_on_one_line() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let out = run(json!({"kind": "tcp", "host": "127.0.0.1", "port": port}))
            .await
            .unwrap();
        assert_eq!((out.status, &out.rows[0]["port"]), (Status::Success, &json!(port)));
        drop(listener);

        let port = closed_port().await;
        for kind in ["tcp", "smtp", "ftp", "pop3"] {
            let err = run(json!({"kind": kind, "host": "127.0.0.1", "port": port}))
                .await
                .unwrap_err();
            assert_eq!(
                err,
                ActivityError::Transient(format!(
                    "get_internet_application_status: 127.0.0.1:{port}: connection refused"
                ))
            );
        }
        let err = run(json!({"kind": "http", "url": format!("http://127.0.0.1:{port}/")}))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            ActivityError::Transient(format!(
                "get_internet_application_status: http://127.0.0.1:{port}/: connection refused"
            ))
        );
    }

    #[tokio::test]
    async fn a_peer_that_never_greets_times_out() {
        let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = silent.local_addr().unwrap().port();
        let err = run(json!({"kind": "smtp", "host": "127.0.0.1", "port": port, "timeout": "300ms"}))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            ActivityError::Transient(format!(
                "get_internet_application_status: 127.0.0.1:{port}: no greeting within 300ms"
            ))
        );
    }

    #[tokio::test]
    async fn bad_input_is_named() {
        let cases = [
            (
                json!({"kind": "gopher", "host": "h"}),
                "get_internet_application_status: property 'kind': 'gopher' is not one of http, smtp, ftp, pop3, dns, tcp",
            ),
            (
                json!({"kind": "tcp", "host": "127.0.0.1"}),
                "get_internet_application_status: property 'port': is required with kind tcp",
            ),
            (
                json!({"kind": "http", "url": "ftp://x/"}),
                "get_internet_application_status: property 'url': 'ftp://x/' is not an http or https URL",
            ),
            (
                json!({"kind": "smtp", "host": "127.0.0.1", "port": 0}),
                "get_internet_application_status: property 'port': 0 is not a port (1-65535)",
            ),
        ];
        for (props, expected) in cases {
            let err = run(props).await.unwrap_err();
            assert_eq!(
                (err.kind(), err.to_string()),
                (ErrorKind::InvalidInput, expected.to_string())
            );
        }
        let err = run(json!({"kind": "http"})).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "get_internet_application_status: property 'url': is required with kind http (or give host)"
        );
        let err = run(json!({"kind": "dns", "host": "127.0.0.1"})).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
}
