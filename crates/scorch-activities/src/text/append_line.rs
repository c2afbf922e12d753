//! `append_line`: adds a line at the end of a text file, creating the file unless told not to.
//! It appends in place (no rewrite), so a program writing to the same file keeps its handle valid.

use tokio::io::AsyncWriteExt;

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::CATEGORY;
use super::text_file::{TextFile, split_lines};
use crate::files::io_failed;

pub struct AppendLine;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: "append_line",
    category: CATEGORY,
    summary: "Appends a line to a text file.",
    idempotent: false,
    properties: &["file", "text", "create"],
    required: &["file", "text"],
    publishes: &["line_count"],
};

#[scorch_activity::async_trait]
impl Activity for AppendLine {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let type_name = DESCRIPTOR.type_name;
        let props = Props::new(type_name, properties)?;
        let path = ctx.resolve_path(&props.non_empty("file")?);
        let text = props.str("text")?;
        let create = props.bool_or("create", true)?;
        let file = match TextFile::load_if_exists(type_name, &path).await? {
            Some(file) => file,
            None if create => TextFile::parse(""),
            None => return Err(ActivityError::failed(type_name, path.display(), "not found")),
        };
        let added = split_lines(&text);
        let mut chunk = String::new();
        if !file.final_break {
            chunk.push_str(file.ending);
        }
        chunk.push_str(&added.join(file.ending));
        if file.final_break {
            chunk.push_str(file.ending);
        }
        let mut out = tokio::fs::OpenOptions::new()
            .append(true)
            .create(create)
            .open(&path)
            .await
            .map_err(|e| io_failed(type_name, &path, &e))?;
        out.write_all(chunk.as_bytes())
            .await
            .map_err(|e| io_failed(type_name, &path, &e))?;
        out.flush().await.map_err(|e| io_failed(type_name, &path, &e))?;
        Ok(ActivityOutput::row(
            row! { "line_count" => file.lines.len() + added.len() },
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::files::test_support::{failed, ok};
    use scorch_activity::json;

    #[tokio::test]
    async fn appends_in_the_file_style_and_creates_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("crlf.txt", "a\r\n", "a\r\nz\r\n"),
            ("open.txt", "a\nb", "a\nb\nz"),
            ("new.txt", "", "z\n"),
        ];
        for (name, before, after) in cases {
            if !before.is_empty() {
                fs::write(dir.path().join(name), before).unwrap();
            }
            let rows = ok(&AppendLine, dir.path(), json!({"file": name, "text": "z"})).await;
            assert_eq!(fs::read_to_string(dir.path().join(name)).unwrap(), after, "{name}");
            assert_eq!(rows[0]["line_count"], json!(after.lines().count()), "{name}");
        }
    }

    #[tokio::test]
    async fn fails_on_a_missing_file_when_create_is_false() {
        let dir = tempfile::tempdir().unwrap();
        let err = failed(
            &AppendLine,
            dir.path(),
            json!({"file": "f.txt", "text": "z", "create": "false"}),
        )
        .await;
        assert_eq!(
            err,
            format!("append_line: {}: not found", dir.path().join("f.txt").display())
        );
        assert!(!dir.path().join("f.txt").exists());
    }
}
