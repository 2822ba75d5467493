//! A result row of one SQL backend, read by column position, and the error of a value that
//! cannot be read back.

use crate::error::{Error, Result};

/// A result row of one SQL backend, read by column position.
pub(crate) trait ColumnReader {
    /// The backend's name, for errors.
    fn backend(&self) -> &'static str;
    fn optional_text(&self, index: usize) -> Result<Option<String>>;
    fn optional_integer(&self, index: usize) -> Result<Option<i64>>;
    fn real(&self, index: usize) -> Result<f64>;
    fn optional_blob(&self, index: usize) -> Result<Option<Vec<u8>>>;

    fn text(&self, index: usize) -> Result<String> {
        self.optional_text(index)?.ok_or_else(|| corrupt(self.backend(), &format!("column {index}"), "NULL"))
    }

    fn integer(&self, index: usize) -> Result<i64> {
        self.optional_integer(index)?.ok_or_else(|| corrupt(self.backend(), &format!("column {index}"), "NULL"))
    }
}

/// A stored value engram cannot read back (bad JSON, unknown enum text).
pub(crate) fn corrupt(backend: &'static str, column: &str, detail: impl std::fmt::Display) -> Error {
    Error::storage(backend, format!("unreadable {column}: {detail}"))
}
