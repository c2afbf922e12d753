//! `read_line`: publishes the selected lines of a text file, one row each.

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::CATEGORY;
use super::line_ranges::LineRanges;
use super::text_file::TextFile;

pub struct ReadLine;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: "read_line",
    category: CATEGORY,
    summary: "Reads lines of a text file by number and range.",
    idempotent: true,
    properties: &["file", "lines"],
    required: &["file"],
    publishes: &["line_number", "text"],
};

#[scorch_activity::async_trait]
impl Activity for ReadLine {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let type_name = DESCRIPTOR.type_name;
        let props = Props::new(type_name, properties)?;
        let path = ctx.resolve_path(&props.non_empty("file")?);
        let ranges = LineRanges::parse(&props.str_or("lines", "1-END")?)
            .map_err(|why| ActivityError::invalid(type_name, "lines", why))?;
        let file = TextFile::load(type_name, &path).await?;
        let last = file.lines.len();
        let rows = (1..)
            .zip(file.lines)
            .filter(|(number, _)| ranges.contains(*number, last))
            .map(|(number, text)| row! { "line_number" => number, "text" => text })
            .collect();
        Ok(ActivityOutput::rows(rows))
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::files::test_support::{failed, field, invalid, ok};
    use scorch_activity::json;

    #[tokio::test]
    async fn reads_selected_lines_of_a_crlf_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("f.txt"), "one\r\ntwo\r\nthree\r\nfour\r\n").unwrap();
        let rows = ok(&ReadLine, dir.path(), json!({"file": "f.txt", "lines": "1,3-END"})).await;
        let got: Vec<(String, String)> = rows
            .iter()
            .map(|r| (field(r, "line_number"), field(r, "text")))
            .collect();
        let expected = [("1", "one"), ("3", "three"), ("4", "four")].map(|(n, t)| (n.to_string(), t.to_string()));
        assert_eq!(got, expected);
        assert_eq!(ok(&ReadLine, dir.path(), json!({"file": "f.txt"})).await.len(), 4);
    }

    #[tokio::test]
    async fn fails_on_a_missing_file_and_a_bad_range() {
        let dir = tempfile::tempdir().unwrap();
        let err = failed(&ReadLine, dir.path(), json!({"file": "f.txt"})).await;
        assert_eq!(
            err,
            format!("read_line: {}: not found", dir.path().join("f.txt").display())
        );
        let err = invalid(&ReadLine, dir.path(), json!({"file": "f.txt", "lines": "5-2"})).await;
        assert_eq!(
            err,
            "read_line: property 'lines': '5-2': the range ends before it starts"
        );
    }

    #[tokio::test]
    async fn fails_on_a_binary_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("f.bin"), [0xff, 0xfe, 0x00]).unwrap();
        let err = failed(&ReadLine, dir.path(), json!({"file": "f.bin"})).await;
        assert!(err.ends_with("f.bin: not UTF-8 text"), "{err}");
    }
}
