//! The files a folder monitor watches (`folder`, `patterns`, `recursive`), and their listing:
//! shared by `monitor_file` and `monitor_folder`.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use scorch_activity::props::Props;
use scorch_activity::{ActivityContext, ActivityError};

/// What a file looks like to a monitor: it changed when either differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileState {
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch (0 before it).
    pub mtime_ns: i64,
}

impl FileState {
    fn of(meta: &std::fs::Metadata) -> Self {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        Self {
            size: meta.len(),
            mtime_ns,
        }
    }

    /// The modification time in RFC 3339.
    pub fn modified_at(&self) -> String {
        jiff::Timestamp::from_nanosecond(i128::from(self.mtime_ns))
            .map(|t| t.to_string())
            .unwrap_or_default()
    }
}

/// The state of the regular file at `path` (symbolic links followed); `None` when nothing, or
/// something other than a file, is there.
pub fn stat(path: &Path) -> Option<FileState> {
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| FileState::of(&m))
}

/// Files found by a listing, by path relative to the folder (`/`-separated).
#[derive(Debug, Default)]
pub struct Listing {
    pub files: BTreeMap<String, FileState>,
    /// The listing stopped at its cap: files past it are missing from `files`.
    pub truncated: bool,
}

/// Which files of which folder a monitor watches.
#[derive(Debug, Clone)]
pub struct FileFilter {
    pub root: PathBuf,
    patterns: Vec<glob::Pattern>,
    pub recursive: bool,
}

impl FileFilter {
    /// Reads `folder` (relative to the working folder), `patterns` (default `*`) and
    /// `recursive`; the folder must exist.
    pub fn from_props(props: &Props, ctx: &ActivityContext) -> Result<Self, ActivityError> {
        let type_name = props.type_name();
        // Without `.` components (`components` drops them), as published paths should be.
        let root: PathBuf = ctx.resolve_path(&props.non_empty("folder")?).components().collect();
        let mut patterns = props.str_list("patterns")?;
        if patterns.is_empty() {
            patterns.push("*".to_string());
        }
        let patterns = patterns
            .iter()
            .map(|p| {
                glob::Pattern::new(p).map_err(|e| ActivityError::invalid(type_name, "patterns", format!("'{p}': {e}")))
            })
            .collect::<Result<_, _>>()?;
        let recursive = props.bool_or("recursive", false)?;
        match std::fs::metadata(&root) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(ActivityError::failed(type_name, root.display(), "not a folder")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ActivityError::failed(type_name, root.display(), "not found"));
            }
            Err(e) => return Err(ActivityError::failed(type_name, root.display(), e)),
        }
        Ok(Self {
            root,
            patterns,
            recursive,
        })
    }

    /// `path` relative to the folder, `/`-separated; `None` outside it (or the folder itself).
    pub fn relative(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.root).ok()?;
        let parts: Vec<_> = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect();
        (!parts.is_empty()).then(|| parts.join("/"))
    }

    /// Whether a file at `rel` is watched: in the folder itself unless recursive, and its name
    /// matches a pattern.
    pub fn watches(&self, rel: &str) -> bool {
        let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        (self.recursive || parent.is_empty()) && self.patterns.iter().any(|p| p.matches(name))
    }

    /// The absolute path of `rel`.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// The watched files under `dir` (the folder or, when recursive, a folder within it), at
    /// most `cap`. A subfolder that cannot be read is skipped (it may have just been removed);
    /// `dir` itself must be readable.
    pub fn list(&self, dir: &Path, cap: usize) -> io::Result<Listing> {
        let mut listing = Listing::default();
        let mut folders = vec![dir.to_path_buf()];
        while let Some(folder) = folders.pop() {
            let entries = match std::fs::read_dir(&folder) {
                Ok(entries) => entries,
                Err(e) if folder == dir => return Err(e),
                Err(_) => continue,
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(kind) = entry.file_type() else { continue };
                if kind.is_dir() {
                    if self.recursive {
                        folders.push(path);
                    }
                    continue;
                }
                let Some(rel) = self.relative(&path).filter(|rel| self.watches(rel)) else {
                    continue;
                };
                let Some(state) = stat(&path) else { continue };
                if listing.files.len() >= cap {
                    listing.truncated = true;
                    return Ok(listing);
                }
                listing.files.insert(rel, state);
            }
        }
        Ok(listing)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use scorch_activity::json;

    use super::*;

    fn filter(dir: &Path, props: scorch_activity::Value) -> Result<FileFilter, ActivityError> {
        let ctx = ActivityContext::standalone("monitor_file", dir.to_path_buf());
        FileFilter::from_props(&Props::new("monitor_file", props)?, &ctx)
    }

    #[test]
    fn lists_matching_files_in_scope() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        for name in ["a.csv", "b.txt", "sub/c.csv"] {
            fs::write(dir.path().join(name), "12345").unwrap();
        }
        let flat = filter(dir.path(), json!({"folder": ".", "patterns": ["*.csv"]})).unwrap();
        let names: Vec<_> = flat.list(&flat.root, 10).unwrap().files.into_keys().collect();
        assert_eq!(names, ["a.csv"]);
        let deep = filter(
            dir.path(),
            json!({"folder": ".", "patterns": "*.csv", "recursive": true}),
        )
        .unwrap();
        let listing = deep.list(&deep.root, 10).unwrap();
        assert_eq!(listing.files.keys().collect::<Vec<_>>(), ["a.csv", "sub/c.csv"]);
        assert_eq!(listing.files["a.csv"].size, 5);
        let capped = deep.list(&deep.root, 1).unwrap();
        assert!(capped.truncated && capped.files.len() == 1);
    }

    #[test]
    fn a_missing_folder_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = filter(dir.path(), json!({"folder": missing})).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("monitor_file: {}: not found", missing.display())
        );
        let err = filter(dir.path(), json!({"folder": ".", "patterns": "[a"})).unwrap_err();
        assert!(
            err.to_string().starts_with("monitor_file: property 'patterns'"),
            "{err}"
        );
    }
}
