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

    /// Hands a text column to `read` where it lies (`None` for NULL): values parsed from text
    /// (names, JSON) need no copy of it. The default copies; a backend that can lend does.
    fn lend_text(&self, index: usize, read: &mut dyn FnMut(Option<&str>) -> Result<()>) -> Result<()> {
        read(self.optional_text(index)?.as_deref())
    }

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

/// A non-NULL text column parsed where it lies (see [`ColumnReader::lend_text`]).
pub(crate) fn parse_text<T>(
    row: &(impl ColumnReader + ?Sized),
    index: usize,
    parse: impl FnOnce(&str) -> Result<T>,
) -> Result<T> {
    let mut parse = Some(parse);
    let mut parsed = None;
    row.lend_text(index, &mut |text| {
        let text = text.ok_or_else(|| corrupt(row.backend(), &format!("column {index}"), "NULL"))?;
        if let Some(parse) = parse.take() {
            parsed = Some(parse(text)?);
        }
        Ok(())
    })?;
    parsed.ok_or_else(|| corrupt(row.backend(), &format!("column {index}"), "not read"))
}
