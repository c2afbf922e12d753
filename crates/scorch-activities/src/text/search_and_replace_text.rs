//! `search_and_replace_text`: replaces a text or regex, line by line, and rewrites the file
//! atomically. The search is case-sensitive; with `regex`, the replacement may use `$1`/`${name}`.

use regex::NoExpand;
use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::text_file::TextFile;
use super::{CATEGORY, build_pattern};

pub struct SearchAndReplaceText;

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: "search_and_replace_text",
    category: CATEGORY,
    summary: "Replaces a text or regex everywhere in a text file.",
    idempotent: false,
    properties: &["file", "pattern", "replacement", "regex"],
    required: &["file", "pattern", "replacement"],
    publishes: &["replacements"],
};

#[scorch_activity::async_trait]
impl Activity for SearchAndReplaceText {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let type_name = DESCRIPTOR.type_name;
        let props = Props::new(type_name, properties)?;
        let path = ctx.resolve_path(&props.non_empty("file")?);
        let replacement = props.str("replacement")?;
        let regex = props.bool_or("regex", false)?;
        let pattern = build_pattern(type_name, &props.non_empty("pattern")?, regex, true)?;
        let mut file = TextFile::load(type_name, &path).await?;
        let mut replacements = 0;
        for line in &mut file.lines {
            let found = pattern.find_iter(line).count();
            if found > 0 {
                replacements += found;
                *line = if regex {
                    pattern.replace_all(line, replacement.as_str()).into_owned()
                } else {
                    pattern.replace_all(line, NoExpand(&replacement)).into_owned()
                };
            }
        }
        if replacements > 0 {
            file.save(type_name, path).await?;
        }
        Ok(ActivityOutput::row(row! { "replacements" => replacements }))
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::files::test_support::{failed, invalid, ok};
    use scorch_activity::json;

    #[tokio::test]
    async fn replaces_literal_text_and_keeps_crlf() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.ini");
        fs::write(&path, "host=old\r\nbackup=old.old\r\nOLD\r\n").unwrap();
        let props = json!({"file": "f.ini", "pattern": "old", "replacement": "$new"});
        let rows = ok(&SearchAndReplaceText, dir.path(), props).await;
        assert_eq!(rows[0]["replacements"], json!(3));
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "host=$new\r\nbackup=$new.$new\r\nOLD\r\n"
        );
    }

    #[tokio::test]
    async fn replaces_a_regex_with_groups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        fs::write(&path, "port 80\nport 443").unwrap();
        let props = json!({"file": "f.txt", "pattern": r"port (\d+)", "replacement": "port=${1}", "regex": true});
        let rows = ok(&SearchAndReplaceText, dir.path(), props).await;
        assert_eq!(rows[0]["replacements"], json!(2));
        assert_eq!(fs::read_to_string(&path).unwrap(), "port=80\nport=443");
        let none = json!({"file": "f.txt", "pattern": "zzz", "replacement": ""});
        assert_eq!(
            ok(&SearchAndReplaceText, dir.path(), none).await[0]["replacements"],
            json!(0)
        );
    }

    #[tokio::test]
    async fn fails_on_a_missing_file_and_bad_properties() {
        let dir = tempfile::tempdir().unwrap();
        let err = failed(
            &SearchAndReplaceText,
            dir.path(),
            json!({"file": "f", "pattern": "a", "replacement": "b"}),
        )
        .await;
        assert!(err.ends_with("f: not found"), "{err}");
        let err = invalid(&SearchAndReplaceText, dir.path(), json!({"file": "f", "pattern": "a"})).await;
        assert_eq!(err, "search_and_replace_text: property 'replacement': is required");
        let props = json!({"file": "f", "pattern": "(", "replacement": "", "regex": true});
        let err = invalid(&SearchAndReplaceText, dir.path(), props).await;
        assert!(err.contains("is not a valid regex"), "{err}");
    }
}
