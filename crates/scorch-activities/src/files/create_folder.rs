//! `create_folder`: creates a folder and its parents; an existing folder is success.

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::{CATEGORY, blocking, create_folder_all};

pub struct CreateFolder;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: "create_folder",
    category: CATEGORY,
    summary: "Creates a folder and any missing parent folders.",
    idempotent: true,
    properties: &["path"],
    required: &["path"],
    publishes: &["path"],
};

#[scorch_activity::async_trait]
impl Activity for CreateFolder {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let type_name = DESCRIPTOR.type_name;
        let path = ctx.resolve_path(&Props::new(type_name, properties)?.non_empty("path")?);
        let shown = path.display().to_string();
        blocking(type_name, move || create_folder_all(type_name, &path)).await?;
        Ok(ActivityOutput::row(row! { "path" => shown }))
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::files::test_support::{failed, field, ok};
    use scorch_activity::json;

    #[tokio::test]
    async fn creates_parents_and_accepts_an_existing_folder() {
        let dir = tempfile::tempdir().unwrap();
        let rows = ok(&CreateFolder, dir.path(), json!({"path": "a/b/c"})).await;
        assert_eq!(field(&rows[0], "path"), dir.path().join("a/b/c").display().to_string());
        assert!(dir.path().join("a/b/c").is_dir());
        ok(&CreateFolder, dir.path(), json!({"path": "a/b/c"})).await;
    }

    #[tokio::test]
    async fn fails_where_a_file_is() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a"), "").unwrap();
        let err = failed(&CreateFolder, dir.path(), json!({"path": "a"})).await;
        assert_eq!(
            err,
            format!(
                "create_folder: {}: exists and is not a folder",
                dir.path().join("a").display()
            )
        );
        let err = failed(&CreateFolder, dir.path(), json!({"path": "a/b"})).await;
        assert!(err.ends_with("a/b: not a folder"), "{err}");
    }
}
