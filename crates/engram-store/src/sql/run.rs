//! Running statements on a [`Connection`]: rows read into values, ranges sent as one union on a
//! server, inserts that report their key.

use super::column_reader::ColumnReader;
use super::connection::{Connection, Executed};
use super::dialect::Dialect;
use super::statement::{Param, Statement, placeholders};
use crate::error::Result;

impl Statement {
    /// Runs the statement, which returns no rows.
    pub(crate) fn execute(self, connection: &mut dyn Connection) -> Result<Executed> {
        connection.execute(self)
    }

    /// Runs the statement and reads each row it returns with `read`.
    pub(crate) fn rows<T>(
        self,
        connection: &mut dyn Connection,
        mut read: impl FnMut(&dyn ColumnReader) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut values = Vec::new();
        connection.query(self, &mut |row| {
            values.push(read(row)?);
            Ok(())
        })?;
        Ok(values)
    }

    /// Runs a statement that returns at most one row (a key, a limit of one) and reads it.
    pub(crate) fn first_row<T>(
        self,
        connection: &mut dyn Connection,
        read: impl FnMut(&dyn ColumnReader) -> Result<T>,
    ) -> Result<Option<T>> {
        Ok(self.rows(connection, read)?.into_iter().next())
    }
}

/// Runs limited range queries (each without parentheses) and returns every row, read by
/// `read`, in statement order: on a server as one `UNION ALL` statement (one round trip however
/// many ranges), on SQLite range by range from the statement cache (each prepared once, where
/// a union of varying length would be prepared anew).
pub(crate) fn union_all<T>(
    connection: &mut dyn Connection,
    ranges: Vec<Statement>,
    mut read: impl FnMut(&dyn ColumnReader) -> Result<T>,
) -> Result<Vec<T>> {
    if !connection.dialect().unions_ranges() || ranges.len() < 2 {
        let mut values = Vec::new();
        for range in ranges {
            values.extend(range.rows(connection, &mut read)?);
        }
        return Ok(values);
    }
    let mut union = Statement::default();
    for (index, range) in ranges.into_iter().enumerate() {
        if index > 0 {
            union.sql.push_str(" UNION ALL ");
        }
        union.sql.push('(');
        union.sql.push_str(&range.sql);
        union.sql.push(')');
        union.params.extend(range.params);
    }
    union.rows(connection, read)
}

/// Inserts `rows` (each the values of one row) in multi-row statements of at most
/// `per_statement` rows: `{insert} VALUES (...), (...){suffix}`.
pub(crate) fn insert_rows(
    connection: &mut dyn Connection,
    insert: &str,
    suffix: &str,
    rows: impl IntoIterator<Item = Vec<Param>>,
    per_statement: usize,
) -> Result<()> {
    let mut rows = rows.into_iter().peekable();
    while let Some(first) = rows.peek() {
        let row = format!("({})", placeholders(first.len()));
        let chunk: Vec<Vec<Param>> = rows.by_ref().take(per_statement).collect();
        let mut statement = Statement::new(format!("{insert} VALUES {}{suffix}", vec![row; chunk.len()].join(", ")));
        statement.push_all(chunk.into_iter().flatten());
        statement.execute(connection)?;
    }
    Ok(())
}

/// Adds an `IN` list of `values` to `statement` and returns its SQL (what goes between the
/// parentheses): one placeholder per value on a server; one JSON array on SQLite, so the
/// statement's text is the same whatever the count and stays in the statement cache.
pub(crate) fn in_list<T>(statement: &mut Statement, dialect: Dialect, values: &[T]) -> Result<String>
where
    T: serde::Serialize + Clone + Into<Param>,
{
    if dialect == Dialect::Sqlite {
        statement.push(super::stored_values::to_json(&values)?);
        return Ok("SELECT value FROM json_each(?)".to_string());
    }
    statement.push_all(values.iter().cloned());
    Ok(placeholders(values.len()))
}

/// Runs an `INSERT` of one row and returns the key the database generated for it (`key`):
/// Postgres returns it from the insert, SQLite and MySQL report it as the last insert id.
pub(crate) fn insert_returning(mut statement: Statement, key: &str, connection: &mut dyn Connection) -> Result<i64> {
    let dialect = connection.dialect();
    let missing = || crate::Error::storage(dialect.backend(), "the database returned no generated key");
    if dialect.returns_generated_keys() {
        statement.sql.push_str(" RETURNING ");
        statement.sql.push_str(key);
        statement.first_row(connection, |row| row.integer(0))?.ok_or_else(missing)
    } else {
        statement.execute(connection)?.last_insert_id.ok_or_else(missing)
    }
}

/// Runs an `INSERT` of one row ending in [`Dialect::ignore_existing_reporting`]: whether it
/// inserted its row (else the key existed, and nothing changed). Postgres returns a row only
/// for an insert; SQLite counts no changed row for an ignored one. sqlx asks MySQL for found
/// rows, so there an insert and a no-op update both report one row; the no-op update sets
/// `LAST_INSERT_ID(1)`, which the result carries (an insert into a table without an
/// auto-increment column carries 0).
pub(crate) fn inserted(mut statement: Statement, connection: &mut dyn Connection) -> Result<bool> {
    match connection.dialect() {
        Dialect::Postgres => {
            statement.sql.push_str(" RETURNING 1");
            Ok(statement.first_row(connection, |_| Ok(()))?.is_some())
        }
        Dialect::Sqlite => Ok(statement.execute(connection)?.rows == 1),
        Dialect::MySql => Ok(statement.execute(connection)?.last_insert_id != Some(EXISTED)),
    }
}

/// What `LAST_INSERT_ID` a MySQL insert ending in [`Dialect::ignore_existing_reporting`] sets
/// when the key existed.
const EXISTED: i64 = 1;
