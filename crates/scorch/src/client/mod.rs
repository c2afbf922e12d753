//! The commands that talk to servers: authoring through the management server (runbook
//! push/pull/check-out, folders, settings, users and tokens), operations through the REST web
//! service (jobs). Each returns an exit code: 0 ok, 1 failure, 2 bad arguments or invalid input.

mod connect;
mod http;
mod instances;
mod jobs;
mod runbooks;
mod runs;
mod schedules;
mod settings;
mod terminal;
mod users;
mod watch;
mod yaml;

use crate::cli::{ClientCommand, Connection, RunbookRemote};

/// `scorch runbook push|pull|list|checkout|checkin|undo-checkout`.
pub async fn run_runbook(cmd: RunbookRemote, conn: &Connection) -> u8 {
    runbooks::run(cmd, conn).await
}

/// Every other command that talks to a server.
pub async fn run(cmd: ClientCommand, conn: &Connection) -> u8 {
    let result = match cmd {
        ClientCommand::Job { command } => return jobs::run(command, conn).await,
        ClientCommand::Instance { command } => instances::run(command, conn).await,
        ClientCommand::Var { command } => settings::var(command, conn).await,
        ClientCommand::Counter { command } => settings::counter(command, conn).await,
        ClientCommand::Group { command } => settings::group(command, conn).await,
        ClientCommand::Schedule { command } => schedules::schedule(command, conn).await,
        ClientCommand::Folder { command } => runbooks::folder(command, conn).await,
        ClientCommand::User { command } => users::user(command, conn).await,
        ClientCommand::Token { command } => users::token(command, conn).await,
        ClientCommand::Login { user, password_stdin } => users::login(&user, password_stdin, conn).await,
        ClientCommand::Purge {
            runbook,
            keep_last,
            older_than_days,
            dry_run,
        } => jobs::purge(runbook, keep_last, older_than_days, dry_run, conn).await,
        ClientCommand::Audit { limit } => users::audit(limit, conn).await,
    };
    match result {
        Ok(()) => 0,
        Err(e) => e.report(),
    }
}
