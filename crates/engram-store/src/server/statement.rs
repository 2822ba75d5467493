//! One SQL statement with its parameters, run on a connection. Statements are written with `?`
//! placeholders and spelled for the server by the [`Dialect`] when run.

use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, AssertSqlSafe};

use super::dialect::Dialect;
use super::error::database_error;
use crate::error::Result;

/// A parameter value. Nulls carry their type: Postgres types every parameter.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Param {
    Text(String),
    OptionalText(Option<String>),
    Integer(i64),
    OptionalInteger(Option<i64>),
    Real(f64),
    OptionalBlob(Option<Vec<u8>>),
}

impl From<&str> for Param {
    fn from(value: &str) -> Self {
        Self::Text(value.to_string())
    }
}

impl From<String> for Param {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}

impl From<&String> for Param {
    fn from(value: &String) -> Self {
        Self::Text(value.clone())
    }
}

impl From<Option<String>> for Param {
    fn from(value: Option<String>) -> Self {
        Self::OptionalText(value)
    }
}

impl From<i64> for Param {
    fn from(value: i64) -> Self {
        Self::Integer(value)
    }
}

impl From<u32> for Param {
    fn from(value: u32) -> Self {
        Self::Integer(i64::from(value))
    }
}

impl From<Option<i64>> for Param {
    fn from(value: Option<i64>) -> Self {
        Self::OptionalInteger(value)
    }
}

impl From<f64> for Param {
    fn from(value: f64) -> Self {
        Self::Real(value)
    }
}

impl From<Option<Vec<u8>>> for Param {
    fn from(value: Option<Vec<u8>>) -> Self {
        Self::OptionalBlob(value)
    }
}

impl From<crate::sql::SqlParam> for Param {
    fn from(value: crate::sql::SqlParam) -> Self {
        match value {
            crate::sql::SqlParam::Text(text) => Self::Text(text),
            crate::sql::SqlParam::Integer(integer) => Self::Integer(integer),
        }
    }
}

/// SQL text and its parameters, in placeholder order.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Statement {
    pub sql: String,
    pub params: Vec<Param>,
}

impl Statement {
    pub(super) fn new(sql: impl Into<String>) -> Self {
        Self { sql: sql.into(), params: Vec::new() }
    }

    /// Appends a parameter for the next `?`.
    #[must_use]
    pub(super) fn bind(mut self, param: impl Into<Param>) -> Self {
        self.params.push(param.into());
        self
    }

    pub(super) fn push(&mut self, param: impl Into<Param>) {
        self.params.push(param.into());
    }

    pub(super) async fn execute(self, connection: &mut AnyConnection, dialect: Dialect) -> Result<AnyQueryResult> {
        self.query(dialect).execute(connection).await.map_err(|error| database_error(dialect, error))
    }

    pub(super) async fn fetch_all(self, connection: &mut AnyConnection, dialect: Dialect) -> Result<Vec<AnyRow>> {
        self.query(dialect).fetch_all(connection).await.map_err(|error| database_error(dialect, error))
    }

    pub(super) async fn fetch_optional(
        self,
        connection: &mut AnyConnection,
        dialect: Dialect,
    ) -> Result<Option<AnyRow>> {
        self.query(dialect).fetch_optional(connection).await.map_err(|error| database_error(dialect, error))
    }

    /// Engram's SQL is made of its own constants and placeholders; every value is bound, which
    /// is what `AssertSqlSafe` asserts.
    /// Consumes the statement: parameters (payloads of up to megabytes) move, never copied.
    fn query(self, dialect: Dialect) -> Query<'static, Any, AnyArguments> {
        let mut query = sqlx::query(AssertSqlSafe(dialect.sql(&self.sql).into_owned()));
        for param in self.params {
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
}

/// `?, ?, ?` for `count` parameters (an `IN` list or a row of values).
pub(super) fn placeholders(count: usize) -> String {
    let mut list = String::with_capacity(count * 3);
    for index in 0..count {
        if index > 0 {
            list.push_str(", ");
        }
        list.push('?');
    }
    list
}

/// Runs an `INSERT` of one row and returns the key the server generated for it (`key`):
/// Postgres returns it from the insert, MySQL reports it as the last insert id.
pub(super) async fn insert_returning(
    mut statement: Statement,
    key: &str,
    connection: &mut AnyConnection,
    dialect: Dialect,
) -> Result<i64> {
    let missing = || crate::Error::storage(dialect.backend(), "the server returned no generated key");
    if dialect.returns_generated_keys() {
        statement.sql.push_str(" RETURNING ");
        statement.sql.push_str(key);
        let row = statement.fetch_optional(connection, dialect).await?.ok_or_else(missing)?;
        super::rows::get(&row, dialect, 0)
    } else {
        statement.execute(connection, dialect).await?.last_insert_id().ok_or_else(missing)
    }
}

/// Runs an `INSERT` of one row ending in [`Dialect::ignore_existing_reporting`]: whether it
/// inserted its row (else the key existed, and nothing changed). Postgres returns a row only
/// for an insert. sqlx asks MySQL for found rows, so there an insert and a no-op update both
/// report one row; the no-op update sets `LAST_INSERT_ID(1)`, which the result carries (an
/// insert into a table without an auto-increment column carries 0).
pub(super) async fn inserted(
    mut statement: Statement,
    connection: &mut AnyConnection,
    dialect: Dialect,
) -> Result<bool> {
    if dialect.returns_generated_keys() {
        statement.sql.push_str(" RETURNING 1");
        Ok(statement.fetch_optional(connection, dialect).await?.is_some())
    } else {
        Ok(statement.execute(connection, dialect).await?.last_insert_id() != Some(EXISTED))
    }
}

/// What `LAST_INSERT_ID` a MySQL insert ending in [`Dialect::ignore_existing_reporting`] sets
/// when the key existed.
const EXISTED: i64 = 1;
