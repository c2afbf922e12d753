//! `move_file`: `copy_file`'s transfer, removing the sources.

use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value};

use super::CATEGORY;
use super::copy_file::{Mode, PROPERTIES, PUBLISHES, REQUIRED, transfer};

pub struct MoveFile;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: "move_file",
    category: CATEGORY,
    summary: "Moves the files a path or glob names into a folder.",
    idempotent: false,
    properties: PROPERTIES,
    required: REQUIRED,
    publishes: PUBLISHES,
};

#[scorch_activity::async_trait]
impl Activity for MoveFile {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        transfer(ctx, DESCRIPTOR.type_name, properties, Mode::Move).await
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::files::test_support::{failed, field, ok};
    use scorch_activity::json;

    #[tokio::test]
    async fn moves_a_glob_and_renames_on_conflict() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("out")).unwrap();
        fs::write(dir.path().join("a.txt"), "new").unwrap();
        fs::write(dir.path().join("b.txt"), "bb").unwrap();
        fs::write(dir.path().join("out/a.txt"), "old").unwrap();
        let props = json!({"source": "*.txt", "destination": "out", "overwrite": "rename"});
        let rows = ok(&MoveFile, dir.path(), props).await;
        assert_eq!(rows.len(), 2);
        assert_eq!(
            field(&rows[0], "destination_path"),
            dir.path().join("out/a (1).txt").display().to_string()
        );
        assert_eq!(field(&rows[1], "size"), "2");
        assert!(!dir.path().join("a.txt").exists() && !dir.path().join("b.txt").exists());
        assert_eq!(fs::read_to_string(dir.path().join("out/a.txt")).unwrap(), "old");
        assert_eq!(fs::read_to_string(dir.path().join("out/a (1).txt")).unwrap(), "new");
    }

    #[tokio::test]
    async fn overwrite_no_keeps_both_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("out")).unwrap();
        fs::write(dir.path().join("a.txt"), "new").unwrap();
        fs::write(dir.path().join("out/a.txt"), "old").unwrap();
        let err = failed(&MoveFile, dir.path(), json!({"source": "a.txt", "destination": "out"})).await;
        assert!(
            err.starts_with("move_file: ") && err.ends_with("out/a.txt: already exists"),
            "{err}"
        );
        assert!(dir.path().join("a.txt").exists());
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
        fs::write(dir.path().join("a.txt"), "abc").unwrap();
        let props = json!({"source": "a.txt", "destination": other.path().join("out")});
        let rows = ok(&MoveFile, dir.path(), props).await;
        assert_eq!(field(&rows[0], "size"), "3");
        assert!(!dir.path().join("a.txt").exists());
        assert_eq!(fs::read_to_string(other.path().join("out/a.txt")).unwrap(), "abc");
    }

    #[tokio::test]
    async fn missing_source_fails_and_empty_glob_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let err = failed(&MoveFile, dir.path(), json!({"source": "a.txt", "destination": "out"})).await;
        assert!(err.ends_with("a.txt: not found"), "{err}");
        assert!(
            ok(&MoveFile, dir.path(), json!({"source": "*.txt", "destination": "out"}))
                .await
                .is_empty()
        );
    }
}
