use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use scorch_store::StoreError;
use serde_json::json;

use super::wire::IdCandidate;

/// An API error: an HTTP status, a stable machine-readable `code`, and a message for people
/// that says what was wrong and what to do. Never carries SQL or driver text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// For `ambiguous_id`: what the id may name.
    pub candidates: Vec<IdCandidate>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            candidates: Vec::new(),
        }
    }

    /// A short id that names more than one job or instance: 409 listing them.
    pub fn ambiguous_id(message: impl Into<String>, candidates: Vec<IdCandidate>) -> Self {
        Self {
            candidates,
            ..Self::new(StatusCode::CONFLICT, "ambiguous_id", message)
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            StoreError::Conflict(why) => ApiError::conflict(why),
            StoreError::Invalid(why) => ApiError::bad_request(why),
            // What the database holds is the server's fault: logged, not shown to the caller.
            StoreError::Corrupt(why) => {
                tracing::error!(error = %why, "a stored value cannot be read");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the server could not read what it stored; the log says more",
                )
            }
            StoreError::Unavailable(cause) => {
                tracing::error!(error = %cause, "the orchestration database is unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    "the orchestration database is unavailable; retry shortly",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": { "code": self.code, "message": self.message } });
        if !self.candidates.is_empty() {
            body["error"]["candidates"] = json!(self.candidates);
        }
        (self.status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_fault_is_a_400_and_a_stored_fault_a_500_that_tells_nothing() {
        let invalid = ApiError::from(StoreError::Invalid("a folder path is at most 1024 bytes".into()));
        assert_eq!((invalid.status, invalid.code), (StatusCode::BAD_REQUEST, "bad_request"));
        let corrupt = ApiError::from(StoreError::Corrupt("stored role 'x' is unknown".into()));
        assert_eq!(
            (corrupt.status, corrupt.code),
            (StatusCode::INTERNAL_SERVER_ERROR, "internal")
        );
        assert!(!corrupt.message.contains("role"), "{}", corrupt.message);
    }
}
