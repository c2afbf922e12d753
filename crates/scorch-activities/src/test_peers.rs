//! For this crate's tests: what a test does when a real peer it needs (sshd, snmpd, an SMTP
//! server) is missing, where such programs are, and free loopback ports to start them on.

use std::path::PathBuf;

// What a test does when its peer is missing, and where the test PostgreSQL server is: the same
// rules as the store's tests.
pub use scorch_store::test_peers::{peer_missing, postgres_server};

/// A program by name, looked for on `PATH` and in the system folders a non-root `PATH` lacks
/// (`sshd` and `snmpd` live in `/usr/sbin`).
#[allow(clippy::disallowed_methods, reason = "tests look for their peers on PATH")]
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A loopback TCP port free at the time of asking.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A self-signed certificate for 127.0.0.1 and localhost, made with the openssl CLI.
pub fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let config = dir.join("openssl.cnf");
    std::fs::write(
        &config,
        "[req]\ndistinguished_name=dn\nx509_extensions=ext\nprompt=no\n[dn]\nCN=scorch test peer\n\
         [ext]\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
        ])
        .arg("-config")
        .arg(&config)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    (cert, key)
}

/// A peer's process, killed when the test ends (passes or panics).
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits up to 10 s for a TCP listener on loopback `port`: a peer just started is ready.
pub fn wait_for_port(port: u16) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

/// The MariaDB (or MySQL) server database tests make their databases on: root, no password.
#[allow(
    clippy::disallowed_methods,
    reason = "tests take their peers' addresses from the environment"
)]
pub fn mariadb_server() -> String {
    std::env::var("SCORCH_TEST_MARIADB").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}
