//! The lifecycle primitives in memory: scans walk the tables in sequence order; deletes
//! keep the id map, the active-fact map and the postings in step, as writes do.

use engram_types::{FactStatus, Receipt};

use super::state::State;
use crate::maintenance::{DeleteRequest, ScanRequest, StateScan, StoredState, table_names};
use crate::prepare;
use crate::record::{Fetched, Record};

pub(super) fn scan(state: &State, request: &ScanRequest) -> Vec<Fetched> {
    let Some(table) = state.tables.tables.get(&request.kind) else { return Vec::new() };
    table
        .rows
        .range(request.after_sequence.saturating_add(1)..)
        .filter(|(_, row)| request.matches(&row.record))
        .take(request.limit as usize)
        .map(|(sequence, row)| Fetched::new(*sequence, row.record.clone()))
        .collect()
}

/// Working states then short-term states matching the scan, each in owner order, limited.
pub(super) fn scan_states(state: &State, request: &StateScan) -> Vec<StoredState> {
    let limit = request.limit as usize;
    let working =
        state.tables.working_states.iter().filter(|(owner, working)| request.matches(owner, working.ended_at, true));
    let mut found: Vec<StoredState> = working
        .take(limit)
        .map(|(owner, working)| StoredState::WorkingState { owner: owner.clone(), state: working.clone() })
        .collect();
    // A scan of ended runs reads no short-term states.
    if request.ended_at.is_none() {
        let short = state.tables.short_terms.iter().filter(|(owner, _)| request.matches(owner, None, false));
        found.extend(
            short
                .take(limit)
                .map(|(owner, short)| StoredState::ShortTerm { owner: owner.clone(), state: short.clone() }),
        );
    }
    found
}

/// Index rows are counted per term (the in-memory index has one entry per term and record).
pub(super) fn delete(state: &mut State, request: &DeleteRequest) -> Receipt {
    let mut receipt = Receipt::default();
    let mut touched = Vec::new();
    for (kind, id) in &request.records {
        let key = (*kind, request.tenant_id.clone(), id.clone());
        let Some(sequence) = state.tables.ids.remove(&key) else { continue };
        let Some(row) = state.tables.table(*kind).remove(sequence) else { continue };
        let names = table_names(*kind);
        if prepare::is_indexed(&row.record) {
            let removed = state.postings.remove(*kind, &request.tenant_id, &row.space, sequence, &row.terms);
            receipt.add(names.postings, row.terms.frequencies.len() as u64);
            receipt.add("lexical_terms", removed);
            touched.push((*kind, row.space.clone()));
            if state.vectors.remove(*kind, &request.tenant_id, &row.space, sequence) {
                receipt.add("record_vectors", 1);
            }
        }
        if let Record::Fact(fact) = &row.record
            && fact.status == FactStatus::Active
        {
            let active = (request.tenant_id.clone(), row.space.clone(), fact.fact_key.clone());
            if state.tables.active_facts.get(&active) == Some(&sequence) {
                state.tables.active_facts.remove(&active);
            }
        }
        receipt.add(names.table, 1);
    }
    for owner in &request.states {
        let (table, removed) = match owner.run_id {
            Some(_) => ("working_states", state.tables.working_states.remove(owner).is_some()),
            None => ("short_terms", state.tables.short_terms.remove(owner).is_some()),
        };
        receipt.add(table, u64::from(removed));
    }
    if request.drop_empty_spaces {
        for (kind, space) in touched {
            if state.postings.drop_if_empty(kind, &request.tenant_id, &space) {
                receipt.add("lexical_totals", 1);
                receipt.add("lexical_spaces", 1);
            }
        }
    }
    receipt
}
