//! rusqlite errors -> engram error kinds, the same mapping for every statement.

use rusqlite::ErrorCode;

use crate::error::Error;

pub(super) const BACKEND: &str = "sqlite";

/// Busy/locked past the busy timeout, or a file that cannot be opened, means the database did
/// not answer; a unique constraint is a conflict (callers check ids first, so this is a lost
/// race); the rest is storage.
pub(super) fn storage(error: rusqlite::Error) -> Error {
    if is_busy(&error) || error.sqlite_error_code() == Some(ErrorCode::CannotOpen) {
        Error::Unavailable { backend: BACKEND, detail: error.to_string() }
    } else if is_unique_violation(&error) {
        Error::Conflict { entity: "record", id: String::new(), detail: error.to_string() }
    } else {
        Error::Storage { backend: BACKEND, detail: error.to_string(), source: Some(Box::new(error)) }
    }
}

/// Another connection or process holds the lock the statement needs.
pub(super) fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(error.sqlite_error_code(), Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

pub(super) fn poisoned() -> Error {
    Error::storage(BACKEND, "connection lock poisoned by a panicked thread")
}
