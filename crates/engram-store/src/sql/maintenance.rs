//! The lifecycle primitives: deleting records and states with their index entries, and finding
//! a record by id. Scans live with the other reads (`fetch.rs`, `state.rs`).

use engram_types::{Receipt, RecordKind};

use super::columns::table_info;
use super::connection::Connection;
use super::decode::read_record;
use super::index_changes::IndexChanges;
use super::spaces;
use super::state;
use super::statement::Statement;
use crate::error::Result;
use crate::maintenance::DeleteRequest;
use crate::prepare;
use crate::record::Fetched;

/// Deletes inside the caller's transaction.
///
/// With `drop_empty_spaces` the spaces of the deleted records are locked (`FOR UPDATE`) before
/// any count changes, so a writer of another process that read one of them (share lock) commits
/// first, and its documents keep the space; one that comes after finds the space gone.
pub(crate) fn delete(connection: &mut dyn Connection, request: &DeleteRequest) -> Result<Receipt> {
    let tenant_id = &request.tenant_id;
    let mut receipt = Receipt::default();
    let mut changes = IndexChanges::default();
    for (kind, id) in &request.records {
        let Some(Fetched { sequence, record, .. }) = find(connection, *kind, tenant_id, id, false)? else {
            continue;
        };
        let info = table_info(*kind);
        if prepare::is_indexed(&record) {
            let space = prepare::record_space(&record);
            let space_id = spaces::lookup(connection, tenant_id, *kind, &space, request.drop_empty_spaces)?;
            let (terms, has_vector) = (prepare::document_terms(&record), record.embedding().is_some());
            changes.remove(*kind, sequence, tenant_id, (&space, space_id), &terms, has_vector);
        }
        let removed = Statement::new(format!("DELETE FROM {} WHERE tenant_id = ? AND seq = ?", info.table))
            .bind(tenant_id)
            .bind(sequence)
            .execute(connection)?
            .rows;
        receipt.add(info.table, removed);
    }
    let touched = changes.spaces();
    // Postings rows per postings table, vector rows, and the `lexical_terms` rows whose df
    // reached 0.
    receipt.merge(changes.apply(connection)?);
    for owner in &request.states {
        receipt.add(owner.table(), state::delete(connection, owner)?);
    }
    if request.drop_empty_spaces {
        for (tenant_id, space_id) in touched {
            let documents = Statement::new("SELECT documents FROM lexical_totals WHERE tenant_id = ? AND space_id = ?")
                .bind(&tenant_id)
                .bind(space_id)
                .first_row(connection, |row| row.integer(0))?;
            if documents.is_some_and(|documents| documents > 0) {
                continue;
            }
            for table in ["lexical_terms", "lexical_totals", "lexical_spaces"] {
                let removed = Statement::new(format!("DELETE FROM {table} WHERE tenant_id = ? AND space_id = ?"))
                    .bind(&tenant_id)
                    .bind(space_id)
                    .execute(connection)?
                    .rows;
                receipt.add(table, removed);
            }
        }
    }
    Ok(receipt)
}

/// The record `id` of `kind` in the tenant, with its sequence; with `lock`, locked for update
/// until the transaction ends.
pub(crate) fn find(
    connection: &mut dyn Connection,
    kind: RecordKind,
    tenant_id: &str,
    id: &str,
    lock: bool,
) -> Result<Option<Fetched>> {
    let info = table_info(kind);
    let lock = if lock { connection.dialect().update_lock() } else { "" };
    let sql =
        format!("SELECT {} FROM {} WHERE tenant_id = ? AND {}_id = ?{lock}", info.columns, info.table, kind.as_str());
    Statement::new(sql).bind(tenant_id).bind(id).first_row(connection, |row| read_record(kind, row))
}
