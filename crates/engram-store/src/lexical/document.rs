use std::collections::BTreeMap;

use super::{cue_term, for_each_term};

/// What a record contributes to the lexical index: term frequencies of its text plus one
/// posting per tag and entity, and its lexical length (text terms only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentTerms {
    pub frequencies: BTreeMap<String, u32>,
    pub length: u32,
}

impl DocumentTerms {
    pub fn new(text: &str, tags: &[String], entities: &[String]) -> Self {
        let mut frequencies: BTreeMap<String, u32> = BTreeMap::new();
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
