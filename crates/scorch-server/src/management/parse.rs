//! What the management server reads from paths and bodies, checked: ids and folder paths.

use uuid::Uuid;

use crate::api::ApiError;

/// A UUID from the path, or 400.
pub(super) fn parse_id(text: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::bad_request(format!("'{text}' is not a {what} id (a UUID)")))
}

/// A folder path as stored: '/'-separated, no leading or trailing '/', "" for the root. Refuses
/// empty, `.` and `..` segments and control characters.
pub(super) fn folder_path(text: &str) -> Result<String, ApiError> {
    let trimmed = text.trim().trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if trimmed.len() > 1024 {
        return Err(ApiError::bad_request("a folder path is at most 1024 bytes"));
    }
    let mut segments = Vec::new();
    for segment in trimmed.split('/') {
        let segment = segment.trim();
        if segment.is_empty() || segment == "." || segment == ".." || segment.chars().any(char::is_control) {
            return Err(ApiError::bad_request(format!(
                "folder '{text}': write the path as names joined by '/' (no empty, '.' or '..' parts)"
            )));
        }
        segments.push(segment);
    }
    Ok(segments.join("/"))
}

/// The folder holding `path` ("" for a top-level folder).
pub(super) fn parent_folder(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(parent, _)| parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_paths_are_normalised() {
        assert_eq!(folder_path("").unwrap(), "");
        assert_eq!(folder_path("/").unwrap(), "");
        assert_eq!(folder_path("/ops/daily/").unwrap(), "ops/daily");
        assert_eq!(folder_path("ops").unwrap(), "ops");
        for bad in ["ops//daily", "ops/../x", "./ops", "a/\u{7}"] {
            assert!(folder_path(bad).is_err(), "{bad}");
        }
        assert_eq!(parent_folder("ops/daily"), "ops");
        assert_eq!(parent_folder("ops"), "");
    }
}
