//! The shared SQL code's [`Connection`] over sqlx: each statement is sent and awaited on the
//! store's runtime, from the calling thread, within the deadline of the store call.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, AssertSqlSafe};
use tokio::runtime::Runtime;
use tokio::time::Instant;

use super::error::database_error;
use super::postings::TablePostings;
use super::rows::ServerRow;
use crate::error::{Error, Result};
use crate::sql::{ColumnReader, Connection, Dialect, Executed, Param, PostingsLayout, Statement};

/// A pooled connection (or the transaction the store opened on it) as a [`Connection`].
pub(super) struct ServerConnection<'a> {
    pub connection: &'a mut AnyConnection,
    pub runtime: &'a Runtime,
    pub dialect: Dialect,
    /// When the store call runs out of time (its query timeout).
    pub deadline: Instant,
}

/// Runs `future` (one statement) to completion, or fails `Unavailable` at the deadline.
fn wait<T>(
    runtime: &Runtime,
    dialect: Dialect,
    deadline: Instant,
    future: impl Future<Output = sqlx::Result<T>>,
) -> Result<T> {
    match runtime.block_on(async { tokio::time::timeout_at(deadline, future).await }) {
        Ok(done) => done.map_err(|error| database_error(dialect, error)),
        Err(_) => Err(timed_out(dialect)),
    }
}

/// The error of a store call that ran past its query timeout.
pub(super) fn timed_out(dialect: Dialect) -> Error {
    Error::Unavailable { backend: dialect.backend(), detail: "no answer within the query timeout".into() }
}

impl Connection for ServerConnection<'_> {
    fn dialect(&self) -> Dialect {
        self.dialect
    }

    fn postings_layout(&self) -> &'static dyn PostingsLayout {
        &TablePostings
    }

    fn execute(&mut self, statement: Statement) -> Result<Executed> {
        let query = query(statement, self.dialect);
        let done = wait(self.runtime, self.dialect, self.deadline, query.execute(&mut *self.connection))?;
        Ok(Executed { rows: done.rows_affected(), last_insert_id: done.last_insert_id() })
    }

    fn query(&mut self, statement: Statement, each: &mut dyn FnMut(&dyn ColumnReader) -> Result<()>) -> Result<()> {
        let query = query(statement, self.dialect);
        let rows = wait(self.runtime, self.dialect, self.deadline, query.fetch_all(&mut *self.connection))?;
        for row in &rows {
            each(&ServerRow { row, dialect: self.dialect })?;
        }
        Ok(())
    }
}

/// Engram's SQL is made of its own constants and placeholders; every value is bound, which is
/// what `AssertSqlSafe` asserts. Parameters (payloads of up to megabytes) move, never copied.
fn query(statement: Statement, dialect: Dialect) -> Query<'static, Any, AnyArguments> {
    let mut query = sqlx::query(AssertSqlSafe(dialect.sql(&statement.sql).into_owned()));
    for param in statement.params {
        query = match param {
            Param::Text(value) => query.bind(value),
            Param::OptionalText(value) => query.bind(value),
            Param::Integer(value) => query.bind(value),
            Param::OptionalInteger(value) => query.bind(value),
            Param::Real(value) => query.bind(value),
            Param::OptionalBlob(value) => query.bind(value),
        };
    }
    query
}
