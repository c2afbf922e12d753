//! `move_folder`: moves a folder, with its content, to a new path: a rename on one filesystem,
//! else a copy then a delete. `overwrite` reads as `copy_file`'s, and shares its helpers.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::CATEGORY;
use crate::files::copy_file::{Overwrite, copy_one, numbered, overwrite_property};
use crate::files::{blocking, cancel_check, create_folder_all, io_failed};

const TYPE: &str = "move_folder";

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: CATEGORY,
    summary: "Moves a folder and its content to a new path (overwrite: no, yes or rename).",
    idempotent: false,
    properties: &["source", "destination", "overwrite"],
    required: &["source", "destination"],
    publishes: &["source_path", "destination_path"],
};

pub struct MoveFolder;

#[scorch_activity::async_trait]
impl Activity for MoveFolder {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let source = ctx.resolve_path(&props.non_empty("source")?);
        let destination = ctx.resolve_path(&props.non_empty("destination")?);
        let overwrite = overwrite_property(&props)?;
        let check_cancel = cancel_check(ctx);
        let to = blocking(TYPE, move || {
            let to = plan(&source, &destination, overwrite)?;
            move_to(&source, &to, overwrite, &check_cancel)?;
            Ok((source, to))
        })
        .await?;
        Ok(ActivityOutput::row(row! {
            "source_path" => to.0.display().to_string(),
            "destination_path" => to.1.display().to_string(),
        }))
    }
}

/// Checks the source and decides where it goes; creates the destination's parent folders.
fn plan(source: &Path, destination: &Path, overwrite: Overwrite) -> Result<PathBuf, ActivityError> {
    let meta = fs::symlink_metadata(source).map_err(|e| io_failed(TYPE, source, &e))?;
    if !meta.is_dir() {
        return Err(ActivityError::failed(TYPE, source.display(), "not a folder"));
    }
    let (Some(parent), Some(name)) = (destination.parent(), destination.file_name()) else {
        return Err(ActivityError::failed(
            TYPE,
            destination.display(),
            "is not a folder path",
        ));
    };
    create_folder_all(TYPE, parent)?;
    // A folder cannot move into itself (nor onto itself).
    let real_source = fs::canonicalize(source).map_err(|e| io_failed(TYPE, source, &e))?;
    let real_parent = fs::canonicalize(parent).map_err(|e| io_failed(TYPE, parent, &e))?;
    if real_parent.join(name).starts_with(&real_source) {
        return Err(ActivityError::failed(
            TYPE,
            destination.display(),
            "is the source or inside it",
        ));
    }
    let exists = |path: &Path| fs::symlink_metadata(path).is_ok();
    let mut to = destination.to_path_buf();
    match overwrite {
        Overwrite::No if exists(&to) => {
            return Err(ActivityError::failed(TYPE, to.display(), "already exists"));
        }
        Overwrite::Yes if exists(&to) && !fs::symlink_metadata(&to).is_ok_and(|m| m.is_dir()) => {
            return Err(ActivityError::failed(TYPE, to.display(), "exists and is not a folder"));
        }
        Overwrite::Rename => {
            let mut n = 1;
            while exists(&to) {
                to = parent.join(numbered(name, n));
                n += 1;
            }
        }
        _ => {}
    }
    Ok(to)
}

/// Moves `source` to `to`. With `overwrite: yes` an existing folder at `to` is first set aside
/// beside it, removed once the move succeeded and put back if it failed.
fn move_to(
    source: &Path,
    to: &Path,
    overwrite: Overwrite,
    check_cancel: &dyn Fn() -> Result<(), ActivityError>,
) -> Result<(), ActivityError> {
    let aside = if overwrite == Overwrite::Yes && fs::symlink_metadata(to).is_ok() {
        let aside = aside_path(to);
        fs::rename(to, &aside).map_err(|e| io_failed(TYPE, to, &e))?;
        Some(aside)
    } else {
        None
    };
    let moved = rename_or_copy(source, to, check_cancel);
    if let Some(aside) = aside {
        if moved.is_ok() {
            fs::remove_dir_all(&aside).map_err(|e| io_failed(TYPE, &aside, &e))?;
        } else {
            // Best effort: the error that matters is the move's.
            let _ = fs::rename(&aside, to);
        }
    }
    moved
}

fn aside_path(to: &Path) -> PathBuf {
    let name = to.file_name().unwrap_or_default().to_string_lossy();
    let parent = to.parent().unwrap_or(Path::new("."));
    let mut n = 0u32;
    loop {
        let aside = parent.join(format!(".{name}.{}-{n}.old", std::process::id()));
        if fs::symlink_metadata(&aside).is_err() {
            return aside;
        }
        n += 1;
    }
}

/// Renames `source` to `to`; across filesystems copies the tree, then deletes the source.
fn rename_or_copy(
    source: &Path,
    to: &Path,
    check_cancel: &dyn Fn() -> Result<(), ActivityError>,
) -> Result<(), ActivityError> {
    match fs::rename(source, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
            if let Err(e) = copy_tree(source, to, check_cancel) {
                // A partial copy is worse than none; the source is untouched.
                let _ = fs::remove_dir_all(to);
                return Err(e);
            }
            fs::remove_dir_all(source).map_err(|e| io_failed(TYPE, source, &e))
        }
        Err(e) => Err(io_failed(TYPE, source, &e)),
    }
}

/// Copies the folder `from` to the new path `to`: files (through `copy_file`'s copy, keeping
/// permissions), subfolders and symbolic links (as links).
fn copy_tree(
    from: &Path,
    to: &Path,
    check_cancel: &dyn Fn() -> Result<(), ActivityError>,
) -> Result<(), ActivityError> {
    fs::create_dir(to).map_err(|e| io_failed(TYPE, to, &e))?;
    let entries = fs::read_dir(from).map_err(|e| io_failed(TYPE, from, &e))?;
    for entry in entries {
        check_cancel()?;
        let entry = entry.map_err(|e| io_failed(TYPE, from, &e))?;
        let (path, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(|e| io_failed(TYPE, &path, &e))?;
        if kind.is_dir() {
            copy_tree(&path, &target, check_cancel)?;
        } else if kind.is_symlink() {
            let link = fs::read_link(&path).map_err(|e| io_failed(TYPE, &path, &e))?;
            std::os::unix::fs::symlink(link, &target).map_err(|e| io_failed(TYPE, &target, &e))?;
        } else {
            copy_one(TYPE, &path, &target, Overwrite::No)?;
        }
    }
    let permissions = fs::metadata(from).map_err(|e| io_failed(TYPE, from, &e))?.permissions();
    fs::set_permissions(to, permissions).map_err(|e| io_failed(TYPE, to, &e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::test_support::{failed, field, invalid, ok};
    use scorch_activity::json;

    /// `dir/NAME` holding `f.txt` with `content` and `sub/g.txt`.
    fn make_folder(dir: &Path, name: &str, content: &str) {
        fs::create_dir_all(dir.join(name).join("sub")).unwrap();
        fs::write(dir.join(name).join("f.txt"), content).unwrap();
        fs::write(dir.join(name).join("sub/g.txt"), "g").unwrap();
    }

    #[tokio::test]
    async fn moves_a_folder_to_a_new_path() {
        let dir = tempfile::tempdir().unwrap();
        make_folder(dir.path(), "a", "new");
        let rows = ok(&MoveFolder, dir.path(), json!({"source": "a", "destination": "x/y/b"})).await;
        assert_eq!(
            field(&rows[0], "source_path"),
            dir.path().join("a").display().to_string()
        );
        assert_eq!(
            field(&rows[0], "destination_path"),
            dir.path().join("x/y/b").display().to_string()
        );
        assert!(!dir.path().join("a").exists());
        assert_eq!(fs::read_to_string(dir.path().join("x/y/b/sub/g.txt")).unwrap(), "g");
    }

    #[tokio::test]
    async fn an_existing_destination_fails_without_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        make_folder(dir.path(), "a", "new");
        make_folder(dir.path(), "b", "old");
        let err = failed(&MoveFolder, dir.path(), json!({"source": "a", "destination": "b"})).await;
        assert_eq!(
            err,
            format!("move_folder: {}: already exists", dir.path().join("b").display())
        );
        assert_eq!(fs::read_to_string(dir.path().join("a/f.txt")).unwrap(), "new");
        assert_eq!(fs::read_to_string(dir.path().join("b/f.txt")).unwrap(), "old");
    }

    #[tokio::test]
    async fn overwrite_yes_replaces_and_rename_numbers() {
        let dir = tempfile::tempdir().unwrap();
        make_folder(dir.path(), "a", "new");
        make_folder(dir.path(), "b", "old");
        fs::write(dir.path().join("b/only-old.txt"), "x").unwrap();
        let props = json!({"source": "a", "destination": "b", "overwrite": "yes"});
        ok(&MoveFolder, dir.path(), props).await;
        assert_eq!(fs::read_to_string(dir.path().join("b/f.txt")).unwrap(), "new");
        assert!(!dir.path().join("b/only-old.txt").exists() && !dir.path().join("a").exists());
        // Nothing set aside is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

        make_folder(dir.path(), "c", "newer");
        let props = json!({"source": "c", "destination": "b", "overwrite": "rename"});
        let rows = ok(&MoveFolder, dir.path(), props).await;
        assert_eq!(
            field(&rows[0], "destination_path"),
            dir.path().join("b (1)").display().to_string()
        );
        assert_eq!(fs::read_to_string(dir.path().join("b (1)/f.txt")).unwrap(), "newer");
        assert_eq!(fs::read_to_string(dir.path().join("b/f.txt")).unwrap(), "new");
    }

    #[tokio::test]
    async fn a_missing_source_or_a_file_fails() {
        let dir = tempfile::tempdir().unwrap();
        let err = failed(&MoveFolder, dir.path(), json!({"source": "nope", "destination": "b"})).await;
        assert_eq!(
            err,
            format!("move_folder: {}: not found", dir.path().join("nope").display())
        );
        fs::write(dir.path().join("f"), "x").unwrap();
        let err = failed(&MoveFolder, dir.path(), json!({"source": "f", "destination": "b"})).await;
        assert_eq!(
            err,
            format!("move_folder: {}: not a folder", dir.path().join("f").display())
        );
        make_folder(dir.path(), "a", "x");
        let err = failed(&MoveFolder, dir.path(), json!({"source": "a", "destination": "a/in"})).await;
        assert!(err.ends_with("is the source or inside it"), "{err}");
        let props = json!({"source": "a", "destination": "f", "overwrite": "yes"});
        let err = failed(&MoveFolder, dir.path(), props).await;
        assert!(err.ends_with("exists and is not a folder"), "{err}");
        let props = json!({"source": "a", "destination": "b", "overwrite": "maybe"});
        let err = invalid(&MoveFolder, dir.path(), props).await;
        assert!(err.starts_with("move_folder: property 'overwrite'"), "{err}");
    }

    #[tokio::test]
    async fn moves_across_filesystems_by_copying() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        // Only where the machine has a second filesystem to move to.
        let Ok(other) = tempfile::tempdir_in("/dev/shm") else {
            return;
        };
        if fs::metadata(dir.path()).unwrap().dev() == fs::metadata(other.path()).unwrap().dev() {
            return;
        }
        make_folder(dir.path(), "a", "abc");
        std::os::unix::fs::symlink("f.txt", dir.path().join("a/link")).unwrap();
        let props = json!({"source": "a", "destination": other.path().join("b")});
        ok(&MoveFolder, dir.path(), props).await;
        assert!(!dir.path().join("a").exists());
        assert_eq!(fs::read_to_string(other.path().join("b/f.txt")).unwrap(), "abc");
        assert_eq!(fs::read_to_string(other.path().join("b/sub/g.txt")).unwrap(), "g");
        assert_eq!(fs::read_link(other.path().join("b/link")).unwrap(), Path::new("f.txt"));
    }

    #[test]
    fn copy_tree_copies_everything() {
        let dir = tempfile::tempdir().unwrap();
        make_folder(dir.path(), "a", "abc");
        copy_tree(&dir.path().join("a"), &dir.path().join("b"), &|| Ok(())).unwrap();
        assert_eq!(fs::read_to_string(dir.path().join("b/f.txt")).unwrap(), "abc");
        assert_eq!(fs::read_to_string(dir.path().join("b/sub/g.txt")).unwrap(), "g");
    }
}
