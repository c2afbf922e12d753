//! `get_disk_space_status`: the size and free space of the filesystem holding a path.

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::CATEGORY;

const TYPE: &str = "get_disk_space_status";

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: CATEGORY,
    summary: "Publishes the total and free bytes of the filesystem holding a path on this host.",
    idempotent: true,
    properties: &["path"],
    required: &["path"],
    publishes: &["path", "total_bytes", "free_bytes", "used_percent"],
};

pub struct GetDiskSpaceStatus;

#[scorch_activity::async_trait]
impl Activity for GetDiskSpaceStatus {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let path = ctx.resolve_path(&props.non_empty("path")?);
        let shown = path.display().to_string();
        let stats = crate::files::blocking(TYPE, move || {
            nix::sys::statvfs::statvfs(&path)
                .map_err(|e| crate::files::io_failed(TYPE, &path, &std::io::Error::from(e)))
        })
        .await?;
        let block = stats.fragment_size();
        let total = stats.blocks() * block;
        // What an unprivileged user may still write (`df`'s "Avail"), not the root reserve too.
        let free = stats.blocks_available() * block;
        let used = stats.blocks().saturating_sub(stats.blocks_free()) * block;
        // As `df` computes Use%: used over what users can have (used + available).
        let used_percent = if used + free == 0 {
            0.0
        } else {
            (used as f64 * 1000.0 / (used + free) as f64).round() / 10.0
        };
        Ok(ActivityOutput::row(row! {
            "path" => shown,
            "total_bytes" => total,
            "free_bytes" => free,
            "used_percent" => used_percent,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::test_support::{failed, field, invalid, ok};
    use scorch_activity::json;

    #[tokio::test]
    async fn reports_the_filesystem_of_a_temp_dir() {
        let dir = tempfile::tempdir().unwrap();
        let rows = ok(&GetDiskSpaceStatus, dir.path(), json!({"path": "."})).await;
        let total: u64 = field(&rows[0], "total_bytes").parse().unwrap();
        let free: u64 = field(&rows[0], "free_bytes").parse().unwrap();
        let used: f64 = field(&rows[0], "used_percent").parse().unwrap();
        assert!(total > 0 && free <= total, "{total} {free}");
        assert!((0.0..=100.0).contains(&used), "{used}");
        assert_eq!(field(&rows[0], "path"), dir.path().join(".").display().to_string());
    }

    #[tokio::test]
    async fn a_missing_path_fails_and_an_empty_one_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let err = failed(&GetDiskSpaceStatus, dir.path(), json!({"path": "nope"})).await;
        assert_eq!(
            err,
            format!(
                "get_disk_space_status: {}: not found",
                dir.path().join("nope").display()
            )
        );
        let err = invalid(&GetDiskSpaceStatus, dir.path(), json!({"path": ""})).await;
        assert!(err.starts_with("get_disk_space_status: property 'path'"), "{err}");
    }
}
