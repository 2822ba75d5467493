use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::tables::SpaceKey;
use crate::lexical::DocumentTerms;
use crate::record::{Postings, PostingsRequest, TermPostings};

/// The lexical index: per (kind, tenant, space, term) the sequence numbers holding the term,
/// and per (kind, tenant, space) the document count and total length.
#[derive(Debug, Default)]
pub(super) struct PostingsIndex {
    terms: HashMap<SpaceKey, HashMap<String, BTreeSet<i64>>>,
    totals: HashMap<SpaceKey, (u64, u64)>,
}

impl PostingsIndex {
    pub(super) fn insert(&mut self, key: &SpaceKey, sequence: i64, terms: &DocumentTerms) {
        let postings = self.terms.entry(key.clone()).or_default();
        for term in terms.frequencies.keys() {
            postings.entry(term.clone()).or_default().insert(sequence);
        }
        let totals = self.totals.entry(key.clone()).or_default();
        totals.0 += 1;
        totals.1 += u64::from(terms.length);
    }

    /// Removes a document's postings and counts it out; how many terms it left without postings.
    pub(super) fn remove(&mut self, key: &SpaceKey, sequence: i64, terms: &DocumentTerms) -> u64 {
        let mut emptied = 0;
        if let Some(postings) = self.terms.get_mut(key) {
            for term in terms.frequencies.keys() {
                if let Some(sequences) = postings.get_mut(term) {
                    sequences.remove(&sequence);
                    if sequences.is_empty() {
                        postings.remove(term);
                        emptied += 1;
                    }
                }
            }
        }
        if let Some(totals) = self.totals.get_mut(key) {
            totals.0 = totals.0.saturating_sub(1);
            totals.1 = totals.1.saturating_sub(u64::from(terms.length));
        }
        emptied
    }

    /// Forgets a space left without documents (a purge); whether it did.
    pub(super) fn drop_if_empty(&mut self, key: &SpaceKey) -> bool {
        if self.totals.get(key).is_none_or(|totals| totals.0 > 0) {
            return false;
        }
        self.totals.remove(key);
        self.terms.remove(key);
        true
    }

    pub(super) fn read(&self, request: &PostingsRequest) -> Postings {
        let mut result = Postings { terms: BTreeMap::new(), document_count: 0, total_length: 0 };
        let limit = request.per_term as usize;
        let keys: Vec<SpaceKey> =
            request.spaces.iter().map(|space| (request.kind, request.tenant_id.clone(), space.clone())).collect();
        for key in &keys {
            if let Some((documents, length)) = self.totals.get(key) {
                result.document_count += documents;
                result.total_length += length;
            }
        }
        for term in &request.terms {
            let mut merged = TermPostings::default();
            for key in &keys {
                let Some(sequences) = self.terms.get(key).and_then(|postings| postings.get(term)) else { continue };
                merged.document_frequency += sequences.len() as u64;
                merged.sequences.extend(sequences.iter().rev().take(limit));
            }
            merged.sequences.sort_unstable_by(|left, right| right.cmp(left));
            merged.sequences.truncate(limit);
            result.terms.insert(term.clone(), merged);
        }
        result
    }
}
