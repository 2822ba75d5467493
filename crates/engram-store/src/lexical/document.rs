use rustc_hash::FxHashMap;

use super::{cue_term, for_each_term};

/// What a record contributes to the lexical index: term frequencies of its text plus one
/// posting per tag and entity, and its lexical length (text terms only).
///
/// The frequencies are hashed: a packet looks up a few query terms in thousands of records, where
/// a string-ordered map compared each term with a dozen keys. Nothing needs the terms in order:
/// a stored object is searched key by key, postings rows are one per term and the df changes
/// of a write are ordered where they are summed. The same text gives the same order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentTerms {
    pub frequencies: FxHashMap<String, u32>,
    pub length: u32,
}

/// Most terms a record's map is sized for before any is counted.
const MOST_TERMS_RESERVED: usize = 48;

impl DocumentTerms {
    pub fn new(text: &str, tags: &[String], entities: &[String]) -> Self {
        // Room for a short text's terms from the start (a word takes six bytes or more with its
        // space), so the map is not rebuilt as it grows; a long text's grow as they come.
        let expected = (text.len() / 6).min(MOST_TERMS_RESERVED) + tags.len() + entities.len();
        let mut frequencies: FxHashMap<String, u32> =
            FxHashMap::with_capacity_and_hasher(expected, rustc_hash::FxBuildHasher);
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
}
