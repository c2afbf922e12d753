//! `scorch ports`: the seed's port table for the configuration in effect, and `ports check`,
//! which tries each row from where it runs and names the firewall rule that is missing.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use crate::config::Config;
use crate::roles::redact_url;

/// One row of the table.
struct Row {
    source: &'static str,
    target: &'static str,
    /// `None` for a database file (no port) or per-activity ports.
    port: Option<u16>,
    /// Where `ports check` connects.
    host: Option<String>,
    flag: &'static str,
    notes: String,
}

fn host_of(bind: IpAddr) -> String {
    if bind.is_unspecified() {
        "localhost".into()
    } else {
        bind.to_string()
    }
}

/// `host` and `port` of a postgres:// URL.
fn postgres_address(url: &str) -> Option<(String, u16)> {
    let rest = url.split_once("://")?.1;
    let hostport = rest
        .rsplit_once('@')
        .map_or(rest, |(_, h)| h)
        .split(['/', '?'])
        .next()?;
    match hostport.rsplit_once(':') {
        Some((h, p)) => Some((h.to_string(), p.parse().ok()?)),
        None => Some((hostport.to_string(), 5432)),
    }
}

fn rows(config: &Config) -> Vec<Row> {
    let host = host_of(config.bind);
    let db_url = config.database_url();
    let (db_port, db_host, db_notes) = match postgres_address(&db_url) {
        Some((h, p)) => (Some(p), Some(h), format!("PostgreSQL: {}", redact_url(&db_url))),
        // Read from this command's own settings: a server started with another --data-dir (or
        // SCORCH_DATA_DIR, or scorch.toml) uses its own file, which this cannot know.
        None => (
            None,
            None,
            format!(
                "embedded SQLite, a file, no port: {} (the data directory this command was given: \
                 --data-dir, SCORCH_DATA_DIR or scorch.toml, else the default)",
                redact_url(&db_url)
            ),
        ),
    };
    let metrics = config.metrics.port.map(|port| Row {
        source: "Prometheus",
        target: "a runbook server's metrics",
        port: Some(port),
        host: Some(host_of(config.metrics.bind.unwrap_or(config.bind))),
        flag: "--metrics-port",
        notes: "optional, off unless set; scrapers send the --metrics-token".into(),
    });
    let mut rows = vec![
        Row {
            source: "Runbook Designer (scorch CLI, console designer)",
            target: "management server",
            port: Some(config.management_port),
            host: Some(host.clone()),
            flag: "--management-port",
            notes: "one fixed port (no DCOM range): authoring, settings, permissions".into(),
        },
        Row {
            source: "management server, runbook servers, web service",
            target: "orchestration database",
            port: db_port,
            host: db_host,
            flag: "--database",
            notes: db_notes,
        },
        Row {
            source: "client browser",
            target: "REST web service",
            port: Some(config.web_port),
            host: Some(host.clone()),
            flag: "--web-port",
            notes: "both this port and the console's must be reachable for the console".into(),
        },
        Row {
            source: "client browser",
            target: "Orchestration console",
            port: Some(config.console_port),
            host: Some(host),
            flag: "--console-port",
            notes: "calls the web service from the browser".into(),
        },
        Row {
            source: "runbook servers (activities)",
            target: "targeted computers",
            port: None,
            host: None,
            flag: "(per activity)",
            notes: activity_ports(),
        },
    ];
    rows.extend(metrics);
    rows
}

/// The ports activities reach by default, for those of this build's activity types that reach
/// other computers.
const ACTIVITY_PORTS: &[(&str, &str)] = &[
    ("get_computer_status", "ICMP echo, or the TCP port given"),
    (
        "get_internet_application_status",
        "HTTP 80, HTTPS 443, SMTP 25, FTP 21, POP3 110, DNS 53 (UDP and TCP), or the port given",
    ),
    ("get_snmp_variable", "SNMP 161 (UDP), or the port given"),
    ("invoke_web_service", "HTTP 80, HTTPS 443 (or the URL's port)"),
    (
        "query_database",
        "PostgreSQL 5432, MySQL/MariaDB 3306 (or the connection's port); write_to_database alike",
    ),
    ("run_ssh_command", "SSH 22, or the port given"),
    ("send_email", "SMTP 587 (STARTTLS), 465 (TLS) or 25, or the port given"),
    (
        "send_snmp_trap",
        "SNMP traps 162 (UDP), or the port given; set_snmp_variable as get",
    ),
    ("send_syslog_message", "syslog 514 (UDP or TCP)"),
];

/// What activities of this build reach: the ports of those that open connections of their own;
/// the programs and scripts they start reach whatever those connect to.
fn activity_ports() -> String {
    let registry = scorch_activities::standard();
    let mut parts: Vec<String> = ACTIVITY_PORTS
        .iter()
        .filter(|(t, _)| registry.get(t).is_some())
        .map(|(t, ports)| format!("{t}: {ports}"))
        .collect();
    let starting: Vec<&str> = ["run_program", "run_script"]
        .into_iter()
        .filter(|t| registry.get(t).is_some())
        .collect();
    if !starting.is_empty() {
        parts.push(format!(
            "the programs {} start reach what those programs connect to",
            starting.join(" and ")
        ));
    }
    if parts.is_empty() {
        return "none: no activity of this build opens a connection".into();
    }
    parts.join("; ")
}

/// `scorch ports`.
pub fn print(config: &Config) -> u8 {
    out!("| Source | Target | Port | Configurable | Notes |");
    out!("|---|---|---|---|---|");
    for r in rows(config) {
        let port = r.port.map_or("-".to_string(), |p| p.to_string());
        out!("| {} | {} | {port} | {} | {} |", r.source, r.target, r.flag, r.notes);
    }
    0
}

/// `scorch ports check`: 0 when every row with a port answers, 1 otherwise.
pub async fn check(config: &Config) -> u8 {
    let mut missing = 0;
    for r in rows(config) {
        let (Some(port), Some(host)) = (r.port, r.host.clone()) else {
            continue;
        };
        let reached = tokio::task::spawn_blocking(move || reachable(&host, port))
            .await
            .unwrap_or(Err("check failed".into()));
        let host = r.host.as_deref().unwrap_or_default();
        match reached {
            Ok(addr) => out!("ok       {} -> {} at {addr}", r.source, r.target),
            Err(why) => {
                missing += 1;
                out!("missing  {} -> {} at {host}:{port}: {why}", r.source, r.target);
                out!(
                    "         allow inbound TCP {port} on {host} from the {} (or start the {}, or change it with {})",
                    r.source,
                    r.target,
                    r.flag
                );
            }
        }
    }
    u8::from(missing > 0)
}

fn reachable(host: &str, port: u16) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let mut last = String::from("no address");
    for addr in addrs {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(_) => return Ok(addr),
            Err(e) => {
                last = match e.kind() {
                    std::io::ErrorKind::ConnectionRefused => "connection refused (nothing listens there)".into(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                        "no answer within 2 s (a firewall drops it)".into()
                    }
                    _ => e.to_string(),
                }
            }
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_addresses() {
        assert_eq!(
            postgres_address("postgres://u:p@db.example:6543/x"),
            Some(("db.example".into(), 6543))
        );
        assert_eq!(
            postgres_address("postgres://127.0.0.1/scorch"),
            Some(("127.0.0.1".into(), 5432))
        );
        assert_eq!(postgres_address("sqlite:./x.db"), None);
    }

    #[tokio::test]
    async fn check_reports_what_answers_and_what_does_not() {
        let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = Config {
            management_port: open.local_addr().unwrap().port(),
            web_port: closed,
            console_port: closed,
            ..Config::default()
        };
        assert!(reachable("127.0.0.1", config.management_port).is_ok());
        assert!(reachable("127.0.0.1", closed).unwrap_err().contains("refused"));
        assert_eq!(check(&config).await, 1);
    }
}
