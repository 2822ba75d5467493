//! rusqlite rows as [`ColumnReader`]s.

use rusqlite::Row;
use rusqlite::types::FromSql;

use super::error::{BACKEND, storage};
use crate::error::Result;
use crate::sql::ColumnReader;

impl ColumnReader for Row<'_> {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn optional_text(&self, index: usize) -> Result<Option<String>> {
        get(self, index)
    }

    fn optional_integer(&self, index: usize) -> Result<Option<i64>> {
        get(self, index)
    }

    fn real(&self, index: usize) -> Result<f64> {
        get(self, index)
    }

    fn optional_blob(&self, index: usize) -> Result<Option<Vec<u8>>> {
        get(self, index)
    }
}

fn get<T: FromSql>(row: &Row<'_>, index: usize) -> Result<T> {
    row.get(index).map_err(storage)
}
