//! The in-memory store's state: its tables, indexes and items, and how a record is stored and
//! indexed in them.

use std::sync::Arc;

use engram_types::FactStatus;

use super::items::ItemTable;
use super::postings::PostingsIndex;
use super::tables::{Row, Tables};
use super::vectors::VectorIndex;
use crate::packet::{line_tail_tokens, main_text};
use crate::prepare::{self, Prepared};
use crate::record::{Record, RecordKind};

/// Everything an [`InMemoryStore`](super::InMemoryStore) holds, behind its lock.
#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) tables: Tables,
    pub(super) postings: PostingsIndex,
    pub(super) vectors: VectorIndex,
    pub(super) items: ItemTable,
}

impl State {
    /// Stores a record at the next sequence; returns it.
    pub(super) fn insert(&mut self, prepared: Prepared<Record>) -> i64 {
        let sequence = self.tables.next();
        self.insert_at(sequence, prepared);
        sequence
    }

    /// Stores a record at `sequence`, under its id, indexed unless it is a superseded fact, and
    /// as its key's active fact when it is one.
    pub(super) fn insert_at(&mut self, sequence: i64, prepared: Prepared<Record>) {
        let Prepared { record, space, terms, line_tokens } = prepared;
        let kind = record.kind();
        let tenant_id = record.scope().tenant_id.clone();
        self.tables.ids.insert((kind, tenant_id.clone(), record.id().to_string()), sequence);
        if prepare::is_indexed(&record) {
            self.postings.insert(kind, &tenant_id, &space, sequence, &terms);
            if let Some(embedding) = record.embedding() {
                self.vectors.insert(kind, &tenant_id, &space, sequence, embedding);
            }
        }
        if let Record::Fact(fact) = &record
            && fact.status == FactStatus::Active
        {
            self.tables.active_facts.insert((tenant_id, space.clone(), fact.fact_key.clone()), sequence);
        }
        self.tables.table(kind).insert(sequence, Row { record, space, terms: Arc::new(terms), line_tokens });
    }

    /// Removes a record's postings and vector (it stays in its table), as when a fact is superseded.
    pub(super) fn unindex(&mut self, kind: RecordKind, sequence: i64) {
        if let Some(row) = self.tables.table(kind).rows.get(&sequence) {
            let tenant_id = row.record.scope().tenant_id.clone();
            let (space, terms) = (row.space.clone(), row.terms.clone());
            self.postings.remove(kind, &tenant_id, &space, sequence, &terms);
            self.vectors.remove(kind, &tenant_id, &space, sequence);
        }
    }

    pub(super) fn replace_record(&mut self, kind: RecordKind, sequence: i64, record: Record) {
        let table = self.tables.table(kind);
        if let Some(mut row) = table.remove(sequence) {
            // A fact's status or an insight's validation changes, not the text: counted again only
            // if the text its line shows did change.
            if main_text(&row.record) != main_text(&record) {
                row.line_tokens = line_tail_tokens(&record);
            }
            row.record = record;
            table.insert(sequence, row);
        }
    }
}
