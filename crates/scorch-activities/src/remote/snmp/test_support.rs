//! Real peers for the SNMP tests: Debian's `snmpd` and `snmptrapd` (net-snmp) on a free loopback
//! UDP port, their configuration, state and log in a temp dir, killed when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::test_peers::{find_program, peer_missing};

pub struct NetSnmp {
    child: Child,
    pub port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl NetSnmp {
    /// An agent answering community `public` read-only and `private` read-write. sysContact and
    /// sysLocation are writable because the configuration does not set them.
    pub fn agent() -> Option<Self> {
        Self::start(
            "snmpd",
            "rocommunity public 127.0.0.1\nrwcommunity private 127.0.0.1\n",
            &["-Lo"],
        )
    }

    /// A trap receiver that logs every trap it gets, from any community.
    pub fn trap_receiver() -> Option<Self> {
        Self::start("snmptrapd", "disableAuthorization yes\n", &["-Lo"])
    }

    /// What the program has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (bounded) until the log holds `text`; returns the log.
    pub fn wait_for(&self, text: &str) -> String {
        let started = Instant::now();
        loop {
            let log = self.log();
            if log.contains(text) {
                return log;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no '{text}' in the log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn start(program: &str, config: &str, args: &[&str]) -> Option<Self> {
        let Some(path) = find_program(program) else {
            peer_missing(program, "install Debian's snmpd and snmptrapd packages");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join(format!("{program}.conf"));
        std::fs::write(&conf, config).unwrap();
        let log = dir.path().join("log");
        let port = free_udp_port();
        let child = Command::new(path)
            .args(["-f", "-C", "-c"])
            .arg(&conf)
            .args(args)
            .arg(format!("udp:127.0.0.1:{port}"))
            // State (and values set at run time) stay in the temp dir; no MIBs are loaded, so
            // OIDs are logged numerically.
            .env("SNMP_PERSISTENT_DIR", dir.path().join("state"))
            .env("MIBS", "")
            .env("MIBDIRS", dir.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let peer = Self {
            child,
            port,
            log,
            _dir: dir,
        };
        peer.wait_for("NET-SNMP version");
        Some(peer)
    }
}

impl Drop for NetSnmp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback UDP port free at the time of asking.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free loopback UDP port")
}
