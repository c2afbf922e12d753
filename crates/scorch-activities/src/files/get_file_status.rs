//! `get_file_status`: whether a path exists, and what it is. A missing path is not a failure.

use std::io;

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::{CATEGORY, io_failed};

pub struct GetFileStatus;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: "get_file_status",
    category: CATEGORY,
    summary: "Tells whether a file or folder exists, its size and when it was last modified.",
    idempotent: true,
    properties: &["path"],
    required: &["path"],
    publishes: &["exists", "is_dir", "size", "modified_at", "path"],
};

#[scorch_activity::async_trait]
impl Activity for GetFileStatus {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let type_name = DESCRIPTOR.type_name;
        let path = ctx.resolve_path(&Props::new(type_name, properties)?.non_empty("path")?);
        let shown = path.display().to_string();
        let meta = match tokio::fs::metadata(&path).await {
            Ok(meta) => meta,
            Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {
                return Ok(ActivityOutput::row(row! {
                    "exists" => false, "is_dir" => false, "size" => 0, "modified_at" => "", "path" => shown,
                }));
            }
            Err(e) => return Err(io_failed(type_name, &path, &e)),
        };
        // A folder's own size says nothing useful about it.
        let size = if meta.is_dir() { 0 } else { meta.len() };
        let modified_at = meta
            .modified()
            .ok()
            .and_then(|t| jiff::Timestamp::try_from(t).ok())
            .map(|t| t.to_string())
            .unwrap_or_default();
        Ok(ActivityOutput::row(row! {
            "exists" => true,
            "is_dir" => meta.is_dir(),
            "size" => size,
            "modified_at" => modified_at,
            "path" => shown,
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::files::test_support::{field, invalid, ok};
    use scorch_activity::json;

    #[tokio::test]
    async fn describes_a_file_and_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "hello").unwrap();
        let row = &ok(&GetFileStatus, dir.path(), json!({"path": "a.txt"})).await[0];
        assert_eq!(row["exists"], json!(true));
        assert_eq!(row["is_dir"], json!(false));
        assert_eq!(row["size"], json!(5));
        assert_eq!(field(row, "path"), dir.path().join("a.txt").display().to_string());
        let modified: jiff::Timestamp = field(row, "modified_at").parse().unwrap();
        assert!((jiff::Timestamp::now() - modified).get_seconds().abs() < 60);
        let row = &ok(&GetFileStatus, dir.path(), json!({"path": "."})).await[0];
        assert_eq!(row["is_dir"], json!(true));
    }

    #[tokio::test]
    async fn a_missing_path_is_success_with_exists_false() {
        let dir = tempfile::tempdir().unwrap();
        let row = &ok(&GetFileStatus, dir.path(), json!({"path": "nope/a.txt"})).await[0];
        assert_eq!(row["exists"], json!(false));
        assert_eq!(field(row, "modified_at"), "");
        let err = invalid(&GetFileStatus, dir.path(), json!({})).await;
        assert_eq!(err, "get_file_status: property 'path': is required");
    }
}
