//! The one typed configuration tree: defaults, then `scorch.toml`, then `SCORCH_*` environment
//! variables, then flags (clap reads the last two; a flag wins over its variable).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use scorch_server::serve::HttpLimits;
use serde::{Deserialize, Serialize};

pub use crate::logging::LogFormat;

/// A secret: printed as `***` by Debug and when the configuration is shown.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

/// Settings of the server roles.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where `scorch up` keeps its SQLite database.
    pub data_dir: PathBuf,
    /// `sqlite:PATH` or `postgres://...`; default: `sqlite:<data_dir>/scorch.db`.
    pub database: Option<String>,
    /// The address every role listens on.
    pub bind: IpAddr,
    pub web_port: u16,
    pub console_port: u16,
    pub management_port: u16,
    /// The console's public URL, as browsers reach it: the web service allows this origin (CORS).
    /// Default: from `bind` and `console_port` (on loopback, both `localhost` and `127.0.0.1`).
    pub console_url: Option<String>,
    /// The web service's public URL, as browsers on the console reach it. Default: from `bind`
    /// and `web_port`.
    pub web_service_url: Option<String>,
    /// The first administrator's token (instead of a generated one), for automation.
    pub admin_token: Option<Secret>,
    /// 64 hex digits sealing encrypted variables; the same on every role of a deployment.
    /// Default: a key generated into `<data_dir>/encryption.key` on first start.
    pub encryption_key: Option<Secret>,
    /// A PEM certificate chain: with `tls_key`, every listening port speaks TLS.
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    pub runbook_server: RunbookServerConfig,
    pub retention: RetentionConfig,
    pub http: HttpConfig,
    pub log: LogConfig,
    pub metrics: MetricsConfig,
    pub traces: TracesConfig,
}

/// How the process logs (the filter comes from `RUST_LOG`: see docs/operations.md).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
}

/// Prometheus metrics: `/metrics` on the web service and management server, and a runbook
/// server's own port when one is set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Off: nothing is counted and `/metrics` answers 404.
    pub enabled: bool,
    /// A runbook server's metrics port (off when unset): its only listener.
    pub port: Option<u16>,
    /// The address of that port [default: `bind`].
    pub bind: Option<IpAddr>,
    /// The bearer token scrapers of that port send (a runbook server cannot check users).
    pub token: Option<Secret>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            port: None,
            bind: None,
            token: None,
        }
    }
}

/// OpenTelemetry trace export (off by default).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TracesConfig {
    /// The collector's OTLP/HTTP traces URL, e.g. `http://127.0.0.1:4318/v1/traces`.
    pub otlp_endpoint: Option<String>,
}

/// What each HTTP role lets its clients take (see docs/security.md).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// A request head must arrive whole within this many seconds.
    pub header_read_timeout_secs: u64,
    /// A request body must arrive whole within this many seconds of its head.
    pub body_read_timeout_secs: u64,
    /// A connection with no request in flight is closed after this many seconds.
    pub idle_timeout_secs: u64,
    /// Connections one role holds at once.
    pub max_connections: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        let limits = HttpLimits::default();
        Self {
            header_read_timeout_secs: limits.header_read_timeout.as_secs(),
            body_read_timeout_secs: limits.body_read_timeout.as_secs(),
            idle_timeout_secs: limits.idle_timeout.as_secs(),
            max_connections: limits.max_connections,
        }
    }
}

impl HttpConfig {
    /// The limits the roles serve with (a zero is taken as the least that works: 1).
    pub fn limits(&self) -> HttpLimits {
        let secs = |s: u64| std::time::Duration::from_secs(s.max(1));
        HttpLimits {
            header_read_timeout: secs(self.header_read_timeout_secs),
            body_read_timeout: secs(self.body_read_timeout_secs),
            idle_timeout: secs(self.idle_timeout_secs),
            max_connections: self.max_connections.max(1),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RunbookServerConfig {
    /// Default: this machine's host name.
    pub name: Option<String>,
    pub max_instances: u32,
}

/// Log retention: per runbook, keep the last `keep_last` instances and/or those younger than
/// `keep_days` (an instance goes when it is outside both).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    pub keep_last: Option<u32>,
    pub keep_days: Option<u32>,
    /// How often the purge runs.
    pub every_minutes: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./scorch-data"),
            database: None,
            bind: IpAddr::from([127, 0, 0, 1]),
            web_port: 81,
            console_port: 82,
            management_port: 8135,
            console_url: None,
            web_service_url: None,
            admin_token: None,
            encryption_key: None,
            tls_cert: None,
            tls_key: None,
            runbook_server: RunbookServerConfig::default(),
            retention: RetentionConfig::default(),
            http: HttpConfig::default(),
            log: LogConfig::default(),
            metrics: MetricsConfig::default(),
            traces: TracesConfig::default(),
        }
    }
}

impl Default for RunbookServerConfig {
    fn default() -> Self {
        Self {
            name: None,
            max_instances: 50,
        }
    }
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            keep_last: Some(500),
            keep_days: None,
            every_minutes: 60,
        }
    }
}

/// Flags (and their `SCORCH_*` variables) that override the file.
#[derive(Debug, Clone, Default, Args)]
pub struct Overrides {
    /// The configuration file [default: ./scorch.toml when present].
    #[arg(long, env = "SCORCH_CONFIG", value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Data directory of the embedded database [default: ./scorch-data].
    #[arg(long, env = "SCORCH_DATA_DIR", value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// The orchestration database: sqlite:PATH or postgres://USER@HOST:PORT/DB.
    #[arg(long, env = "SCORCH_DATABASE", value_name = "URL", global = true)]
    pub database: Option<String>,
    /// The address to listen on [default: 127.0.0.1].
    #[arg(long, env = "SCORCH_BIND", value_name = "ADDRESS", global = true)]
    pub bind: Option<IpAddr>,
    /// The REST web service's port [default: 81].
    #[arg(long, env = "SCORCH_WEB_PORT", value_name = "PORT", global = true)]
    pub web_port: Option<u16>,
    /// The console's port [default: 82].
    #[arg(long, env = "SCORCH_CONSOLE_PORT", value_name = "PORT", global = true)]
    pub console_port: Option<u16>,
    /// The management server's port [default: 8135].
    #[arg(long, env = "SCORCH_MANAGEMENT_PORT", value_name = "PORT", global = true)]
    pub management_port: Option<u16>,
    /// The console's public URL, as browsers reach it [default: from --bind and --console-port].
    #[arg(long, env = "SCORCH_CONSOLE_URL", value_name = "URL", global = true)]
    pub console_url: Option<String>,
    /// The web service's public URL, as browsers on the console reach it [default: from --bind
    /// and --web-port].
    #[arg(long, env = "SCORCH_WEB_SERVICE_URL", value_name = "URL", global = true)]
    pub web_service_url: Option<String>,
    /// The first administrator's token, instead of a generated one.
    #[arg(
        long,
        env = "SCORCH_ADMIN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub admin_token: Option<String>,
    /// The key sealing encrypted variables (64 hex digits).
    #[arg(
        long,
        env = "SCORCH_ENCRYPTION_KEY",
        value_name = "HEX",
        hide_env_values = true,
        global = true
    )]
    pub encryption_key: Option<String>,
    /// A PEM certificate chain: serve TLS on every port (with --tls-key).
    #[arg(long, env = "SCORCH_TLS_CERT", value_name = "FILE", global = true)]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's PEM private key.
    #[arg(long, env = "SCORCH_TLS_KEY", value_name = "FILE", global = true)]
    pub tls_key: Option<PathBuf>,
    /// How log lines are written to stderr [default: text]; the filter is RUST_LOG's.
    #[arg(long, env = "SCORCH_LOG_FORMAT", value_name = "FORMAT", global = true)]
    pub log_format: Option<LogFormat>,
    /// Export job spans to this OpenTelemetry collector (OTLP over HTTP), e.g.
    /// http://127.0.0.1:4318/v1/traces [default: off].
    #[arg(long, env = "SCORCH_OTLP_ENDPOINT", value_name = "URL", global = true)]
    pub otlp_endpoint: Option<String>,
    /// Count nothing and serve no /metrics.
    #[arg(long, env = "SCORCH_NO_METRICS", global = true)]
    pub no_metrics: bool,
}

impl Config {
    /// Defaults, then the file, then the overrides.
    pub fn load(o: &Overrides) -> Result<Config, String> {
        let explicit = o.config.clone();
        let path = explicit.clone().unwrap_or_else(|| PathBuf::from("scorch.toml"));
        let mut config = match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text, &path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => Config::default(),
            Err(e) => return Err(format!("{}: cannot read the configuration: {e}", path.display())),
        };
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(v) = o.$field.clone() { config.$field = v; } )* };
        }
        set!(data_dir, bind, web_port, console_port, management_port);
        for (value, slot) in [(&o.tls_cert, &mut config.tls_cert), (&o.tls_key, &mut config.tls_key)] {
            if value.is_some() {
                slot.clone_from(value);
            }
        }
        for (value, slot) in [
            (&o.console_url, &mut config.console_url),
            (&o.web_service_url, &mut config.web_service_url),
        ] {
            if value.is_some() {
                slot.clone_from(value);
            }
        }
        for (name, value) in [
            ("console_url", &mut config.console_url),
            ("web_service_url", &mut config.web_service_url),
        ] {
            if let Some(url) = value {
                *url = public_url(name, url)?;
            }
        }
        if let Some(format) = o.log_format {
            config.log.format = format;
        }
        if o.otlp_endpoint.is_some() {
            config.traces.otlp_endpoint.clone_from(&o.otlp_endpoint);
        }
        if o.no_metrics {
            config.metrics.enabled = false;
        }
        if let Some(db) = &o.database {
            config.database = Some(db.clone());
        }
        if let Some(token) = &o.admin_token {
            config.admin_token = Some(Secret(token.clone()));
        }
        if let Some(key) = &o.encryption_key {
            config.encryption_key = Some(Secret(key.clone()));
        }
        Ok(config)
    }

    fn parse(text: &str, path: &Path) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| format!("{}: {}", path.display(), e.to_string().trim()))
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", self.data_dir.join("scorch.db").display()))
    }

    /// This runbook server's name.
    pub fn server_name(&self) -> String {
        self.runbook_server.name.clone().unwrap_or_else(|| {
            hostname::get()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_else(|| "runbook-server".into())
        })
    }

    /// The key sealing encrypted variables: configured, or kept in the data directory (made on
    /// first start, readable by its owner only).
    pub fn encryption_key(&self) -> Result<String, String> {
        if let Some(key) = &self.encryption_key {
            return Ok(key.0.clone());
        }
        let path = self.data_dir.join("encryption.key");
        let read = || match std::fs::read_to_string(&path) {
            Ok(key) => Ok(Some(key.trim().to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: cannot read the encryption key: {e}", path.display())),
        };
        if let Some(key) = read()? {
            return Ok(key);
        }
        let key = scorch_server::secrets::SecretBox::generate_key();
        let written = std::fs::create_dir_all(&self.data_dir)
            .and_then(|()| write_private_once(&path, &key))
            .map_err(|e| format!("{}: cannot write the encryption key: {e}", path.display()))?;
        match written {
            true => Ok(key),
            // Another process starting at the same moment made it first: use that one.
            false => read()?.ok_or_else(|| format!("{}: the encryption key vanished", path.display())),
        }
    }

    /// The configuration as TOML, secrets redacted.
    pub fn show(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }
}

/// A public URL as configured: `http(s)://host[:port]`, without a trailing slash.
fn public_url(name: &str, url: &str) -> Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    let host = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .filter(|rest| !rest.is_empty() && !rest.contains(['/', '?', '#', ' ']));
    match host {
        Some(_) => Ok(url.to_string()),
        None => Err(format!(
            "{name}: '{url}' is not a URL like http://host:port (scheme, host and port only)"
        )),
    }
}

/// Writes `text` to a new file at `path`, readable by its owner only, unless `path` exists; false
/// then. The file appears whole or not at all (written beside it, then linked into place), so
/// processes that start together all read the one that was made first.
fn write_private_once(path: &Path, text: &str) -> std::io::Result<bool> {
    let beside = path.with_extension(format!("{}.new", uuid::Uuid::new_v4().simple()));
    write_private(&beside, text)?;
    let linked = std::fs::hard_link(&beside, path);
    let _ = std::fs::remove_file(&beside);
    let linked = match linked {
        // A file system without hard links: written in place, as whole as the write makes it.
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => write_private(path, text),
        linked => linked,
    };
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Writes `text` to a new file at `path` (never over one), readable by its owner only, on disk.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults, with the data directory `data` in `dir`.
    fn with_data_dir(dir: &tempfile::TempDir) -> Config {
        Config {
            data_dir: dir.path().join("data"),
            ..Config::default()
        }
    }

    /// Processes starting together on one data directory agree on one encryption key.
    #[test]
    fn processes_starting_together_share_one_encryption_key() {
        let dir = tempfile::tempdir().unwrap();
        let config = with_data_dir(&dir);
        let keys: Vec<String> = std::thread::scope(|scope| {
            let starts: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| config.encryption_key().unwrap()))
                .collect();
            starts.into_iter().map(|s| s.join().unwrap()).collect()
        });
        assert!(keys.iter().all(|k| k == &keys[0] && !k.is_empty()), "{keys:?}");
        let files: Vec<_> = std::fs::read_dir(&config.data_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(files, ["encryption.key"], "nothing left beside it");
        assert_eq!(config.encryption_key().unwrap(), keys[0]);
    }

    #[test]
    fn file_then_overrides() {
        let file = Config::parse(
            "web_port = 8081\n[runbook_server]\nmax_instances = 5\n",
            Path::new("x.toml"),
        )
        .unwrap();
        assert_eq!(
            (file.web_port, file.console_port, file.runbook_server.max_instances),
            (8081, 82, 5)
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scorch.toml");
        std::fs::write(&path, "web_port = 8081\nadmin_token = \"s3cret\"\n").unwrap();
        let o = Overrides {
            config: Some(path),
            web_port: Some(9000),
            ..Default::default()
        };
        let config = Config::load(&o).unwrap();
        assert_eq!(config.web_port, 9000);
        assert_eq!(config.admin_token, Some(Secret("s3cret".into())));
        assert!(!config.show().contains("s3cret") && !format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn logs_metrics_and_traces_from_the_file_then_flags() {
        let text = "[log]\nformat = \"json\"\n[metrics]\nport = 9135\ntoken = \"metrics-s3cret-token\"\n\
                    [traces]\notlp_endpoint = \"http://127.0.0.1:4318/v1/traces\"\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scorch.toml");
        std::fs::write(&path, text).unwrap();
        let file = Config::load(&Overrides {
            config: Some(path.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            (file.log.format, file.metrics.enabled, file.metrics.port),
            (LogFormat::Json, true, Some(9135))
        );
        assert_eq!(
            file.traces.otlp_endpoint.as_deref(),
            Some("http://127.0.0.1:4318/v1/traces")
        );
        assert!(!file.show().contains("metrics-s3cret-token"), "{}", file.show());
        let flags = Config::load(&Overrides {
            config: Some(path),
            log_format: Some(LogFormat::Text),
            no_metrics: true,
            otlp_endpoint: Some("http://collector:4318/v1/traces".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((flags.log.format, flags.metrics.enabled), (LogFormat::Text, false));
        assert_eq!(
            flags.traces.otlp_endpoint.as_deref(),
            Some("http://collector:4318/v1/traces")
        );
        let err = Config::parse("[log]\nformat = \"xml\"\n", Path::new("scorch.toml")).unwrap_err();
        assert!(err.contains("xml") && err.contains("json"), "{err}");
    }

    #[test]
    fn public_urls_are_checked() {
        let o = Overrides {
            console_url: Some("https://console.example.com/".into()),
            web_service_url: Some("http://10.0.0.5:81".into()),
            ..Default::default()
        };
        let config = Config::load(&o).unwrap();
        assert_eq!(config.console_url.as_deref(), Some("https://console.example.com"));
        assert_eq!(config.web_service_url.as_deref(), Some("http://10.0.0.5:81"));
        for bad in ["console.example.com", "http://", "http://host/path", "ftp://host"] {
            let o = Overrides {
                console_url: Some(bad.into()),
                ..Default::default()
            };
            let err = Config::load(&o).unwrap_err();
            assert!(err.starts_with("console_url:"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_encryption_key_is_made_once_and_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let config = with_data_dir(&dir);
        let key = config.encryption_key().unwrap();
        assert_eq!(key.len(), 64);
        assert_eq!(config.encryption_key().unwrap(), key, "read back, not made again");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("data/encryption.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn unknown_keys_are_rejected_with_the_file_name() {
        let err = Config::parse("web_prot = 1\n", Path::new("scorch.toml")).unwrap_err();
        assert!(err.starts_with("scorch.toml:") && err.contains("web_prot"), "{err}");
        let missing = Overrides {
            config: Some(PathBuf::from("/nonexistent/scorch.toml")),
            ..Default::default()
        };
        assert!(Config::load(&missing).unwrap_err().contains("cannot read"));
    }
}
