//! sqlx rows as [`ColumnReader`]s.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::error::database_error;
use crate::error::Result;
use crate::sql::ColumnReader;
use crate::sql::Dialect;

/// A row of a server, with the dialect that names it in errors.
pub(super) struct ServerRow<'a> {
    pub row: &'a AnyRow,
    pub dialect: Dialect,
}

impl ServerRow<'_> {
    fn get<T>(&self, index: usize) -> Result<T>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        self.row.try_get(index).map_err(|error| database_error(self.dialect, error))
    }
}

impl ColumnReader for ServerRow<'_> {
    fn backend(&self) -> &'static str {
        self.dialect.backend()
    }

    fn optional_text(&self, index: usize) -> Result<Option<String>> {
        self.get(index)
    }

    fn lend_text(&self, index: usize, read: &mut dyn FnMut(Option<&str>) -> Result<()>) -> Result<()> {
        let text: Option<&str> = self.row.try_get(index).map_err(|error| database_error(self.dialect, error))?;
        read(text)
    }

    fn optional_integer(&self, index: usize) -> Result<Option<i64>> {
        self.get(index)
    }

    fn real(&self, index: usize) -> Result<f64> {
        self.get(index)
    }

    fn optional_blob(&self, index: usize) -> Result<Option<Vec<u8>>> {
        self.get(index)
    }
}
