use smallvec::{SmallVec, smallvec};

use super::{IndexedTerms, for_each_term};

/// BM25 over numbers every backend returns identically (df, document count, total length).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bm25 {
    pub k1: f64,
    pub b: f64,
    pub document_count: u64,
    pub average_length: f64,
}

/// One term's share of a document's score: the term's position in the scored list and its
/// contribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TermScore {
    pub term: usize,
    pub contribution: f64,
}

/// The matched terms of one document. Inline: thousands of candidates are scored per packet.
pub type TermScores = SmallVec<[TermScore; 8]>;

/// Per-term counts of one document, inline for the usual few query terms.
type Counts = SmallVec<[u32; 16]>;

impl Bm25 {
    pub fn new(document_count: u64, total_length: u64) -> Self {
        let average_length =
            if document_count == 0 { 1.0 } else { (total_length as f64 / document_count as f64).max(1.0) };
        Self { k1: 1.2, b: 0.75, document_count, average_length }
    }

    /// Inverse document frequency, never negative (the Lucene variant).
    pub fn idf(&self, document_frequency: u64) -> f64 {
        let documents = self.document_count.max(document_frequency) as f64;
        let frequency = document_frequency as f64;
        (1.0 + (documents - frequency + 0.5) / (frequency + 0.5)).ln()
    }

    /// The score of a document's text for the given (term, df) pairs, with each matched
    /// term's share. Only the query terms are counted: no per-document term map is built.
    pub fn score(&self, text: &str, terms: &[(String, u64)]) -> (f64, TermScores) {
        let mut counts: Counts = smallvec![0; terms.len()];
        let mut length = 0_u32;
        for_each_term(text, |term| {
            length = length.saturating_add(1);
            if let Some(position) = terms.iter().position(|(query_term, _)| query_term == term) {
                counts[position] += 1;
            }
        });
        self.combine(length, terms, &counts)
    }

    /// The same score from a document's analyzed terms, when they are at hand already.
    pub fn score_document(&self, document: &IndexedTerms, terms: &[(String, u64)]) -> Option<(f64, TermScores)> {
        let mut counts: Counts = smallvec![0; terms.len()];
        document.count_into(terms.iter().map(|(term, _)| term.as_str()), &mut counts)?;
        Some(self.combine(document.length(), terms, &counts))
    }

    /// One term's share of the score of a document `length` terms long that holds it
    /// `frequency` times.
    pub fn term_score(&self, frequency: u32, length: u32, document_frequency: u64) -> f64 {
        self.idf(document_frequency) * self.saturation(frequency, length)
    }

    /// The term-frequency part of a term's score (its `idf` times this is the score), for
    /// callers scoring many postings of one term.
    pub fn saturation(&self, frequency: u32, length: u32) -> f64 {
        let length_ratio = f64::from(length) / self.average_length;
        let frequency = f64::from(frequency);
        frequency * (self.k1 + 1.0) / (frequency + self.k1 * (1.0 - self.b + self.b * length_ratio))
    }

    fn combine(&self, length: u32, terms: &[(String, u64)], counts: &[u32]) -> (f64, TermScores) {
        let mut total = 0.0;
        let mut matched = TermScores::new();
        for (term, ((_, document_frequency), count)) in terms.iter().zip(counts).enumerate() {
            if *count == 0 {
                continue;
            }
            let contribution = self.term_score(*count, length, *document_frequency);
            total += contribution;
            matched.push(TermScore { term, contribution });
        }
        (total, matched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rarer_terms_weigh_more() {
        let bm25 = Bm25::new(1000, 10_000);
        assert!(bm25.idf(1) > bm25.idf(100));
        assert!(bm25.idf(1000) > 0.0);
    }

    #[test]
    fn unmatched_terms_contribute_nothing() {
        let bm25 = Bm25::new(10, 100);
        let (score, matched) = bm25.score("deploy the billing service", &[("deploy".into(), 2), ("zebra".into(), 1)]);
        assert!(score > 0.0);
        assert_eq!(matched.len(), 1);
        assert_eq!(matched[0].term, 0);
    }
}
