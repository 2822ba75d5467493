//! rusqlite rows as [`ColumnReader`]s.

use rusqlite::Row;

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
