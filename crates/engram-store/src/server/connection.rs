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
    pub wait: Wait<'a>,
}

/// Waits on sqlx futures (statements) from a synchronous caller, until a store call's deadline
/// (its query timeout), past which the call fails `Unavailable`.
#[derive(Clone, Copy)]
pub(super) struct Wait<'a> {
    pub runtime: &'a Runtime,
    pub dialect: Dialect,
    pub deadline: Instant,
}

impl Wait<'_> {
    pub(super) fn on<T>(&self, future: impl Future<Output = sqlx::Result<T>>) -> Result<T> {
        self.until(async { future.await.map_err(|error| database_error(self.dialect, error)) })
    }

    /// [`Self::on`] for a future of engram's own.
    pub(super) fn until<T>(&self, future: impl Future<Output = Result<T>>) -> Result<T> {
        match self.runtime.block_on(async { tokio::time::timeout_at(self.deadline, future).await }) {
            Ok(done) => done,
            Err(_) => Err(Error::Unavailable {
                backend: self.dialect.backend(),
                detail: "no answer within the query timeout".into(),
            }),
        }
    }
}

impl Connection for ServerConnection<'_> {
    fn dialect(&self) -> Dialect {
        self.wait.dialect
    }

    fn postings_layout(&self) -> &'static dyn PostingsLayout {
        &TablePostings
    }

    fn execute(&mut self, statement: Statement) -> Result<Executed> {
        sent(&statement);
        let done = self.wait.on(query(statement, self.wait.dialect).execute(&mut *self.connection))?;
        Ok(Executed { rows: done.rows_affected(), last_insert_id: done.last_insert_id() })
    }

    fn query(&mut self, statement: Statement, each: &mut dyn FnMut(&dyn ColumnReader) -> Result<()>) -> Result<()> {
        sent(&statement);
        let rows = self.wait.on(query(statement, self.wait.dialect).fetch_all(&mut *self.connection))?;
        for row in &rows {
            each(&ServerRow { row, dialect: self.wait.dialect })?;
        }
        Ok(())
    }
}

/// Each statement sent is a TRACE event of target `engram_store::statements`: what a call
/// costs in round trips, countable by any subscriber (the tests count a packet's).
fn sent(statement: &Statement) {
    tracing::trace!(target: "engram_store::statements", parameters = statement.params.len(), "statement sent");
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
