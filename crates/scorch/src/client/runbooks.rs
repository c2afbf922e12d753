//! `scorch runbook push|pull|list|checkout|checkin|undo-checkout` and `scorch folder`: the
//! Runbook Designer's side, through the management server.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use scorch_server::management::wire::{
    CheckIn, CheckedIn, CheckoutState, FolderItem, NewFolder, RunbookItem, RunbookSource,
};
use uuid::Uuid;

use super::connect;
use super::http::{Api, ClientError, FAILED, INVALID};
use super::terminal::{runbook_path, table};
use crate::cli::{Connection, FolderCommand, RunbookRemote};
use crate::runbook_file::read_plan;

pub async fn run(cmd: RunbookRemote, conn: &Connection) -> u8 {
    let result = match cmd {
        RunbookRemote::Push { files, folder } => return push(&files, folder.as_deref(), conn, false).await,
        RunbookRemote::Checkin { file, folder } => return push(&[file], folder.as_deref(), conn, true).await,
        RunbookRemote::Pull { path, version, output } => pull(&path, version, output.as_deref(), conn).await,
        RunbookRemote::List { folder } => list(folder.as_deref(), conn).await,
        RunbookRemote::Checkout { path } => check_out(&path, conn).await,
        RunbookRemote::UndoCheckout { path, force } => undo_check_out(&path, force, conn).await,
    };
    match result {
        Ok(()) => 0,
        Err(e) => e.report(),
    }
}

/// Validates every file here (so problems show as FILE:LINE:COL before any network call),
/// then checks each in. 0 when all were stored; 2 when a file is invalid; 1 otherwise.
async fn push(files: &[PathBuf], folder: Option<&str>, conn: &Connection, check_in: bool) -> u8 {
    let registry = scorch_activities::standard();
    let mut invalid = false;
    let mut sources = Vec::new();
    for file in files {
        match read_plan(file, &registry) {
            Ok(_) => match std::fs::read_to_string(file) {
                Ok(text) => sources.push((file, text)),
                Err(e) => {
                    eprintln!("{}: cannot read: {e}", file.display());
                    invalid = true;
                }
            },
            Err(problems) => {
                problems.iter().for_each(|p| eprintln!("{p}"));
                invalid = true;
            }
        }
    }
    if invalid {
        eprintln!("scorch: nothing was pushed: fix the problems above (scorch runbook check FILE)");
        return INVALID;
    }
    let api = match connect::management(conn) {
        Ok(api) => api,
        Err(e) => return e.report(),
    };
    let mut code = 0;
    for (file, source) in sources {
        let body = CheckIn {
            source,
            folder: folder.map(str::to_string),
        };
        match api.post::<CheckedIn>(&["api", "v1", "runbooks"], &body).await {
            Ok(done) => {
                let verb = if check_in { "checked in" } else { "pushed" };
                out!(
                    "{verb} {} version {} ({})",
                    runbook_path(&done.folder, &done.name),
                    done.version,
                    file.display()
                );
            }
            Err(e) if !e.diagnostics.is_empty() => {
                // The server's activity types differ from this build's: its problems, by line.
                e.diagnostics.iter().for_each(|d| eprintln!("{}:{d}", file.display()));
                code = code.max(INVALID);
            }
            Err(e) => {
                eprintln!("scorch: {}: {e}", file.display());
                if e.exit == 2 {
                    code = code.max(INVALID);
                } else if code == 0 {
                    code = FAILED;
                }
            }
        }
    }
    code
}

/// A runbook named by FOLDER/NAME (NAME at the root) or by id.
pub async fn resolve(api: &Api, path: &str) -> Result<RunbookItem, ClientError> {
    let trimmed = path.trim().trim_matches('/');
    let all: Vec<RunbookItem>;
    let found = if let Ok(id) = Uuid::parse_str(trimmed) {
        all = api.get(&["api", "v1", "runbooks"], &[]).await?;
        all.into_iter().find(|r| r.id == id)
    } else {
        let (folder, name) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
        let query = if folder.is_empty() {
            Vec::new()
        } else {
            vec![("folder", folder.to_string())]
        };
        all = api.get(&["api", "v1", "runbooks"], &query).await?;
        all.into_iter().find(|r| r.folder == folder && r.name == name)
    };
    found.ok_or_else(|| {
        ClientError::failed(format!(
            "runbook '{path}' not found on the management server (`scorch runbook list` shows the ones you may see)"
        ))
    })
}

async fn pull(path: &str, version: Option<i64>, output: Option<&Path>, conn: &Connection) -> Result<(), ClientError> {
    let api = connect::management(conn)?;
    let runbook = resolve(&api, path).await?;
    let id = runbook.id.to_string();
    let query: Vec<(&str, String)> = version.map(|v| ("version", v.to_string())).into_iter().collect();
    let source: RunbookSource = api.get(&["api", "v1", "runbooks", &id, "source"], &query).await?;
    match output {
        Some(file) => {
            std::fs::write(file, &source.source)
                .map_err(|e| ClientError::failed(format!("cannot write {}: {e}", file.display())))?;
            out!(
                "pulled {} version {} to {}",
                runbook_path(&source.folder, &source.name),
                source.version,
                file.display()
            );
        }
        None => {
            let mut stdout = std::io::stdout();
            let _ = stdout.write_all(source.source.as_bytes());
            let _ = stdout.flush();
        }
    }
    Ok(())
}

async fn list(folder: Option<&str>, conn: &Connection) -> Result<(), ClientError> {
    let api = connect::management(conn)?;
    let query: Vec<(&str, String)> = folder.map(|f| ("folder", f.to_string())).into_iter().collect();
    let mut runbooks: Vec<RunbookItem> = api.get(&["api", "v1", "runbooks"], &query).await?;
    runbooks.sort_by(|a, b| (&a.folder, &a.name).cmp(&(&b.folder, &b.name)));
    let rows = runbooks
        .into_iter()
        .map(|r| {
            vec![
                runbook_path(&r.folder, &r.name),
                r.latest_version.to_string(),
                r.checked_out_by.unwrap_or_else(|| "-".into()),
                r.updated_at,
            ]
        })
        .collect();
    table(&["RUNBOOK", "VERSION", "CHECKED OUT BY", "UPDATED"], rows);
    Ok(())
}

async fn check_out(path: &str, conn: &Connection) -> Result<(), ClientError> {
    let api = connect::management(conn)?;
    let runbook = resolve(&api, path).await?;
    let id = runbook.id.to_string();
    let state: CheckoutState = api
        .post(&["api", "v1", "runbooks", &id, "checkout"], &serde_json::json!({}))
        .await?;
    out!(
        "checked out {} (version {}): `scorch runbook checkin FILE` makes the next version",
        runbook_path(&state.folder, &state.name),
        state.latest_version
    );
    Ok(())
}

async fn undo_check_out(path: &str, force: bool, conn: &Connection) -> Result<(), ClientError> {
    let api = connect::management(conn)?;
    let runbook = resolve(&api, path).await?;
    let id = runbook.id.to_string();
    let query: Vec<(&str, String)> = if force {
        vec![("force", "true".into())]
    } else {
        Vec::new()
    };
    let url = api.url(&["api", "v1", "runbooks", &id, "undo-checkout"], &query);
    let state: CheckoutState = api
        .send(reqwest::Method::POST, url, Some(&serde_json::json!({})), None)
        .await?;
    let held = runbook
        .checked_out_by
        .map(|h| format!(" (was checked out by {h})"))
        .unwrap_or_default();
    out!("released {}{held}", runbook_path(&state.folder, &state.name));
    Ok(())
}

/// `scorch folder list|create|delete`.
pub async fn folder(cmd: FolderCommand, conn: &Connection) -> Result<(), ClientError> {
    let api = connect::management(conn)?;
    match cmd {
        FolderCommand::List => {
            let folders: Vec<FolderItem> = api.get(&["api", "v1", "folders"], &[]).await?;
            for f in folders {
                out!("/{}", f.path);
            }
        }
        FolderCommand::Create { path } => {
            let made: FolderItem = api.post(&["api", "v1", "folders"], &NewFolder { path }).await?;
            out!("created folder /{}", made.path);
        }
        FolderCommand::Delete { path } => {
            let mut segments = vec!["api", "v1", "folders"];
            segments.extend(path.split('/').filter(|s| !s.is_empty()));
            if segments.len() == 3 {
                return Err(ClientError::invalid("the root folder cannot be deleted; name a folder"));
            }
            api.delete(&segments, &[]).await?;
            out!("deleted folder /{}", path.trim_matches('/'));
        }
    }
    Ok(())
}
