//! `run_ssh_command` over 20 hosts against 20 `ssh` runs one after another (issue 16).
//!
//!     cargo run --release -p scorch-bench --bin ssh-bench
//!
//! Starts OpenSSH sshd (Debian's openssh-server) on 127.0.0.1 to 127.0.0.20 (20 addresses of the
//! loopback network, so 20 hosts; two sshd processes, as one listens on at most 16), then for each command: the wall time of a
//! shell running `ssh` to each host in turn, and of a runbook whose `run_ssh_command` has
//! `hosts: [20 entries]`, run by the engine (which runs the activity once per host, at once).
//! Prints both and their ratio (the target: at most one tenth). `sleep 1` stands for a command
//! that takes time on the host; `true` measures connecting alone, which on one machine is bound
//! by sshd's CPU rather than by waiting.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use scorch_activity::MemorySettings;
use scorch_engine::{Engine, EngineConfig, InstanceRequest, InstanceStatus, MemoryJournal, RegistryCatalog};
use scorch_model::{compile, load};

const HOSTS: usize = 20;
const COMMANDS: [&str; 2] = ["sleep 1", "true"];

fn main() {
    let Some(sshd) = ["/usr/sbin/sshd", "/usr/local/sbin/sshd"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
    else {
        eprintln!("ssh-bench needs sshd: apt-get install openssh-server");
        std::process::exit(2);
    };
    let dir = tempfile::tempdir().expect("temp folder");
    let d = dir.path();
    for name in ["host_key", "id_bench"] {
        let made = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(d.join(name))
            .status()
            .expect("run ssh-keygen");
        assert!(made.success(), "ssh-keygen failed");
    }
    let read = |name: &str| std::fs::read_to_string(d.join(name)).expect("key file");
    std::fs::write(d.join("authorized_keys"), read("id_bench.pub")).expect("authorized_keys");
    let port = free_port();
    // One wildcard entry for the 20 addresses.
    let host_key = read("host_key.pub")
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    std::fs::write(d.join("known_hosts"), format!("[127.0.0.*]:{port} {host_key}\n")).expect("known_hosts");
    if is_root() {
        std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
    }
    // sshd listens on at most 16 addresses: two of them serve ten each.
    let servers: Vec<Server> = (0..2)
        .map(|half| {
            let mut config = String::new();
            for i in 1..=HOSTS / 2 {
                config.push_str(&format!("ListenAddress 127.0.0.{}:{port}\n", half * HOSTS / 2 + i));
            }
            config.push_str(&format!(
                "HostKey {d}/host_key\nPidFile {d}/sshd{half}.pid\nAuthorizedKeysFile {d}/authorized_keys\n\
                 StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PermitRootLogin yes\nMaxStartups 200\nMaxSessions 200\nLogLevel ERROR\n",
                d = d.display()
            ));
            let file = d.join(format!("sshd{half}_config"));
            std::fs::write(&file, config).expect("sshd_config");
            let child = Command::new(sshd)
                .arg("-f")
                .arg(&file)
                .args(["-D", "-e"])
                .stdout(Stdio::null())
                .spawn()
                .expect("start sshd");
            Server(child)
        })
        .collect();
    let started = Instant::now();
    while ["127.0.0.1", "127.0.0.20"]
        .iter()
        .any(|a| std::net::TcpStream::connect((*a, port)).is_err())
    {
        assert!(started.elapsed() < Duration::from_secs(10), "sshd did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let user = String::from_utf8(Command::new("id").arg("-un").output().expect("id").stdout).expect("user name");
    let user = user.trim();

    println!("{HOSTS} hosts (sshd on 127.0.0.1-127.0.0.{HOSTS}), wall time:");
    for command in COMMANDS {
        let sequential = sequential_ssh(d, port, user, command);
        let engine = engine_run(d, port, user, &read("id_bench"), command);
        println!(
            "  {command:<8} 20 x ssh in a shell loop {:>7.3} s   run_ssh_command hosts: [20] {:>7.3} s   ratio {:.3}",
            sequential.as_secs_f64(),
            engine.as_secs_f64(),
            engine.as_secs_f64() / sequential.as_secs_f64()
        );
    }
    drop(servers);
}

/// Stops an sshd at the end (or on a panic).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A shell running `ssh` to each host in turn, the way a script would.
fn sequential_ssh(d: &Path, port: u16, user: &str, command: &str) -> Duration {
    let script = format!(
        "for i in $(seq 1 {HOSTS}); do ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes \
         -o StrictHostKeyChecking=yes -o UserKnownHostsFile={d}/known_hosts -o LogLevel=ERROR \
         -i {d}/id_bench -p {port} {user}@127.0.0.$i '{command}' >/dev/null || exit 1; done",
        d = d.display()
    );
    let started = Instant::now();
    let status = Command::new("sh").arg("-c").arg(script).status().expect("run sh");
    let elapsed = started.elapsed();
    assert!(status.success(), "an ssh run failed");
    elapsed
}

/// One instance of a runbook whose `run_ssh_command` names the 20 hosts, run by the engine.
fn engine_run(d: &Path, port: u16, user: &str, key: &str, command: &str) -> Duration {
    let hosts: Vec<String> = (1..=HOSTS).map(|i| format!("127.0.0.{i}")).collect();
    let yaml = format!(
        "format: 1\nrunbook: SSH Everywhere\nactivities:\n  - id: ssh\n    type: run_ssh_command\n    properties:\n      \
         hosts: {hosts:?}\n      port: {port}\n      username: {user}\n      private_key: {key:?}\n      \
         known_hosts: {known_hosts:?}\n      command: {command:?}\n",
        known_hosts = d.join("known_hosts").display().to_string()
    );
    let registry = Arc::new(scorch_activities::standard());
    let loaded = load(&yaml).expect("valid yaml");
    let plan = Arc::new(compile(&loaded, &RegistryCatalog(&registry)).expect("valid runbook"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let journal = Arc::new(MemoryJournal::default());
    let engine = Engine::new(
        registry,
        journal.clone(),
        Arc::new(MemorySettings::default()),
        EngineConfig::default(),
    );
    let request = InstanceRequest::standalone(plan);
    let started = Instant::now();
    let outcome = runtime.block_on(engine.run(request)).expect("engine");
    let elapsed = started.elapsed();
    assert_eq!(
        outcome.status,
        InstanceStatus::Success,
        "{outcome:?} {:?}",
        journal.all_runs()
    );
    elapsed
}
