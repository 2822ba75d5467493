//! How the rows a fetch's index walks found become its answer: ordered and limited (or, for
//! neighbours, deduplicated) alike on every backend, and the by-sequence selection.

use engram_types::{RecordKind, Scope, ScopeLevel};

use crate::prepare::record_space;
use crate::record::{FetchRequest, Fetched, Record, Selector, visible_spaces};

/// The newest (or most important) `limit` of the rows a fetch's index walks found; for
/// neighbour fetches every row found, once, newest first.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub(crate) fn merge_ranges(request: &FetchRequest, found: Vec<Fetched>) -> Vec<Fetched> {
    let rows = found.into_iter().map(|fetched| (SequenceRow::of(fetched.sequence, &fetched.record), fetched));
    merge_rows(request, rows.collect())
}

/// [`merge_ranges`] over rows of any form, each with what orders it: the same rows in the same
/// order (the in-memory store merges borrowed rows and copies only those kept).
pub(crate) fn merge_rows<T>(request: &FetchRequest, found: Vec<(SequenceRow, T)>) -> Vec<T> {
    let by_weight = request.selector == Selector::MostImportant;
    merged(request, found.into_iter().map(|(row, value)| (order_key(by_weight, &row), value)).collect())
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
    merge_rows(request, found.into_iter().map(|row| (row, row.sequence)).collect())
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
    let mut spaces = SpaceCheck::new(request);
    // The rows stay where they are (each is hundreds of bytes): a sorted index finds them, and a
    // row found twice is one row.
    let mut index: Vec<(i64, usize)> = found.iter().enumerate().map(|(at, fetched)| (fetched.sequence, at)).collect();
    index.sort_unstable_by_key(|(sequence, _)| *sequence);
    index.dedup_by_key(|(sequence, _)| *sequence);
    let mut rows: Vec<Option<Fetched>> = found.into_iter().map(Some).collect();
    let mut newest_first = sequences.to_vec();
    newest_first.sort_unstable_by(|left, right| right.cmp(left));
    let limit = request.limit as usize;
    let mut selected: Vec<Fetched> = Vec::with_capacity(limit.min(newest_first.len()));
    for sequence in newest_first {
        if selected.len() == limit {
            break;
        }
        let row = index
            .binary_search_by_key(&sequence, |(found, _)| *found)
            .ok()
            .and_then(|position| rows.get_mut(index[position].1))
            .and_then(Option::take);
        match row {
            Some(fetched)
                if fetched.record.scope().tenant_id == request.scope.tenant_id
                    && spaces.visible(&fetched.record)
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

/// Whether records lie in the spaces a request sees. A record's space follows from its kind,
/// scope and level, which the rows of one fetch mostly share: the last owner's answer is kept.
struct SpaceCheck {
    spaces: Vec<String>,
    /// The last owner checked, and whether its space is visible.
    last: Option<(Owner, bool)>,
}

/// What a record's space follows from.
type Owner = (RecordKind, Scope, Option<ScopeLevel>);

impl SpaceCheck {
    fn new(request: &FetchRequest) -> Self {
        Self { spaces: visible_spaces(&request.scope, request.kind), last: None }
    }

    fn visible(&mut self, record: &Record) -> bool {
        let owner = (record.kind(), record.scope(), record.scope_level());
        if let Some(((kind, scope, level), visible)) = &self.last
            && (*kind, scope, *level) == owner
        {
            return *visible;
        }
        let visible = self.spaces.contains(&record_space(record));
        self.last = Some(((owner.0, owner.1.clone(), owner.2), visible));
        visible
    }
}
