use thiserror::Error;

/// Why an activity run did not produce an output. The engine decides what happens next from the
/// variant's [`ErrorKind`], never from the text: every variant ends the run `failed` with the text
/// as its `error`, and only a `Transient` one is retried (when the activity has a `retry:` policy).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ActivityError {
    /// A property is missing or malformed (after subscriptions were resolved).
    #[error("{0}")]
    InvalidInput(String),
    /// The activity tried and could not do its job (`copy_file: /a: permission denied`).
    #[error("{0}")]
    Failed(String),
    /// A failure worth retrying: a refused or dropped connection, a peer's timeout, a
    /// 429/502/503/504 answer, a store that cannot answer now.
    #[error("{0}")]
    Transient(String),
    /// The activity's own `timeout` elapsed; its processes were killed. Final: it is not a peer's
    /// timeout (that is `Transient`).
    #[error("timed out")]
    TimedOut,
    /// The job was canceled while the activity ran.
    #[error("canceled")]
    Canceled,
}

/// What kind of failure ended a run: recorded on the run, and what the engine acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    InvalidInput,
    Failed,
    Transient,
    TimedOut,
    Canceled,
}

impl ErrorKind {
    const ALL: [Self; 5] = [
        Self::InvalidInput,
        Self::Failed,
        Self::Transient,
        Self::TimedOut,
        Self::Canceled,
    ];

    /// The kind's name as recorded and shown: `invalid_input`, `failed`, `transient`,
    /// `timed_out`, `canceled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid_input",
            Self::Failed => "failed",
            Self::Transient => "transient",
            Self::TimedOut => "timed_out",
            Self::Canceled => "canceled",
        }
    }

    /// The kind [`as_str`](Self::as_str) names (what a store reads back).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
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

    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidInput(_) => ErrorKind::InvalidInput,
            Self::Failed(_) => ErrorKind::Failed,
            Self::Transient(_) => ErrorKind::Transient,
            Self::TimedOut => ErrorKind::TimedOut,
            Self::Canceled => ErrorKind::Canceled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_name_themselves_and_read_back() {
        let errors = [
            ActivityError::InvalidInput("x".into()),
            ActivityError::Failed("x".into()),
            ActivityError::Transient("x".into()),
            ActivityError::TimedOut,
            ActivityError::Canceled,
        ];
        let names: Vec<&str> = errors.iter().map(|e| e.kind().as_str()).collect();
        assert_eq!(names, ["invalid_input", "failed", "transient", "timed_out", "canceled"]);
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ErrorKind::parse("Transient"), None);
    }
}
