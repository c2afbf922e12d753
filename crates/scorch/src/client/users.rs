//! `scorch user`, `scorch token`, `scorch login` and `scorch audit`: people and permissions on
//! the management server.

use scorch_server::api::wire::{AuditItem, Login, Session};
use scorch_server::management::wire::{CreatedToken, NewToken, NewUser, SetGrant, TokenItem, UserItem};
use uuid::Uuid;

use super::connect;
use super::http::ClientError;
use super::terminal::{read_stdin_line, table};
use crate::cli::{Connection, TokenCommand, UserCommand};

fn grants(user: &UserItem) -> String {
    if user.grants.is_empty() {
        return "-".into();
    }
    user.grants
        .iter()
        .map(|g| format!("{}:{}", if g.folder.is_empty() { "/" } else { &g.folder }, g.role))
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn user(cmd: UserCommand, conn: &Connection) -> Result<(), ClientError> {
    let api = connect::management(conn)?;
    match cmd {
        UserCommand::List => {
            let users: Vec<UserItem> = api.get(&["api", "v1", "users"], &[]).await?;
            let rows = users
                .iter()
                .map(|u| {
                    let kind = if u.admin { "admin" } else { "user" };
                    let login = if u.has_password { "password, tokens" } else { "tokens" };
                    vec![u.name.clone(), kind.to_string(), login.to_string(), grants(u)]
                })
                .collect();
            table(&["NAME", "KIND", "LOGS IN WITH", "GRANTS"], rows);
        }
        UserCommand::Create {
            name,
            password_stdin,
            admin,
        } => {
            let password = if password_stdin {
                Some(read_stdin_line("password")?)
            } else {
                None
            };
            let made: UserItem = api
                .post(&["api", "v1", "users"], &NewUser { name, password, admin })
                .await?;
            let kind = if made.admin { "administrator" } else { "user" };
            out!("created {kind} {}", made.name);
            if !made.has_password {
                out!("it logs in with tokens: scorch token create {}", made.name);
            }
        }
        UserCommand::Delete { name } => {
            api.delete(&["api", "v1", "users", &name], &[]).await?;
            out!("deleted user {name}");
        }
        UserCommand::Grant { user, folder, role } => {
            let body = SetGrant {
                user,
                folder,
                role: role.to_lowercase(),
            };
            let updated: UserItem = api.put(&["api", "v1", "grants"], &body).await?;
            out!("{} now has: {}", updated.name, grants(&updated));
        }
        UserCommand::Revoke { user, folder } => {
            let query = [("user", user), ("folder", folder)];
            let updated: serde_json::Value = api.delete(&["api", "v1", "grants"], &query).await?;
            let updated: UserItem = serde_json::from_value(updated)
                .map_err(|e| ClientError::failed(format!("the management server answered unexpected JSON: {e}")))?;
            out!("{} now has: {}", updated.name, grants(&updated));
        }
    }
    Ok(())
}

pub async fn token(cmd: TokenCommand, conn: &Connection) -> Result<(), ClientError> {
    let api = connect::management(conn)?;
    match cmd {
        TokenCommand::Create { user, label } => {
            let made: CreatedToken = api
                .post(&["api", "v1", "users", &user, "tokens"], &NewToken { label })
                .await?;
            eprintln!("token {} for {} (shown this once; keep it secret):", made.id, made.user);
            out!("{}", made.token);
        }
        TokenCommand::List { user } => {
            let tokens: Vec<TokenItem> = api.get(&["api", "v1", "users", &user, "tokens"], &[]).await?;
            let rows = tokens
                .into_iter()
                .map(|t| {
                    let state = if t.revoked { "revoked" } else { "active" };
                    vec![t.id.to_string(), t.label, t.created_at, state.to_string()]
                })
                .collect();
            table(&["ID", "LABEL", "CREATED", "STATE"], rows);
        }
        TokenCommand::Revoke { id } => {
            let id = Uuid::parse_str(id.trim()).map_err(|_| {
                ClientError::invalid(format!(
                    "'{id}' is not a token id (`scorch token list USER` shows them)"
                ))
            })?;
            api.delete(&["api", "v1", "tokens", &id.to_string()], &[]).await?;
            out!("revoked token {id}");
        }
    }
    Ok(())
}

/// `scorch login USER --password-stdin`: prints a new token.
pub async fn login(user: &str, password_stdin: bool, conn: &Connection) -> Result<(), ClientError> {
    if !password_stdin {
        return Err(ClientError::invalid(
            "give the password on standard input with --password-stdin (so it stays out of the command line)",
        ));
    }
    let password = read_stdin_line("password")?;
    let api = connect::management(conn)?.without_token_hint();
    let session: Session = api
        .post(
            &["api", "v1", "session"],
            &Login {
                user: user.to_string(),
                password,
            },
        )
        .await?;
    eprintln!("logged in as {user}; use the token below as --token or SCORCH_TOKEN:");
    out!("{}", session.token);
    Ok(())
}

/// `scorch audit --limit N`.
pub async fn audit(limit: u32, conn: &Connection) -> Result<(), ClientError> {
    let api = connect::management(conn)?;
    let entries: Vec<AuditItem> = api
        .get(&["api", "v1", "audit"], &[("limit", limit.to_string())])
        .await?;
    let rows = entries
        .into_iter()
        .map(|e| {
            let object = match e.object_id {
                Some(id) => format!("{} {id}", e.object_type),
                None => e.object_type,
            };
            vec![e.at, e.actor, e.action, object, e.detail.to_string()]
        })
        .collect();
    table(&["AT", "ACTOR", "ACTION", "OBJECT", "DETAIL"], rows);
    Ok(())
}
