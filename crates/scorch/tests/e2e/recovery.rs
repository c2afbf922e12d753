//! Access recovery: `scorch admin reset` opens the database directly (no server, no token) and
//! issues the administrator a new token, audited, while the servers run; on SQLite and on
//! PostgreSQL. And `--admin-token` on a database that has users says it does nothing.

use std::time::Duration;

use serde_json::Value;

use crate::support::{Fleet, Proc, Run, eventually, free_port, scorch_command};

/// `scorch admin reset` on `database` (`--data-dir DIR` or `--database URL`) as OS user `os_user`.
async fn reset(fleet: &Fleet, database: &[&str], os_user: &str) -> Run {
    let mut cmd = scorch_command(fleet.dir.path());
    cmd.args(["admin", "reset"]).args(database).env("USER", os_user);
    tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("the command's thread")
        .expect("run scorch")
        .into()
}

/// The new token a reset printed (alone on stdout).
fn token(run: Run) -> String {
    let run = run.ok();
    let token = run.stdout.trim().to_string();
    assert!(token.starts_with("sct_") && !token.contains('\n'), "{run:?}");
    token
}

/// User `admin`'s row in `scorch user list`, and the newest audit entry, through the servers.
async fn admin_and_last_audit(fleet: &Fleet, token: &str) -> (String, Value) {
    let listed = fleet.scorch_as(token, &["user", "list"]).await.ok().stdout;
    let admin_row = listed
        .lines()
        .find(|l| l.starts_with("admin "))
        .unwrap_or_else(|| panic!("{listed}"))
        .to_string();
    let (status, audit) = crate::support::send(
        fleet
            .http
            .get(format!("{}/api/v1/audit?limit=1", fleet.management))
            .bearer_auth(token),
    )
    .await;
    assert_eq!(status, 200, "{audit}");
    (admin_row, audit[0].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_reset_recovers_a_deleted_administrator_on_sqlite_while_up_runs() {
    let mut fleet = Fleet::sqlite();
    fleet.start_up("up").await;
    let data = fleet.path("data").display().to_string();
    // The only other administrator deletes `admin`, then its token is lost too.
    fleet.scorch(&["user", "create", "helper", "--admin"]).await.ok();
    let helper = fleet
        .scorch(&["token", "create", "helper"])
        .await
        .ok()
        .stdout
        .trim()
        .to_string();
    fleet.scorch_as(&helper, &["user", "delete", "admin"]).await.ok();
    let gone = fleet.scorch(&["user", "list"]).await;
    assert_eq!(gone.code, Some(1), "the old token went with its user: {gone:?}");

    let recovered = token(reset(&fleet, &["--data-dir", &data], "opsperson").await);
    let (admin, audit) = admin_and_last_audit(&fleet, &recovered).await;
    assert!(admin.contains(" admin "), "an administrator again: {admin}");
    assert_eq!(audit["action"], "admin.reset", "{audit}");
    assert_eq!(audit["actor"], "local recovery (OS user opsperson)", "{audit}");
    assert!(
        !audit.to_string().contains(&recovered[4..]),
        "no secret in the audit: {audit}"
    );

    assert_eq!(audit["detail"]["admin"], "re-created", "{audit}");

    // `admin` no longer an administrator (demoted in the database): made one again; its first
    // recovered token works as before, the new one too.
    let file = format!("sqlite:{data}/scorch.db");
    let store = scorch_store::SqliteStore::open(&file)
        .await
        .expect("open the database beside up");
    scorch_store::prelude::Access::set_admin(&store, "admin", false)
        .await
        .unwrap();
    drop(store);
    let second = token(reset(&fleet, &["--data-dir", &data], "opsperson").await);
    let (admin, audit) = admin_and_last_audit(&fleet, &second).await;
    assert!(admin.contains(" admin "), "{admin}");
    assert_eq!(audit["detail"]["admin"], "made administrator", "{audit}");
    fleet.scorch_as(&recovered, &["var", "list"]).await.ok();

    // A directory with no database is a mistake, not a new empty database.
    let empty = fleet.path("elsewhere").display().to_string();
    let refused = reset(&fleet, &["--data-dir", &empty], "opsperson").await;
    assert_eq!(refused.code, Some(2), "{refused:?}");
    assert!(refused.stderr.contains("no database at"), "{}", refused.stderr);
    assert!(!fleet.path("elsewhere").exists());

    // --admin-token on a database with users takes no effect, and says so at start.
    let port = free_port();
    let args: Vec<String> = [
        "web-service",
        "--data-dir",
        &data,
        "--bind",
        "127.0.0.1",
        "--web-port",
        &port.to_string(),
        "--admin-token",
        "sct_forgotten_long_ago",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let web = Proc::spawn("web-again", fleet.dir.path(), &args);
    eventually("the warning about --admin-token", Duration::from_secs(30), || async {
        web.log_text().contains("--admin-token has no effect").then_some(())
    })
    .await;
    assert!(web.log_text().contains("scorch admin reset"), "{}", web.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_reset_on_postgres_gives_a_token_the_fleet_accepts() {
    let Some(mut fleet) = Fleet::postgres() else { return };
    fleet.start_management().await;
    let url = fleet.db.as_ref().unwrap().url.clone();
    // Its token is lost: `admin` gets another, beside it.
    let recovered = token(reset(&fleet, &["--database", &url], "dba").await);
    let (admin, audit) = admin_and_last_audit(&fleet, &recovered).await;
    assert!(admin.contains(" admin "), "{admin}");
    fleet.scorch(&["var", "list"]).await.ok();
    assert_eq!(
        (audit["action"].as_str(), audit["actor"].as_str()),
        (Some("admin.reset"), Some("local recovery (OS user dba)")),
        "{audit}"
    );
    let bad = reset(&fleet, &["--database", "postgres://127.0.0.1:1/none"], "dba").await;
    assert_eq!(bad.code, Some(1), "{bad:?}");
}
