//! Runbook definitions and the languages inside them (subscriptions, functions, conditions),
//! with validation that reports every problem at once. Pure: parses text, does no I/O.

pub mod compare;
pub mod source;
pub mod functions;
pub mod template;

/// `[A-Za-z_][A-Za-z0-9_]*`: activity ids and reference heads.
pub fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
