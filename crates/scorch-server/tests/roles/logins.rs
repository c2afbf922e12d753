//! Password sign-in under attack: attempts are limited per user and per address, and the
//! argon2 work (19 MiB a password) is bounded however many attempts come at once.

use crate::support::{Answer, Roles, exchange, request};
use scorch_server::auth::hash_password;
use scorch_server::serve::HttpLimits;
use serde_json::json;

/// One at a time: the memory test measures the process, which the others would disturb.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn sign_in(roles: &Roles, user: &str, password: &str) -> Answer {
    let body = json!({ "user": user, "password": password });
    exchange(roles.management, &request("POST", "/api/v1/session", None, Some(&body))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_wrong_passwords_for_a_user_are_refused_with_429() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let roles = Roles::start(HttpLimits::default()).await;
    for user in ["ann", "bob"] {
        let phc = hash_password("correct horse battery").unwrap();
        roles.store.create_user(user, Some(&phc), false).await.unwrap();
    }
    let answer = sign_in(&roles, "ann", "correct horse battery").await;
    assert_eq!(answer.status, 200, "a correct password signs in: {answer}");
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(sign_in(&roles, "ann", "wrong").await.status);
    }
    assert_eq!(statuses[..9], [401; 9], "{statuses:?}");
    assert_eq!(statuses[9..], [429; 3], "ten attempts a minute: {statuses:?}");

    let answer = sign_in(&roles, "ann", "correct horse battery").await;
    assert_eq!(
        (answer.status, answer.code()),
        (429, "too_many_attempts".into()),
        "{answer}"
    );
    let retry_after: u64 = answer
        .header("retry-after")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a Retry-After in seconds: {answer}"));
    assert!((1..=6).contains(&retry_after), "{retry_after}");

    let answer = sign_in(&roles, "bob", "correct horse battery").await;
    assert_eq!(
        answer.status, 200,
        "another user signs in from the same address: {answer}"
    );
    // The web service counts the same attempts.
    let body = json!({ "user": "ann", "password": "correct horse battery" });
    let answer = exchange(roles.web, &request("POST", "/api/v1/session", None, Some(&body))).await;
    assert_eq!(answer.status, 429, "{answer}");

    let audit = exchange(
        roles.management,
        &request("GET", "/api/v1/audit", Some(&roles.admin), None),
    )
    .await;
    let sessions: Vec<String> = audit
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "session.create")
        .map(|e| e["detail"]["user"].to_string())
        .collect();
    assert_eq!(sessions, ["\"bob\"", "\"ann\""], "no session for a refused attempt");
    roles.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_from_one_address_are_limited_whatever_the_user() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let roles = Roles::start(HttpLimits::default()).await;
    // At once (an allowance comes back every 2 s), through both roles, which count together.
    let attempts: Vec<_> = (0..32)
        .map(|n| {
            let body = json!({ "user": format!("nobody{n}"), "password": "guess" });
            (
                roles.both()[n % 2],
                request("POST", "/api/v1/session", None, Some(&body)),
            )
        })
        .collect();
    let answers = futures_util::future::join_all(attempts.iter().map(|(role, a)| exchange(*role, a))).await;
    let count = |status| answers.iter().filter(|a| a.status == status).count();
    assert_eq!(
        (count(401), count(429)),
        (30, 2),
        "thirty attempts a minute from one address"
    );
    roles.stop().await;
}

/// A field of this process's `/proc/self/status`, in bytes.
fn memory(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"));
    kib * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_wrong_passwords_take_bounded_memory() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let roles = Roles::start(HttpLimits::default()).await;
    // Thirty different unknown users from one address: all allowed, each an argon2 check.
    let attempts: Vec<_> = (0..30)
        .map(|n| {
            let body = json!({ "user": format!("nobody{n}"), "password": "guess" });
            request("POST", "/api/v1/session", None, Some(&body))
        })
        .collect();
    // From here the peak resident memory is measured (writing 5 resets it).
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak resident memory");
    let before = memory("VmRSS");
    let answers = futures_util::future::join_all(attempts.iter().map(|a| exchange(roles.management, a))).await;
    let grown = memory("VmHWM").saturating_sub(before) / (1024 * 1024);
    assert!(answers.iter().all(|a| a.status == 401), "{answers:?}");
    assert!(
        grown < 100,
        "30 attempts at once took {grown} MiB more (19 MiB each when unbounded)"
    );
    roles.stop().await;
}
