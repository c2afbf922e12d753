use serde_json::{Map, Value};

/// One row of published data: field name to value, in the order the activity wrote them.
pub type Row = Map<String, Value>;

pub use scorch_model::Status;

/// What a finished run hands to the engine. A failed run may still publish rows (a program's
/// exit code and output), so links can route on them.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityOutput {
    pub status: Status,
    /// Empty on success; the one-line reason otherwise (also used for warnings).
    pub error: String,
    pub rows: Vec<Row>,
}

impl ActivityOutput {
    /// Success with these rows (zero rows is valid: links still fire once).
    pub fn rows(rows: Vec<Row>) -> Self {
        Self {
            status: Status::Success,
            error: String::new(),
            rows,
        }
    }

    /// Success with one row.
    pub fn row(row: Row) -> Self {
        Self::rows(vec![row])
    }

    /// Failed, with a reason and whatever rows were produced.
    pub fn failed(error: impl Into<String>, rows: Vec<Row>) -> Self {
        Self {
            status: Status::Failed,
            error: error.into(),
            rows,
        }
    }

    /// Warning, with a reason and the rows.
    pub fn warning(error: impl Into<String>, rows: Vec<Row>) -> Self {
        Self {
            status: Status::Warning,
            error: error.into(),
            rows,
        }
    }
}

/// Builds a [`Row`] from `name => value` pairs: `row! { "path" => p, "size" => 3 }`.
#[macro_export]
macro_rules! row {
    ($($k:expr => $v:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut r = $crate::Row::new();
        $( r.insert(::std::string::String::from($k), $crate::Value::from($v)); )*
        r
    }};
}
