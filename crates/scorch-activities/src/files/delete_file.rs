//! `delete_file`: deletes the files a path or glob names.

use std::fs;

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::{CATEGORY, blocking, cancel_check, expand_source, io_failed};

pub struct DeleteFile;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: "delete_file",
    category: CATEGORY,
    summary: "Deletes the files a path or glob names.",
    idempotent: false,
    properties: &["path"],
    required: &["path"],
    publishes: &["path"],
};

#[scorch_activity::async_trait]
impl Activity for DeleteFile {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let type_name = DESCRIPTOR.type_name;
        let props = Props::new(type_name, properties)?;
        let source = props.non_empty("path")?;
        let working_dir = ctx.working_dir.clone();
        let check_cancel = cancel_check(ctx);
        let rows = blocking(type_name, move || {
            let mut rows = Vec::new();
            for path in expand_source(type_name, "path", &working_dir, &source)? {
                check_cancel()?;
                fs::remove_file(&path).map_err(|e| io_failed(type_name, &path, &e))?;
                rows.push(row! { "path" => path.display().to_string() });
            }
            Ok(rows)
        })
        .await?;
        Ok(ActivityOutput::rows(rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::test_support::{failed, field, ok};
    use scorch_activity::json;

    #[tokio::test]
    async fn deletes_a_glob_and_leaves_folders() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.log"), "").unwrap();
        fs::write(dir.path().join("b.log"), "").unwrap();
        fs::write(dir.path().join("keep.txt"), "").unwrap();
        fs::create_dir(dir.path().join("c.log")).unwrap();
        let rows = ok(&DeleteFile, dir.path(), json!({"path": "*.log"})).await;
        let paths: Vec<String> = rows.iter().map(|r| field(r, "path")).collect();
        let expected: Vec<String> = ["a.log", "b.log"]
            .iter()
            .map(|n| dir.path().join(n).display().to_string())
            .collect();
        assert_eq!(paths, expected);
        assert!(dir.path().join("keep.txt").exists() && dir.path().join("c.log").is_dir());
    }

    #[tokio::test]
    async fn a_glob_matching_nothing_is_zero_rows() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ok(&DeleteFile, dir.path(), json!({"path": "*.log"})).await.is_empty());
    }

    #[tokio::test]
    async fn a_missing_plain_path_or_a_folder_fails() {
        let dir = tempfile::tempdir().unwrap();
        let err = failed(&DeleteFile, dir.path(), json!({"path": "a.log"})).await;
        assert_eq!(
            err,
            format!("delete_file: {}: not found", dir.path().join("a.log").display())
        );
        fs::create_dir(dir.path().join("sub")).unwrap();
        let err = failed(&DeleteFile, dir.path(), json!({"path": "sub"})).await;
        assert!(err.ends_with("sub: is a folder"), "{err}");
    }
}
