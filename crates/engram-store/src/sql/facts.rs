//! Facts: the active version of a key, and every version (history).

use engram_types::{Fact, Scope};

use super::connection::Connection;
use super::record_columns::{FACT_COLUMNS, read_fact};
use super::statement::{Statement, placeholders};
use crate::error::Result;
use crate::record::{RecordKind, visible_spaces};

/// The active fact of a key in one space, with its sequence.
pub(crate) fn active(
    connection: &mut dyn Connection,
    tenant_id: &str,
    space: &str,
    fact_key: &str,
) -> Result<Option<(i64, Fact)>> {
    Statement::new(format!(
        "SELECT {FACT_COLUMNS} FROM facts WHERE tenant_id = ? AND space = ? AND fact_key = ? AND status = 'active' ORDER BY seq DESC LIMIT 1"
    ))
    .bind(tenant_id)
    .bind(space)
    .bind(fact_key)
    .first_row(connection, |row| Ok((row.integer(0)?, read_fact(row)?)))
}

/// Every version of the key in the scope's visible spaces, with sequences.
pub(crate) fn versions(connection: &mut dyn Connection, scope: &Scope, fact_key: &str) -> Result<Vec<(i64, Fact)>> {
    let spaces = visible_spaces(scope, RecordKind::Fact);
    let mut statement = Statement::new(format!(
        "SELECT {FACT_COLUMNS} FROM facts WHERE tenant_id = ? AND space IN ({}) AND fact_key = ?",
        placeholders(spaces.len())
    ))
    .bind(&scope.tenant_id);
    statement.push_all(spaces);
    statement.push(fact_key);
    statement.rows(connection, |row| Ok((row.integer(0)?, read_fact(row)?)))
}
