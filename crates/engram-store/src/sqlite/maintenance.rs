//! The lifecycle primitives on SQLite: deleting records and states with their index entries,
//! and restoring exported ones. Scans live with the other reads (`fetch.rs`, `state.rs`).

use engram_types::{Receipt, RecordKind};
use rusqlite::{Connection, OptionalExtension, params};

use super::error::storage;
use super::postings::{self, IndexChanges, NewSpaces};
use super::rows::{read_record, table_info};
use super::{events, facts, records, state};
use crate::error::Result;
use crate::maintenance::{DeleteRequest, StoredState};
use crate::prepare::{self, Prepared};
use crate::record::{Fetched, Record};

/// Deletes inside the caller's transaction.
pub(super) fn delete(connection: &Connection, request: &DeleteRequest) -> Result<Receipt> {
    let mut receipt = Receipt::default();
    let mut changes = IndexChanges::default();
    for (kind, id) in &request.records {
        let Some(Fetched { sequence, record, .. }) = find(connection, *kind, &request.tenant_id, id)? else { continue };
        let info = table_info(*kind);
        if prepare::is_indexed(&record) {
            let space = prepare::record_space(&record);
            if let Some(space_id) = postings::lookup(connection, &request.tenant_id, *kind, &space)? {
                changes.remove(
                    connection,
                    *kind,
                    sequence,
                    &request.tenant_id,
                    space_id,
                    &prepare::document_terms(&record),
                )?;
                receipt.add(info.postings, 1);
            }
            if record.embedding().is_some() {
                let removed = changes.remove_vector(connection, *kind, sequence, &request.tenant_id, &space)?;
                receipt.add("record_vectors", removed);
            }
        }
        let removed = connection
            .prepare_cached(&format!("DELETE FROM {} WHERE seq = ?1", info.table))
            .and_then(|mut statement| statement.execute(params![sequence]))
            .map_err(storage)?;
        receipt.add(info.table, removed as u64);
    }
    let touched = changes.spaces();
    receipt.add("lexical_terms", changes.apply(connection)?);
    for owner in &request.states {
        let table = if owner.run_id.is_some() { "working_states" } else { "short_terms" };
        receipt.add(table, state::delete(connection, owner)?);
    }
    if request.drop_empty_spaces {
        for (tenant_id, space_id) in touched {
            let empty = connection
                .prepare_cached("SELECT documents FROM lexical_totals WHERE tenant_id = ?1 AND space_id = ?2")
                .and_then(|mut statement| {
                    statement.query_row(params![tenant_id, space_id], |row| row.get::<_, i64>(0)).optional()
                })
                .map_err(storage)?
                .is_none_or(|documents| documents <= 0);
            if !empty {
                continue;
            }
            for (table, sql) in [
                ("lexical_terms", "DELETE FROM lexical_terms WHERE tenant_id = ?1 AND space_id = ?2"),
                ("lexical_totals", "DELETE FROM lexical_totals WHERE tenant_id = ?1 AND space_id = ?2"),
                ("lexical_spaces", "DELETE FROM lexical_spaces WHERE tenant_id = ?1 AND space_id = ?2"),
            ] {
                let removed = connection
                    .prepare_cached(sql)
                    .and_then(|mut statement| statement.execute(params![tenant_id, space_id]))
                    .map_err(storage)?;
                receipt.add(table, removed as u64);
            }
        }
    }
    Ok(receipt)
}

/// Restores inside the caller's transaction, in the order given.
pub(super) fn restore(
    connection: &Connection,
    records: Vec<Prepared<Record>>,
    states: &[StoredState],
    created: &mut NewSpaces,
) -> Result<Receipt> {
    let mut receipt = Receipt::default();
    let mut changes = IndexChanges::default();
    for prepared in records {
        let kind = prepared.record.kind();
        let indexed = prepare::is_indexed(&prepared.record);
        let has_vector = prepared.record.embedding().is_some();
        let Prepared { record, space, terms, line_tokens } = prepared;
        match record {
            Record::Event(event) => {
                records::check_new_id(connection, RecordKind::Event, &event.scope.tenant_id, &event.event_id)?;
                events::insert(connection, &[Prepared { record: event, space, terms, line_tokens }], created)?;
            }
            Record::Fact(fact) => {
                facts::restore(
                    connection,
                    &Prepared { record: fact, space, terms, line_tokens },
                    &mut changes,
                    created,
                )?;
            }
            Record::Episode(episode) => {
                records::append_episode(connection, &Prepared { record: episode, space, terms, line_tokens }, created)?;
            }
            Record::Procedure(procedure) => {
                let prepared = Prepared { record: procedure, space, terms, line_tokens };
                records::check_new_id(
                    connection,
                    RecordKind::Procedure,
                    &prepared.record.scope.tenant_id,
                    &prepared.record.procedure_id,
                )?;
                records::write_procedure(connection, None, &prepared, &mut changes, created)?;
            }
            Record::Insight(insight) => {
                records::append_insight(connection, &Prepared { record: insight, space, terms, line_tokens }, created)?;
            }
        }
        let info = table_info(kind);
        receipt.add(info.table, 1);
        if indexed {
            receipt.add(info.postings, 1);
            receipt.add("record_vectors", u64::from(has_vector));
        }
    }
    changes.apply(connection)?;
    for stored in states {
        match stored {
            StoredState::WorkingState { owner, state } => state::store_working_state(connection, owner, state)?,
            StoredState::ShortTerm { owner, state } => state::store_short_term(connection, owner, state)?,
        }
        receipt.add(stored.table(), 1);
    }
    Ok(receipt)
}

fn find(connection: &Connection, kind: RecordKind, tenant_id: &str, id: &str) -> Result<Option<Fetched>> {
    let info = table_info(kind);
    let sql = format!("SELECT {} FROM {} WHERE tenant_id = ?1 AND {}_id = ?2", info.columns, info.table, kind.as_str());
    let mut statement = connection.prepare_cached(&sql).map_err(storage)?;
    let mut rows = statement.query(params![tenant_id, id]).map_err(storage)?;
    match rows.next().map_err(storage)? {
        Some(row) => Ok(Some(read_record(kind, row)?)),
        None => Ok(None),
    }
}
