//! A text file as lines, remembering how it broke them so that a changed file keeps its style.

use std::path::{Path, PathBuf};

use scorch_activity::ActivityError;

use crate::files::{blocking, io_failed, write_atomic};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TextFile {
    /// The lines, without their line breaks.
    pub lines: Vec<String>,
    /// `\r\n` when the first line break is one, else `\n`. A file mixing both is written back
    /// with its first style.
    pub ending: &'static str,
    /// Whether the last line has a line break. An empty file counts as having one, so that
    /// lines added to it are written the usual way.
    pub final_break: bool,
}

impl TextFile {
    pub fn parse(content: &str) -> Self {
        let ending = match content.find('\n') {
            Some(i) if content[..i].ends_with('\r') => "\r\n",
            _ => "\n",
        };
        let final_break = content.is_empty() || content.ends_with('\n');
        let mut lines: Vec<String> = content.split('\n').map(str::to_string).collect();
        if final_break {
            // The empty piece after the last break (or of an empty file) is no line.
            lines.pop();
        }
        let broken = if final_break { lines.len() } else { lines.len() - 1 };
        for line in &mut lines[..broken] {
            if line.ends_with('\r') {
                line.pop();
            }
        }
        Self {
            lines,
            ending,
            final_break,
        }
    }

    pub fn render(&self) -> String {
        let mut text = self.lines.join(self.ending);
        if self.final_break && !self.lines.is_empty() {
            text.push_str(self.ending);
        }
        text
    }

    /// Reads and parses `path`; `None` when it does not exist.
    pub async fn load_if_exists(type_name: &str, path: &Path) -> Result<Option<Self>, ActivityError> {
        match tokio::fs::read(path).await {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Ok(Some(Self::parse(&text))),
                Err(_) => Err(ActivityError::failed(type_name, path.display(), "not UTF-8 text")),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_failed(type_name, path, &e)),
        }
    }

    /// Reads and parses `path`, which must exist.
    pub async fn load(type_name: &str, path: &Path) -> Result<Self, ActivityError> {
        Self::load_if_exists(type_name, path)
            .await?
            .ok_or_else(|| ActivityError::failed(type_name, path.display(), "not found"))
    }

    /// Replaces `path`'s content with this file's, atomically.
    pub async fn save(&self, type_name: &'static str, path: PathBuf) -> Result<(), ActivityError> {
        let content = self.render();
        blocking(type_name, move || {
            write_atomic(&path, content.as_bytes()).map_err(|e| io_failed(type_name, &path, &e))
        })
        .await
    }
}

/// Text to add as lines: each line break in it starts a new line (`\r\n` or `\n`).
pub(super) fn split_lines(text: &str) -> Vec<String> {
    text.split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line).to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_style() {
        for content in [
            "",
            "\n",
            "a",
            "a\nb",
            "a\nb\n",
            "a\r\nb\r\n",
            "a\r\nb",
            "\r\n\r\n",
            "a\rb\n",
        ] {
            assert_eq!(TextFile::parse(content).render(), content, "{content:?}");
        }
    }

    #[test]
    fn splits_lines_and_detects_the_ending() {
        let file = TextFile::parse("a\r\nb\r\n");
        assert_eq!(file.lines, ["a", "b"]);
        assert_eq!(file.ending, "\r\n");
        let file = TextFile::parse("a\nb");
        assert_eq!((file.lines.len(), file.ending, file.final_break), (2, "\n", false));
        assert!(TextFile::parse("").lines.is_empty());
        assert_eq!(split_lines("x\r\ny"), ["x", "y"]);
        assert_eq!(split_lines(""), [""]);
    }
}
