//! `scorch admin reset`: access recovery for whoever can reach the orchestration database (the
//! SQLite file, or the PostgreSQL URL of a fleet). No server and no token needed: it makes sure
//! the user `admin` exists and is a system administrator, issues it a new API token, prints the
//! token once, and records that in the audit trail. Running servers pick the change up (they read
//! tokens from the same database).

use std::sync::Arc;

use scorch_store::{NewAudit, Store, StoreError};
use serde_json::json;

use crate::config::Config;
use crate::roles::{Roles, open_store, redact_url};

/// The user the recovery restores.
const ADMIN: &str = "admin";

/// Who ran the recovery, for the audit trail: the OS user's name when known, else its uid (and
/// the one behind `sudo`).
pub struct OsUser {
    pub name: Option<String>,
    pub uid: Option<u32>,
    pub sudo_user: Option<String>,
}

impl OsUser {
    fn actor(&self) -> String {
        let who = match (&self.name, self.uid) {
            (Some(name), _) => name.clone(),
            (None, Some(uid)) => format!("uid {uid}"),
            (None, None) => "unknown".to_string(),
        };
        match &self.sudo_user {
            Some(sudo) if *sudo != who => format!("local recovery (OS user {who}, via sudo by {sudo})"),
            _ => format!("local recovery (OS user {who})"),
        }
    }
}

/// `scorch admin reset`: 0 with the new token on stdout, 1 when the database cannot be used, 2
/// when there is none where the configuration points.
pub async fn reset(config: &Config, os_user: &OsUser) -> u8 {
    let url = config.database_url();
    // An embedded database that is not there is a mistyped --data-dir: creating an empty one would
    // "recover" nothing.
    if config.database.is_none() {
        let file = config.data_dir.join("scorch.db");
        if !file.is_file() {
            eprintln!(
                "scorch: no database at {}: give the data directory the server runs with (--data-dir DIR), \
                 or --database URL for PostgreSQL",
                file.display()
            );
            return 2;
        }
    }
    let store = match open_store(config, Roles::NONE).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    match restore(&store, &os_user.actor()).await {
        Ok((token, changes)) => {
            eprintln!(
                "{changes}; a new API token for '{ADMIN}' on {} (shown once, keep it; \
                 its other tokens still work: `scorch token list {ADMIN}`, `scorch token revoke ID`):",
                redact_url(&url)
            );
            out!("{token}");
            0
        }
        Err(e) => {
            eprintln!("scorch: admin reset on {}: {e}", redact_url(&url));
            1
        }
    }
}

/// What the recovery did to `admin` before giving it a token: (for the audit, for people).
const KEPT: (&str, &str) = ("kept", "'admin' is a system administrator");
const PROMOTED: (&str, &str) = ("made administrator", "made 'admin' a system administrator again");
const RECREATED: (&str, &str) = ("re-created", "re-created the administrator 'admin'");

/// Re-creates or re-empowers `admin` as needed, gives it a token and audits it; the token and
/// what was done.
async fn restore(store: &Arc<dyn Store>, actor: &str) -> Result<(String, &'static str), StoreError> {
    let (user, (done, changes)) = match store.user(ADMIN).await {
        Ok(user) if user.admin => (user, KEPT),
        Ok(user) => {
            store.set_admin(ADMIN, true).await?;
            (user, PROMOTED)
        }
        Err(StoreError::NotFound(_)) => match store.create_user(ADMIN, None, true).await {
            Ok(user) => (user, RECREATED),
            // Made meanwhile (a server's first start): take it as it is.
            Err(StoreError::Conflict(_)) => (store.user(ADMIN).await?, KEPT),
            Err(e) => return Err(e),
        },
        Err(e) => return Err(e),
    };
    let token = scorch_server::auth::new_token();
    let info = store
        .create_token(ADMIN, &scorch_server::auth::token_hash(&token), "admin reset")
        .await?;
    let detail = json!({ "user": ADMIN, "token_id": info.id.to_string(), "admin": done });
    let audited = store
        .audit(NewAudit {
            actor,
            action: "admin.reset",
            object_type: "user",
            object_id: Some(user.id),
            detail: &detail,
        })
        .await;
    if let Err(e) = audited {
        // A recovery nobody can see afterwards must not stand.
        store.revoke_token(info.id).await?;
        return Err(e);
    }
    Ok((token, changes))
}
