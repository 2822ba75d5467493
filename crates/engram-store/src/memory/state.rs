//! The in-memory store's state: its tables, indexes and items, and how a record is stored and
//! indexed in them.

use std::sync::Arc;

use super::items::ItemTable;
use super::postings::PostingsIndex;
use super::tables::{Row, Tables};
use super::vectors::VectorIndex;
use crate::packet::{line_tail_tokens, main_text};
use crate::prepare::Prepared;
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
    pub(super) fn insert<T>(&mut self, kind: RecordKind, prepared: Prepared<T>, wrap: fn(T) -> Record) -> i64 {
        let sequence = self.tables.next();
        self.insert_at(kind, sequence, prepared, wrap);
        sequence
    }

    pub(super) fn insert_at<T>(
        &mut self,
        kind: RecordKind,
        sequence: i64,
        prepared: Prepared<T>,
        wrap: fn(T) -> Record,
    ) {
        let record = wrap(prepared.record);
        let tenant_id = record.scope().tenant_id.clone();
        self.tables.ids.insert((kind, tenant_id.clone(), record.id().to_string()), sequence);
        self.postings.insert(kind, &tenant_id, &prepared.space, sequence, &prepared.terms);
        if let Some(embedding) = record.embedding() {
            self.vectors.insert(kind, &tenant_id, &prepared.space, sequence, embedding);
        }
        let row =
            Row { record, space: prepared.space, terms: Arc::new(prepared.terms), line_tokens: prepared.line_tokens };
        self.tables.table(kind).insert(sequence, row);
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
