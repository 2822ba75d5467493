use rustc_hash::FxHashMap;
use serde::{Serialize, Serializer};

use super::{cue_term, for_each_term};

/// What a record contributes to the lexical index: term frequencies of its text plus one
/// posting per tag and entity, and its lexical length (text terms only).
///
/// The frequencies are hashed: a packet looks up a few query terms in thousands of records, and
/// a string-ordered map compared each term against a dozen keys. What is written in term order
/// (stored objects, postings rows) asks for [`DocumentTerms::sorted`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentTerms {
    pub frequencies: FxHashMap<String, u32>,
    pub length: u32,
}

impl DocumentTerms {
    pub fn new(text: &str, tags: &[String], entities: &[String]) -> Self {
        let mut frequencies: FxHashMap<String, u32> = FxHashMap::default();
        let mut length = 0_u32;
        for_each_term(text, |term| {
            length = length.saturating_add(1);
            match frequencies.get_mut(term) {
                Some(count) => *count += 1,
                None => {
                    frequencies.insert(term.to_string(), 1);
                }
            }
        });
        for tag in tags {
            frequencies.entry(cue_term('#', tag)).or_insert(1);
        }
        for entity in entities {
            frequencies.entry(cue_term('@', entity)).or_insert(1);
        }
        Self { frequencies, length }
    }

    pub fn frequency(&self, term: &str) -> u32 {
        self.frequencies.get(term).copied().unwrap_or(0)
    }

    /// Every term with its frequency, in term order.
    pub fn sorted(&self) -> SortedTerms<'_> {
        let mut terms: Vec<(&str, u32)> =
            self.frequencies.iter().map(|(term, frequency)| (term.as_str(), *frequency)).collect();
        terms.sort_unstable_by(|left, right| left.0.cmp(right.0));
        SortedTerms(terms)
    }
}

/// A document's terms in term order; serializes as the object of term -> frequency that SQL
/// backends store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortedTerms<'terms>(pub Vec<(&'terms str, u32)>);

impl Serialize for SortedTerms<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(term, frequency)| (term, frequency)))
    }
}
