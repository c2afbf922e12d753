//! `insert_line`: inserts a line before line `line_number` (one past the last line appends).

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::CATEGORY;
use super::text_file::{TextFile, split_lines};

pub struct InsertLine;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: "insert_line",
    category: CATEGORY,
    summary: "Inserts a line into a text file at a line number.",
    idempotent: false,
    properties: &["file", "line_number", "text"],
    required: &["file", "line_number", "text"],
    publishes: &["line_count"],
};

#[scorch_activity::async_trait]
impl Activity for InsertLine {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let type_name = DESCRIPTOR.type_name;
        let props = Props::new(type_name, properties)?;
        let path = ctx.resolve_path(&props.non_empty("file")?);
        let line_number = props.i64("line_number")?;
        let text = props.str("text")?;
        let Some(index) = usize::try_from(line_number).ok().and_then(|n| n.checked_sub(1)) else {
            return Err(ActivityError::invalid(
                type_name,
                "line_number",
                "lines are numbered from 1",
            ));
        };
        let mut file = TextFile::load(type_name, &path).await?;
        let count = file.lines.len();
        if index > count {
            let why = format!(
                "line {line_number} is past the end ({count} lines; {} appends)",
                count + 1
            );
            return Err(ActivityError::failed(type_name, path.display(), why));
        }
        file.lines.splice(index..index, split_lines(&text));
        let line_count = file.lines.len();
        file.save(type_name, path).await?;
        Ok(ActivityOutput::row(row! { "line_count" => line_count }))
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::files::test_support::{failed, invalid, ok};
    use scorch_activity::json;

    #[tokio::test]
    async fn inserts_at_the_start_middle_and_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        fs::write(&path, "b\r\nd\r\n").unwrap();
        for (at, text) in [(1, "a"), (3, "c"), (5, "e")] {
            ok(
                &InsertLine,
                dir.path(),
                json!({"file": "f.txt", "line_number": at, "text": text}),
            )
            .await;
        }
        assert_eq!(fs::read_to_string(&path).unwrap(), "a\r\nb\r\nc\r\nd\r\ne\r\n");
        let rows = ok(
            &InsertLine,
            dir.path(),
            json!({"file": "f.txt", "line_number": "2", "text": "x"}),
        )
        .await;
        assert_eq!(rows[0]["line_count"], json!(6));
    }

    #[tokio::test]
    async fn fails_past_the_end_on_a_missing_file_and_on_line_zero() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("f.txt"), "a\n").unwrap();
        let err = failed(
            &InsertLine,
            dir.path(),
            json!({"file": "f.txt", "line_number": 3, "text": "x"}),
        )
        .await;
        assert!(
            err.ends_with("f.txt: line 3 is past the end (1 lines; 2 appends)"),
            "{err}"
        );
        let err = failed(
            &InsertLine,
            dir.path(),
            json!({"file": "g.txt", "line_number": 1, "text": "x"}),
        )
        .await;
        assert!(err.ends_with("g.txt: not found"), "{err}");
        let err = invalid(
            &InsertLine,
            dir.path(),
            json!({"file": "f.txt", "line_number": 0, "text": "x"}),
        )
        .await;
        assert_eq!(err, "insert_line: property 'line_number': lines are numbered from 1");
        assert_eq!(fs::read_to_string(dir.path().join("f.txt")).unwrap(), "a\n");
    }
}
