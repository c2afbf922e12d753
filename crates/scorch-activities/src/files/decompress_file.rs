//! `decompress_file`: extracts a zip archive into a folder, refusing archives whose entries would
//! land outside it ("zip slip").

use std::fs::{self, File};
use std::io::{self, BufReader};
use std::path::{Component, Path, PathBuf};

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};
use zip::ZipArchive;

use super::{CATEGORY, blocking, cancel_check, create_folder_all, io_failed, zip_why};

pub struct DecompressFile;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: "decompress_file",
    category: CATEGORY,
    summary: "Extracts a zip archive into a folder.",
    idempotent: false,
    properties: &["archive", "destination"],
    required: &["archive", "destination"],
    publishes: &["path"],
};

#[scorch_activity::async_trait]
impl Activity for DecompressFile {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let type_name = DESCRIPTOR.type_name;
        let props = Props::new(type_name, properties)?;
        let archive = ctx.resolve_path(&props.non_empty("archive")?);
        let destination = ctx.resolve_path(&props.non_empty("destination")?);
        let check_cancel = cancel_check(ctx);
        let rows = blocking(type_name, move || {
            let zip_failed =
                |e: zip::result::ZipError| ActivityError::failed(type_name, archive.display(), zip_why(&e));
            let file = File::open(&archive).map_err(|e| io_failed(type_name, &archive, &e))?;
            let mut zip = ZipArchive::new(BufReader::new(file)).map_err(zip_failed)?;
            // Every entry is checked before anything is written: a hostile archive extracts nothing.
            let mut entries = Vec::with_capacity(zip.len());
            for index in 0..zip.len() {
                let entry = zip.by_index(index).map_err(zip_failed)?;
                let Some(relative) = entry.enclosed_name().map(|p| normalize(&p)) else {
                    let why = format!("entry '{}' escapes the destination", entry.name());
                    return Err(ActivityError::failed(type_name, archive.display(), why));
                };
                if !relative.as_os_str().is_empty() {
                    entries.push((index, relative, entry.is_dir()));
                }
            }
            create_folder_all(type_name, &destination)?;
            let mut rows = Vec::new();
            for (index, relative, is_dir) in entries {
                check_cancel()?;
                let target = destination.join(relative);
                if is_dir {
                    create_folder_all(type_name, &target)?;
                    continue;
                }
                if let Some(parent) = target.parent() {
                    create_folder_all(type_name, parent)?;
                }
                let mut entry = zip.by_index(index).map_err(zip_failed)?;
                let mut out = File::create(&target).map_err(|e| io_failed(type_name, &target, &e))?;
                io::copy(&mut entry, &mut out).map_err(|e| io_failed(type_name, &target, &e))?;
                #[cfg(unix)]
                if let Some(mode) = entry.unix_mode() {
                    use std::os::unix::fs::PermissionsExt;
                    // Only the permission bits: never set-id bits from someone else's archive.
                    let permissions = fs::Permissions::from_mode(mode & 0o777);
                    fs::set_permissions(&target, permissions).map_err(|e| io_failed(type_name, &target, &e))?;
                }
                rows.push(row! { "path" => target.display().to_string() });
            }
            Ok(rows)
        })
        .await?;
        Ok(ActivityOutput::rows(rows))
    }
}

/// `a/./b/../c` as `a/c`, for a path already known not to climb out of its base.
fn normalize(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => normal.push(part),
            Component::ParentDir => {
                normal.pop();
            }
            _ => {}
        }
    }
    normal
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::files::test_support::{failed, field, ok};
    use scorch_activity::json;
    use zip::write::SimpleFileOptions;

    fn make_zip(path: &Path, entries: &[(&str, &str)]) {
        let mut zip = zip::ZipWriter::new(File::create(path).unwrap());
        for (name, text) in entries {
            if name.ends_with('/') {
                zip.add_directory(*name, SimpleFileOptions::default()).unwrap();
            } else {
                zip.start_file(*name, SimpleFileOptions::default()).unwrap();
                zip.write_all(text.as_bytes()).unwrap();
            }
        }
        zip.finish().unwrap();
    }

    #[tokio::test]
    async fn extracts_files_and_folders() {
        let dir = tempfile::tempdir().unwrap();
        make_zip(
            &dir.path().join("in.zip"),
            &[("a.txt", "a"), ("empty/", ""), ("sub/./x/../b.txt", "b")],
        );
        let rows = ok(
            &DecompressFile,
            dir.path(),
            json!({"archive": "in.zip", "destination": "out"}),
        )
        .await;
        let paths: Vec<String> = rows.iter().map(|r| field(r, "path")).collect();
        let out = dir.path().join("out");
        assert_eq!(
            paths,
            [out.join("a.txt"), out.join("sub/b.txt")].map(|p| p.display().to_string())
        );
        assert_eq!(fs::read_to_string(out.join("sub/b.txt")).unwrap(), "b");
        assert!(out.join("empty").is_dir());
    }

    #[tokio::test]
    async fn refuses_zip_slip_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        make_zip(
            &dir.path().join("evil.zip"),
            &[("ok.txt", "fine"), ("../evil.txt", "boom")],
        );
        let err = failed(
            &DecompressFile,
            dir.path(),
            json!({"archive": "evil.zip", "destination": "out"}),
        )
        .await;
        let archive = dir.path().join("evil.zip");
        assert_eq!(
            err,
            format!(
                "decompress_file: {}: entry '../evil.txt' escapes the destination",
                archive.display()
            )
        );
        assert!(!dir.path().join("evil.txt").exists() && !dir.path().join("out").exists());
    }

    #[tokio::test]
    async fn fails_on_a_missing_or_broken_archive() {
        let dir = tempfile::tempdir().unwrap();
        let err = failed(
            &DecompressFile,
            dir.path(),
            json!({"archive": "no.zip", "destination": "out"}),
        )
        .await;
        assert!(err.ends_with("no.zip: not found"), "{err}");
        fs::write(dir.path().join("bad.zip"), "not a zip").unwrap();
        let err = failed(
            &DecompressFile,
            dir.path(),
            json!({"archive": "bad.zip", "destination": "out"}),
        )
        .await;
        assert!(err.contains("bad.zip: not a valid zip archive"), "{err}");
    }
}
