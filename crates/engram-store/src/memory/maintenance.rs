//! The lifecycle primitives in memory: scans walk the tables in sequence order; deletes
//! keep the id map, the active-fact map and the postings in step, as writes do.

use engram_types::{FactStatus, Receipt};

use super::state::State;
use crate::maintenance::{DeleteRequest, ScanRequest, StateOwner, StateScan, StoredState, table_names};
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

pub(super) fn scan_states(state: &State, request: &StateScan) -> Vec<StoredState> {
    let mut working: Vec<StoredState> = state
        .tables
        .working_states
        .iter()
        .map(|((tenant_id, user_id, agent_id, session_id, run_id), working)| StoredState::WorkingState {
            owner: StateOwner {
                tenant_id: tenant_id.clone(),
                user_id: user_id.clone(),
                agent_id: agent_id.clone(),
                session_id: session_id.clone(),
                run_id: Some(run_id.clone()),
            },
            state: working.clone(),
        })
        .filter(|stored| match stored {
            StoredState::WorkingState { owner, state } => request.matches(owner, state.ended_at, true),
            StoredState::ShortTerm { .. } => false,
        })
        .collect();
    working.sort_by(|left, right| left.owner().cmp(right.owner()));
    working.truncate(request.limit as usize);
    if request.ended_at.is_some() {
        return working;
    }
    let mut short: Vec<StoredState> = state
        .tables
        .short_terms
        .iter()
        .map(|((tenant_id, user_id, agent_id, session_id), short_term)| StoredState::ShortTerm {
            owner: StateOwner {
                tenant_id: tenant_id.clone(),
                user_id: user_id.clone(),
                agent_id: agent_id.clone(),
                session_id: session_id.clone(),
                run_id: None,
            },
            state: short_term.clone(),
        })
        .filter(|stored| request.matches(stored.owner(), None, false))
        .collect();
    short.sort_by(|left, right| left.owner().cmp(right.owner()));
    short.truncate(request.limit as usize);
    working.extend(short);
    working
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
        let removed = match &owner.run_id {
            Some(run_id) => {
                let key = (
                    owner.tenant_id.clone(),
                    owner.user_id.clone(),
                    owner.agent_id.clone(),
                    owner.session_id.clone(),
                    run_id.clone(),
                );
                state.tables.working_states.remove(&key).is_some()
            }
            None => {
                let key =
                    (owner.tenant_id.clone(), owner.user_id.clone(), owner.agent_id.clone(), owner.session_id.clone());
                state.tables.short_terms.remove(&key).is_some()
            }
        };
        receipt.add(if owner.run_id.is_some() { "working_states" } else { "short_terms" }, u64::from(removed));
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
