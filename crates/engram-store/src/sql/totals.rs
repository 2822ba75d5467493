//! The `lexical_totals` write of one space's changes, the same on every SQL backend.

use super::connection::Connection;
use super::dialect::Update;
use super::statement::Statement;
use super::term_counts::SpaceCounts;
use crate::error::Result;

/// Adds the space's documents and summed length to its `lexical_totals` row, never going
/// below zero (a removal only ever meets a row its record's indexing made).
pub(crate) fn write_totals(connection: &mut dyn Connection, space_id: i64, space: &SpaceCounts) -> Result<()> {
    if space.documents == 0 && space.length == 0 {
        return Ok(());
    }
    let updates = [("documents", Update::AddAtLeastZero), ("total_length", Update::AddAtLeastZero)];
    let upsert = connection.dialect().upsert("lexical_totals", "tenant_id, space_id", &updates);
    Statement::new(format!(
        "INSERT INTO lexical_totals (tenant_id, space_id, documents, total_length) VALUES (?, ?, ?, ?) {upsert}"
    ))
    .bind(&space.tenant_id)
    .bind(space_id)
    .bind(space.documents)
    .bind(space.length)
    .execute(connection)
    .map(drop)
}
