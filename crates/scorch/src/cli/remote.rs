//! The command line of the commands that talk to servers: where the servers are, and the
//! commands (the `client` module runs them).

use std::fmt;
use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Where the servers are, and who is asking.
#[derive(Clone, Args)]
pub struct Connection {
    /// The management server (authoring commands).
    #[arg(
        long = "management",
        env = "SCORCH_MANAGEMENT_URL",
        value_name = "URL",
        default_value = "http://localhost:8135",
        global = true
    )]
    pub management: String,
    /// The REST web service (job commands).
    #[arg(
        long = "web-service",
        env = "SCORCH_WEB_SERVICE_URL",
        value_name = "URL",
        default_value = "http://localhost:81",
        global = true
    )]
    pub web_service: String,
    /// An API token (`scorch login` or `scorch token create` makes one).
    #[arg(
        long,
        env = "SCORCH_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub token: Option<String>,
    /// A PEM certificate to trust besides the system's (a server with a private CA's certificate).
    #[arg(long, env = "SCORCH_CA_CERT", value_name = "FILE", global = true)]
    pub ca_cert: Option<std::path::PathBuf>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("management", &self.management)
            .field("web_service", &self.web_service)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("ca_cert", &self.ca_cert)
            .finish()
    }
}

/// `scorch runbook ...` through the management server.
#[derive(Debug, Subcommand)]
pub enum RunbookRemote {
    /// Check runbook files in: validate here, then store each as a new version.
    Push {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Store in this folder instead of the one each file names.
        #[arg(long, value_name = "FOLDER")]
        folder: Option<String>,
    },
    /// Print (or save) the source of a checked-in version.
    Pull {
        /// FOLDER/NAME (or just NAME at the root), or the runbook's id.
        #[arg(value_name = "FOLDER/NAME")]
        path: String,
        /// This version instead of the latest.
        #[arg(long, value_name = "N")]
        version: Option<i64>,
        /// Write to this file instead of standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// List the runbooks on the management server.
    List {
        /// Only this folder and its subfolders.
        #[arg(long, value_name = "FOLDER")]
        folder: Option<String>,
    },
    /// Lock a runbook for your edits (others cannot check it in until you do).
    Checkout {
        #[arg(value_name = "FOLDER/NAME")]
        path: String,
    },
    /// Check a runbook file in (a new version) and release your check-out.
    Checkin {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Store in this folder instead of the one the file names.
        #[arg(long, value_name = "FOLDER")]
        folder: Option<String>,
    },
    /// Release a check-out without checking in.
    UndoCheckout {
        #[arg(value_name = "FOLDER/NAME")]
        path: String,
        /// Release someone else's check-out (needs Admin on the folder).
        #[arg(long)]
        force: bool,
    },
}

/// Top-level commands that talk to servers.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Start, list, show, cancel and run again jobs (through the web service).
    Job {
        #[command(subcommand)]
        command: JobCommand,
    },
    /// Instances (runs of runbooks) and their activity runs (through the web service).
    Instance {
        #[command(subcommand)]
        command: InstanceCommand,
    },
    /// Global variables (plain or encrypted).
    Var {
        #[command(subcommand)]
        command: VarCommand,
    },
    /// Global counters.
    Counter {
        #[command(subcommand)]
        command: CounterCommand,
    },
    /// Computer groups: `{{ group.NAME }}` in a host property runs the activity once per host.
    Group {
        #[command(subcommand)]
        command: GroupCommand,
    },
    /// Schedules: when runbooks that name one may start and monitors may fire.
    Schedule {
        #[command(subcommand)]
        command: ScheduleCommand,
    },
    /// The folder tree that holds runbooks and permissions.
    Folder {
        #[command(subcommand)]
        command: FolderCommand,
    },
    /// Users and their roles on folders (viewer, operator, author, admin).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Log in with a password and print a new API token (for SCORCH_TOKEN).
    Login {
        #[arg(value_name = "USER")]
        user: String,
        /// Read the password from standard input: one line from a pipe; on a terminal, prompted for without echo.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Delete finished instances by a retention rule.
    Purge {
        /// Only this runbook's instances (FOLDER/NAME or id).
        #[arg(long, value_name = "FOLDER/NAME")]
        runbook: Option<String>,
        /// Keep the last N instances of each runbook.
        #[arg(long, value_name = "N")]
        keep_last: Option<u32>,
        /// Only instances older than this many days.
        #[arg(long, value_name = "DAYS")]
        older_than_days: Option<u32>,
        /// Count what would be deleted, and delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// The audit trail, newest first.
    Audit {
        #[arg(long, default_value_t = 50, value_name = "N")]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Start a runbook (its latest checked-in version).
    Start {
        /// FOLDER/NAME (or just NAME at the root), or the runbook's id.
        #[arg(value_name = "FOLDER/NAME")]
        path: String,
        /// A job parameter, NAME=VALUE (repeatable).
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// List jobs, newest first.
    List {
        /// Only this runbook's jobs (FOLDER/NAME or id).
        #[arg(long, value_name = "FOLDER/NAME")]
        runbook: Option<String>,
        /// Only jobs in this status: pending, running, completed, failed, canceled.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50, value_name = "N")]
        limit: u32,
        /// Print the web service's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one job, its instances and each of their activity runs, where it failed first.
    Show {
        /// The job's id, its last 8 hex digits (as the console shows them), or a unique prefix.
        id: String,
        /// Print the web service's JSON: the job with its `instances`, each with its `activities`.
        #[arg(long)]
        json: bool,
    },
    /// Cancel a job (a running one is stopped: its processes are killed).
    Cancel {
        /// The job's id, its last 8 hex digits, or a unique prefix.
        id: String,
    },
    /// Follow a job live: its activity runs as they start and end, and what they print (stdout
    /// and stderr) as it comes. Exits when the job ends, like `job start --wait`.
    Watch {
        /// The job's id, its last 8 hex digits, or a unique prefix.
        id: String,
    },
    /// Run a job again: its runbook's latest version with the job's parameters.
    Rerun {
        /// The job's id, its last 8 hex digits, or a unique prefix.
        id: String,
        #[command(flatten)]
        wait: WaitArgs,
    },
}

/// How a command that starts a job (`job start`, `job rerun`) waits for it and prints it.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Wait for the job to end and show its outcome; exit 0 on success or warning, 1 otherwise.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits, in seconds.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub timeout: u64,
    /// Print JSON: the web service's job, or with --wait the document `scorch runbook test --json` prints.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum InstanceCommand {
    /// List instances, newest first.
    List {
        /// Only this job's instances (its id, last 8 hex digits, or a unique prefix).
        #[arg(long, value_name = "ID")]
        job: Option<String>,
        /// Only this runbook's instances (FOLDER/NAME or id).
        #[arg(long, value_name = "FOLDER/NAME")]
        runbook: Option<String>,
        /// Only instances in this status: running, success, warning, failed, canceled.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50, value_name = "N")]
        limit: u32,
        /// Print the web service's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one instance and each of its activity runs, where it failed first.
    Show {
        /// The instance's id, its last 8 hex digits (as the console shows them), or a unique prefix.
        id: String,
        /// Print the web service's JSON: the instance with its `activities`.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum VarCommand {
    /// Create or replace a variable (VALUE `-` reads it from standard input).
    Set {
        name: String,
        value: String,
        /// Store it encrypted: it is never shown again.
        #[arg(long)]
        encrypted: bool,
    },
    /// Print a variable's value (an encrypted one is never shown).
    Get {
        name: String,
    },
    List,
    Delete {
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CounterCommand {
    /// Create or set a counter (its reset value too).
    Set {
        name: String,
        #[arg(allow_negative_numbers = true)]
        value: i64,
    },
    Get {
        name: String,
    },
    List,
    Delete {
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create or replace a group with these hosts (names or addresses, in order).
    Set {
        name: String,
        #[arg(value_name = "HOST", required = true)]
        hosts: Vec<String>,
    },
    /// Its hosts, one a line.
    Get {
        name: String,
    },
    List,
    Delete {
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Create or replace a schedule from flags or from a file.
    Set {
        name: String,
        #[command(flatten)]
        definition: ScheduleDefinition,
    },
    /// Its definition, as YAML (what --file takes).
    Get {
        name: String,
        /// Print JSON instead.
        #[arg(long)]
        json: bool,
    },
    List,
    Delete {
        name: String,
    },
}

/// A schedule's definition: flags, or a file holding the object the API takes.
#[derive(Debug, Args)]
pub struct ScheduleDefinition {
    /// Days of the week: mon,tue,...,sun.
    #[arg(long, value_name = "DAYS", value_delimiter = ',')]
    pub days_of_week: Vec<String>,
    /// Days of the month: 1,15 or 1-21, all or last.
    #[arg(long, value_name = "DAYS")]
    pub days_of_month: Option<String>,
    /// With --days-of-week, which of the month's such days: first,second,third,fourth,last.
    #[arg(long, value_name = "WHICH", value_delimiter = ',')]
    pub occurrence: Vec<String>,
    /// Permitted hours, HH:MM-HH:MM (repeatable); none: the whole day.
    #[arg(long, value_name = "FROM-TO")]
    pub hours: Vec<String>,
    /// A date allowed or denied whatever the rest says, YYYY-MM-DD=allow|deny (repeatable).
    #[arg(long = "exception", value_name = "DATE=RULE")]
    pub exceptions: Vec<String>,
    /// An IANA time zone (Europe/Paris); UTC by default.
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,
    /// Read the definition from a YAML or JSON file instead of flags.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["days_of_week", "days_of_month", "occurrence", "hours", "exceptions", "timezone"]
    )]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum FolderCommand {
    List,
    /// Create a folder and its missing parents (needs Admin on the parent).
    Create {
        #[arg(value_name = "PATH")]
        path: String,
    },
    /// Delete an empty folder.
    Delete {
        #[arg(value_name = "PATH")]
        path: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    List,
    /// Create a user (token-only unless --password-stdin gives a password).
    Create {
        name: String,
        /// Read the user's password from standard input: one line from a pipe; on a terminal, prompted for without echo.
        #[arg(long)]
        password_stdin: bool,
        /// A system administrator.
        #[arg(long)]
        admin: bool,
    },
    Delete {
        name: String,
    },
    /// Give a user a role on a folder and its subfolders: viewer, operator, author or admin.
    Grant {
        user: String,
        #[arg(value_name = "FOLDER")]
        folder: String,
        role: String,
    },
    /// Remove a user's role on a folder.
    Revoke {
        user: String,
        #[arg(value_name = "FOLDER")]
        folder: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token for a user and print it (shown this once).
    Create {
        user: String,
        #[arg(long, default_value = "")]
        label: String,
    },
    /// A user's tokens (without their secrets).
    List {
        user: String,
    },
    Revoke {
        id: String,
    },
}
