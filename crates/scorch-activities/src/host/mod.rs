//! The runbook server's own host: processes, services, disk space, folders, the system log and
//! file transformations (XSLT, OpenPGP) on the machine scorch runs on. Services are systemd
//! units, through `systemctl` (see `systemd`). Processes are read from `/proc` directly (a few
//! small files per process; no crate needed), and signals and `statvfs` go through `nix`, which
//! the SDK already uses for process groups.

use std::fs;
use std::path::{Path, PathBuf};

use glob::Pattern;
use scorch_activity::ActivityError;
use scorch_activity::props::Props;

use crate::files::{blocking, io_failed, write_atomic};

mod apply_xslt;
mod end_process;
mod get_disk_space_status;
mod get_process_status;
mod get_service_status;
mod move_folder;
mod pgp;
mod send_event_log_message;
mod start_stop_service;
mod systemd;

pub use apply_xslt::ApplyXslt;
pub use end_process::EndProcess;
pub use get_disk_space_status::GetDiskSpaceStatus;
pub use get_process_status::GetProcessStatus;
pub use get_service_status::GetServiceStatus;
pub use move_folder::MoveFolder;
pub use pgp::{PgpDecryptFile, PgpEncryptFile};
pub use send_event_log_message::SendEventLogMessage;
pub use start_stop_service::StartStopService;

pub(crate) const CATEGORY: &str = "The runbook server's own host";

const MIB: u64 = 1024 * 1024;

/// The content of the file at `path`, which must be at most `cap` bytes.
async fn read_capped(type_name: &str, path: &Path, cap: u64) -> Result<Vec<u8>, ActivityError> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| io_failed(type_name, path, &e))?;
    if meta.is_dir() {
        return Err(ActivityError::failed(type_name, path.display(), "is a folder"));
    }
    if meta.len() > cap {
        return Err(ActivityError::failed(
            type_name,
            path.display(),
            format!("larger than the {} MiB limit", cap / MIB),
        ));
    }
    tokio::fs::read(path).await.map_err(|e| io_failed(type_name, path, &e))
}

/// Writes `content` to `path` atomically (a temporary file renamed over it), so a failure
/// leaves no half-written file.
async fn write_output(type_name: &'static str, path: PathBuf, content: Vec<u8>) -> Result<(), ActivityError> {
    blocking(type_name, move || {
        write_atomic(&path, &content).map_err(|e| io_failed(type_name, &path, &e))
    })
    .await
}

/// Which processes an activity is about: a glob over process names, or one pid.
#[derive(Debug)]
enum Target {
    Name(Pattern),
    Pid(u32),
}

impl Target {
    /// Reads `name` or `pid` (exactly one of them).
    fn from_props(props: &Props) -> Result<Self, ActivityError> {
        let type_name = props.type_name();
        let name = props.opt_str("name")?.filter(|s| !s.trim().is_empty());
        let pid = props.opt_i64("pid")?;
        match (name, pid) {
            (Some(_), Some(_)) => Err(ActivityError::invalid(
                type_name,
                "name",
                "give 'name' or 'pid', not both",
            )),
            (None, None) => Err(ActivityError::invalid(type_name, "name", "give 'name' or 'pid'")),
            (Some(name), None) => Pattern::new(name.trim())
                .map(Target::Name)
                .map_err(|e| ActivityError::invalid(type_name, "name", format!("bad glob '{name}': {}", e.msg))),
            (None, Some(pid)) => match u32::try_from(pid) {
                Ok(pid) if pid > 0 && i32::try_from(pid).is_ok() => Ok(Target::Pid(pid)),
                _ => Err(ActivityError::invalid(
                    type_name,
                    "pid",
                    format!("'{pid}' is not a process id"),
                )),
            },
        }
    }

    /// The live processes this names, in pid order. Zombies (ended, not yet reaped) are not live.
    fn find(&self) -> Vec<u32> {
        match self {
            Target::Pid(pid) => {
                if is_alive(*pid) {
                    vec![*pid]
                } else {
                    Vec::new()
                }
            }
            Target::Name(pattern) => {
                let Ok(entries) = fs::read_dir("/proc") else {
                    return Vec::new();
                };
                let mut pids: Vec<u32> = entries
                    .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
                    .filter(|pid| names(*pid).iter().any(|name| pattern.matches(name)) && is_alive(*pid))
                    .collect();
                pids.sort_unstable();
                pids
            }
        }
    }
}

/// A process's state letter from `/proc/PID/stat` (after the parenthesised name, which may
/// itself hold spaces and parentheses).
fn state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

/// Whether `pid` is a live process: it exists and has not ended (`Z` zombie, `X` dead).
fn is_alive(pid: u32) -> bool {
    matches!(state(pid), Some(s) if s != 'Z' && s != 'X')
}

/// The names a process goes by: its `comm` (the kernel keeps 15 bytes of it) and, when that is
/// cut short, the file name of its first argument, so a long program name still matches.
fn names(pid: u32) -> Vec<String> {
    let Ok(comm) = fs::read_to_string(format!("/proc/{pid}/comm")) else {
        return Vec::new();
    };
    let comm = comm.trim_end_matches('\n').to_string();
    let mut names = vec![comm.clone()];
    if comm.len() >= 15
        && let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline"))
    {
        let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
        let argv0 = String::from_utf8_lossy(argv0);
        let base = argv0.rsplit('/').next().unwrap_or_default();
        if base.starts_with(&comm) && base != comm {
            names.push(base.to_string());
        }
    }
    names
}

/// Publishes the pids as the spec's comma-separated text.
fn pid_list(pids: &[u32]) -> String {
    pids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
pub(crate) mod test_support {
    use std::os::unix::process::ExitStatusExt;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command};
    use std::time::{Duration, Instant};

    /// A `sleep 30` running under a name no other process has (a symlink to `sleep`, so the
    /// kernel names the process after the link), killed when dropped.
    pub struct Sleeper {
        pub child: Child,
        pub name: String,
        _dir: tempfile::TempDir,
    }

    impl Sleeper {
        /// Starts it; with `ignore_term`, through a shell that ignores TERM before exec.
        pub fn start(ignore_term: bool) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let name = format!("zs{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
            let link: PathBuf = dir.path().join(&name);
            std::os::unix::fs::symlink(sleep_path(), &link).unwrap();
            let child = if ignore_term {
                Command::new("sh")
                    .arg("-c")
                    .arg(format!("trap '' TERM; exec '{}' 30", link.display()))
                    .spawn()
                    .unwrap()
            } else {
                Command::new(&link).arg("30").spawn().unwrap()
            };
            let sleeper = Sleeper { child, name, _dir: dir };
            sleeper.wait_for_name();
            sleeper
        }

        pub fn pid(&self) -> u32 {
            self.child.id()
        }

        /// Waits (bounded) until the child has exec'd into its name, so a glob can match it.
        fn wait_for_name(&self) {
            let started = Instant::now();
            while super::names(self.pid()).first() != Some(&self.name) {
                assert!(started.elapsed() < Duration::from_secs(10), "the child never started");
                std::thread::yield_now();
            }
        }

        /// The signal that ended the child, waiting for it.
        pub fn ended_by(&mut self) -> Option<i32> {
            self.child.wait().unwrap().signal()
        }
    }

    impl Drop for Sleeper {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn sleep_path() -> &'static Path {
        ["/bin/sleep", "/usr/bin/sleep"]
            .into_iter()
            .map(Path::new)
            .find(|p| p.exists())
            .expect("sleep is installed")
    }
}
