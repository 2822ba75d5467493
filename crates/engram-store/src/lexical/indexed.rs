//! The terms a fetched record was indexed with, whichever way its store keeps them: analyzed
//! (the in-memory store holds them) or as stored (the JSON object of a SQL `lexical_terms`
//! column). A packet only asks for the few query terms, so the stored object is searched, not
//! parsed: parsing every term of a long turn cost as much as analyzing its text again.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::DocumentTerms;

/// A record's indexed terms: their frequencies and the lexical length.
#[derive(Debug, Clone)]
pub enum IndexedTerms {
    Analyzed(Arc<DocumentTerms>),
    /// `lexical_terms` as written (`serde_json`'s compact object of term -> count) and
    /// `lexical_length`.
    Stored {
        json: Arc<str>,
        length: u32,
    },
}

impl IndexedTerms {
    /// How often `term` occurs in the record (0 when it does not); `None` when a stored object
    /// cannot be read (the caller analyzes the record's text instead).
    pub fn frequency(&self, term: &str) -> Option<u32> {
        let mut count = [0];
        self.count_into(std::iter::once(term), &mut count)?;
        Some(count[0])
    }

    /// Writes how often each of `terms` occurs in the record into `counts`, in their order (as
    /// many as both hold): one pass over a stored object whatever the number of terms. `None`
    /// when a stored object cannot be read.
    pub fn count_into<'term>(&self, terms: impl Iterator<Item = &'term str> + Clone, counts: &mut [u32]) -> Option<()> {
        match self {
            Self::Analyzed(document) => {
                for (count, term) in counts.iter_mut().zip(terms) {
                    *count = document.frequency(term);
                }
                Some(())
            }
            Self::Stored { json, .. } => stored_counts(json, terms.clone(), counts).or_else(|| {
                // Not the compact object this crate writes: read it the slow way.
                let parsed: BTreeMap<String, u32> = serde_json::from_str(json).ok()?;
                for (count, term) in counts.iter_mut().zip(terms) {
                    *count = parsed.get(term).copied().unwrap_or(0);
                }
                Some(())
            }),
        }
    }

    /// Whether the terms can be read (a stored object may be damaged).
    pub fn readable(&self) -> bool {
        self.count_into(std::iter::empty(), &mut []).is_some()
    }

    /// The record's lexical length (text terms only).
    pub fn length(&self) -> u32 {
        match self {
            Self::Analyzed(terms) => terms.length,
            Self::Stored { length, .. } => *length,
        }
    }
}

/// Equal when they hold the same terms with the same counts and length, however they are kept
/// (a fetch from memory and one from SQL compare equal).
impl PartialEq for IndexedTerms {
    fn eq(&self, other: &Self) -> bool {
        self.length() == other.length() && self.frequencies() == other.frequencies()
    }
}

impl IndexedTerms {
    /// Every term with its count (`None` when a stored object does not parse).
    fn frequencies(&self) -> Option<BTreeMap<String, u32>> {
        match self {
            Self::Analyzed(terms) => {
                Some(terms.frequencies.iter().map(|(term, frequency)| (term.clone(), *frequency)).collect())
            }
            Self::Stored { json, .. } => serde_json::from_str(json).ok(),
        }
    }
}

/// Writes the counts of `terms` in a compact JSON object of counts (`{"key":1,"other":2}`) into
/// `counts`, walking the object key by key without allocating (a key with escapes is decoded);
/// `None` if the text is not such an object. Every key and count is checked, so a damaged
/// object is told apart from one that lacks the terms.
fn stored_counts<'term>(json: &str, terms: impl Iterator<Item = &'term str> + Clone, counts: &mut [u32]) -> Option<()> {
    counts.fill(0);
    // Most keys are no query term: their length and first byte rule them out before any
    // comparison.
    let signatures = terms.clone().fold(0_u64, |signatures, term| signatures | signature(term.as_bytes()));
    let mut rest = json.as_bytes().strip_prefix(b"{")?;
    if rest.first() == Some(&b'}') {
        return Some(());
    }
    loop {
        rest = rest.strip_prefix(b"\"")?;
        let close = rest.iter().position(|byte| matches!(byte, b'"' | b'\\'))?;
        let (key, after_key): (Cow<'_, [u8]>, usize) =
            if rest[close] == b'"' { (rest[..close].into(), close + 1) } else { escaped_key(rest)? };
        rest = rest.get(after_key..)?.strip_prefix(b":")?;
        let (count, digits) = leading_count(rest)?;
        if signatures & signature(&key) != 0
            && let Some(slot) =
                terms.clone().position(|term| term.as_bytes() == &*key).and_then(|at| counts.get_mut(at))
        {
            *slot = count;
        }
        match rest.get(digits)? {
            b',' => rest = &rest[digits + 1..],
            b'}' => return Some(()),
            _ => return None,
        }
    }
}

/// A key holding escapes, decoded, and the position just past its closing quote (`rest` starts
/// after the opening one).
fn escaped_key(rest: &[u8]) -> Option<(Cow<'_, [u8]>, usize)> {
    let mut end = 0;
    loop {
        match rest.get(end)? {
            b'\\' => end += 2,
            b'"' => break,
            _ => end += 1,
        }
    }
    // The key with its quotes: the opening one is the byte before `rest`.
    let quoted = [b"\"", rest.get(..=end)?].concat();
    let key: String = serde_json::from_slice(&quoted).ok()?;
    Some((key.into_bytes().into(), end + 1))
}

/// The count a value starts with and how many digits it takes; `None` when there is none or
/// it does not fit a u32.
fn leading_count(text: &[u8]) -> Option<(u32, usize)> {
    let mut value: u64 = 0;
    let mut digits = 0;
    while let Some(digit) = text.get(digits).filter(|byte| byte.is_ascii_digit()) {
        value = value * 10 + u64::from(digit - b'0');
        digits += 1;
        if value > u64::from(u32::MAX) {
            return None;
        }
    }
    let count = u32::try_from(value).ok()?;
    (digits > 0).then_some((count, digits))
}

/// A key as one bit of 64, from its length and first byte (their low three bits each): a set of
/// the query terms' bits passes one key in ten or so for a comparison.
fn signature(key: &[u8]) -> u64 {
    let first = key.first().map_or(0, |byte| usize::from(byte & 7));
    1 << (((key.len() & 7) << 3) | first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(frequencies: &[(&str, u32)]) -> IndexedTerms {
        let map: BTreeMap<&str, u32> = frequencies.iter().copied().collect();
        IndexedTerms::Stored { json: serde_json::to_string(&map).expect("serializes").into(), length: 9 }
    }

    #[test]
    fn stored_terms_answer_like_the_analyzed_ones() {
        let terms = stored(&[("lisbon", 2), ("train", 1), ("#trip", 1), ("@ana", 1), ("café", 3)]);
        for (term, expected) in [("lisbon", 2), ("train", 1), ("#trip", 1), ("@ana", 1), ("café", 3), ("rain", 0)] {
            assert_eq!(terms.frequency(term), Some(expected), "{term}");
        }
        assert_eq!(terms.length(), 9);
        // Keys of the same signature (length and first byte, modulo 8) are still told apart.
        let (long, longer) = ("#".to_string() + &"a".repeat(70), "#".to_string() + &"a".repeat(78));
        let terms = stored(&[(long.as_str(), 4), (longer.as_str(), 6)]);
        assert_eq!(terms.frequency(&long), Some(4));
        assert_eq!(terms.frequency(&longer), Some(6));
        assert_eq!(terms.frequency(&"a".repeat(64)), Some(0));
    }

    #[test]
    fn an_empty_or_foreign_object_still_answers() {
        let empty = IndexedTerms::Stored { json: "{}".into(), length: 0 };
        let mut counts = [7, 7];
        assert_eq!(empty.count_into(["a", "b"].into_iter(), &mut counts), Some(()));
        assert_eq!(counts, [0, 0]);
        let spaced = IndexedTerms::Stored { json: "{ \"a\": 2 }".into(), length: 2 };
        assert_eq!(spaced.count_into(["a", "b"].into_iter(), &mut counts), Some(()));
        assert_eq!(counts, [2, 0]);
        let damaged = IndexedTerms::Stored { json: "{\"a\":".into(), length: 2 };
        assert_eq!(damaged.frequency("a"), None);
        // A count past u32 makes the object unreadable, whichever key holds it.
        let overflowing = IndexedTerms::Stored { json: "{\"a\":1,\"bb\":99999999999}".into(), length: 2 };
        assert!(!overflowing.readable());
        assert_eq!(overflowing.frequency("a"), None);
        assert!(!damaged.readable() && empty.readable());
    }

    #[test]
    fn a_key_inside_another_key_is_not_a_match() {
        // A tag whose label holds a quote and a term: its key escapes the quote.
        let terms = stored(&[("#a\"train\":7,\"", 1), ("xtrain", 4)]);
        assert_eq!(terms.frequency("train"), Some(0));
        assert_eq!(terms.frequency("#a\"train\":7,\""), Some(1));
        assert_eq!(terms.frequency("xtrain"), Some(4));
    }

    proptest::proptest! {
        #[test]
        fn stored_and_analyzed_frequencies_agree(
            entries in proptest::collection::btree_map("[#@]?[a-z\"\\\\:,{}é]{1,6}", 1u32..500, 0..12),
            probe in "[#@]?[a-z\"\\\\:,{}é]{1,6}",
        ) {
            let json: Arc<str> = serde_json::to_string(&entries).expect("serializes").into();
            let stored = IndexedTerms::Stored { json, length: 0 };
            let frequencies = entries.clone().into_iter().collect();
            let analyzed = IndexedTerms::Analyzed(Arc::new(DocumentTerms { frequencies, length: 0 }));
            for term in entries.keys().chain(std::iter::once(&probe)) {
                proptest::prop_assert_eq!(stored.frequency(term), analyzed.frequency(term), "{}", term);
            }
        }
    }
}
