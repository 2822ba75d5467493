//! The shared SQL code's [`Connection`] over rusqlite: statements prepared once per connection
//! (its statement cache) and run on the calling thread.

use rusqlite::ToSql;
use rusqlite::types::{ToSqlOutput, Value};

use super::error::storage;
use super::postings::Fts5Postings;
use crate::error::Result;
use crate::sql::{ColumnReader, Connection, Dialect, Executed, Param, PostingsLayout, Statement};

/// A rusqlite connection (or the transaction the store opened on it) as a [`Connection`].
pub(super) struct SqliteConnection<'a>(pub &'a rusqlite::Connection);

impl ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Self::Text(text) => ToSqlOutput::Borrowed(text.as_str().into()),
            Self::OptionalText(Some(text)) => ToSqlOutput::Borrowed(text.as_str().into()),
            Self::Integer(integer) | Self::OptionalInteger(Some(integer)) => {
                ToSqlOutput::Owned(Value::Integer(*integer))
            }
            Self::Real(real) => ToSqlOutput::Owned(Value::Real(*real)),
            Self::OptionalBlob(Some(bytes)) => ToSqlOutput::Borrowed(bytes.as_slice().into()),
            Self::OptionalText(None) | Self::OptionalInteger(None) | Self::OptionalBlob(None) => {
                ToSqlOutput::Owned(Value::Null)
            }
        })
    }
}

impl Connection for SqliteConnection<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn postings_layout(&self) -> &'static dyn PostingsLayout {
        &Fts5Postings
    }

    fn execute(&mut self, statement: Statement) -> Result<Executed> {
        let mut prepared = self.0.prepare_cached(&statement.sql).map_err(storage)?;
        let rows = prepared.execute(rusqlite::params_from_iter(statement.params.iter())).map_err(storage)?;
        Ok(Executed { rows: rows as u64, last_insert_id: Some(self.0.last_insert_rowid()) })
    }

    fn query(&mut self, statement: Statement, each: &mut dyn FnMut(&dyn ColumnReader) -> Result<()>) -> Result<()> {
        let mut prepared = self.0.prepare_cached(&statement.sql).map_err(storage)?;
        let mut rows = prepared.query(rusqlite::params_from_iter(statement.params.iter())).map_err(storage)?;
        while let Some(row) = rows.next().map_err(storage)? {
            each(row)?;
        }
        Ok(())
    }
}
