//! `monitor_folder`: an instance when a folder's watched files (`patterns`, `recursive`) come to
//! meet a condition on their number (`file_count`) and/or total size (`total_size`), checked
//! every `interval`. Both conditions, when both are set, must hold.

use std::time::Duration;

use scorch_activity::props::Props;
use scorch_activity::{ActivityContext, ActivityError, Descriptor, WatchContext, json, row};

use super::listing::FileFilter;
use super::polling::{Condition, Observation, Polling, Probe, Setup, When};

pub const TYPE: &str = "monitor_folder";

pub static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: super::CATEGORY,
    summary: "Starts an instance when the number or total size of the files in a folder comes to meet a condition.",
    idempotent: true,
    properties: &[
        "folder",
        "patterns",
        "recursive",
        "file_count",
        "total_size",
        "interval",
    ],
    required: &["folder"],
    publishes: &["folder", "file_count", "total_bytes", super::TRIGGERED_AT],
};

pub const WATCH: Polling = Polling {
    type_name: TYPE,
    default_interval: Duration::from_secs(30),
    setup,
};

/// The most files counted; past it the count stops there (and a note says so).
const MAX_FILES: usize = 1_000_000;

struct FolderProbe {
    filter: FileFilter,
    file_count: Option<Condition>,
    total_size: Option<Condition>,
}

fn setup(props: &Props, ctx: &WatchContext) -> Result<Setup, ActivityError> {
    let probe = FolderProbe {
        filter: FileFilter::from_props(props, &ctx.probe)?,
        file_count: Condition::from_mapping(props, "file_count")?,
        total_size: Condition::from_mapping(props, "total_size")?,
    };
    if probe.file_count.is_none() && probe.total_size.is_none() {
        return Err(ActivityError::invalid(
            TYPE,
            "file_count",
            "file_count or total_size is required",
        ));
    }
    Ok((Box::new(probe), When::Becomes(true)))
}

#[scorch_activity::async_trait]
impl Probe for FolderProbe {
    async fn observe(&self, _ctx: &ActivityContext) -> Result<Observation, ActivityError> {
        let filter = self.filter.clone();
        let listing = crate::files::blocking(TYPE, move || {
            filter
                .list(&filter.root, MAX_FILES)
                .map_err(|e| ActivityError::failed(TYPE, filter.root.display(), e))
        })
        .await?;
        if listing.truncated {
            return Err(ActivityError::failed(
                TYPE,
                self.filter.root.display(),
                format!("more than {MAX_FILES} files"),
            ));
        }
        let count = listing.files.len();
        let bytes: u64 = listing.files.values().map(|f| f.size).sum();
        let holds =
            |condition: &Option<Condition>, value: u64| condition.as_ref().is_none_or(|c| c.holds(&json!(value)));
        Ok(Observation {
            up: holds(&self.file_count, count as u64) && holds(&self.total_size, bytes),
            row: row! {
                "folder" => self.filter.root.display().to_string(),
                "file_count" => count,
                "total_bytes" => bytes,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::polling::test_support::{Running, WITHIN, setup_error};

    #[tokio::test]
    async fn fires_when_the_files_come_to_meet_the_conditions() {
        let dir = tempfile::tempdir().unwrap();
        let probe = scorch_activity::ActivityContext::standalone(TYPE, dir.path().to_path_buf());
        let props = json!({
            "folder": ".", "patterns": "*.csv", "interval": "50ms",
            "file_count": {"op": "ge", "value": 2}, "total_size": {"op": "gt", "value": 3},
        });
        let running = Running::start(WATCH, props, probe);
        running.wait_for_state(false).await;
        std::fs::write(dir.path().join("a.csv"), "aa").unwrap();
        std::fs::write(dir.path().join("b.txt"), "bbbbbbbb").unwrap();
        std::fs::write(dir.path().join("c.csv"), "c").unwrap();
        // Two files but three bytes: not yet.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(running.sink.triggers().is_empty());
        std::fs::write(dir.path().join("c.csv"), "cc").unwrap();
        let fired = running.sink.wait_for(1, WITHIN).await;
        assert_eq!(fired[0].row["file_count"], json!(2));
        assert_eq!(fired[0].row["total_bytes"], json!(4));
        assert_eq!(fired[0].row["folder"], json!(dir.path().display().to_string()));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(running.stop().await.len(), 1);
    }

    #[tokio::test]
    async fn a_condition_is_required() {
        let err = setup_error(WATCH, json!({"folder": "."})).await;
        assert_eq!(
            err,
            "monitor_folder: property 'file_count': file_count or total_size is required"
        );
    }
}
