//! TLS on a listening port: a real handshake with a certificate made by openssl for the test.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use scorch_server::api::AppState;
use scorch_server::listener::{Listener, acceptor};
use scorch_server::plans::Plans;
use scorch_store::{SqliteStore, Store};
use tokio_util::sync::CancellationToken;

/// A self-signed server certificate (not a CA: rustls refuses a CA as an end entity) for
/// localhost and 127.0.0.1.
fn make_certificate(dir: &Path) {
    let args = "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
                -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -addext basicConstraints=critical,CA:FALSE \
                -addext extendedKeyUsage=serverAuth";
    let status = Command::new("openssl")
        .args(args.split_whitespace())
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success());
}

#[tokio::test]
async fn the_management_server_speaks_tls() {
    let dir = tempfile::tempdir().unwrap();
    make_certificate(dir.path());
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&format!("sqlite:{}", dir.path().join("db").display()))
            .await
            .unwrap(),
    );
    let plans = Arc::new(Plans::new(Arc::new(scorch_activities::standard())));
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let listener = Listener::tls(
        tcp,
        acceptor(&dir.path().join("cert.pem"), &dir.path().join("key.pem")).unwrap(),
    );
    assert_eq!(listener.scheme(), "https");
    let stop = CancellationToken::new();
    let server = tokio::spawn(scorch_server::management::serve(
        listener,
        AppState::new(store, plans),
        scorch_server::serve::HttpLimits::default(),
        stop.clone(),
    ));

    // Plain HTTP to a TLS port gets nowhere, and does not take the server down.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/health"))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());

    let ca = reqwest::Certificate::from_pem(&std::fs::read(dir.path().join("cert.pem")).unwrap()).unwrap();
    let client = reqwest::Client::builder().add_root_certificate(ca).build().unwrap();
    let answer = client
        .get(format!("https://localhost:{port}/health"))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
    let denied = client
        .get(format!("https://127.0.0.1:{port}/api/v1/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), reqwest::StatusCode::UNAUTHORIZED);
    stop.cancel();
    server.await.unwrap();
}

#[test]
fn unreadable_certificates_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.pem");
    let err = acceptor(&missing, &missing).err().expect("refused");
    assert!(err.contains("nope.pem"), "{err}");
    std::fs::write(dir.path().join("empty.pem"), "").unwrap();
    let err = acceptor(&dir.path().join("empty.pem"), &missing)
        .err()
        .expect("refused");
    assert!(err.contains("empty.pem"), "{err}");
}
