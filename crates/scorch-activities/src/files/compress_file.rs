//! `compress_file`: puts the files a path or glob names into a new zip archive, each under its
//! file name. The archive is written beside its final path and renamed into place when complete.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::{CATEGORY, blocking, cancel_check, create_temp_beside, expand_source, io_failed, zip_why};

pub struct CompressFile;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: "compress_file",
    category: CATEGORY,
    summary: "Compresses the files a path or glob names into a zip archive.",
    idempotent: false,
    properties: &["source", "archive"],
    required: &["source", "archive"],
    publishes: &["archive", "files"],
};

#[scorch_activity::async_trait]
impl Activity for CompressFile {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let type_name = DESCRIPTOR.type_name;
        let props = Props::new(type_name, properties)?;
        let source = props.non_empty("source")?;
        let archive = ctx.resolve_path(&props.non_empty("archive")?);
        let working_dir = ctx.working_dir.clone();
        let check_cancel = cancel_check(ctx);
        let rows = blocking(type_name, move || {
            // The archive may match the glob when it is being replaced: never zip it into itself.
            let files: Vec<PathBuf> = expand_source(type_name, "source", &working_dir, &source)?
                .into_iter()
                .filter(|file| !same_file(file, &archive))
                .collect();
            // Like every glob matching nothing: zero rows, and no empty archive either.
            if files.is_empty() {
                return Ok(Vec::new());
            }
            let mut names = HashSet::new();
            for file in &files {
                let name = file.file_name().unwrap_or_default();
                if !names.insert(name) {
                    let why = format!(
                        "another file is already named '{}' in the archive",
                        name.to_string_lossy()
                    );
                    return Err(ActivityError::failed(type_name, file.display(), why));
                }
            }
            let (temp, out) = create_temp_beside(&archive).map_err(|e| io_failed(type_name, &archive, &e))?;
            let written = write_zip(type_name, out, &files, &archive, &check_cancel)
                .and_then(|()| fs::rename(&temp, &archive).map_err(|e| io_failed(type_name, &archive, &e)));
            if written.is_err() {
                // Best effort: the error that matters is the one returned.
                let _ = fs::remove_file(&temp);
            }
            written?;
            Ok(vec![
                row! { "archive" => archive.display().to_string(), "files" => files.len() },
            ])
        })
        .await?;
        Ok(ActivityOutput::rows(rows))
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((fs::canonicalize(a), fs::canonicalize(b)), (Ok(a), Ok(b)) if a == b)
}

fn write_zip(
    type_name: &str,
    out: File,
    files: &[PathBuf],
    archive: &Path,
    check_cancel: &dyn Fn() -> Result<(), ActivityError>,
) -> Result<(), ActivityError> {
    let zip_failed = |e: zip::result::ZipError| ActivityError::failed(type_name, archive.display(), zip_why(&e));
    let mut zip = ZipWriter::new(BufWriter::new(out));
    for path in files {
        check_cancel()?;
        let mut input = File::open(path).map_err(|e| io_failed(type_name, path, &e))?;
        let meta = input.metadata().map_err(|e| io_failed(type_name, path, &e))?;
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .large_file(meta.len() >= u64::from(u32::MAX))
            .last_modified_time(zip_time(&meta));
        #[cfg(unix)]
        let options = options.unix_permissions(std::os::unix::fs::PermissionsExt::mode(&meta.permissions()));
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        zip.start_file(name, options).map_err(zip_failed)?;
        io::copy(&mut input, &mut zip).map_err(|e| io_failed(type_name, path, &e))?;
    }
    let out = zip.finish().map_err(zip_failed)?;
    let out = out.into_inner().map_err(|e| io_failed(type_name, archive, e.error()))?;
    out.sync_all().map_err(|e| io_failed(type_name, archive, &e))
}

/// The file's modification time as zip stores it: local time, from 1980 (its start otherwise).
fn zip_time(meta: &fs::Metadata) -> zip::DateTime {
    let local = meta
        .modified()
        .ok()
        .and_then(|t| jiff::Timestamp::try_from(t).ok())
        .map(|t| t.to_zoned(jiff::tz::TimeZone::system()));
    local
        .and_then(|t| {
            let year = u16::try_from(t.year()).ok()?;
            let [month, day, hour, minute, second] =
                [t.month(), t.day(), t.hour(), t.minute(), t.second()].map(|n| n.unsigned_abs());
            zip::DateTime::from_date_and_time(year, month, day, hour, minute, second).ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::files::test_support::{failed, field, ok};
    use scorch_activity::json;

    fn entries(archive: &Path) -> Vec<(String, String)> {
        let mut zip = zip::ZipArchive::new(File::open(archive).unwrap()).unwrap();
        (0..zip.len())
            .map(|i| {
                let mut entry = zip.by_index(i).unwrap();
                let mut text = String::new();
                entry.read_to_string(&mut text).unwrap();
                (entry.name().to_string(), text)
            })
            .collect()
    }

    #[tokio::test]
    async fn zips_a_glob_by_file_name() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("logs")).unwrap();
        fs::write(dir.path().join("logs/a.log"), "alpha").unwrap();
        fs::write(dir.path().join("logs/b.log"), "beta").unwrap();
        let rows = ok(
            &CompressFile,
            dir.path(),
            json!({"source": "logs/*.log", "archive": "logs.zip"}),
        )
        .await;
        assert_eq!(
            field(&rows[0], "archive"),
            dir.path().join("logs.zip").display().to_string()
        );
        assert_eq!(rows[0]["files"], json!(2));
        let expected = [("a.log", "alpha"), ("b.log", "beta")].map(|(n, t)| (n.to_string(), t.to_string()));
        assert_eq!(entries(&dir.path().join("logs.zip")), expected);
    }

    #[tokio::test]
    async fn replacing_an_archive_never_zips_it_into_itself() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "a").unwrap();
        let props = json!({"source": "*", "archive": "all.zip"});
        ok(&CompressFile, dir.path(), props.clone()).await;
        let rows = ok(&CompressFile, dir.path(), props).await;
        assert_eq!(rows[0]["files"], json!(1));
        assert_eq!(entries(&dir.path().join("all.zip")).len(), 1);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "a temp file was left behind"
        );
    }

    #[tokio::test]
    async fn a_glob_matching_nothing_writes_no_archive() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            ok(
                &CompressFile,
                dir.path(),
                json!({"source": "*.log", "archive": "x.zip"})
            )
            .await
            .is_empty()
        );
        assert!(!dir.path().join("x.zip").exists());
    }

    #[tokio::test]
    async fn fails_on_a_missing_source_or_folder_and_on_duplicate_names() {
        let dir = tempfile::tempdir().unwrap();
        let err = failed(
            &CompressFile,
            dir.path(),
            json!({"source": "a.log", "archive": "x.zip"}),
        )
        .await;
        assert_eq!(
            err,
            format!("compress_file: {}: not found", dir.path().join("a.log").display())
        );
        fs::create_dir_all(dir.path().join("one")).unwrap();
        fs::create_dir_all(dir.path().join("two")).unwrap();
        fs::write(dir.path().join("one/a.log"), "1").unwrap();
        fs::write(dir.path().join("two/a.log"), "2").unwrap();
        let err = failed(
            &CompressFile,
            dir.path(),
            json!({"source": "*/a.log", "archive": "x.zip"}),
        )
        .await;
        assert!(
            err.ends_with("another file is already named 'a.log' in the archive"),
            "{err}"
        );
        let err = failed(
            &CompressFile,
            dir.path(),
            json!({"source": "one/a.log", "archive": "no/x.zip"}),
        )
        .await;
        assert!(err.ends_with("no/x.zip: not found"), "{err}");
    }
}
