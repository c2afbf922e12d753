//! A write the database refuses: SQLite undoes just the statement that broke a constraint, so
//! that write alone is refused and the rest of its batch commits (PostgreSQL, which aborts the
//! whole transaction, writes the batch again record by record instead).

use sqlx::error::ErrorKind;

/// Whether a failed statement broke a constraint (refusing its write alone, with what `refuse`
/// makes of the constraint's kind) rather than failing (which fails the batch).
pub(in crate::sqlite) fn refusal<T, E>(
    err: rusqlite::Error,
    refuse: impl FnOnce(ErrorKind) -> E,
) -> rusqlite::Result<Result<T, E>> {
    use rusqlite::ffi;
    match &err {
        rusqlite::Error::SqliteFailure(failure, _) if failure.code == rusqlite::ErrorCode::ConstraintViolation => {
            let kind = match failure.extended_code {
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
                ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => ErrorKind::UniqueViolation,
                ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
                _ => ErrorKind::Other,
            };
            Ok(Err(refuse(kind)))
        }
        _ => Err(err),
    }
}
