//! Starting the roles: `scorch up` (all of them in one process on an embedded database) and
//! each role on its own for a fleet.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use scorch_server::api::AppState;
use scorch_server::console::ConsoleUrls;
use scorch_server::listener::Listener;
use scorch_server::metrics::Metrics;
use scorch_server::metrics::port::MetricsPort;
use scorch_server::plans::Plans;
use scorch_server::runbook_server::{self, RunbookServerOptions};
use scorch_server::secrets::SecretBox;
use scorch_store::{JobPath, Listen, SqliteStore, Store};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::Config;
use crate::listen::listen;

/// Which roles a command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    pub management: bool,
    pub web: bool,
    pub console: bool,
    pub runbook_server: bool,
}

impl Roles {
    pub const ALL: Roles = Roles {
        management: true,
        web: true,
        console: true,
        runbook_server: true,
    };
    pub const NONE: Roles = Roles {
        management: false,
        web: false,
        console: false,
        runbook_server: false,
    };
}

/// Opens the orchestration database the configuration names, for `roles`: only the web service
/// streams every change (its event stream); a runbook server acts on job changes alone; a
/// management server on none (it keeps lookups up to date, as every role does).
pub async fn open_store(config: &Config, roles: Roles) -> Result<Arc<dyn Store>, String> {
    let url = config.database_url();
    let listen = if roles.web {
        Listen::Everything
    } else if roles.runbook_server {
        Listen::Jobs
    } else {
        Listen::Lookups
    };
    let opened: Result<Arc<dyn Store>, _> = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        scorch_store::PgStore::open_listening(&url, listen)
            .await
            .map(|s| Arc::new(s) as Arc<dyn Store>)
    } else if url.starts_with("sqlite:") {
        if let Some(parent) = config.database.is_none().then(|| config.data_dir.clone()) {
            std::fs::create_dir_all(&parent)
                .map_err(|e| format!("scorch: cannot create the data directory {}: {e}", parent.display()))?;
        }
        SqliteStore::open(&url).await.map(|s| Arc::new(s) as Arc<dyn Store>)
    } else {
        return Err(format!(
            "scorch: --database '{url}' is neither sqlite:PATH nor postgres://..."
        ));
    };
    opened.map_err(|e| format!("scorch: {e}"))
}

/// On first start (no users yet), creates the administrator and prints its token once.
async fn first_admin(store: &Arc<dyn Store>, config: &Config) -> Result<(), String> {
    let users = store.users().await.map_err(|e| format!("scorch: {e}"))?;
    if !users.is_empty() {
        if let Some(token) = &config.admin_token {
            let hash = scorch_server::auth::token_hash(&token.0);
            // A token that already works (every role of a fleet is given the same) is no news.
            if !matches!(store.token_user(&hash).await, Ok(Some(_))) {
                eprintln!(
                    "scorch: --admin-token has no effect: this database already has users, and the token \
                     is only used on the first start; to get a new administrator token, run \
                     `scorch admin reset` (docs/operations.md, \"Recovering access\")"
                );
            }
        }
        return Ok(());
    }
    let token = config
        .admin_token
        .as_ref()
        .map(|t| t.0.clone())
        .unwrap_or_else(scorch_server::auth::new_token);
    match store.create_user("admin", None, true).await {
        Ok(_) => {}
        // Another role starting at the same moment created it (and its token).
        Err(scorch_store::StoreError::Conflict(_)) => return Ok(()),
        Err(e) => return Err(format!("scorch: {e}")),
    }
    let hash = scorch_server::auth::token_hash(&token);
    store
        .create_token("admin", &hash, "first administrator")
        .await
        .map_err(|e| format!("scorch: {e}"))?;
    if config.admin_token.is_some() {
        out!("created the administrator 'admin' with the token from --admin-token");
    } else {
        out!("created the administrator 'admin'; its token (shown once, keep it):\n\n    {token}\n");
    }
    Ok(())
}

fn url(scheme: &str, bind: IpAddr, port: u16) -> String {
    let host = if bind.is_unspecified() {
        "localhost".to_string()
    } else {
        bind.to_string()
    };
    format!("{scheme}://{host}:{port}")
}

/// The origins a browser on the console may come from: the configured console URL's, or the
/// console's own address; a loopback one in both spellings (`localhost` and `127.0.0.1`).
fn console_origins(config: &Config) -> Vec<String> {
    let scheme = if config.tls_cert.is_some() { "https" } else { "http" };
    let origin = match &config.console_url {
        Some(u) => scorch_server::console::origin(u),
        None if config.bind.is_unspecified() => url(scheme, IpAddr::from([127, 0, 0, 1]), config.console_port),
        None => url(scheme, config.bind, config.console_port),
    };
    let other = if origin.contains("://localhost") {
        Some(origin.replacen("://localhost", "://127.0.0.1", 1))
    } else if origin.contains("://127.0.0.1") {
        Some(origin.replacen("://127.0.0.1", "://localhost", 1))
    } else {
        None
    };
    std::iter::once(origin).chain(other).collect()
}

/// Runs `roles` until Ctrl-C (or SIGTERM), then stops gracefully.
pub async fn run(config: Config, roles: Roles) -> u8 {
    match serve(config, roles).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

async fn serve(config: Config, roles: Roles) -> Result<(), String> {
    // Bind every port first: a port that cannot be had stops the start before anything runs.
    let bind = config.bind;
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            Some(scorch_server::listener::acceptor(cert, key).map_err(|e| format!("scorch: {e}"))?)
        }
        (None, None) => None,
        _ => return Err("scorch: TLS needs both --tls-cert and --tls-key".into()),
    };
    let bound_at = |bind: IpAddr, role: &'static str, port: u16, flag: &'static str, wanted: bool| {
        let tls = tls.clone();
        async move {
            if !wanted {
                return Ok(None);
            }
            let tcp = listen(role, bind, port, flag).await?;
            Ok::<_, String>(Some(match tls {
                Some(acceptor) => Listener::tls(tcp, acceptor),
                None => Listener::from(tcp),
            }))
        }
    };
    let bound = |role, port, flag, wanted| bound_at(bind, role, port, flag, wanted);
    let management = bound(
        "management server",
        config.management_port,
        "--management-port",
        roles.management,
    )
    .await?;
    let web = bound("web service", config.web_port, "--web-port", roles.web).await?;
    let console = bound("console", config.console_port, "--console-port", roles.console).await?;
    let metrics_port = match roles.runbook_server {
        true => metrics_port(&config)?,
        false => None,
    };
    let metrics_port = match metrics_port {
        Some((bind, port)) => bound_at(bind, "runbook server metrics", port, "--metrics-port", true).await?,
        None => None,
    };
    let store = open_store(&config, roles).await?;
    if roles.management || roles.web {
        first_admin(&store, &config).await?;
    }
    let plans = Arc::new(Plans::new(Arc::new(scorch_activities::standard())));
    // One set of counters per process: in `scorch up` the web service shows its runbook server's.
    let metrics = config.metrics.enabled.then(|| Metrics::new(plans.registry()));
    let secrets = config
        .encryption_key()
        .and_then(|key| SecretBox::from_hex(&key))
        .map(Arc::new)
        .map_err(|e| format!("scorch: {e}"))?;
    let state = AppState::new(store.clone(), plans.clone())
        .with_secrets(secrets.clone())
        .with_metrics(metrics.clone());
    let shutdown = CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = |port: u16| url(scheme, bind, port);
    let port = |l: &Listener| l.port().unwrap_or_default();
    let web_url = url(web.as_ref().map_or(config.web_port, port));
    let urls = ConsoleUrls {
        console: config
            .console_url
            .clone()
            .unwrap_or_else(|| url(console.as_ref().map_or(config.console_port, port))),
        web_service: config.web_service_url.clone().unwrap_or_else(|| web_url.clone()),
    };
    if let Some(listener) = management {
        out!("management server  {}", url(port(&listener)));
        tasks.spawn(scorch_server::management::serve(
            listener,
            state.clone(),
            config.http.limits(),
            shutdown.clone(),
        ));
        tasks.spawn(retention(store.clone(), config.clone(), shutdown.clone()));
    }
    if let Some(listener) = web {
        out!("web service        {web_url}  (OpenAPI: {web_url}/openapi.json)");
        tasks.spawn(scorch_server::web::serve(
            listener,
            state.clone(),
            console_origins(&config),
            config.http.limits(),
            shutdown.clone(),
        ));
    }
    if let Some(listener) = console {
        out!("console            {}", urls.console);
        let urls = urls.clone();
        let (stop, limits) = (shutdown.clone(), config.http.limits());
        tasks.spawn(async move { scorch_server::console::serve(listener, &urls, limits, stop).await });
    }
    if roles.runbook_server {
        let mut opts = RunbookServerOptions::new(&config.server_name());
        opts.max_instances = config.runbook_server.max_instances;
        opts.secrets = Some(secrets);
        opts.host = config.server_name();
        opts.metrics = metrics.clone();
        if let (Some(listener), Some(metrics)) = (metrics_port, metrics) {
            out!("metrics            {}/metrics", url(port(&listener)));
            let port = MetricsPort {
                metrics,
                token: config.metrics.token.clone().unwrap_or_default().0,
                server: opts.name.clone(),
                max_instances: opts.max_instances,
            };
            let (stop, limits) = (shutdown.clone(), config.http.limits());
            tasks.spawn(async move { scorch_server::metrics::port::serve(listener, port, limits, stop).await });
        }
        out!(
            "runbook server     {} (up to {} instances)",
            opts.name,
            opts.max_instances
        );
        // The job path only: a runbook server cannot administer users, settings or runbooks.
        let job_path: Arc<dyn JobPath> = store.clone();
        tasks.spawn(runbook_server::run(job_path, plans, opts, shutdown.clone()));
    }
    out!(
        "database           {} ({})",
        redact_url(&config.database_url()),
        store.backend()
    );
    wait_for_stop_signal().await;
    info!("stopping: running instances finish their current activities and resume on the next start");
    shutdown.cancel();
    while tasks.join_next().await.is_some() {}
    store.checkpoint().await.map_err(|e| format!("scorch: {e}"))?;
    Ok(())
}

/// Where the runbook server's metrics port listens, if it has one: refused without a token
/// that keeps it private, or when metrics are off.
fn metrics_port(config: &Config) -> Result<Option<(IpAddr, u16)>, String> {
    let Some(port) = config.metrics.port else {
        return Ok(None);
    };
    if !config.metrics.enabled {
        return Err("scorch: --metrics-port: metrics are off (--no-metrics or [metrics] enabled = false)".into());
    }
    let token = config.metrics.token.as_ref().map_or("", |t| t.0.as_str());
    MetricsPort::check_token(token).map_err(|e| format!("scorch: {e}"))?;
    Ok(Some((config.metrics.bind.unwrap_or(config.bind), port)))
}

/// Ctrl-C or SIGTERM.
async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Keeps the instance history bounded: every few minutes, each runbook's rule (its own
/// `retention`, else the configured one).
async fn retention(store: Arc<dyn Store>, config: Config, shutdown: CancellationToken) {
    let r = &config.retention;
    let default = scorch_model::def::Retention {
        keep_last: r.keep_last,
        keep_days: r.keep_days,
    };
    let every = Duration::from_secs(u64::from(r.every_minutes.max(1)) * 60);
    loop {
        match scorch_server::retention::purge(&store, default).await {
            Ok(0) => {}
            Ok(n) => info!(instances = n, "retention purged old instances"),
            Err(e) => warn!(error = %e, "retention purge failed; it runs again later"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// A database URL without its password.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***{}", &url[..scheme], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("postgres://u:pw@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite:./x.db"), "sqlite:./x.db");
    }

    #[test]
    fn the_console_origins_browsers_may_call_from() {
        let loopback = Config {
            console_port: 8082,
            ..Config::default()
        };
        assert_eq!(
            console_origins(&loopback),
            ["http://127.0.0.1:8082", "http://localhost:8082"]
        );
        let everywhere = Config {
            bind: IpAddr::from([0, 0, 0, 0]),
            ..Config::default()
        };
        assert_eq!(
            console_origins(&everywhere),
            ["http://127.0.0.1:82", "http://localhost:82"]
        );
        let named = Config {
            console_url: Some("https://console.example.com:8443".into()),
            ..Config::default()
        };
        assert_eq!(console_origins(&named), ["https://console.example.com:8443"]);
        let local_name = Config {
            console_url: Some("http://localhost:9000".into()),
            ..Config::default()
        };
        assert_eq!(
            console_origins(&local_name),
            ["http://localhost:9000", "http://127.0.0.1:9000"]
        );
    }
}
