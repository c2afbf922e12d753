//! The `scorch` binary: parses the command line and runs the chosen command. The only place that
//! installs logging and reads the environment.

/// `println!` that ignores a closed stdout (`scorch ... | head`) instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod cli;
mod runbook_file;
mod tester;
mod trace;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, RunbookCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("SCORCH_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("scorch: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let code = runtime.block_on(async {
        match cli.command {
            Command::Runbook {
                command: RunbookCommand::Check { files },
            } => runbook_file::check_files(&files),
            Command::Runbook {
                command: RunbookCommand::Test(args),
            } => tester::run(args).await,
            Command::Activities { markdown } => {
                cli::print_activities(markdown);
                0
            }
        }
    });
    ExitCode::from(code)
}
