//! The lifecycle primitives in memory: scans walk the tables in sequence order; deletes
//! keep the id map, the active-fact map and the postings in step, as writes do.

use std::sync::Arc;

use engram_types::Receipt;

use super::state::State;
use crate::maintenance::{DeleteRequest, ScanRequest, table_names};
use crate::prepare;
use crate::record::Fetched;

pub(super) fn scan(state: &State, request: &ScanRequest) -> Vec<Fetched> {
    let Some(table) = state.tables.get(&request.kind) else { return Vec::new() };
    table
        .rows
        .range(request.after_sequence.saturating_add(1)..)
        .filter(|(_, row)| request.matches(&row.record))
        .take(request.limit as usize)
        .map(|(sequence, row)| Fetched {
            sequence: *sequence,
            record: Arc::clone(&row.record),
            terms: None,
            line_tokens: None,
        })
        .collect()
}

/// Index rows are counted per term (the in-memory index has one entry per term and record).
pub(super) fn delete(state: &mut State, request: &DeleteRequest) -> Receipt {
    let mut receipt = Receipt::default();
    let mut touched = Vec::new();
    for (kind, id) in &request.records {
        let Some(&sequence) = state.ids.get(&(*kind, request.tenant_id.clone(), id.clone())) else { continue };
        receipt.merge(state.unindex(*kind, sequence));
        let Some(row) = state.remove(*kind, sequence) else { continue };
        if prepare::is_indexed(&row.record) {
            touched.push(row.space_key());
        }
        receipt.add(table_names(*kind).table, 1);
    }
    for owner in &request.states {
        receipt.add(owner.table(), u64::from(state.states.remove(owner).is_some()));
    }
    if request.drop_empty_spaces {
        for key in touched {
            if state.postings.drop_if_empty(&key) {
                receipt.add("lexical_totals", 1);
                receipt.add("lexical_spaces", 1);
            }
        }
    }
    receipt
}
