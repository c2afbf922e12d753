//! Files and folders: copying, moving, deleting and renaming files, folders, file status and zip
//! archives. The helpers below (error wording, blocking work, glob expansion, atomic replacement)
//! serve these modules; [`crate::text`] uses a few of them.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use scorch_activity::{ActivityContext, ActivityError};

mod compress_file;
pub(crate) mod copy_file;
mod create_folder;
mod decompress_file;
mod delete_file;
mod delete_folder;
mod get_file_status;
mod move_file;
mod rename_file;

pub use compress_file::CompressFile;
pub use copy_file::CopyFile;
pub use create_folder::CreateFolder;
pub use decompress_file::DecompressFile;
pub use delete_file::DeleteFile;
pub use delete_folder::DeleteFolder;
pub use get_file_status::GetFileStatus;
pub use move_file::MoveFile;
pub use rename_file::RenameFile;

const CATEGORY: &str = "Files and folders";

use crate::io_words::io_why;

/// `type_name: path: why` for an io error on `path`.
pub(crate) fn io_failed(type_name: &str, path: &Path, err: &io::Error) -> ActivityError {
    ActivityError::failed(type_name, path.display(), io_why(err))
}

/// A zip error in the same style as [`io_why`].
fn zip_why(err: &zip::result::ZipError) -> String {
    use zip::result::ZipError;
    match err {
        ZipError::Io(e) => io_why(e),
        ZipError::InvalidArchive(why) => format!("not a valid zip archive ({why})"),
        ZipError::UnsupportedArchive(why) => format!("unsupported zip archive ({why})"),
        other => other.to_string(),
    }
}

/// Runs blocking file work (walking globs, copying, zipping) off the async runtime.
pub(crate) async fn blocking<T, F>(type_name: &'static str, work: F) -> Result<T, ActivityError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ActivityError> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ActivityError::Failed(format!("{type_name}: {e}")))?
}

/// Whether the job was canceled, callable from blocking work so loops over many files stop early.
pub(crate) fn cancel_check(ctx: &ActivityContext) -> impl Fn() -> Result<(), ActivityError> + Send + 'static {
    let token = ctx.cancel.clone();
    move || {
        if token.is_cancelled() {
            Err(ActivityError::Canceled)
        } else {
            Ok(())
        }
    }
}

/// The files `source` names, in order: the files a glob matches (folders skipped; no match is
/// fine), or one plain path, which must exist and not be a folder. A path that exists is taken
/// literally even when its name holds glob characters. `property` names `source` in errors.
fn expand_source(
    type_name: &str,
    property: &str,
    working_dir: &Path,
    source: &str,
) -> Result<Vec<PathBuf>, ActivityError> {
    let path = working_dir.join(source);
    let exists = fs::symlink_metadata(&path).is_ok();
    if exists || !source.contains(['*', '?', '[']) {
        if !exists {
            return Err(ActivityError::failed(type_name, path.display(), "not found"));
        }
        if path.is_dir() {
            return Err(ActivityError::failed(type_name, path.display(), "is a folder"));
        }
        return Ok(vec![path]);
    }
    // The working folder is escaped so that its own name is never read as a pattern.
    let pattern = if Path::new(source).is_absolute() {
        source.to_string()
    } else {
        format!("{}/{source}", glob::Pattern::escape(&working_dir.to_string_lossy()))
    };
    let matches = glob::glob(&pattern)
        .map_err(|e| ActivityError::invalid(type_name, property, format!("bad glob '{source}': {}", e.msg)))?;
    let mut files = Vec::new();
    for entry in matches {
        let path = entry.map_err(|e| io_failed(type_name, e.path(), e.error()))?;
        if !path.is_dir() {
            files.push(path);
        }
    }
    Ok(files)
}

/// Creates `path` and its parents; an existing folder is fine, an existing file is not.
pub(crate) fn create_folder_all(type_name: &str, path: &Path) -> Result<(), ActivityError> {
    fs::create_dir_all(path).map_err(|e| {
        if path.exists() && !path.is_dir() {
            ActivityError::failed(type_name, path.display(), "exists and is not a folder")
        } else {
            io_failed(type_name, path, &e)
        }
    })
}

/// Creates a new empty file in `path`'s folder, to be renamed over `path` once written: readers
/// then see the old content or the new, never half of it, and a failure leaves `path` untouched.
fn create_temp_beside(path: &Path) -> io::Result<(PathBuf, File)> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((temp, file)),
            // Left behind by a crashed process with the same id: try the next name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Replaces `path`'s content with `content` atomically, keeping its permissions; creates `path`
/// when it does not exist yet.
pub(crate) fn write_atomic(path: &Path, content: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |e| e, |file| io::Write::write_all(file, content))
}

/// Writes `path` atomically through `write`, which gets an empty temporary file beside it: a
/// failure (`write`'s, or an io error that `io_err` maps) leaves `path` as it was. An existing
/// file's permissions are kept.
pub(crate) fn write_atomic_with<E>(
    path: &Path,
    io_err: impl Fn(io::Error) -> E,
    write: impl FnOnce(&mut File) -> Result<(), E>,
) -> Result<(), E> {
    let permissions = match fs::metadata(path) {
        Ok(meta) => Some(meta.permissions()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err(e)),
    };
    let (temp, mut file) = create_temp_beside(path).map_err(&io_err)?;
    let written = write(&mut file).and_then(|()| {
        file.sync_all()
            .and_then(|()| permissions.map_or(Ok(()), |p| fs::set_permissions(&temp, p)))
            .and_then(|()| fs::rename(&temp, path))
            .map_err(&io_err)
    });
    if written.is_err() {
        // Best effort: the error that matters is the one returned.
        let _ = fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
pub(crate) mod test_support {
    use std::path::Path;

    use scorch_activity::{Activity, ActivityContext, ActivityError, Row, Status, Value};

    /// Runs `activity` with `properties` in `dir`.
    pub async fn run(activity: &dyn Activity, dir: &Path, properties: Value) -> Result<Vec<Row>, ActivityError> {
        let ctx = ActivityContext::standalone(activity.descriptor().type_name, dir.to_path_buf());
        let output = activity.run(&ctx, properties).await?;
        assert_eq!(output.status, Status::Success, "{}", output.error);
        Ok(output.rows)
    }

    /// The rows of a run that must succeed.
    pub async fn ok(activity: &dyn Activity, dir: &Path, properties: Value) -> Vec<Row> {
        run(activity, dir, properties)
            .await
            .unwrap_or_else(|e| panic!("expected success, got: {e}"))
    }

    /// The error text of a run that must fail with `ActivityError::Failed`.
    pub async fn failed(activity: &dyn Activity, dir: &Path, properties: Value) -> String {
        match run(activity, dir, properties).await {
            Err(ActivityError::Failed(text)) => text,
            other => panic!("expected Failed, got {other:?}"),
        }
    }

    /// The error text of a run that must fail with `ActivityError::InvalidInput`.
    pub async fn invalid(activity: &dyn Activity, dir: &Path, properties: Value) -> String {
        match run(activity, dir, properties).await {
            Err(ActivityError::InvalidInput(text)) => text,
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    /// A row's field as text (numbers and booleans by their JSON text).
    pub fn field(row: &Row, name: &str) -> String {
        match &row[name] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_characters_in_the_working_folder_are_literal() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("[x]");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("a.txt"), "a").unwrap();
        let files = expand_source("t", "source", &dir, "*.txt").unwrap();
        assert_eq!(files, vec![dir.join("a.txt")]);
    }

    #[test]
    fn atomic_write_keeps_permissions_and_leaves_no_temp() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        write_atomic(&dir.path().join("new.txt"), b"fresh").unwrap();
        assert_eq!(fs::read_to_string(dir.path().join("new.txt")).unwrap(), "fresh");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
