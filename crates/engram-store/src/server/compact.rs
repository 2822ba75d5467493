//! Compaction on the servers: the tables a deletion touched rewritten, so the bytes of the
//! deleted rows leave the table files instead of waiting for the server to reuse their space.

use sqlx::{AnyConnection, AssertSqlSafe};

use super::dialect::Dialect;
use super::error::database_error;
use crate::error::Result;

/// Rewrites one table of [`TABLES`](crate::tables::TABLES). Outside any transaction: `VACUUM`
/// refuses to run in one, and MySQL's `ALTER TABLE` commits implicitly. Sent unprepared.
pub(super) async fn rewrite(connection: &mut AnyConnection, dialect: Dialect, table: &'static str) -> Result<()> {
    sqlx::raw_sql(AssertSqlSafe(dialect.rewrite_table(table)))
        .execute(connection)
        .await
        .map_err(|error| database_error(dialect, error))?;
    Ok(())
}
