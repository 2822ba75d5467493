//! The lifecycle primitives: deleting records and states with their index entries, and
//! restoring exported ones. Scans live with the other reads (`fetch.rs`, `state.rs`).

use std::collections::HashSet;

use engram_types::{Event, Receipt, RecordKind};

use super::columns::table_info;
use super::connection::Connection;
use super::decode::read_record;
use super::index_changes::IndexChanges;
use super::spaces::{self, NewSpaces};
use super::statement::Statement;
use super::{events, facts, records, state};
use crate::error::{Error, Result};
use crate::maintenance::{DeleteRequest, StoredState};
use crate::prepare::{self, Prepared};
use crate::record::{Fetched, Record};

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
            let space_id = if request.drop_empty_spaces {
                spaces::lock_space(connection, tenant_id, *kind, &space)?
            } else {
                spaces::lookup(connection, tenant_id, *kind, &space)?
            };
            if let Some(space_id) = space_id {
                changes.remove(*kind, sequence, tenant_id, space_id, &prepare::document_terms(&record));
            }
            if record.embedding().is_some() {
                changes.remove_vector(*kind, sequence, tenant_id, &space);
            }
        }
        let removed = Statement::new(format!("DELETE FROM {} WHERE seq = ?", info.table))
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
        let table = if owner.run_id.is_some() { "working_states" } else { "short_terms" };
        receipt.add(table, state::delete(connection, owner)?);
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

/// Restores inside the caller's transaction, in the order given (runs of events go in one
/// multi-row insert, which numbers them in order). Every id is checked first, so a taken one is
/// a `Conflict` naming it.
pub(crate) fn restore(
    connection: &mut dyn Connection,
    records: &[Prepared<Record>],
    states: &[StoredState],
    created: &mut NewSpaces,
) -> Result<Receipt> {
    let layout = connection.postings_layout();
    let mut receipt = Receipt::default();
    let mut changes = IndexChanges::default();
    let mut pending: Vec<Prepared<Event>> = Vec::new();
    // Event ids of this call: the batch is not inserted yet when the next one is checked.
    let mut event_ids: HashSet<(String, String)> = HashSet::new();
    for prepared in records {
        let kind = prepared.record.kind();
        let indexed = prepare::is_indexed(&prepared.record);
        let has_vector = prepared.record.embedding().is_some();
        let Prepared { record, space, terms, line_tokens } = prepared.clone();
        let term_count = terms.frequencies.len();
        if kind != RecordKind::Event && !pending.is_empty() {
            events::insert(connection, &pending, created)?;
            pending.clear();
        }
        match record {
            Record::Event(event) => {
                let key = (event.scope.tenant_id.clone(), event.event_id.clone());
                if event_ids.contains(&key)
                    || !records::taken_ids(connection, kind, &key.0, &[key.1.as_str()])?.is_empty()
                {
                    return Err(Error::Conflict {
                        entity: "event",
                        id: event.event_id,
                        detail: "event_id already exists in the tenant".into(),
                    });
                }
                event_ids.insert(key);
                pending.push(Prepared { record: event, space, terms, line_tokens });
            }
            Record::Fact(fact) => {
                let prepared = Prepared { record: fact, space, terms, line_tokens };
                facts::restore(connection, &prepared, &mut changes, created)?;
            }
            Record::Episode(episode) => {
                records::check_new_id(connection, kind, &episode.scope.tenant_id, &episode.episode_id)?;
                let prepared = Prepared { record: episode, space, terms, line_tokens };
                records::append_episode(connection, &prepared, created)?;
            }
            Record::Procedure(procedure) => {
                let prepared = Prepared { record: procedure, space, terms, line_tokens };
                let (tenant_id, id) = (&prepared.record.scope.tenant_id, &prepared.record.procedure_id);
                records::check_new_id(connection, RecordKind::Procedure, tenant_id, id)?;
                records::write_procedure(connection, None, &prepared, &mut changes, created)?;
            }
            Record::Insight(insight) => {
                records::check_new_id(connection, kind, &insight.scope.tenant_id, &insight.insight_id)?;
                let prepared = Prepared { record: insight, space, terms, line_tokens };
                records::append_insight(connection, &prepared, created)?;
            }
        }
        let info = table_info(kind);
        receipt.add(info.table, 1);
        if indexed {
            receipt.add(info.postings, layout.rows_per_document(term_count));
            receipt.add("record_vectors", u64::from(has_vector));
        }
    }
    if !pending.is_empty() {
        events::insert(connection, &pending, created)?;
    }
    changes.apply(connection)?;
    for stored in states {
        match stored {
            StoredState::WorkingState { owner, state } => state::write_working_state(connection, owner, state, true)?,
            StoredState::ShortTerm { owner, state } => state::write_short_term(connection, owner, state, true)?,
        }
        receipt.add(stored.table(), 1);
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
