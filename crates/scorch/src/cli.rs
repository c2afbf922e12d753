//! The command line.

mod remote;

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
pub use remote::{
    ClientCommand, Connection, CounterCommand, FolderCommand, GroupCommand, InstanceCommand, JobCommand, RunbookRemote,
    ScheduleCommand, ScheduleDefinition, TokenCommand, UserCommand, VarCommand, WaitArgs,
};

#[derive(Debug, Parser)]
#[command(
    name = "scorch",
    version,
    about = "Runbook automation: author runbooks, run them reliably and fast"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub overrides: crate::config::Overrides,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check and test runbook files; push, pull and check them out on the management server.
    Runbook {
        #[command(subcommand)]
        command: RunbookCommand,
    },
    #[command(flatten)]
    Client(ClientCommand),
    /// Run every role in one process on an embedded database: the one-command start.
    Up {
        #[command(flatten)]
        server: RunbookServerArgs,
    },
    /// Run the management server (authoring: check-in/out, settings, users), port 8135.
    ManagementServer,
    /// Run the REST web service (operations: runbooks, jobs, instances), port 81.
    WebService,
    /// Run the Orchestration console, port 82.
    Console,
    /// Run a runbook server: claims jobs from the orchestration database and runs them.
    RunbookServer {
        #[command(flatten)]
        server: RunbookServerArgs,
    },
    /// Operator's tools that work on the database directly, with no server or token.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print the port table for this configuration, or check each row is reachable from here.
    Ports {
        #[command(subcommand)]
        command: Option<PortsCommand>,
    },
    /// Show the configuration in effect (secrets redacted).
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// List the activity types this build knows.
    Activities {
        /// Print the activity reference in Markdown (docs/activity-reference.md is generated so).
        #[arg(long)]
        markdown: bool,
    },
}

/// The runbook server's settings, for every command that runs one (`up` and `runbook-server`).
#[derive(Debug, Clone, Args)]
pub struct RunbookServerArgs {
    /// Its name among the runbook servers [default: the host name].
    #[arg(long, env = "SCORCH_RUNBOOK_SERVER_NAME")]
    pub name: Option<String>,
    /// Instances it runs at once at most [default: 50].
    #[arg(long, env = "SCORCH_MAX_INSTANCES")]
    pub max_instances: Option<u32>,
    /// Serve this runbook server's Prometheus metrics on this port (needs --metrics-token)
    /// [default: off].
    #[arg(long, env = "SCORCH_METRICS_PORT", value_name = "PORT")]
    pub metrics_port: Option<u16>,
    /// The address of the metrics port [default: --bind's].
    #[arg(long, env = "SCORCH_METRICS_BIND", value_name = "ADDRESS")]
    pub metrics_bind: Option<IpAddr>,
    /// The bearer token scrapers of the metrics port must send.
    #[arg(long, env = "SCORCH_METRICS_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

impl RunbookServerArgs {
    /// These flags (or their variables) over the configuration file's.
    pub fn apply(self, config: &mut crate::config::Config) {
        config.runbook_server.name = self.name.or(config.runbook_server.name.take());
        config.runbook_server.max_instances = self.max_instances.unwrap_or(config.runbook_server.max_instances);
        let metrics = &mut config.metrics;
        metrics.port = self.metrics_port.or(metrics.port);
        metrics.bind = self.metrics_bind.or(metrics.bind);
        if let Some(token) = self.metrics_token {
            metrics.token = Some(crate::config::Secret(token));
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Recover access: make sure the user `admin` exists and is a system administrator, and print
    /// a new API token for it (audited). Opens the database named by --data-dir (SQLite) or
    /// --database (PostgreSQL) directly: needs access to it, no server and no token; servers may
    /// be running.
    Reset,
}

#[derive(Debug, Subcommand)]
pub enum PortsCommand {
    /// Try each row from here and say which firewall rule is missing.
    Check,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print it as TOML.
    Show,
}

#[derive(Debug, Subcommand)]
pub enum RunbookCommand {
    /// Validate runbook files (YAML or JSON) and report every problem. Exit 0 if all are valid, 2 otherwise.
    Check {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// The Runbook Tester: run a runbook in this process, with no server, and show each activity run.
    Test(TestArgs),
    #[command(flatten)]
    Remote(RunbookRemote),
}

#[derive(Debug, Args)]
pub struct TestArgs {
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// A job parameter, NAME=VALUE (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// A global variable for this run, NAME=VALUE (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// A global variable kept encrypted: masked in every record (repeatable).
    #[arg(long = "secret-var", value_name = "NAME=VALUE")]
    pub secret_vars: Vec<String>,
    /// A counter and its starting value, NAME=VALUE (repeatable).
    #[arg(long = "counter", value_name = "NAME=VALUE")]
    pub counters: Vec<String>,
    /// A computer group for this run, NAME=HOST,HOST,... (repeatable).
    #[arg(long = "group", value_name = "NAME=HOSTS")]
    pub groups: Vec<String>,
    /// Print one JSON document (the contract in spec/runbook-format.md) instead of the live trace.
    #[arg(long)]
    pub json: bool,
    /// Activity runs in flight at once within the instance.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub max_parallel: usize,
}

/// Splits `NAME=VALUE`.
pub fn name_value(text: &str, flag: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => Ok((name.trim().to_string(), value.to_string())),
        _ => Err(format!("{flag} '{text}': write NAME=VALUE")),
    }
}

/// `scorch activities`: every activity type, by category.
pub fn print_activities(markdown: bool) {
    let registry = scorch_activities::standard();
    let mut all: Vec<scorch_activity::Descriptor> = registry.iter().map(|a| *a.descriptor()).collect();
    all.push(scorch_engine::JUNCTION_DESCRIPTOR);
    all.sort_by_key(|d| (category_order(d.category), d.type_name));
    if markdown {
        out!("{}", activity_reference(&all).trim_end());
        return;
    }
    for d in all {
        out!("{:<30} {:<32} {}", d.category, d.type_name, d.summary);
    }
}

/// The spec's order of categories.
fn category_order(category: &str) -> usize {
    [
        "Runbook control",
        "System",
        "Files and folders",
        "Text files",
        "Utilities",
        "Other computers and services",
        "The runbook server's own host",
    ]
    .iter()
    .position(|c| *c == category)
    .unwrap_or(usize::MAX)
}

fn activity_reference(all: &[scorch_activity::Descriptor]) -> String {
    let mut out = String::from(
        "# Activity reference\n\nGenerated by `scorch activities --markdown` from the activities' descriptors; \
         do not edit (a test fails when it is stale). [activities.md](activities.md) explains each one.\n",
    );
    let mut category = "";
    for d in all {
        if d.category != category {
            category = d.category;
            out.push_str(&format!("\n## {category}\n\n| type | properties (* required) | publishes | re-run after failover |\n|---|---|---|---|\n"));
        }
        let props: Vec<String> = d
            .properties
            .iter()
            .map(|p| {
                if d.required.contains(p) {
                    format!("`{p}`*")
                } else {
                    format!("`{p}`")
                }
            })
            .collect();
        let publishes: Vec<String> = d.publishes.iter().map(|p| format!("`{p}`")).collect();
        let publishes = if publishes.is_empty() {
            "(from its properties)".to_string()
        } else {
            publishes.join(", ")
        };
        let rerun = if d.idempotent { "yes" } else { "no: fails `interrupted`" };
        out.push_str(&format!(
            "| `{}` | {} | {publishes} | {rerun} |\n",
            d.type_name,
            props.join(", ")
        ));
    }
    out
}
