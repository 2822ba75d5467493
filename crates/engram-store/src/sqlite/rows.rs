//! rusqlite rows as [`ColumnReader`]s, and the shared SQL helpers under SQLite's name.

use engram_types::Timestamp;
use rusqlite::Row;
use rusqlite::types::FromSql;
use serde::de::DeserializeOwned;

use super::error::{BACKEND, storage};
use crate::error::Result;
use crate::sql::ColumnReader;

pub(super) use crate::sql::{
    FACT_COLUMNS, INSIGHT_COLUMNS, PROCEDURE_COLUMNS, millis, optional_millis, optional_vector_bytes, read_fact,
    read_insight, read_procedure, read_record, table_info, to_integer, to_json,
};

impl ColumnReader for Row<'_> {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn text(&self, index: usize) -> Result<String> {
        get(self, index)
    }

    fn optional_text(&self, index: usize) -> Result<Option<String>> {
        get(self, index)
    }

    fn integer(&self, index: usize) -> Result<i64> {
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

pub(super) fn get<T: FromSql>(row: &Row<'_>, index: usize) -> Result<T> {
    row.get(index).map_err(storage)
}

pub(super) fn time(millis: i64) -> Result<Timestamp> {
    crate::sql::time(BACKEND, millis)
}

pub(super) fn json<T: DeserializeOwned>(column: &str, text: &str) -> Result<T> {
    crate::sql::json(BACKEND, column, text)
}
