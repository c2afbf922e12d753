//! The `scorch` binary: parses the command line and runs the chosen command. The only place that
//! installs logging and reads the environment.

/// `println!` that ignores a closed stdout (`scorch ... | head`) instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod admin;
mod cli;
mod client;
mod config;
mod listen;
mod local_invoker;
mod logging;
#[cfg(feature = "otlp")]
mod otlp;
mod ports;
mod roles;
mod runbook_file;
mod tester;
mod trace;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{AdminCommand, Cli, Command, ConfigCommand, PortsCommand, RunbookCommand, RunbookServerArgs};
use crate::config::Config;
use crate::roles::Roles;

/// mimalloc rather than glibc's malloc: profiles of the web service under load showed a quarter of
/// its CPU time in glibc's allocator (its consolidation of freed chunks above all).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("scorch: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    // The configuration file may set the log format; a broken one is reported by the command.
    let logs = Config::load(&cli.overrides).map(|c| (c.log.format, c.traces.otlp_endpoint));
    let (format, otlp_endpoint) = logs.unwrap_or_else(|_| {
        let o = &cli.overrides;
        (o.log_format.unwrap_or_default(), o.otlp_endpoint.clone())
    });
    let _logging = match runtime.block_on(async { logging::init(format, otlp_endpoint.as_deref()) }) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("scorch: {e}");
            return ExitCode::from(2);
        }
    };
    let code = runtime.block_on(async {
        let config = || Config::load(&cli.overrides);
        let server_roles = |roles: Roles, server: Option<RunbookServerArgs>| async move {
            match config() {
                Ok(mut config) => {
                    if let Some(server) = server {
                        server.apply(&mut config);
                    }
                    roles::run(config, roles).await
                }
                Err(e) => {
                    eprintln!("scorch: {e}");
                    2
                }
            }
        };
        let roles = |roles: Roles| server_roles(roles, None);
        match cli.command {
            Command::Up { server } => server_roles(Roles::ALL, Some(server)).await,
            Command::ManagementServer => {
                roles(Roles {
                    management: true,
                    ..Roles::NONE
                })
                .await
            }
            Command::WebService => {
                roles(Roles {
                    web: true,
                    ..Roles::NONE
                })
                .await
            }
            Command::Console => {
                roles(Roles {
                    console: true,
                    ..Roles::NONE
                })
                .await
            }
            Command::RunbookServer { server } => {
                let only = Roles {
                    runbook_server: true,
                    ..Roles::NONE
                };
                server_roles(only, Some(server)).await
            }
            Command::Admin {
                command: AdminCommand::Reset,
            } => match config() {
                Ok(config) => admin::reset(&config, &os_user()).await,
                Err(e) => {
                    eprintln!("scorch: {e}");
                    2
                }
            },
            Command::Ports { command } => match config() {
                Ok(config) => match command {
                    None => ports::print(&config),
                    Some(PortsCommand::Check) => ports::check(&config).await,
                },
                Err(e) => {
                    eprintln!("scorch: {e}");
                    2
                }
            },
            Command::Config {
                command: ConfigCommand::Show,
            } => match config() {
                Ok(config) => {
                    out!("{}", config.show().trim_end());
                    0
                }
                Err(e) => {
                    eprintln!("scorch: {e}");
                    2
                }
            },
            Command::Runbook {
                command: RunbookCommand::Check { files },
            } => runbook_file::check_files(&files),
            Command::Runbook {
                command: RunbookCommand::Test(args),
            } => tester::run(args).await,
            Command::Runbook {
                command: RunbookCommand::Remote(command),
            } => client::run_runbook(command, &cli.connection).await,
            Command::Client(command) => client::run(command, &cli.connection).await,
            Command::Activities { markdown } => {
                cli::print_activities(markdown);
                0
            }
        }
    });
    ExitCode::from(code)
}

/// Who runs this command, as the OS tells it (for the audit trail of `scorch admin reset`).
#[allow(
    clippy::disallowed_methods,
    reason = "the binary reads the process environment: here, who runs it"
)]
fn os_user() -> admin::OsUser {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    #[cfg(unix)]
    let uid = {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata("/proc/self").ok().map(|m| m.uid())
    };
    #[cfg(not(unix))]
    let uid = None;
    admin::OsUser {
        name: var("USER").or_else(|| var("LOGNAME")),
        uid,
        sudo_user: var("SUDO_USER"),
    }
}
