//! How the rows a fetch's index walks found become its answer: ordered and limited (or, for
//! neighbours, deduplicated) alike on every backend, and the by-sequence selection.

use std::collections::HashMap;

use crate::prepare::record_space;
use crate::record::{FetchRequest, Fetched, Record, Selector, visible_spaces};

/// The newest (or most important) `limit` of the rows a fetch's index walks found; for
/// neighbour fetches every row found, once, newest first.
pub(crate) fn merge_ranges(request: &FetchRequest, found: Vec<Fetched>) -> Vec<Fetched> {
    let by_weight = request.selector == Selector::MostImportant;
    let keyed = found
        .into_iter()
        .map(|fetched| (order_key(by_weight, &SequenceRow::of(fetched.sequence, &fetched.record)), fetched))
        .collect();
    merged(request, keyed)
}

/// What orders a fetched row: a row of the SQL backends' sequence-only range queries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SequenceRow {
    pub sequence: i64,
    /// Milliseconds.
    pub time: i64,
    pub weight: f64,
}

impl SequenceRow {
    pub(crate) fn of(sequence: i64, record: &Record) -> Self {
        Self { sequence, time: record.time().timestamp_millis(), weight: record.weight() }
    }
}

/// [`merge_ranges`] over [`SequenceRow`]s: the same sequences in the same order.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub(crate) fn merge_sequences(request: &FetchRequest, found: Vec<SequenceRow>) -> Vec<i64> {
    let by_weight = request.selector == Selector::MostImportant;
    let keyed = found.into_iter().map(|row| (order_key(by_weight, &row), row.sequence)).collect();
    merged(request, keyed)
}

/// Where a row sits in a fetch's order: (weight, most important first, else 0; time; sequence).
pub(crate) type OrderKey = (u64, i64, i64);

pub(crate) fn order_key(by_weight: bool, row: &SequenceRow) -> OrderKey {
    // Weights are validated to [0, 1]; for non-negative floats the bit pattern orders like the
    // value (`+ 0.0` folds -0.0).
    let weight = if by_weight { (row.weight + 0.0).to_bits() } else { 0 };
    (weight, row.time, row.sequence)
}

fn merged<T>(request: &FetchRequest, keyed: Vec<(OrderKey, T)>) -> Vec<T> {
    // The keys are sorted, not the rows: a fetched record is hundreds of bytes to move.
    let (keys, values): (Vec<OrderKey>, Vec<T>) = keyed.into_iter().unzip();
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|index| std::cmp::Reverse(keys[*index]));
    if let Selector::Neighbours(_) = request.selector {
        // Walks of nearby anchors meet: a row found twice has one key.
        order.dedup_by_key(|index| keys[*index]);
    } else {
        order.truncate(request.limit as usize);
    }
    let mut values: Vec<Option<T>> = values.into_iter().map(Some).collect();
    order.into_iter().filter_map(|index| values.get_mut(index).and_then(Option::take)).collect()
}

/// The records a by-sequence fetch returns from the rows found by sequence: the request's list
/// walked in order (duplicates included), those in its tenant and visible spaces that match it,
/// newest sequence first, limited.
pub(crate) fn select_sequences(request: &FetchRequest, sequences: &[i64], found: Vec<Fetched>) -> Vec<Fetched> {
    let spaces = visible_spaces(&request.scope, request.kind);
    let mut found: HashMap<i64, Fetched> = found.into_iter().map(|fetched| (fetched.sequence, fetched)).collect();
    let mut newest_first = sequences.to_vec();
    newest_first.sort_unstable_by(|left, right| right.cmp(left));
    let limit = request.limit as usize;
    let mut selected: Vec<Fetched> = Vec::with_capacity(limit.min(newest_first.len()));
    for sequence in newest_first {
        if selected.len() == limit {
            break;
        }
        match found.remove(&sequence) {
            Some(fetched)
                if fetched.record.scope().tenant_id == request.scope.tenant_id
                    && spaces.contains(&record_space(&fetched.record))
                    && request.matches(&fetched.record) =>
            {
                selected.push(fetched);
            }
            // Named again: the same record again, if it was selected.
            None => {
                if let Some(previous) = selected.last().filter(|previous| previous.sequence == sequence) {
                    selected.push(previous.clone());
                }
            }
            Some(_) => {}
        }
    }
    selected
}
