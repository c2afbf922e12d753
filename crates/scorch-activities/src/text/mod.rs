//! Text files: reading, finding, appending, inserting, deleting and replacing lines. Files are
//! UTF-8 and keep the line-ending style they were found with.

use regex::{Regex, RegexBuilder};
use scorch_activity::ActivityError;

mod append_line;
mod delete_line;
mod find_text;
mod insert_line;
mod line_ranges;
mod read_line;
mod search_and_replace_text;
mod text_file;

pub use append_line::AppendLine;
pub use delete_line::DeleteLine;
pub use find_text::FindText;
pub use insert_line::InsertLine;
pub use read_line::ReadLine;
pub use search_and_replace_text::SearchAndReplaceText;

const CATEGORY: &str = "Text files";

/// The `pattern` property as a regex: a literal text unless `regex` is set.
fn build_pattern(type_name: &str, pattern: &str, regex: bool, case_sensitive: bool) -> Result<Regex, ActivityError> {
    let source = if regex {
        pattern.to_string()
    } else {
        regex::escape(pattern)
    };
    RegexBuilder::new(&source)
        .case_insensitive(!case_sensitive)
        .build()
        .map_err(|e| {
            // Syntax errors span several lines (pattern, caret, message): keep the message.
            let text = e.to_string();
            let why = text.lines().rfind(|l| !l.trim().is_empty()).unwrap_or_default();
            let why = why.trim().trim_start_matches("error: ");
            ActivityError::invalid(type_name, "pattern", format!("'{pattern}' is not a valid regex: {why}"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_patterns_are_escaped_and_bad_regexes_read_in_one_line() {
        let re = build_pattern("find_text", "a.b", false, false).unwrap();
        assert!(re.is_match("xA.By") && !re.is_match("axb"));
        let err = build_pattern("find_text", "(a", true, true).unwrap_err().to_string();
        assert_eq!(
            err,
            "find_text: property 'pattern': '(a' is not a valid regex: unclosed group"
        );
    }
}
