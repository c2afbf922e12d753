//! Runbook definitions and the languages inside them (subscriptions, functions, conditions),
//! with validation that reports every problem at once. Pure: parses text, does no I/O.

pub mod compare;
pub mod condition;
pub mod def;
mod diagnostic;
pub mod duration;
pub mod functions;
mod load;
pub mod monitor;
pub mod names;
pub mod params;
pub mod plan;
pub mod props;
pub mod retry;
pub mod schedule;
pub mod source;
mod status;
pub mod template;
#[cfg(test)]
mod test_catalog;
pub mod timing;

pub use condition::Condition;
pub use def::Runbook;
pub use diagnostic::Diagnostic;
pub use load::{Loaded, load};
pub use plan::{Catalog, Plan, Step, TypeInfo, compile};
pub use status::Status;

/// `[A-Za-z_][A-Za-z0-9_]*`: activity ids and reference heads.
pub fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
