use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::lexical::{DocumentTerms, IndexedTerms};
use crate::maintenance::{StateOwner, StoredState};
use crate::merge::{merge_ranges, select_sequences};
use crate::record::{FetchRequest, Fetched, Record, RecordKind, Selector, visible_spaces};

/// Where a record is indexed: its kind, tenant and space (postings and vectors are kept per key).
pub(super) type SpaceKey = (RecordKind, String, String);

/// A stored record with what its indexes need.
#[derive(Debug, Clone)]
pub(super) struct Row {
    pub record: Record,
    pub space: String,
    pub terms: Arc<DocumentTerms>,
    pub line_tokens: u32,
}

impl Row {
    /// The row as a fetch returns it: its terms come along (shared, not copied).
    pub(super) fn fetched(&self, sequence: i64) -> Fetched {
        Fetched {
            sequence,
            record: self.record.clone(),
            terms: Some(IndexedTerms::Analyzed(Arc::clone(&self.terms))),
            line_tokens: Some(self.line_tokens),
        }
    }

    pub(super) fn space_key(&self) -> SpaceKey {
        (self.record.kind(), self.record.scope().tenant_id.clone(), self.space.clone())
    }
}

type OrderKey = (i64, i64);
type ImportanceKey = (u64, i64, i64);

/// One record kind: rows by sequence, plus per (tenant, space) the orderings fetches walk.
#[derive(Debug, Default)]
pub(super) struct Table {
    pub rows: BTreeMap<i64, Row>,
    newest: HashMap<(String, String), BTreeSet<OrderKey>>,
    important: HashMap<(String, String), BTreeSet<ImportanceKey>>,
}

fn order_key(record: &Record, sequence: i64) -> OrderKey {
    (record.time().timestamp_millis(), sequence)
}

fn importance_key(record: &Record, sequence: i64) -> ImportanceKey {
    // Weights are validated to [0, 1]; for non-negative floats the bit pattern orders like the value.
    ((record.weight() + 0.0).to_bits(), record.time().timestamp_millis(), sequence)
}

impl Table {
    pub(super) fn insert(&mut self, sequence: i64, row: Row) {
        let key = (row.record.scope().tenant_id.clone(), row.space.clone());
        self.newest.entry(key.clone()).or_default().insert(order_key(&row.record, sequence));
        self.important.entry(key).or_default().insert(importance_key(&row.record, sequence));
        self.rows.insert(sequence, row);
    }

    pub(super) fn remove(&mut self, sequence: i64) -> Option<Row> {
        let row = self.rows.remove(&sequence)?;
        let key = (row.record.scope().tenant_id.clone(), row.space.clone());
        if let Some(set) = self.newest.get_mut(&key) {
            set.remove(&order_key(&row.record, sequence));
        }
        if let Some(set) = self.important.get_mut(&key) {
            set.remove(&importance_key(&row.record, sequence));
        }
        Some(row)
    }

    /// Serves a fetch by walking the space orderings newest (or most important) first, each as
    /// far as the SQL backends' index ranges go, and merging alike.
    pub(super) fn fetch(&self, request: &FetchRequest) -> Vec<Fetched> {
        let tenant_id = &request.scope.tenant_id;
        let spaces = visible_spaces(&request.scope, request.kind);
        let limit = request.limit as usize;
        let mut found = Vec::new();
        match &request.selector {
            Selector::Sequences(sequences) => {
                found.extend(sequences.iter().filter_map(|sequence| Some(self.rows.get(sequence)?.fetched(*sequence))));
                return select_sequences(request, sequences, found);
            }
            Selector::Newest | Selector::MostImportant => {
                for space in &spaces {
                    let key = (tenant_id.clone(), space.clone());
                    let walk: Box<dyn Iterator<Item = i64>> = if request.selector == Selector::Newest {
                        let Some(set) = self.newest.get(&key) else { continue };
                        Box::new(set.iter().rev().map(|&(_, sequence)| sequence))
                    } else {
                        let Some(set) = self.important.get(&key) else { continue };
                        Box::new(set.iter().rev().map(|&(_, _, sequence)| sequence))
                    };
                    let rows = walk.filter_map(|sequence| Some((sequence, self.rows.get(&sequence)?)));
                    let matching = rows.filter(|(_, row)| request.matches(&row.record)).take(limit);
                    found.extend(matching.map(|(sequence, row)| row.fetched(sequence)));
                }
            }
            Selector::Neighbours(anchors) => {
                let kinds = request.event_kinds.clone();
                for space in &spaces {
                    let Some(set) = self.newest.get(&(tenant_id.clone(), space.clone())) else { continue };
                    for anchor in anchors {
                        let at = (anchor.time.timestamp_millis(), anchor.sequence);
                        let before: Box<dyn Iterator<Item = &OrderKey>> = Box::new(set.range(..at).rev());
                        let after: Box<dyn Iterator<Item = &OrderKey>> =
                            Box::new(set.range((std::ops::Bound::Excluded(at), std::ops::Bound::Unbounded)));
                        // The reference store keeps no per-session ordering: a walk passes over
                        // other sessions' rows of the space until it has its turns.
                        for walk in [before, after] {
                            // The nearest `limit` of each kind asked for, as the SQL walks per kind.
                            let mut taken: HashMap<engram_types::EventKind, usize> = HashMap::new();
                            for &(_, sequence) in walk {
                                let Some(row) = self.rows.get(&sequence) else { continue };
                                let Record::Event(event) = &row.record else { continue };
                                if event.scope.session_id != anchor.session_id || !request.matches(&row.record) {
                                    continue;
                                }
                                let count = taken.entry(event.kind).or_insert(0);
                                if *count < limit {
                                    *count += 1;
                                    found.push(row.fetched(sequence));
                                }
                                if !kinds.is_empty() && kinds.iter().all(|kind| taken.get(kind) >= Some(&limit)) {
                                    break;
                                }
                            }
                        }
                    }
                }
            }
        }
        merge_ranges(request, found)
    }
}

/// All tables and the per-scope state.
#[derive(Debug, Default)]
pub(super) struct Tables {
    pub next_sequence: i64,
    pub tables: HashMap<RecordKind, Table>,
    /// (tenant, id) -> sequence, per kind, for unique ids and lookups.
    pub ids: HashMap<(RecordKind, String, String), i64>,
    /// (tenant, space, fact_key) -> sequence of the active fact.
    pub active_facts: HashMap<(String, String, String), i64>,
    /// Working and short-term states by owner, in the order scans return them.
    pub states: BTreeMap<StateOwner, StoredState>,
}

impl Tables {
    pub(super) fn table(&mut self, kind: RecordKind) -> &mut Table {
        self.tables.entry(kind).or_default()
    }

    pub(super) fn next(&mut self) -> i64 {
        self.next_sequence += 1;
        self.next_sequence
    }
}
