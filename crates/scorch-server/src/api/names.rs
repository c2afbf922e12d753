//! Names of variables, counters and users, checked alike on both HTTP roles.

use axum::extract::{Path, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// Names of variables, counters and users are at most this long.
const MAX_NAME_BYTES: usize = 128;

/// A name for a variable, counter or user: 1 to 128 bytes, no '/', no control characters,
/// no surrounding spaces.
pub(crate) fn check_name(what: &str, name: &str) -> Result<(), ApiError> {
    check_name_length(what, name)?;
    let ok = !name.is_empty() && name.trim() == name && !name.contains('/') && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{what} name '{name}': use 1 to {MAX_NAME_BYTES} bytes without '/', control characters or surrounding spaces"
        )))
    }
}

/// A name no longer than names may be, so that looking an over-long one up is a 400 rather than
/// a search. The name is not repeated: it may be huge.
pub(crate) fn check_name_length(what: &str, name: &str) -> Result<(), ApiError> {
    if name.len() > MAX_NAME_BYTES {
        return Err(ApiError::bad_request(format!(
            "{what} name: {} bytes long; the limit is {MAX_NAME_BYTES}",
            name.len()
        )));
    }
    Ok(())
}

/// Route middleware that refuses a `{name}` in the path longer than names may be (400 naming
/// `what`) before any handler looks it up: `route_layer(from_fn_with_state("user", name_in_path))`.
pub(crate) async fn name_in_path(
    State(what): State<&'static str>,
    Path(name): Path<String>,
    request: Request,
    next: Next,
) -> Response {
    match check_name_length(what, &name) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("variable", "smtp_host").is_ok());
        let long = "n".repeat(MAX_NAME_BYTES + 1);
        for bad in ["", " x", "a/b", "a\nb", long.as_str()] {
            assert!(check_name("variable", bad).is_err(), "{bad:?}");
        }
    }
}
