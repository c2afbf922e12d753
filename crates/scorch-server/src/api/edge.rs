//! What every request to the JSON APIs passes on its way in, and every answer on its way out:
//! limits on the request head, and error answers in the one error shape, also those axum makes
//! itself (a rejection in plain text, a 405 with no body).

use axum::Router;
use axum::body::to_bytes;
use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// Request targets longer than this are refused (414).
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Request header fields larger than this in all (names, values and separators) are refused (431).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// What is read of an error answer's plain-text body to make its message.
const MAX_MESSAGE_BYTES: usize = 4 * 1024;

/// `router` with the head limits and the error shape (one layer: each costs every request a
/// boxed future).
pub(crate) fn guarded(router: Router) -> Router {
    router.layer(from_fn(edge))
}

async fn edge(request: Request, next: Next) -> Response {
    match refused_head(&request) {
        Some(refused) => refused,
        None => json_errors(next.run(request).await).await,
    }
}

/// The answer to a head over the limits, if it is.
fn refused_head(request: &Request) -> Option<Response> {
    if target_len(request.uri()) > MAX_URI_BYTES {
        return Some(
            ApiError::new(
                StatusCode::URI_TOO_LONG,
                "uri_too_long",
                format!("the request target is longer than {MAX_URI_BYTES} bytes"),
            )
            .into_response(),
        );
    }
    if header_len(request.headers()) > MAX_HEADER_BYTES {
        return Some(
            ApiError::new(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
                format!("the request's header fields are larger than {MAX_HEADER_BYTES} bytes"),
            )
            .into_response(),
        );
    }
    None
}

/// The request target as the client sent it, give or take its scheme.
fn target_len(uri: &Uri) -> usize {
    uri.authority().map_or(0, |a| a.as_str().len()) + uri.path_and_query().map_or(0, |p| p.as_str().len())
}

/// The header fields as sent: `name: value\r\n` each.
fn header_len(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum()
}

/// An error answer that is not JSON becomes one, its plain text (if any) the message.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = to_bytes(body, MAX_MESSAGE_BYTES).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let text = text.trim();
    let (code, usual) = usual_error(status);
    let message = match text {
        "" => usual.to_string(),
        // A server error's text is for the log, not the client.
        _ if status.is_server_error() => {
            tracing::error!(%status, error = text, "an internal error");
            usual.to_string()
        }
        _ => text.to_string(),
    };
    let answer = ApiError::new(status, code, message).into_response();
    parts.headers.remove(CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, answer.into_body())
}

/// The code, and a message for when there is none, of an error status axum answers with.
fn usual_error(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::NOT_FOUND => ("not_found", "no such route"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "this route does not take that method"),
        StatusCode::PAYLOAD_TOO_LARGE => ("body_too_large", "the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ),
        s if s.is_server_error() => ("internal", "the server could not answer this request"),
        _ => ("bad_request", "the request is not valid"),
    }
}
