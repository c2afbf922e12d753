//! I/O errors in the few lower-case words a one-line activity error wants, for files and for
//! connections alike.

use std::io;

/// `err` as a reason: a short phrase for the kinds people meet, else the OS text.
pub(crate) fn io_why(err: &io::Error) -> String {
    use io::ErrorKind::*;
    let words = match err.kind() {
        NotFound => "not found",
        PermissionDenied => "permission denied",
        AlreadyExists => "already exists",
        IsADirectory => "is a folder",
        NotADirectory => "not a folder",
        DirectoryNotEmpty => "not empty",
        ReadOnlyFilesystem => "read-only filesystem",
        StorageFull => "no space left",
        FileTooLarge => "file too large",
        InvalidFilename => "invalid file name",
        CrossesDevices => "on another filesystem",
        ConnectionRefused => "connection refused",
        ConnectionReset => "connection reset",
        ConnectionAborted => "connection aborted",
        TimedOut => "timed out",
        HostUnreachable => "host unreachable",
        NetworkUnreachable => "network unreachable",
        _ => return plain_reason(&err.to_string()),
    };
    words.to_string()
}

/// An error's text as a reason: without the `(os error N)` suffix, its first letter in lower case.
pub(crate) fn plain_reason(text: &str) -> String {
    let text = text.split(" (os error").next().unwrap_or(text);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_read_as_short_words() {
        assert_eq!(io_why(&io::Error::from(io::ErrorKind::NotFound)), "not found");
        assert_eq!(io_why(&io::Error::from_raw_os_error(13)), "permission denied");
        assert_eq!(
            io_why(&io::Error::from(io::ErrorKind::ConnectionRefused)),
            "connection refused"
        );
        assert_eq!(io_why(&io::Error::other("Bad thing")), "bad thing");
    }
}
