use thiserror::Error;

/// Why an activity run did not produce an output. The engine decides what happens next from the
/// variant, never from the text: every variant ends the run `failed` with the text as its `error`.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ActivityError {
    /// A property is missing or malformed (after subscriptions were resolved).
    #[error("{0}")]
    InvalidInput(String),
    /// The activity tried and could not do its job (`copy_file: /a: permission denied`).
    #[error("{0}")]
    Failed(String),
    /// A failure worth retrying (a dropped connection); loops and failover may try again.
    #[error("{0}")]
    Transient(String),
    /// The activity's `timeout` elapsed; its processes were killed.
    #[error("timed out")]
    TimedOut,
    /// The job was canceled while the activity ran.
    #[error("canceled")]
    Canceled,
}

impl ActivityError {
    /// `InvalidInput` naming the activity type and property, in the contract's style.
    pub fn invalid(type_name: &str, property: &str, why: impl std::fmt::Display) -> Self {
        Self::InvalidInput(format!("{type_name}: property '{property}': {why}"))
    }

    /// `Failed` naming the activity type and the thing it failed on.
    pub fn failed(type_name: &str, subject: impl std::fmt::Display, why: impl std::fmt::Display) -> Self {
        Self::Failed(format!("{type_name}: {subject}: {why}"))
    }
}
