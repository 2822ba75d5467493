//! rusqlite rows as [`ColumnReader`]s.

use rusqlite::Row;
use rusqlite::types::ValueRef;

use super::error::{BACKEND, storage};
use crate::error::Result;
use crate::sql::ColumnReader;

impl ColumnReader for Row<'_> {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn optional_text(&self, index: usize) -> Result<Option<String>> {
        self.get(index).map_err(storage)
    }

    fn lend_text(&self, index: usize, read: &mut dyn FnMut(Option<&str>) -> Result<()>) -> Result<()> {
        match self.get_ref(index).map_err(storage)? {
            ValueRef::Null => read(None),
            ValueRef::Text(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => read(Some(text)),
                // The copy's error names the column.
                Err(_) => read(self.optional_text(index)?.as_deref()),
            },
            _ => read(self.optional_text(index)?.as_deref()),
        }
    }

    fn optional_integer(&self, index: usize) -> Result<Option<i64>> {
        self.get(index).map_err(storage)
    }

    fn real(&self, index: usize) -> Result<f64> {
        self.get(index).map_err(storage)
    }

    fn optional_blob(&self, index: usize) -> Result<Option<Vec<u8>>> {
        self.get(index).map_err(storage)
    }
}
