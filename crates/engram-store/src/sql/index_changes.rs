//! The index changes of one write transaction: postings added and removed, vector rows, and the
//! df and totals deltas, gathered while records are written and applied once at the end, so
//! every (space, term) and every table is written once per transaction, in key order.

use engram_types::Receipt;

use super::columns::table_info;
use super::connection::Connection;
use super::documents::{Document, Documents};
use super::postings;
use super::term_counts::TermCounts;
use super::vectors::{self, VectorKey};
use crate::error::Result;
use crate::lexical::DocumentTerms;
use crate::record::RecordKind;
use crate::vectors::quantized;

/// Index changes of one write transaction, written by [`IndexChanges::apply`].
#[derive(Debug, Default)]
pub(crate) struct IndexChanges {
    counts: TermCounts,
    added: Documents,
    removed: Documents,
    /// Vector rows to write, with their vectors' bytes.
    vectors_added: Vec<(VectorKey, Vec<u8>)>,
    vectors_removed: Vec<VectorKey>,
}

impl IndexChanges {
    /// Adds a record's postings (in space `space`, id `space_id`) and counts its terms in, and
    /// its vector row when it has a vector.
    pub(crate) fn insert(
        &mut self,
        kind: RecordKind,
        sequence: i64,
        tenant_id: &str,
        (space, space_id): (&str, i64),
        terms: &DocumentTerms,
        embedding: Option<&[f32]>,
    ) {
        self.counts.count(tenant_id, space_id, terms, 1);
        self.added.entry(kind).or_default().push(Document::new(sequence, tenant_id, space_id, terms));
        if let Some(embedding) = embedding {
            self.vectors_added.push((VectorKey::new(kind, sequence, tenant_id, space), quantized(embedding)));
        }
    }

    /// Removes a record's postings and counts its terms out (when its space is still there:
    /// `space_id`), and its vector row when it has one, as when a fact is superseded, a
    /// procedure replaced or a record deleted.
    pub(crate) fn remove(
        &mut self,
        kind: RecordKind,
        sequence: i64,
        tenant_id: &str,
        (space, space_id): (&str, Option<i64>),
        terms: &DocumentTerms,
        has_vector: bool,
    ) {
        if let Some(space_id) = space_id {
            self.counts.count(tenant_id, space_id, terms, -1);
            self.removed.entry(kind).or_default().push(Document::new(sequence, tenant_id, space_id, terms));
        }
        if has_vector {
            self.vectors_removed.push(VectorKey::new(kind, sequence, tenant_id, space));
        }
    }

    /// The spaces whose counts this transaction changes, as (tenant, space id).
    pub(crate) fn spaces(&self) -> Vec<(String, i64)> {
        self.counts.spaces.iter().map(|(space_id, space)| (space.tenant_id.clone(), *space_id)).collect()
    }

    /// Writes vector rows, postings, df and totals: removals first. Returns the rows it
    /// deleted: postings per postings table, vector rows, and `lexical_terms` rows whose df
    /// reached 0.
    pub(crate) fn apply(self, connection: &mut dyn Connection) -> Result<Receipt> {
        let layout = connection.postings_layout();
        let mut removed = Receipt::default();
        if !self.vectors_removed.is_empty() {
            removed.add("record_vectors", vectors::remove(connection, &self.vectors_removed)?);
        }
        vectors::insert(connection, self.vectors_added)?;
        for (kind, documents) in &self.removed {
            let postings = table_info(*kind).postings;
            for document in documents {
                removed.add(postings, layout.remove_document(connection, postings, document)?);
            }
        }
        for (kind, documents) in &self.added {
            layout.add_documents(connection, table_info(*kind).postings, documents)?;
        }
        removed.add("lexical_terms", postings::write_counts(connection, &self.counts)?);
        Ok(removed)
    }
}
