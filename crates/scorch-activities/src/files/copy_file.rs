//! `copy_file`, and the transfer it shares with `move_file`.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Row, Value, row};

use super::{CATEGORY, blocking, cancel_check, create_folder_all, expand_source, io_failed};

pub struct CopyFile;

pub(super) const PROPERTIES: &[&str] = &["source", "destination", "overwrite"];
pub(super) const REQUIRED: &[&str] = &["source", "destination"];
pub(super) const PUBLISHES: &[&str] = &["source_path", "destination_path", "size"];

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: "copy_file",
    category: CATEGORY,
    summary: "Copies the files a path or glob names into a folder.",
    idempotent: false,
    properties: PROPERTIES,
    required: REQUIRED,
    publishes: PUBLISHES,
};

#[scorch_activity::async_trait]
impl Activity for CopyFile {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        transfer(ctx, DESCRIPTOR.type_name, properties, Mode::Copy).await
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Copy,
    Move,
}

/// What to do when the destination folder already has a file of that name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overwrite {
    Yes,
    No,
    Rename,
}

/// Copies or moves the files `source` names into the `destination` folder, creating it.
pub(super) async fn transfer(
    ctx: &ActivityContext,
    type_name: &'static str,
    properties: Value,
    mode: Mode,
) -> Result<ActivityOutput, ActivityError> {
    let props = Props::new(type_name, properties)?;
    let source = props.non_empty("source")?;
    let destination = ctx.resolve_path(&props.non_empty("destination")?);
    let overwrite = overwrite_property(&props)?;
    let working_dir = ctx.working_dir.clone();
    let check_cancel = cancel_check(ctx);
    let rows = blocking(type_name, move || {
        let files = expand_source(type_name, "source", &working_dir, &source)?;
        if files.is_empty() {
            return Ok(Vec::new());
        }
        create_folder_all(type_name, &destination)?;
        let mut rows: Vec<Row> = Vec::new();
        for (from, to) in plan(type_name, &files, &destination, overwrite)? {
            check_cancel()?;
            let size = match mode {
                Mode::Copy => copy_one(type_name, &from, &to, overwrite)?,
                Mode::Move => move_one(type_name, &from, &to, overwrite)?,
            };
            rows.push(row! {
                "source_path" => from.display().to_string(),
                "destination_path" => to.display().to_string(),
                "size" => size,
            });
        }
        Ok(rows)
    })
    .await?;
    Ok(ActivityOutput::rows(rows))
}

/// The `overwrite` property: `yes`, `no` (the default) or `rename`.
pub(crate) fn overwrite_property(props: &Props) -> Result<Overwrite, ActivityError> {
    Ok(match props.choice("overwrite", &["yes", "no", "rename"], "no")? {
        "yes" => Overwrite::Yes,
        "rename" => Overwrite::Rename,
        _ => Overwrite::No,
    })
}

/// Where each file goes. Conflicts are found before anything is written, so `overwrite: no`
/// fails without having copied part of a glob's files.
fn plan(
    type_name: &str,
    files: &[PathBuf],
    destination: &Path,
    overwrite: Overwrite,
) -> Result<Vec<(PathBuf, PathBuf)>, ActivityError> {
    let mut taken: HashSet<PathBuf> = HashSet::new();
    let mut plan = Vec::with_capacity(files.len());
    for from in files {
        let Some(name) = from.file_name() else {
            return Err(ActivityError::failed(type_name, from.display(), "has no file name"));
        };
        let mut to = destination.join(name);
        let in_use = |path: &Path| taken.contains(path) || fs::symlink_metadata(path).is_ok();
        match overwrite {
            Overwrite::No if in_use(&to) => {
                return Err(ActivityError::failed(type_name, to.display(), "already exists"));
            }
            Overwrite::Rename => {
                let mut n = 1;
                while in_use(&to) {
                    to = destination.join(numbered(name, n));
                    n += 1;
                }
            }
            Overwrite::Yes if to.is_dir() => {
                return Err(ActivityError::failed(type_name, to.display(), "is a folder"));
            }
            // Copying a file onto itself would truncate it before reading it.
            Overwrite::Yes if same_file(from, &to) => {
                return Err(ActivityError::failed(
                    type_name,
                    from.display(),
                    "is already in the destination",
                ));
            }
            _ => {}
        }
        taken.insert(to.clone());
        plan.push((from.clone(), to));
    }
    Ok(plan)
}

/// `name (n).ext`, the way Orchestrator names a copy that must not overwrite.
pub(crate) fn numbered(name: &OsStr, n: u32) -> String {
    let path = Path::new(name);
    let stem = path.file_stem().unwrap_or(name).to_string_lossy();
    match path.extension() {
        Some(ext) => format!("{stem} ({n}).{}", ext.to_string_lossy()),
        None => format!("{stem} ({n})"),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((fs::canonicalize(a), fs::canonicalize(b)), (Ok(a), Ok(b)) if a == b)
}

/// Copies `from` to `to` with `from`'s permissions; returns the bytes copied. Unless overwriting,
/// `to` must be new, which also guards against a file appearing there since [`plan`] looked.
pub(crate) fn copy_one(type_name: &str, from: &Path, to: &Path, overwrite: Overwrite) -> Result<u64, ActivityError> {
    let mut input = File::open(from).map_err(|e| io_failed(type_name, from, &e))?;
    let permissions = input
        .metadata()
        .map_err(|e| io_failed(type_name, from, &e))?
        .permissions();
    let mut options = OpenOptions::new();
    options.write(true);
    if overwrite == Overwrite::Yes {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut output = options.open(to).map_err(|e| io_failed(type_name, to, &e))?;
    let copied = io::copy(&mut input, &mut output).and_then(|size| output.set_permissions(permissions).map(|()| size));
    copied.map_err(|e| {
        // A partial copy is worse than none.
        let _ = fs::remove_file(to);
        io_failed(type_name, to, &e)
    })
}

/// Moves `from` to `to` by renaming, or by copying and deleting across filesystems.
fn move_one(type_name: &str, from: &Path, to: &Path, overwrite: Overwrite) -> Result<u64, ActivityError> {
    let size = fs::metadata(from).map_err(|e| io_failed(type_name, from, &e))?.len();
    match fs::rename(from, to) {
        Ok(()) => Ok(size),
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
            copy_one(type_name, from, to, overwrite)?;
            fs::remove_file(from).map_err(|e| io_failed(type_name, from, &e))?;
            Ok(size)
        }
        Err(e) => Err(io_failed(type_name, from, &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::test_support::{failed, field, invalid, ok};
    use scorch_activity::json;

    #[test]
    fn numbered_names_keep_the_extension() {
        assert_eq!(numbered(OsStr::new("a.txt"), 1), "a (1).txt");
        assert_eq!(numbered(OsStr::new("a.tar.gz"), 2), "a.tar (2).gz");
        assert_eq!(numbered(OsStr::new("README"), 3), "README (3)");
        assert_eq!(numbered(OsStr::new(".bashrc"), 1), ".bashrc (1)");
    }

    #[tokio::test]
    async fn copies_a_glob_into_a_new_folder() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "aaa").unwrap();
        fs::write(dir.path().join("b.txt"), "b").unwrap();
        fs::write(dir.path().join("c.log"), "c").unwrap();
        let rows = ok(
            &CopyFile,
            dir.path(),
            json!({"source": "*.txt", "destination": "out/sub"}),
        )
        .await;
        assert_eq!(rows.len(), 2);
        assert_eq!(
            field(&rows[0], "source_path"),
            dir.path().join("a.txt").display().to_string()
        );
        assert_eq!(
            field(&rows[0], "destination_path"),
            dir.path().join("out/sub/a.txt").display().to_string()
        );
        assert_eq!(field(&rows[0], "size"), "3");
        assert_eq!(fs::read_to_string(dir.path().join("out/sub/b.txt")).unwrap(), "b");
        assert!(dir.path().join("a.txt").exists());
    }

    #[tokio::test]
    async fn a_glob_matching_nothing_is_zero_rows() {
        let dir = tempfile::tempdir().unwrap();
        let rows = ok(&CopyFile, dir.path(), json!({"source": "*.none", "destination": "out"})).await;
        assert!(rows.is_empty());
    }

    #[tokio::test]
    async fn a_missing_plain_source_fails() {
        let dir = tempfile::tempdir().unwrap();
        let err = failed(
            &CopyFile,
            dir.path(),
            json!({"source": "nope.txt", "destination": "out"}),
        )
        .await;
        assert_eq!(
            err,
            format!("copy_file: {}: not found", dir.path().join("nope.txt").display())
        );
    }

    #[tokio::test]
    async fn overwrite_no_fails_before_copying_anything() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("out")).unwrap();
        fs::write(dir.path().join("a.txt"), "new").unwrap();
        fs::write(dir.path().join("b.txt"), "new").unwrap();
        fs::write(dir.path().join("out/b.txt"), "old").unwrap();
        let err = failed(&CopyFile, dir.path(), json!({"source": "*.txt", "destination": "out"})).await;
        assert_eq!(
            err,
            format!("copy_file: {}: already exists", dir.path().join("out/b.txt").display())
        );
        assert!(!dir.path().join("out/a.txt").exists());
        assert_eq!(fs::read_to_string(dir.path().join("out/b.txt")).unwrap(), "old");
    }

    #[tokio::test]
    async fn overwrite_yes_replaces_and_rename_numbers() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("out")).unwrap();
        fs::write(dir.path().join("a.txt"), "new").unwrap();
        fs::write(dir.path().join("out/a.txt"), "old").unwrap();
        fs::write(dir.path().join("out/a (1).txt"), "older").unwrap();
        let yes = json!({"source": "a.txt", "destination": "out", "overwrite": "yes"});
        ok(&CopyFile, dir.path(), yes).await;
        assert_eq!(fs::read_to_string(dir.path().join("out/a.txt")).unwrap(), "new");
        let rename = json!({"source": "a.txt", "destination": "out", "overwrite": "Rename"});
        let rows = ok(&CopyFile, dir.path(), rename).await;
        assert_eq!(
            field(&rows[0], "destination_path"),
            dir.path().join("out/a (2).txt").display().to_string()
        );
        assert_eq!(fs::read_to_string(dir.path().join("out/a (1).txt")).unwrap(), "older");
    }

    #[tokio::test]
    async fn copying_a_file_onto_itself_fails_without_harm() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "keep").unwrap();
        let props = json!({"source": "a.txt", "destination": ".", "overwrite": "yes"});
        let err = failed(&CopyFile, dir.path(), props).await;
        assert!(err.ends_with("is already in the destination"), "{err}");
        assert_eq!(fs::read_to_string(dir.path().join("a.txt")).unwrap(), "keep");
    }

    #[tokio::test]
    async fn an_unreadable_source_fails_with_permission_denied() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("secret.txt");
        fs::write(&source, "x").unwrap();
        fs::set_permissions(&source, fs::Permissions::from_mode(0o000)).unwrap();
        // Root reads it anyway: nothing to show then.
        if File::open(&source).is_ok() {
            return;
        }
        let err = failed(
            &CopyFile,
            dir.path(),
            json!({"source": "secret.txt", "destination": "out"}),
        )
        .await;
        assert_eq!(err, format!("copy_file: {}: permission denied", source.display()));
    }

    #[tokio::test]
    async fn bad_properties_are_invalid_input() {
        let dir = tempfile::tempdir().unwrap();
        let err = invalid(
            &CopyFile,
            dir.path(),
            json!({"source": "a", "destination": "b", "overwrite": "maybe"}),
        )
        .await;
        assert!(err.starts_with("copy_file: property 'overwrite'"), "{err}");
        let err = invalid(&CopyFile, dir.path(), json!({"source": "a"})).await;
        assert!(err.contains("'destination': is required"), "{err}");
    }
}
