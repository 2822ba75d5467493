//! The in-memory store's state: its tables, indexes and items, and how a record is stored and
//! indexed in them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use engram_types::{FactStatus, Receipt};

use super::items::ItemTable;
use super::postings::PostingsIndex;
use super::tables::{Row, Table};
use super::vectors::VectorIndex;
use crate::maintenance::{StateOwner, StoredState, table_names};
use crate::packet::{line_tail_tokens, main_text};
use crate::prepare::{self, Prepared};
use crate::record::{Record, RecordKind};

/// Everything an [`InMemoryStore`](super::InMemoryStore) holds, behind its lock.
#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) next_sequence: i64,
    /// Each kind's rows and the orderings fetches walk.
    pub(super) tables: HashMap<RecordKind, Table>,
    /// (tenant, id) -> sequence, per kind, for unique ids and lookups.
    pub(super) ids: HashMap<(RecordKind, String, String), i64>,
    /// (tenant, space, fact_key) -> sequence of the active fact.
    pub(super) active_facts: HashMap<(String, String, String), i64>,
    /// Working and short-term states by owner, in the order scans return them.
    pub(super) states: BTreeMap<StateOwner, StoredState>,
    pub(super) postings: PostingsIndex,
    pub(super) vectors: VectorIndex,
    pub(super) items: ItemTable,
}

impl State {
    /// Stores a record at the next sequence.
    pub(super) fn insert(&mut self, prepared: Prepared<Record>) {
        self.next_sequence += 1;
        self.insert_at(self.next_sequence, prepared);
    }

    /// Stores a record at `sequence`, under its id, indexed unless it is a superseded fact, and
    /// as its key's active fact when it is one.
    pub(super) fn insert_at(&mut self, sequence: i64, prepared: Prepared<Record>) {
        let Prepared { record, space, terms, line_tokens } = prepared;
        let row = Row { record: Arc::new(record), space, terms: Arc::new(terms), line_tokens };
        let key = row.space_key();
        self.ids.insert((key.0, key.1.clone(), row.record.id().to_string()), sequence);
        if prepare::is_indexed(&row.record) {
            self.postings.insert(&key, sequence, &row.terms);
            if let Some(embedding) = row.record.embedding() {
                self.vectors.insert(&key, sequence, embedding);
            }
        }
        if let Some(fact_key) = active_fact_key(&row) {
            self.active_facts.insert(fact_key, sequence);
        }
        self.tables.entry(key.0).or_default().insert(sequence, row);
    }

    /// Removes a record from its table, under its id and, when it is its key's active fact, as
    /// the key's active fact (its index entries: [`Self::unindex`]).
    pub(super) fn remove(&mut self, kind: RecordKind, sequence: i64) -> Option<Row> {
        let row = self.tables.entry(kind).or_default().remove(sequence)?;
        self.ids.remove(&(kind, row.record.scope().tenant_id.clone(), row.record.id().to_string()));
        if let Some(fact_key) = active_fact_key(&row)
            && self.active_facts.get(&fact_key) == Some(&sequence)
        {
            self.active_facts.remove(&fact_key);
        }
        Some(row)
    }

    /// Removes an indexed record's postings and vector (it stays in its table), as when a fact
    /// is superseded; the index rows removed, as receipts count them (a posting per term).
    pub(super) fn unindex(&mut self, kind: RecordKind, sequence: i64) -> Receipt {
        let mut receipt = Receipt::default();
        let Some(row) = self.tables.entry(kind).or_default().rows.get(&sequence) else { return receipt };
        if prepare::is_indexed(&row.record) {
            let key = row.space_key();
            receipt.add(table_names(kind).postings, row.terms.frequencies.len() as u64);
            receipt.add("lexical_terms", self.postings.remove(&key, sequence, &row.terms));
            receipt.add("record_vectors", u64::from(self.vectors.remove(&key, sequence)));
        }
        receipt
    }

    pub(super) fn replace_record(&mut self, kind: RecordKind, sequence: i64, record: Record) {
        let table = self.tables.entry(kind).or_default();
        if let Some(mut row) = table.remove(sequence) {
            // A fact's status or an insight's validation changes, not the text: counted again only
            // if the text its line shows did change.
            if main_text(&row.record) != main_text(&record) {
                row.line_tokens = line_tail_tokens(&record);
            }
            row.record = Arc::new(record);
            table.insert(sequence, row);
        }
    }
}

/// The (tenant, space, fact key) a row is the active fact of, when it is an active fact.
fn active_fact_key(row: &Row) -> Option<(String, String, String)> {
    match &*row.record {
        Record::Fact(fact) if fact.status == FactStatus::Active => {
            Some((fact.scope.tenant_id.clone(), row.space.clone(), fact.fact_key.clone()))
        }
        _ => None,
    }
}
