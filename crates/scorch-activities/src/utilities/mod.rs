//! Utilities: comparing, mapping and formatting values, random text, querying XML and JSON, and
//! the global counters and variables.

mod compare_values;
mod format_date_time;
mod generate_random_text;
mod get_counter;
mod get_variable;
mod map_published_data;
mod modify_counter;
mod query_json;
mod query_xml;

pub use compare_values::CompareValues;
pub use format_date_time::FormatDateTime;
pub use generate_random_text::GenerateRandomText;
pub use get_counter::GetCounter;
pub use get_variable::GetVariable;
pub use map_published_data::MapPublishedData;
pub use modify_counter::ModifyCounter;
pub use query_json::QueryJson;
pub use query_xml::QueryXml;

use scorch_activity::props::Props;
use scorch_activity::{ActivityContext, ActivityError, SettingsError};

/// A global settings failure as the activity's error. An unknown name already says which
/// counter or variable; a store that cannot answer is worth retrying.
pub(crate) fn settings_error(type_name: &str, kind: &str, name: &str, err: SettingsError) -> ActivityError {
    match err {
        SettingsError::NotFound { .. } => ActivityError::Failed(format!("{type_name}: {err}")),
        SettingsError::Unavailable(why) => ActivityError::Transient(format!("{type_name}: {kind} '{name}': {why}")),
    }
}

/// The document a query runs on, and its name for error messages.
struct Document {
    name: String,
    text: String,
}

/// The `inline` property's text (named after the property), or the contents of `file` (named
/// by its path).
async fn document(ctx: &ActivityContext, props: &Props, inline: &str) -> Result<Document, ActivityError> {
    let type_name = props.type_name();
    match (props.opt_str(inline)?, props.opt_str("file")?) {
        (Some(text), None) => Ok(Document {
            name: inline.to_string(),
            text,
        }),
        (None, Some(file)) => {
            let path = ctx.resolve_path(&file);
            let read = tokio::fs::read_to_string(&path).await;
            let text = read.map_err(|e| {
                let why = match e.kind() {
                    std::io::ErrorKind::NotFound => "no such file".to_string(),
                    std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                    _ => e.to_string(),
                };
                ActivityError::failed(type_name, path.display(), why)
            })?;
            Ok(Document {
                name: path.display().to_string(),
                text,
            })
        }
        (Some(_), Some(_)) => Err(ActivityError::InvalidInput(format!(
            "{type_name}: give either '{inline}' or 'file', not both"
        ))),
        (None, None) => Err(ActivityError::InvalidInput(format!(
            "{type_name}: '{inline}' or 'file' is required"
        ))),
    }
}

/// A context whose global settings are `settings`.
#[cfg(test)]
pub(crate) fn context_with(type_name: &str, settings: scorch_activity::MemorySettings) -> ActivityContext {
    let mut ctx = ActivityContext::standalone(type_name, std::env::temp_dir());
    ctx.settings = std::sync::Arc::new(settings);
    ctx
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorch_activity::json;

    #[tokio::test]
    async fn document_comes_from_exactly_one_place() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("doc.json"), "[1]").unwrap();
        let ctx = ActivityContext::standalone("query_json", dir.path().to_path_buf());
        let read = |props| {
            let ctx = ctx.clone();
            async move {
                let doc = document(&ctx, &Props::new("query_json", props).unwrap(), "json").await?;
                Ok::<_, ActivityError>((doc.name, doc.text))
            }
        };
        assert_eq!(read(json!({"json": "{}"})).await.unwrap(), ("json".into(), "{}".into()));
        let path = dir.path().join("doc.json").display().to_string();
        assert_eq!(read(json!({"file": "doc.json"})).await.unwrap(), (path, "[1]".into()));
        let missing = read(json!({"file": "nope.json"})).await.unwrap_err().to_string();
        assert_eq!(
            missing,
            format!("query_json: {}: no such file", dir.path().join("nope.json").display())
        );
        let both = read(json!({"json": "{}", "file": "doc.json"}))
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(both, "query_json: give either 'json' or 'file', not both");
        assert_eq!(
            read(json!({})).await.unwrap_err().to_string(),
            "query_json: 'json' or 'file' is required"
        );
    }

    #[test]
    fn settings_errors_name_the_setting() {
        let not_found = SettingsError::NotFound {
            kind: "counter",
            name: "hits".into(),
        };
        assert_eq!(
            settings_error("get_counter", "counter", "hits", not_found),
            ActivityError::Failed("get_counter: unknown counter 'hits'".into())
        );
        let down = SettingsError::Unavailable("database is down".into());
        assert_eq!(
            settings_error("get_counter", "counter", "hits", down),
            ActivityError::Transient("get_counter: counter 'hits': database is down".into())
        );
    }
}
