//! Facts of a key: its active version in a space (upserts), or every version (history).

use engram_types::Fact;

use super::connection::Connection;
use super::record_columns::{FACT_COLUMNS, read_fact};
use super::statement::{Statement, placeholders};
use crate::error::Result;

/// The facts of a key in the tenant's `spaces` (with `active_only`, the active ones), with
/// their sequences: ranges of the (tenant, space, key, status) index.
pub(crate) fn of_key(
    connection: &mut dyn Connection,
    tenant_id: &str,
    spaces: &[String],
    fact_key: &str,
    active_only: bool,
) -> Result<Vec<(i64, Fact)>> {
    // One active fact a space at most (the unique index `facts_active_key`): the limit says so.
    let active = if active_only { format!(" AND status = 'active' LIMIT {}", spaces.len()) } else { String::new() };
    let mut statement = Statement::new(format!(
        "SELECT {FACT_COLUMNS} FROM facts WHERE tenant_id = ? AND space IN ({}) AND fact_key = ?{active}",
        placeholders(spaces.len())
    ))
    .bind(tenant_id);
    statement.push_all(spaces);
    statement.push(fact_key);
    statement.rows(connection, |row| Ok((row.integer(0)?, read_fact(row)?)))
}
