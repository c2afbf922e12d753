//! `monitor_file`: an instance per file created, modified, deleted or renamed in a folder.
//!
//! OS notifications (inotify through `notify`) say which paths to look at; a listing of the folder
//! every `interval` (default 2s) is the safety net for what they miss (a full event queue, a
//! folder created and filled before its watch was added). Either way the watcher compares what
//! it sees with `known`, the folder's last recorded state, which is the checkpoint saved with
//! each trigger: after a restart the folder is compared with it, so what changed meanwhile fires
//! (a rename then shows as a delete and a create). A created or modified file fires once it has
//! kept its size and modification time for `settle`. At most [`MAX_FILES`] files are tracked:
//! past that, new files are ignored and a note says so.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{EventKind, RecursiveMode, Watcher as _};
use scorch_activity::props::Props;
use scorch_activity::{ActivityError, Descriptor, Row, Trigger, TriggerSink, Value, Watch, WatchContext, json, row};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::listing::{FileFilter, FileState, stat};
use crate::remote::{duration_prop, zero_or_more_duration_prop};

pub const TYPE: &str = "monitor_file";

pub static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: super::CATEGORY,
    summary: "Starts an instance for each file created, modified, deleted or renamed in a folder.",
    idempotent: true,
    properties: &["folder", "patterns", "recursive", "events", "settle", "interval"],
    required: &["folder"],
    publishes: &[
        "path",
        "name",
        "folder",
        "change",
        "size",
        "modified_at",
        "old_path",
        super::TRIGGERED_AT,
    ],
};

/// The most files tracked (each costs memory and a line of every checkpoint).
pub const MAX_FILES: usize = 100_000;
const DEFAULT_SETTLE: Duration = Duration::from_secs(1);
const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
/// OS events waiting to be looked at; past this they are dropped and the folder listed again.
const EVENT_QUEUE: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Created,
    Modified,
    Deleted,
    Renamed,
}

impl Change {
    const ALL: [(Change, &'static str); 4] = [
        (Change::Created, "created"),
        (Change::Modified, "modified"),
        (Change::Deleted, "deleted"),
        (Change::Renamed, "renamed"),
    ];

    fn as_str(self) -> &'static str {
        Self::ALL.iter().find(|(c, _)| *c == self).map_or("", |(_, name)| name)
    }

    fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        Self::ALL
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(text))
            .map(|(c, _)| *c)
    }
}

struct Config {
    filter: FileFilter,
    events: Vec<Change>,
    settle: Duration,
    interval: Duration,
}

impl Config {
    fn new(ctx: &WatchContext) -> Result<Self, ActivityError> {
        let props = Props::new(TYPE, ctx.properties.clone())?;
        let events = props
            .str_list("events")?
            .iter()
            .map(|e| {
                Change::parse(e).ok_or_else(|| {
                    ActivityError::invalid(
                        TYPE,
                        "events",
                        format!("'{e}' is not one of created, modified, deleted, renamed"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            events: if events.is_empty() {
                vec![Change::Created]
            } else {
                events
            },
            settle: zero_or_more_duration_prop(&props, "settle")?.unwrap_or(DEFAULT_SETTLE),
            interval: duration_prop(&props, "interval")?.unwrap_or(DEFAULT_INTERVAL),
            filter: FileFilter::from_props(&props, &ctx.probe)?,
        })
    }
}

pub struct MonitorFile;

#[scorch_activity::async_trait]
impl Watch for MonitorFile {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    async fn watch(&self, ctx: WatchContext, sink: Arc<dyn TriggerSink>) -> Result<(), ActivityError> {
        let config = Config::new(&ctx)?;
        let overflow = Arc::new(AtomicBool::new(false));
        let (events_tx, mut events) = mpsc::channel(EVENT_QUEUE);
        // Watching starts before the first listing, so nothing between the two is missed. The
        // watcher's thread ends when it is dropped, on return.
        let _os_watch = watch_os(&config.filter, events_tx, overflow.clone())?;
        let mut folder = FolderWatch::new(&config, sink);
        folder.start(ctx.checkpoint).await?;
        let mut next_listing = Instant::now() + config.interval;
        loop {
            let wake = folder.next_settled().map_or(next_listing, |t| t.min(next_listing));
            tokio::select! {
                _ = ctx.cancel.cancelled() => return Ok(()),
                Some(first) = events.recv() => {
                    let mut batch = vec![first];
                    while let Ok(more) = events.try_recv() {
                        batch.push(more);
                    }
                    folder.on_events(batch).await?;
                }
                _ = tokio::time::sleep_until(wake) => {}
            }
            if overflow.swap(false, Ordering::SeqCst) || Instant::now() >= next_listing {
                folder.compare_listing().await?;
                next_listing = Instant::now() + config.interval;
            }
            folder.fire_settled().await?;
        }
    }
}

type OsEvent = notify::Result<notify::Event>;

/// Starts the OS watch of the folder; its events go to `events`, or set `overflow` when the
/// queue is full.
fn watch_os(
    filter: &FileFilter,
    events: mpsc::Sender<OsEvent>,
    overflow: Arc<AtomicBool>,
) -> Result<notify::RecommendedWatcher, ActivityError> {
    let failed = |e: notify::Error| ActivityError::failed(TYPE, filter.root.display(), e);
    let mut watcher = notify::recommended_watcher(move |event: OsEvent| {
        if events.try_send(event).is_err() {
            overflow.store(true, Ordering::SeqCst);
        }
    })
    .map_err(failed)?;
    let mode = if filter.recursive {
        RecursiveMode::Recursive
    } else {
        RecursiveMode::NonRecursive
    };
    watcher.watch(&filter.root, mode).map_err(failed)?;
    Ok(watcher)
}

/// A file seen changed, waiting to settle.
struct Pending {
    seen: FileState,
    since: Instant,
}

/// The folder's recorded state and what is waiting to settle.
struct FolderWatch<'a> {
    config: &'a Config,
    sink: Arc<dyn TriggerSink>,
    /// The last recorded state: what the checkpoint holds.
    known: BTreeMap<String, FileState>,
    pending: BTreeMap<String, Pending>,
    /// `known` changed without a trigger (a change not in `events`): saved at the next listing.
    unsaved: bool,
}

impl<'a> FolderWatch<'a> {
    fn new(config: &'a Config, sink: Arc<dyn TriggerSink>) -> Self {
        Self {
            config,
            sink,
            known: BTreeMap::new(),
            pending: BTreeMap::new(),
            unsaved: false,
        }
    }

    /// With a checkpoint, compares the folder with it; without, records the folder as it is.
    async fn start(&mut self, checkpoint: Option<Value>) -> Result<(), ActivityError> {
        match checkpoint.as_ref().and_then(known_from_checkpoint) {
            Some(known) => {
                self.known = known;
                self.compare_listing().await
            }
            None => {
                let listing = self.list(self.config.filter.root.clone()).await?;
                self.note_truncated(listing.truncated).await?;
                self.known = listing.files;
                self.sink.save(self.checkpoint()).await
            }
        }
    }

    async fn list(&self, dir: PathBuf) -> Result<super::listing::Listing, ActivityError> {
        let filter = self.config.filter.clone();
        crate::files::blocking(TYPE, move || {
            filter
                .list(&dir, MAX_FILES)
                .map_err(|e| ActivityError::failed(TYPE, dir.display(), e))
        })
        .await
    }

    /// Lists the folder and compares: what is gone is deleted now, what differs waits to
    /// settle. A listing that fails (the folder removed) is noted and tried again next time.
    async fn compare_listing(&mut self) -> Result<(), ActivityError> {
        let listing = match self.list(self.config.filter.root.clone()).await {
            Ok(listing) => listing,
            Err(e) => return self.sink.note(&format!("listing:{e}"), &e.to_string()).await,
        };
        self.note_truncated(listing.truncated).await?;
        let gone: Vec<String> = self
            .known
            .keys()
            .filter(|rel| !listing.files.contains_key(*rel))
            .cloned()
            .collect();
        for rel in gone {
            // Past the cap a listing misses files that are still there.
            if !(listing.truncated && stat(&self.config.filter.path(&rel)).is_some()) {
                self.deleted(&rel).await?;
            }
        }
        for (rel, state) in listing.files {
            self.seen(rel, state).await?;
        }
        if std::mem::take(&mut self.unsaved) {
            self.sink.save(self.checkpoint()).await?;
        }
        Ok(())
    }

    async fn note_truncated(&self, truncated: bool) -> Result<(), ActivityError> {
        if !truncated {
            return Ok(());
        }
        let text = format!(
            "{TYPE}: {}: more than {MAX_FILES} files; files past that are not watched",
            self.config.filter.root.display()
        );
        self.sink.note("max_files", &text).await
    }

    /// A file seen as `state`: waits to settle unless it is already recorded so.
    async fn seen(&mut self, rel: String, state: FileState) -> Result<(), ActivityError> {
        if self.known.get(&rel) == Some(&state) {
            self.pending.remove(&rel);
            return Ok(());
        }
        if let Some(pending) = self.pending.get_mut(&rel) {
            if pending.seen != state {
                *pending = Pending {
                    seen: state,
                    since: Instant::now(),
                };
            }
            return Ok(());
        }
        if !self.known.contains_key(&rel) && self.known.len() + self.pending.len() >= MAX_FILES {
            return self.note_truncated(true).await;
        }
        self.pending.insert(
            rel,
            Pending {
                seen: state,
                since: Instant::now(),
            },
        );
        Ok(())
    }

    /// When the next pending file may have settled.
    fn next_settled(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.since + self.config.settle).min()
    }

    /// Fires for each pending file that kept its state for `settle`.
    async fn fire_settled(&mut self) -> Result<(), ActivityError> {
        let now = Instant::now();
        let due: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| p.since + self.config.settle <= now)
            .map(|(rel, _)| rel.clone())
            .collect();
        for rel in due {
            let Some(pending) = self.pending.remove(&rel) else {
                continue;
            };
            match stat(&self.config.filter.path(&rel)) {
                None => self.deleted(&rel).await?,
                Some(state) if state != pending.seen => {
                    self.pending.insert(
                        rel,
                        Pending {
                            seen: state,
                            since: now,
                        },
                    );
                }
                Some(state) => {
                    let change = match self.known.insert(rel.clone(), state) {
                        None => Change::Created,
                        Some(before) if before != state => Change::Modified,
                        Some(_) => continue,
                    };
                    self.changed(change, &rel, state, None).await?;
                }
            }
        }
        Ok(())
    }

    /// A batch of OS events: renames first (a rename pair comes with its two halves, which are
    /// then ignored), then each other path is looked at.
    async fn on_events(&mut self, batch: Vec<OsEvent>) -> Result<(), ActivityError> {
        let mut renames = Vec::new();
        let mut paths = BTreeSet::new();
        let mut relist = false;
        for event in batch {
            let Ok(event) = event else {
                relist = true;
                continue;
            };
            relist |= event.need_rescan();
            match event.kind {
                EventKind::Modify(ModifyKind::Name(RenameMode::Both)) if event.paths.len() == 2 => {
                    renames.push((event.paths[0].clone(), event.paths[1].clone()));
                }
                // Reading and opening change nothing.
                EventKind::Access(AccessKind::Close(AccessMode::Write)) => paths.extend(event.paths),
                EventKind::Access(_) => {}
                _ => paths.extend(event.paths),
            }
        }
        for (from, to) in &renames {
            paths.remove(from);
            paths.remove(to);
        }
        for (from, to) in renames {
            self.renamed(from, to).await?;
        }
        for path in paths {
            self.look_at(path).await?;
        }
        if relist {
            self.compare_listing().await?;
        }
        Ok(())
    }

    /// A path an event named: a watched file seen or gone, a folder created or removed.
    async fn look_at(&mut self, path: PathBuf) -> Result<(), ActivityError> {
        let Some(rel) = self.config.filter.relative(&path) else {
            return Ok(());
        };
        if let Some(state) = stat(&path) {
            if self.config.filter.watches(&rel) {
                self.seen(rel, state).await?;
            }
            return Ok(());
        }
        if path.is_dir() {
            // A folder created or moved in: inotify watches it from now on, so what it already
            // holds is listed.
            if self.config.filter.recursive {
                for (rel, state) in self.list(path).await?.files {
                    self.seen(rel, state).await?;
                }
            }
            return Ok(());
        }
        // Gone: the file, or a folder with what was known under it.
        self.pending.remove(&rel);
        let under = format!("{rel}/");
        let gone: Vec<String> = self
            .known
            .keys()
            .filter(|k| **k == rel || k.starts_with(&under))
            .cloned()
            .collect();
        for rel in gone {
            self.deleted(&rel).await?;
        }
        Ok(())
    }

    /// A rename within the folder: `renamed` when that is watched and the file was known and
    /// keeps a watched name; otherwise the old path is gone and the new one seen.
    async fn renamed(&mut self, from: PathBuf, to: PathBuf) -> Result<(), ActivityError> {
        let filter = &self.config.filter;
        let old = filter.relative(&from).filter(|rel| self.known.contains_key(rel));
        let new = filter.relative(&to).filter(|rel| filter.watches(rel));
        let state = stat(&to);
        if let (Some(old), Some(new), Some(state), true) =
            (old, new, state, self.config.events.contains(&Change::Renamed))
        {
            self.known.remove(&old);
            self.pending.remove(&old);
            self.pending.remove(&new);
            self.known.insert(new.clone(), state);
            return self.changed(Change::Renamed, &new, state, Some(&old)).await;
        }
        self.look_at(from).await?;
        self.look_at(to).await
    }

    /// Forgets a known file and reports it deleted, with its last known state.
    async fn deleted(&mut self, rel: &str) -> Result<(), ActivityError> {
        self.pending.remove(rel);
        match self.known.remove(rel) {
            Some(state) => self.changed(Change::Deleted, rel, state, None).await,
            None => Ok(()),
        }
    }

    /// Fires for a change `known` now reflects, when `events` lists it; otherwise the new state
    /// is saved with the next listing.
    async fn changed(
        &mut self,
        change: Change,
        rel: &str,
        state: FileState,
        old: Option<&str>,
    ) -> Result<(), ActivityError> {
        if !self.config.events.contains(&change) {
            self.unsaved = true;
            return Ok(());
        }
        let moved = old.map(|old| format!("{old}->")).unwrap_or_default();
        let key = format!("{}:{moved}{rel}:{}:{}", change.as_str(), state.mtime_ns, state.size);
        let row = self.row(change, rel, state, old);
        self.unsaved = false;
        self.sink
            .fire(Trigger { key, row }, self.checkpoint())
            .await
            .map(|_| ())
    }

    fn row(&self, change: Change, rel: &str, state: FileState, old: Option<&str>) -> Row {
        let path = self.config.filter.path(rel);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let folder = path.parent().map(|p| p.display().to_string()).unwrap_or_default();
        let old_path = old
            .map(|old| self.config.filter.path(old).display().to_string())
            .unwrap_or_default();
        row! {
            "path" => path.display().to_string(),
            "name" => name,
            "folder" => folder,
            "change" => change.as_str(),
            "size" => state.size,
            "modified_at" => state.modified_at(),
            "old_path" => old_path,
        }
    }

    /// `{"files": {relative path: [size, mtime_ns]}}`.
    fn checkpoint(&self) -> Value {
        let files: serde_json::Map<String, Value> = self
            .known
            .iter()
            .map(|(rel, s)| (rel.clone(), json!([s.size, s.mtime_ns])))
            .collect();
        json!({ "files": files })
    }
}

/// The recorded state a checkpoint holds; `None` when it is not one of ours.
fn known_from_checkpoint(checkpoint: &Value) -> Option<BTreeMap<String, FileState>> {
    checkpoint["files"]
        .as_object()?
        .iter()
        .map(|(rel, state)| {
            Some((
                rel.clone(),
                FileState {
                    size: state.get(0)?.as_u64()?,
                    mtime_ns: state.get(1)?.as_i64()?,
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::io::Write;
    use std::path::Path;

    use scorch_activity::ActivityContext;
    use tokio::task::JoinHandle;
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::monitor::test_sink::MemorySink;

    const WITHIN: Duration = Duration::from_secs(10);

    struct Running {
        sink: Arc<MemorySink>,
        cancel: CancellationToken,
        task: JoinHandle<Result<(), ActivityError>>,
    }

    /// Starts a watcher and waits until it has taken the folder's state in.
    async fn start(dir: &Path, props: Value, checkpoint: Option<Value>, sink: Arc<MemorySink>) -> Running {
        let cancel = CancellationToken::new();
        let ctx = WatchContext {
            properties: props,
            checkpoint: checkpoint.clone(),
            cancel: cancel.clone(),
            probe: ActivityContext::standalone(TYPE, dir.to_path_buf()),
        };
        let task = tokio::spawn({
            let sink = sink.clone();
            async move { MonitorFile.watch(ctx, sink).await }
        });
        if checkpoint.is_none() {
            let deadline = Instant::now() + WITHIN;
            while sink.checkpoint.lock().unwrap().is_none() {
                assert!(Instant::now() < deadline, "no initial checkpoint");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        } else {
            // The comparison with the checkpoint happens first; give it a moment.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Running { sink, cancel, task }
    }

    impl Running {
        async fn stop(self) -> Arc<MemorySink> {
            self.cancel.cancel();
            self.task.await.unwrap().unwrap();
            self.sink
        }
    }

    fn field(trigger: &Trigger, name: &str) -> String {
        scorch_activity::props::scalar_text(&trigger.row[name]).unwrap_or_default()
    }

    fn changes(triggers: &[Trigger]) -> Vec<(String, String)> {
        let mut all: Vec<_> = triggers
            .iter()
            .map(|t| (field(t, "change"), field(t, "name")))
            .collect();
        all.sort();
        all
    }

    #[tokio::test]
    async fn a_created_file_fires_once_it_has_settled() {
        let dir = tempfile::tempdir().unwrap();
        let watching = start(
            dir.path(),
            json!({"folder": ".", "settle": "400ms"}),
            None,
            Arc::default(),
        )
        .await;
        let mut file = fs::File::create(dir.path().join("a.txt")).unwrap();
        file.write_all(b"first part,").unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        file.write_all(b" second part").unwrap();
        drop(file);
        fs::write(dir.path().join("b.txt"), "b").unwrap();
        let fired = watching.sink.wait_for(2, WITHIN).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let sink = watching.stop().await;
        assert_eq!(sink.triggers().len(), 2, "{:?}", sink.triggers());
        let a = fired.iter().find(|t| field(t, "name") == "a.txt").unwrap();
        assert_eq!(a.row["size"], json!(23));
        assert_eq!(field(a, "change"), "created");
        assert_eq!(field(a, "path"), dir.path().join("a.txt").display().to_string());
        assert_eq!(field(a, "folder"), dir.path().display().to_string());
        assert_eq!(field(a, "old_path"), "");
        assert!(field(a, "modified_at").parse::<jiff::Timestamp>().is_ok());
        assert!(a.key.starts_with("created:a.txt:"), "{}", a.key);
        // The checkpoint fired with the trigger holds both files.
        let checkpoint = sink.checkpoint.lock().unwrap().clone().unwrap();
        assert_eq!(checkpoint["files"]["a.txt"][0], json!(23));
    }

    #[tokio::test]
    async fn patterns_and_recursion_choose_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let props = |recursive| json!({"folder": ".", "patterns": ["*.csv"], "recursive": recursive, "settle": "0s"});
        let deep = start(dir.path(), props(true), None, Arc::default()).await;
        let flat = start(dir.path(), props(false), None, Arc::default()).await;
        fs::write(dir.path().join("x.txt"), "x").unwrap();
        fs::write(dir.path().join("a.csv"), "a").unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("sub/b.csv"), "b").unwrap();
        let fired = deep.sink.wait_for(2, WITHIN).await;
        flat.sink.wait_for(1, WITHIN).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (deep, flat) = (deep.stop().await, flat.stop().await);
        assert_eq!(
            changes(&deep.triggers()),
            [("created".into(), "a.csv".into()), ("created".into(), "b.csv".into())]
        );
        let b = fired.iter().find(|t| field(t, "name") == "b.csv").unwrap();
        assert_eq!(field(b, "folder"), dir.path().join("sub").display().to_string());
        assert_eq!(
            changes(&flat.triggers()),
            [("created".to_string(), "a.csv".to_string())]
        );
    }

    #[tokio::test]
    async fn modified_deleted_and_renamed_files_fire() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.txt", "b.txt", "c.txt"] {
            fs::write(dir.path().join(name), name).unwrap();
        }
        let props = json!({"folder": ".", "settle": "0s", "events": ["created", "modified", "deleted", "renamed"]});
        let watching = start(dir.path(), props, None, Arc::default()).await;
        fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("a.txt"))
            .unwrap()
            .write_all(b"+")
            .unwrap();
        fs::remove_file(dir.path().join("b.txt")).unwrap();
        fs::rename(dir.path().join("c.txt"), dir.path().join("d.txt")).unwrap();
        let fired = watching.sink.wait_for(3, WITHIN).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let sink = watching.stop().await;
        let expected: Vec<(String, String)> = [("deleted", "b.txt"), ("modified", "a.txt"), ("renamed", "d.txt")]
            .map(|(c, n)| (c.into(), n.into()))
            .into();
        assert_eq!(changes(&sink.triggers()), expected);
        let renamed = fired.iter().find(|t| field(t, "change") == "renamed").unwrap();
        assert_eq!(
            field(renamed, "old_path"),
            dir.path().join("c.txt").display().to_string()
        );
        let deleted = fired.iter().find(|t| field(t, "change") == "deleted").unwrap();
        assert_eq!(deleted.row["size"], json!(5));
    }

    #[tokio::test]
    async fn a_restart_fires_for_what_changed_while_stopped_and_nothing_twice() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("c.txt"), "c").unwrap();
        let props = json!({"folder": ".", "settle": "0s", "events": ["created", "modified", "deleted"]});
        let sink = Arc::new(MemorySink::default());
        let first = start(dir.path(), props.clone(), None, sink.clone()).await;
        fs::write(dir.path().join("a.txt"), "a").unwrap();
        sink.wait_for(1, WITHIN).await;
        first.stop().await;
        let checkpoint = sink.checkpoint.lock().unwrap().clone();

        fs::write(dir.path().join("a.txt"), "a, changed").unwrap();
        fs::write(dir.path().join("b.txt"), "b").unwrap();
        fs::remove_file(dir.path().join("c.txt")).unwrap();
        let second = start(dir.path(), props.clone(), checkpoint.clone(), sink.clone()).await;
        sink.wait_for(4, WITHIN).await;
        second.stop().await;
        // A second server resuming the same checkpoint sees the same events: recorded once.
        let third = start(dir.path(), props, checkpoint, sink.clone()).await;
        tokio::time::sleep(Duration::from_millis(1000)).await;
        third.stop().await;
        let expected: Vec<(String, String)> = [
            ("created", "a.txt"),
            ("created", "b.txt"),
            ("deleted", "c.txt"),
            ("modified", "a.txt"),
        ]
        .map(|(c, n)| (c.into(), n.into()))
        .into();
        assert_eq!(changes(&sink.triggers()), expected);
    }

    #[tokio::test]
    async fn a_missing_folder_stops_the_monitor() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("gone");
        let ctx = WatchContext {
            properties: json!({"folder": missing}),
            checkpoint: None,
            cancel: CancellationToken::new(),
            probe: ActivityContext::standalone(TYPE, dir.path().to_path_buf()),
        };
        let err = MonitorFile
            .watch(ctx, Arc::new(MemorySink::default()))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("monitor_file: {}: not found", missing.display())
        );
    }

    /// Not a timed assertion: prints the latency from a file's creation to its trigger.
    #[tokio::test]
    async fn reports_the_latency_of_a_trigger() {
        let dir = tempfile::tempdir().unwrap();
        let watching = start(dir.path(), json!({"folder": ".", "settle": "0s"}), None, Arc::default()).await;
        let mut latencies = Vec::new();
        for i in 0..20 {
            let began = Instant::now();
            fs::write(dir.path().join(format!("f{i}")), "x").unwrap();
            watching.sink.wait_for(i + 1, WITHIN).await;
            latencies.push(began.elapsed());
        }
        watching.stop().await;
        latencies.sort();
        eprintln!("monitor_file latency: p50 {:?}, max {:?}", latencies[10], latencies[19]);
    }
}
