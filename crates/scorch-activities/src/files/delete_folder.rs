//! `delete_folder`: deletes a folder, with its content only when `recursive` says so.

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::{CATEGORY, io_failed};

pub struct DeleteFolder;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: "delete_folder",
    category: CATEGORY,
    summary: "Deletes a folder, and everything in it when recursive.",
    idempotent: false,
    properties: &["path", "recursive"],
    required: &["path"],
    publishes: &["path"],
};

#[scorch_activity::async_trait]
impl Activity for DeleteFolder {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let type_name = DESCRIPTOR.type_name;
        let props = Props::new(type_name, properties)?;
        let path = ctx.resolve_path(&props.non_empty("path")?);
        let recursive = props.bool_or("recursive", false)?;
        // Not following links: a link to a folder is not a folder to empty.
        let meta = tokio::fs::symlink_metadata(&path)
            .await
            .map_err(|e| io_failed(type_name, &path, &e))?;
        if !meta.is_dir() {
            return Err(ActivityError::failed(type_name, path.display(), "not a folder"));
        }
        let removed = if recursive {
            tokio::fs::remove_dir_all(&path).await
        } else {
            tokio::fs::remove_dir(&path).await
        };
        removed.map_err(|e| io_failed(type_name, &path, &e))?;
        Ok(ActivityOutput::row(row! { "path" => path.display().to_string() }))
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::files::test_support::{failed, field, ok};
    use scorch_activity::json;

    #[tokio::test]
    async fn deletes_empty_folders_and_full_ones_when_recursive() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("empty")).unwrap();
        fs::create_dir_all(dir.path().join("full/sub")).unwrap();
        fs::write(dir.path().join("full/sub/a.txt"), "a").unwrap();
        let rows = ok(&DeleteFolder, dir.path(), json!({"path": "empty"})).await;
        assert_eq!(field(&rows[0], "path"), dir.path().join("empty").display().to_string());
        ok(&DeleteFolder, dir.path(), json!({"path": "full", "recursive": "true"})).await;
        assert!(!dir.path().join("empty").exists() && !dir.path().join("full").exists());
    }

    #[tokio::test]
    async fn refuses_a_full_folder_a_file_and_a_missing_path() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("full")).unwrap();
        fs::write(dir.path().join("full/a.txt"), "a").unwrap();
        let err = failed(&DeleteFolder, dir.path(), json!({"path": "full"})).await;
        assert_eq!(
            err,
            format!("delete_folder: {}: not empty", dir.path().join("full").display())
        );
        let err = failed(
            &DeleteFolder,
            dir.path(),
            json!({"path": "full/a.txt", "recursive": true}),
        )
        .await;
        assert!(err.ends_with("a.txt: not a folder"), "{err}");
        let err = failed(&DeleteFolder, dir.path(), json!({"path": "gone"})).await;
        assert!(err.ends_with("gone: not found"), "{err}");
        assert!(dir.path().join("full/a.txt").exists());
    }
}
