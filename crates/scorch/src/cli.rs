//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "scorch", version, about = "Runbook automation: author runbooks, run them reliably and fast")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check and test runbook files.
    Runbook {
        #[command(subcommand)]
        command: RunbookCommand,
    },
    /// List the activity types this build knows.
    Activities,
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
pub fn print_activities() {
    let registry = scorch_activities::standard();
    let mut rows: Vec<(&str, &str, &str)> =
        registry.iter().map(|a| a.descriptor()).map(|d| (d.category, d.type_name, d.summary)).collect();
    rows.push(("Runbook control", scorch_engine::JUNCTION, "Waits for every branch into it, then fires once."));
    rows.sort();
    for (category, name, summary) in rows {
        println!("{category:<18} {name:<24} {summary}");
    }
}
