//! `find_text`: publishes the lines of a text file that contain a text or match a regex.

use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::text_file::TextFile;
use super::{CATEGORY, build_pattern};

pub struct FindText;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: "find_text",
    category: CATEGORY,
    summary: "Finds the lines of a text file containing a text or matching a regex.",
    idempotent: true,
    properties: &["file", "pattern", "regex", "case_sensitive"],
    required: &["file", "pattern"],
    publishes: &["line_number", "text"],
};

#[scorch_activity::async_trait]
impl Activity for FindText {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let type_name = DESCRIPTOR.type_name;
        let props = Props::new(type_name, properties)?;
        let path = ctx.resolve_path(&props.non_empty("file")?);
        let regex = props.bool_or("regex", false)?;
        let case_sensitive = props.bool_or("case_sensitive", false)?;
        let pattern = build_pattern(type_name, &props.non_empty("pattern")?, regex, case_sensitive)?;
        let file = TextFile::load(type_name, &path).await?;
        let rows = (1..)
            .zip(file.lines)
            .filter(|(_, text)| pattern.is_match(text))
            .map(|(number, text): (usize, String)| row! { "line_number" => number, "text" => text })
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

    fn numbers(rows: &[scorch_activity::Row]) -> Vec<String> {
        rows.iter().map(|r| field(r, "line_number")).collect()
    }

    #[tokio::test]
    async fn finds_text_and_regex_matches() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("log.txt"),
            "ok start\nERROR disk\nwarn a.b\nerror net\n",
        )
        .unwrap();
        let rows = ok(&FindText, dir.path(), json!({"file": "log.txt", "pattern": "error"})).await;
        assert_eq!(numbers(&rows), ["2", "4"]);
        assert_eq!(field(&rows[0], "text"), "ERROR disk");
        let sensitive = json!({"file": "log.txt", "pattern": "error", "case_sensitive": true});
        assert_eq!(numbers(&ok(&FindText, dir.path(), sensitive).await), ["4"]);
        let literal = json!({"file": "log.txt", "pattern": "a.b"});
        assert_eq!(numbers(&ok(&FindText, dir.path(), literal).await), ["3"]);
        let regex = json!({"file": "log.txt", "pattern": "^(ok|warn) ", "regex": "yes"});
        assert_eq!(numbers(&ok(&FindText, dir.path(), regex).await), ["1", "3"]);
        assert!(
            ok(&FindText, dir.path(), json!({"file": "log.txt", "pattern": "zzz"}))
                .await
                .is_empty()
        );
    }

    #[tokio::test]
    async fn fails_on_a_missing_file_and_a_bad_regex() {
        let dir = tempfile::tempdir().unwrap();
        let err = failed(&FindText, dir.path(), json!({"file": "log.txt", "pattern": "x"})).await;
        assert!(err.ends_with("log.txt: not found"), "{err}");
        let err = invalid(
            &FindText,
            dir.path(),
            json!({"file": "log.txt", "pattern": "[", "regex": true}),
        )
        .await;
        assert!(
            err.starts_with("find_text: property 'pattern': '[' is not a valid regex"),
            "{err}"
        );
    }
}
