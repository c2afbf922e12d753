//! systemd units through `systemctl`, run by the SDK's process runner (so cancelation and the
//! activity's timeout kill it). `systemctl` rather than D-Bus: no new dependency, and the same
//! program reaches the system manager (over the system bus) and a user's manager (over its
//! private socket in `$XDG_RUNTIME_DIR/systemd/private`), with systemd's own error texts.
//! Its output is a few `Key=value` lines (the runner keeps it whole; it stays small).

use std::path::Path;

use scorch_activity::props::Props;
use scorch_activity::{ActivityContext, ActivityError, process};

/// Which service manager, and the environment `systemctl` runs with.
pub(super) struct Systemctl {
    user: bool,
    env: Vec<(String, String)>,
}

/// A unit's state as `systemctl show` reports it.
pub(super) struct UnitState {
    pub active_state: String,
    pub sub_state: String,
    /// `UnitFileState`: `enabled`, `disabled`, `static`, `masked`, ...
    pub file_state: String,
}

impl Systemctl {
    /// `scope: system | user` (default system): the host's manager, or the manager of the user
    /// scorch runs as.
    pub fn from_props(props: &Props) -> Result<Self, ActivityError> {
        let user = props.choice("scope", &["system", "user"], "system")? == "user";
        Ok(Self { user, env: Vec::new() })
    }

    /// The user manager whose runtime directory is `runtime_dir` (tests start their own).
    #[cfg(test)]
    pub fn user_at(runtime_dir: &Path) -> Self {
        let dir = runtime_dir.to_string_lossy().into_owned();
        Self {
            user: true,
            env: vec![("XDG_RUNTIME_DIR".into(), dir)],
        }
    }

    /// The state of `unit`; an error when it does not exist.
    pub async fn show(&self, ctx: &ActivityContext, type_name: &str, unit: &str) -> Result<UnitState, ActivityError> {
        let out = self
            .run(
                ctx,
                type_name,
                unit,
                &["show", "-p", "LoadState,ActiveState,SubState,UnitFileState"],
            )
            .await?;
        let field = |name: &str| {
            out.lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
                .unwrap_or_default()
                .to_string()
        };
        if field("LoadState") == "not-found" {
            return Err(ActivityError::failed(type_name, unit, "no such unit"));
        }
        Ok(UnitState {
            active_state: field("ActiveState"),
            sub_state: field("SubState"),
            file_state: field("UnitFileState"),
        })
    }

    /// `systemctl ACTION UNIT`; with `wait`, returns once systemd has finished the job.
    pub async fn act(
        &self,
        ctx: &ActivityContext,
        type_name: &str,
        unit: &str,
        action: &str,
        wait: bool,
    ) -> Result<(), ActivityError> {
        let args: &[&str] = if wait { &[action] } else { &[action, "--no-block"] };
        self.run(ctx, type_name, unit, args).await.map(drop)
    }

    /// Runs `systemctl [--user] ARGS -- UNIT` and returns its standard output.
    async fn run(
        &self,
        ctx: &ActivityContext,
        type_name: &str,
        unit: &str,
        args: &[&str],
    ) -> Result<String, ActivityError> {
        // sd_booted(3): systemd is the host's manager when this folder exists.
        if !self.user && !Path::new("/run/systemd/system").is_dir() {
            return Err(ActivityError::failed(
                type_name,
                unit,
                "systemd is not running on this host",
            ));
        }
        let mut all: Vec<String> = Vec::new();
        if self.user {
            all.push("--user".into());
        }
        all.extend(args.iter().map(|a| a.to_string()));
        all.extend(["--".into(), unit.into()]);
        let spec = process::ProcessSpec {
            program: "systemctl".into(),
            args: all,
            env: self.env.clone(),
            ..Default::default()
        };
        let out = process::run(ctx, type_name, spec).await?;
        if out.exit_code == 0 {
            return Ok(out.stdout);
        }
        let said = out
            .stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or_default();
        let why = if said.starts_with("Failed to connect to bus") || said.contains("$XDG_RUNTIME_DIR") {
            "the user's service manager is not running".to_string()
        } else if said.is_empty() {
            format!("systemctl exited with {}", out.exit_code)
        } else {
            said.to_string()
        };
        Err(ActivityError::failed(type_name, unit, why))
    }
}

/// `service` as a unit name: systemd's rule, a name without a unit suffix is a `.service`.
pub(super) fn unit_prop(props: &Props) -> Result<String, ActivityError> {
    let name = props.non_empty("service")?.trim().to_string();
    if name.starts_with('-') || name.contains(|c: char| c.is_whitespace() || c.is_control() || c == '/') {
        return Err(ActivityError::invalid(
            props.type_name(),
            "service",
            format!("'{name}' is not a unit name"),
        ));
    }
    const SUFFIXES: &[&str] = &[
        ".service",
        ".socket",
        ".target",
        ".timer",
        ".mount",
        ".automount",
        ".path",
        ".slice",
        ".scope",
        ".swap",
        ".device",
    ];
    if SUFFIXES.iter().any(|s| name.ends_with(s)) {
        Ok(name)
    } else {
        Ok(format!("{name}.service"))
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use crate::test_peers::{find_program, peer_missing};

    /// A real systemd user manager (`systemd --user`) with its runtime and configuration folders
    /// in a temp dir, and a unit `zsleeper.service` running `sleep infinity`. This host has no
    /// systemd as PID 1, and `systemd --user` refuses to start unless `/run/systemd/system`
    /// exists, so it runs in its own mount namespace with a private `/run` that has it.
    pub struct UserManager {
        child: Child,
        dir: tempfile::TempDir,
    }

    impl UserManager {
        pub fn start() -> Option<Self> {
            let (Some(systemd), Some(unshare)) = (
                ["/lib/systemd/systemd", "/usr/lib/systemd/systemd"]
                    .iter()
                    .map(PathBuf::from)
                    .find(|p| p.is_file()),
                find_program("unshare"),
            ) else {
                peer_missing("systemd", "install Debian's systemd package (and util-linux's unshare)");
                return None;
            };
            if find_program("systemctl").is_none() {
                peer_missing("systemctl", "install Debian's systemd package");
                return None;
            }
            let dir = tempfile::tempdir().unwrap();
            let runtime = dir.path().join("run");
            let units = dir.path().join("config/systemd/user");
            std::fs::create_dir_all(&units).unwrap();
            std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
                .create(&runtime)
                .unwrap();
            std::fs::write(
                units.join("zsleeper.service"),
                "[Unit]\nDescription=scorch test sleeper\n[Service]\nExecStart=/bin/sleep infinity\n",
            )
            .unwrap();
            let child = Command::new(unshare)
                .args(["--mount", "sh", "-c"])
                .arg(format!(
                    "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && exec {} --user",
                    systemd.display()
                ))
                .env("XDG_RUNTIME_DIR", &runtime)
                .env("XDG_CONFIG_HOME", dir.path().join("config"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.path().join("log")).unwrap())
                .spawn()
                .unwrap();
            let manager = Self { child, dir };
            let started = Instant::now();
            while !runtime.join("systemd/private").exists() {
                if started.elapsed() > Duration::from_secs(15) {
                    let log = std::fs::read_to_string(manager.dir.path().join("log")).unwrap_or_default();
                    peer_missing("a systemd user manager", &format!("it did not start: {log}"));
                    return None;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Some(manager)
        }

        pub fn runtime_dir(&self) -> PathBuf {
            self.dir.path().join("run")
        }
    }

    impl Drop for UserManager {
        /// TERM lets the manager stop its units (their processes with them) before it exits.
        fn drop(&mut self) {
            let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
