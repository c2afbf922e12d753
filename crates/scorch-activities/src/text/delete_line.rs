//! `delete_line`: deletes the selected lines of a text file.

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::CATEGORY;
use super::line_ranges::LineRanges;
use super::text_file::TextFile;

pub struct DeleteLine;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: "delete_line",
    category: CATEGORY,
    summary: "Deletes lines of a text file by number and range.",
    idempotent: false,
    properties: &["file", "lines"],
    required: &["file", "lines"],
    publishes: &["deleted"],
};

#[scorch_activity::async_trait]
impl Activity for DeleteLine {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let type_name = DESCRIPTOR.type_name;
        let props = Props::new(type_name, properties)?;
        let path = ctx.resolve_path(&props.non_empty("file")?);
        let ranges =
            LineRanges::parse(&props.str("lines")?).map_err(|why| ActivityError::invalid(type_name, "lines", why))?;
        let mut file = TextFile::load(type_name, &path).await?;
        let last = file.lines.len();
        let mut number = 0;
        file.lines.retain(|_| {
            number += 1;
            !ranges.contains(number, last)
        });
        let deleted = last - file.lines.len();
        if deleted > 0 {
            file.save(type_name, path).await?;
        }
        Ok(ActivityOutput::row(row! { "deleted" => deleted }))
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::files::test_support::{failed, invalid, ok};
    use scorch_activity::json;

    #[tokio::test]
    async fn deletes_ranges_and_keeps_the_style() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        fs::write(&path, "1\r\n2\r\n3\r\n4\r\n5").unwrap();
        let rows = ok(&DeleteLine, dir.path(), json!({"file": "f.txt", "lines": "1,3-4,9"})).await;
        assert_eq!(rows[0]["deleted"], json!(3));
        assert_eq!(fs::read_to_string(&path).unwrap(), "2\r\n5");
        let rows = ok(&DeleteLine, dir.path(), json!({"file": "f.txt", "lines": "1-END"})).await;
        assert_eq!(rows[0]["deleted"], json!(2));
        assert_eq!(fs::read_to_string(&path).unwrap(), "");
    }

    #[tokio::test]
    async fn fails_on_a_bad_range_and_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("f.txt"), "a\n").unwrap();
        let err = invalid(&DeleteLine, dir.path(), json!({"file": "f.txt", "lines": "2-1"})).await;
        assert_eq!(
            err,
            "delete_line: property 'lines': '2-1': the range ends before it starts"
        );
        let err = failed(&DeleteLine, dir.path(), json!({"file": "g.txt", "lines": "1"})).await;
        assert!(err.ends_with("g.txt: not found"), "{err}");
        assert_eq!(fs::read_to_string(dir.path().join("f.txt")).unwrap(), "a\n");
    }
}
