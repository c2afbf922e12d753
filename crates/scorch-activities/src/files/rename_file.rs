//! `rename_file`: gives a file a new name in the same folder.

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::{CATEGORY, io_failed};

pub struct RenameFile;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: "rename_file",
    category: CATEGORY,
    summary: "Renames a file within its folder.",
    idempotent: false,
    properties: &["path", "new_name"],
    required: &["path", "new_name"],
    publishes: &["old_path", "new_path"],
};

#[scorch_activity::async_trait]
impl Activity for RenameFile {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let type_name = DESCRIPTOR.type_name;
        let props = Props::new(type_name, properties)?;
        let old_path = ctx.resolve_path(&props.non_empty("path")?);
        let new_name = props.non_empty("new_name")?;
        if new_name.contains(['/', '\0']) || new_name == "." || new_name == ".." {
            return Err(ActivityError::invalid(
                type_name,
                "new_name",
                format!("'{new_name}' is not a file name"),
            ));
        }
        let (Some(folder), Some(_)) = (old_path.parent(), old_path.file_name()) else {
            return Err(ActivityError::failed(type_name, old_path.display(), "is not a file"));
        };
        let new_path = folder.join(&new_name);
        tokio::fs::symlink_metadata(&old_path)
            .await
            .map_err(|e| io_failed(type_name, &old_path, &e))?;
        if new_path != old_path {
            // A rename would silently replace an existing file.
            if tokio::fs::symlink_metadata(&new_path).await.is_ok() {
                return Err(ActivityError::failed(type_name, new_path.display(), "already exists"));
            }
            tokio::fs::rename(&old_path, &new_path)
                .await
                .map_err(|e| io_failed(type_name, &old_path, &e))?;
        }
        Ok(ActivityOutput::row(row! {
            "old_path" => old_path.display().to_string(),
            "new_path" => new_path.display().to_string(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::files::test_support::{failed, field, invalid, ok};
    use scorch_activity::json;

    #[tokio::test]
    async fn renames_in_the_same_folder() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("in")).unwrap();
        fs::write(dir.path().join("in/a.txt"), "a").unwrap();
        let rows = ok(
            &RenameFile,
            dir.path(),
            json!({"path": "in/a.txt", "new_name": "b.txt"}),
        )
        .await;
        assert_eq!(
            field(&rows[0], "old_path"),
            dir.path().join("in/a.txt").display().to_string()
        );
        assert_eq!(
            field(&rows[0], "new_path"),
            dir.path().join("in/b.txt").display().to_string()
        );
        assert_eq!(fs::read_to_string(dir.path().join("in/b.txt")).unwrap(), "a");
        assert!(!dir.path().join("in/a.txt").exists());
    }

    #[tokio::test]
    async fn refuses_paths_missing_files_and_existing_names() {
        let dir = tempfile::tempdir().unwrap();
        let err = invalid(
            &RenameFile,
            dir.path(),
            json!({"path": "a.txt", "new_name": "sub/b.txt"}),
        )
        .await;
        assert_eq!(err, "rename_file: property 'new_name': 'sub/b.txt' is not a file name");
        let err = failed(&RenameFile, dir.path(), json!({"path": "a.txt", "new_name": "b.txt"})).await;
        assert!(err.ends_with("a.txt: not found"), "{err}");
        fs::write(dir.path().join("a.txt"), "a").unwrap();
        fs::write(dir.path().join("b.txt"), "b").unwrap();
        let err = failed(&RenameFile, dir.path(), json!({"path": "a.txt", "new_name": "b.txt"})).await;
        assert!(err.ends_with("b.txt: already exists"), "{err}");
        assert_eq!(fs::read_to_string(dir.path().join("b.txt")).unwrap(), "b");
    }
}
