use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use engram_types::EventKind;
use rustc_hash::FxHashMap;

use crate::lexical::{DocumentTerms, IndexedTerms};
use crate::merge::{OrderKey, SequenceRow, merge_rows, order_key, select_sequences};
use crate::record::{FetchRequest, Fetched, Record, RecordKind, Selector, visible_spaces};
use crate::walks::{Direction, walks};

/// Where a record is indexed: its kind, tenant and space (postings and vectors are kept per key).
pub(super) type SpaceKey = (RecordKind, String, String);

/// A stored record with what its indexes need.
#[derive(Debug, Clone)]
pub(super) struct Row {
    pub record: Arc<Record>,
    pub space: String,
    pub terms: Arc<DocumentTerms>,
    pub line_tokens: u32,
}

impl Row {
    /// The row as a fetch returns it: its terms come along (shared, not copied).
    pub(super) fn fetched(&self, sequence: i64) -> Fetched {
        Fetched {
            sequence,
            record: Arc::clone(&self.record),
            terms: Some(IndexedTerms::Analyzed(Arc::clone(&self.terms))),
            line_tokens: Some(self.line_tokens),
        }
    }

    pub(super) fn space_key(&self) -> SpaceKey {
        (self.record.kind(), self.record.scope().tenant_id.clone(), self.space.clone())
    }
}

/// A space's ordering: (most important first, tenant, space).
type OrderingKey = (bool, String, String);

/// One record kind: rows by sequence, plus per (tenant, space) the orderings fetches walk,
/// newest first and most important first.
#[derive(Debug, Default)]
pub(super) struct Table {
    pub rows: BTreeMap<i64, Row>,
    orderings: HashMap<OrderingKey, BTreeSet<OrderKey>>,
}

/// Where a row sits in each ordering of its space.
fn placements(sequence: i64, row: &Row) -> [(OrderingKey, OrderKey); 2] {
    let at = SequenceRow::of(sequence, &row.record);
    [false, true].map(|by_weight| {
        let ordering = (by_weight, row.record.scope().tenant_id.clone(), row.space.clone());
        (ordering, order_key(by_weight, &at))
    })
}

impl Table {
    pub(super) fn insert(&mut self, sequence: i64, row: Row) {
        for (ordering, key) in placements(sequence, &row) {
            self.orderings.entry(ordering).or_default().insert(key);
        }
        self.rows.insert(sequence, row);
    }

    pub(super) fn remove(&mut self, sequence: i64) -> Option<Row> {
        let row = self.rows.remove(&sequence)?;
        for (ordering, key) in placements(sequence, &row) {
            if let Some(set) = self.orderings.get_mut(&ordering) {
                set.remove(&key);
            }
        }
        Some(row)
    }

    /// Serves a fetch by its [`walks`] over the space orderings, each as far as the SQL
    /// backends' index ranges go, and merging alike. Only the rows kept are copied.
    pub(super) fn fetch(&self, request: &FetchRequest) -> Vec<Fetched> {
        if let Selector::Sequences(sequences) = &request.selector {
            let found = sequences.iter().filter_map(|sequence| Some(self.rows.get(sequence)?.fetched(*sequence)));
            return select_sequences(request, sequences, found.collect());
        }
        let kept = merge_rows(request, self.walk(request));
        kept.into_iter().map(|(sequence, row)| row.fetched(sequence)).collect()
    }

    /// The sequences [`Table::fetch`] returns, in its order, without copying a record.
    pub(super) fn fetch_sequences(&self, request: &FetchRequest) -> Vec<i64> {
        if let Selector::Sequences(_) = &request.selector {
            return self.fetch(request).into_iter().map(|fetched| fetched.sequence).collect();
        }
        merge_rows(request, self.walk(request)).into_iter().map(|(sequence, _)| sequence).collect()
    }

    /// The rows a fetch's walks find, each with what orders it, not yet merged.
    fn walk(&self, request: &FetchRequest) -> Vec<(SequenceRow, (i64, &Row))> {
        let by_weight = request.selector == Selector::MostImportant;
        let limit = request.limit as usize;
        let mut found = Vec::new();
        for space in visible_spaces(&request.scope, request.kind) {
            let Some(set) = self.orderings.get(&(by_weight, request.scope.tenant_id.clone(), space)) else { continue };
            for walk in walks(request) {
                let keys: Box<dyn Iterator<Item = &OrderKey>> = match walk.from {
                    None => Box::new(set.iter().rev()),
                    Some((direction, anchor)) => {
                        let at = (0, anchor.time.timestamp_millis(), anchor.sequence);
                        match direction {
                            Direction::Before => Box::new(set.range(..at).rev()),
                            Direction::After => Box::new(set.range((Bound::Excluded(at), Bound::Unbounded))),
                        }
                    }
                };
                // The reference store keeps no per-session ordering: a neighbour walk passes over
                // other sessions' rows of the space until it has its turns.
                let rows = keys.filter_map(|&(.., sequence)| Some((sequence, self.rows.get(&sequence)?)));
                let matching = rows.filter(|(_, row)| {
                    walk.session_id.is_none_or(|session_id| row.record.scope().session_id == session_id)
                        && request.matches(&row.record)
                });
                // The first `limit`; of a neighbour walk, the nearest `limit` of each event kind
                // (of those asked for), as the SQL backends walk each kind.
                let wanted: Vec<Option<EventKind>> = match walk.from {
                    Some(_) => request.event_kinds.iter().copied().map(Some).collect(),
                    None => vec![None],
                };
                let mut taken: FxHashMap<Option<EventKind>, usize> = FxHashMap::default();
                for (sequence, row) in matching {
                    let partition = match &*row.record {
                        Record::Event(event) if walk.from.is_some() => Some(event.kind),
                        _ => None,
                    };
                    let count = taken.entry(partition).or_insert(0);
                    if *count < limit {
                        *count += 1;
                        found.push((SequenceRow::of(sequence, &row.record), (sequence, row)));
                    }
                    if !wanted.is_empty() && wanted.iter().all(|kind| taken.get(kind) >= Some(&limit)) {
                        break;
                    }
                }
            }
        }
        found
    }
}
