use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, OptionalFromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;

/// Request bodies larger than this are refused (413) before they are read.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON body (or response) whose rejections are [`ApiError`]s: malformed JSON, a wrong field
/// type or a missing content type give a 400 (413 when too large) with the parser's reason.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(unsupported_media_type());
        }
        let bytes = match Bytes::from_request(req, state).await {
            Ok(bytes) => bytes,
            Err(rejection) => return Err(rejected(JsonRejection::BytesRejection(rejection))),
        };
        if let Some(field) = nul_field(&bytes) {
            return Err(ApiError::bad_request(format!(
                "{field} holds a NUL character, which no text in scorch may hold"
            )));
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(rejected(rejection)),
        }
    }
}

/// An optional JSON body (`Option<Json<T>>`): `None` when the request has no body and declares
/// none, else as [`Json`].
impl<S, T> OptionalFromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        if req.headers().contains_key(CONTENT_TYPE) {
            return <Self as FromRequest<S>>::from_request(req, state).await.map(Some);
        }
        match Bytes::from_request(req, state).await {
            Ok(bytes) if bytes.is_empty() => Ok(None),
            Ok(_) => Err(unsupported_media_type()),
            Err(rejection) => Err(rejected(JsonRejection::BytesRejection(rejection))),
        }
    }
}

/// Whether the body is declared JSON, as axum's own extractor decides it: `application/json`,
/// or an `application/...+json` type, with any parameters.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(Ok(value)) = headers.get(CONTENT_TYPE).map(|v| v.to_str()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.split_once('/').is_some_and(|(kind, sub)| {
        kind.eq_ignore_ascii_case("application")
            && (sub.eq_ignore_ascii_case("json") || sub.to_ascii_lowercase().ends_with("+json"))
    })
}

fn unsupported_media_type() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "send the body as JSON with Content-Type: application/json",
    )
}

/// Where a JSON body holds a string (or key) with a NUL character, which PostgreSQL cannot store
/// and SQLite could: refused alike on both (`parameters.Name`, `the body`). A body without the
/// escape `\u0000` (JSON has no other way to write a NUL) is not parsed twice.
fn nul_field(body: &[u8]) -> Option<String> {
    if !body.windows(6).any(|w| w == b"\\u0000") {
        return None;
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    nul_in(&value, "")
}

fn nul_in(value: &Value, path: &str) -> Option<String> {
    let name = |path: &str| match path {
        "" => "the body".to_string(),
        path => format!("'{path}'"),
    };
    let child = |key: &str| match path {
        "" => key.to_string(),
        path => format!("{path}.{key}"),
    };
    match value {
        Value::String(text) if text.contains('\0') => Some(name(path)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_in(item, &child(&i.to_string()))),
        Value::Object(map) => map.iter().find_map(|(key, item)| match key.contains('\0') {
            true => Some(name(path)),
            false => nul_in(item, &child(key)),
        }),
        _ => None,
    }
}

fn rejected(rejection: JsonRejection) -> ApiError {
    let status = rejection.status();
    let why = rejection.body_text();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            status,
            "body_too_large",
            format!("the request body is too large (at most {MAX_BODY_BYTES} bytes)"),
        );
    }
    match rejection {
        JsonRejection::MissingJsonContentType(_) => unsupported_media_type(),
        _ => ApiError::bad_request(format!("the request body is not valid: {why}")),
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_character_is_found_where_it_is() {
        let at = |body: &str| nul_field(body.as_bytes());
        assert_eq!(at(r#"{"value": "a\u0000b"}"#).as_deref(), Some("'value'"));
        assert_eq!(
            at(r#"{"parameters": {"X": ["ok", "\u0000"]}}"#).as_deref(),
            Some("'parameters.X.1'")
        );
        assert_eq!(at(r#"{"a\u0000": 1}"#).as_deref(), Some("the body"));
        assert_eq!(at(r#""\u0000""#).as_deref(), Some("the body"));
        assert_eq!(at(r#"{"value": "a\\u0000b"}"#), None, "an escaped backslash, not a NUL");
        assert_eq!(at(r#"{"value": "plain"}"#), None);
    }
}
