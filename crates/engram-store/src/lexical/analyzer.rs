use std::sync::{OnceLock, RwLock};

use rust_stemmers::{Algorithm, Stemmer};
use rustc_hash::{FxHashMap, FxHashSet};
use unicode_segmentation::UnicodeSegmentation;

/// Longest term kept, in bytes; longer "words" are usually ids or base64 and match nothing.
const MAX_TERM_BYTES: usize = 48;

/// English stop words (the Snowball list, abridged): too common to say anything.
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "me",
    "more",
    "most",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "ought",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "s",
    "t",
    "d",
    "ll",
    "m",
    "re",
    "ve",
];

fn stemmer() -> &'static Stemmer {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::English))
}

/// Most words kept in the stem cache before it starts over; a vocabulary is far smaller.
const STEM_CACHE_CAPACITY: usize = 200_000;

/// Stemming is the analyzer's main cost and agent text reuses a small vocabulary, so stems
/// are cached process-wide (bulk appends analyze on several threads, each new).
fn stem_cache() -> &'static RwLock<FxHashMap<String, String>> {
    static STEMS: OnceLock<RwLock<FxHashMap<String, String>>> = OnceLock::new();
    STEMS.get_or_init(|| RwLock::new(FxHashMap::default()))
}

fn is_stop_word(word: &str) -> bool {
    static SET: OnceLock<FxHashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| STOP_WORDS.iter().copied().collect()).contains(word)
}

/// Calls `visit` with each lowercased, non-stop word part of `text`: Unicode words, split
/// again at in-word punctuation (`title:foo`, `don't`).
fn for_each_word(text: &str, mut visit: impl FnMut(&str)) {
    let mut lower = String::new();
    let mut emit = |part: &str, lower: &mut String| {
        lower.clear();
        if part.is_ascii() {
            lower.push_str(part);
            lower.make_ascii_lowercase();
        } else {
            lower.extend(part.chars().flat_map(char::to_lowercase));
        }
        if !lower.is_empty() && lower.len() <= MAX_TERM_BYTES && !is_stop_word(lower) {
            visit(lower);
        }
    };
    // In ASCII text the word parts are exactly its runs of letters and digits (whitespace and
    // punctuation end them alike): one pass over the bytes.
    if text.is_ascii() {
        for_each_ascii_part(text, |part| emit(part, &mut lower));
        return;
    }
    // Words never span whitespace, so each whitespace-separated chunk is segmented alone, an
    // ASCII chunk as ASCII text is (an order of magnitude faster than Unicode segmentation).
    for chunk in text.split_ascii_whitespace() {
        if chunk.is_ascii() {
            for_each_ascii_part(chunk, |part| emit(part, &mut lower));
            continue;
        }
        for word in chunk.unicode_words() {
            for part in word.split(|character: char| !character.is_alphanumeric()) {
                emit(part, &mut lower);
            }
        }
    }
}

/// Calls `visit` with each run of letters and digits of ASCII `text`, found byte by byte.
fn for_each_ascii_part(text: &str, mut visit: impl FnMut(&str)) {
    let mut start = None;
    for (index, byte) in text.bytes().enumerate() {
        match (byte.is_ascii_alphanumeric(), start) {
            (true, None) => start = Some(index),
            (false, Some(begin)) => {
                visit(text.get(begin..index).unwrap_or_default());
                start = None;
            }
            _ => {}
        }
    }
    if let Some(begin) = start {
        visit(text.get(begin..).unwrap_or_default());
    }
}

/// Calls `visit` with each index term of `text`, in order, repeats included: the words of
/// [`for_each_word`], Snowball-stemmed. Allocates nothing per word once the cache is warm.
pub fn for_each_term(text: &str, mut visit: impl FnMut(&str)) {
    let mut fresh: Vec<(String, String)> = Vec::new();
    {
        let stems = stem_cache().read().ok();
        for_each_word(text, |word| match stems.as_ref().and_then(|stems| stems.get(word)) {
            Some(stem) => visit(stem),
            None => {
                let stem = stemmer().stem(word).into_owned();
                visit(&stem);
                fresh.push((word.to_string(), stem));
            }
        });
    }
    if fresh.is_empty() {
        return;
    }
    if let Ok(mut stems) = stem_cache().write() {
        if stems.len() + fresh.len() > STEM_CACHE_CAPACITY {
            stems.clear();
        }
        stems.extend(fresh);
    }
}

/// The index terms of `text` (see [`for_each_term`]).
pub fn analyze(text: &str) -> Vec<String> {
    let mut terms = Vec::new();
    for_each_term(text, |term| terms.push(term.to_string()));
    terms
}

/// The index term of a tag (`#tag`) or entity (`@entity`) cue: trimmed, lowercased. The marks
/// cannot occur in analyzed words, so cue terms never collide with text terms.
pub fn cue_term(mark: char, label: &str) -> String {
    format!("{mark}{}", label.trim().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analyze_lowercases_stems_and_drops_stop_words() {
        assert_eq!(analyze("The Runners were running to the Databases!"), vec!["runner", "run", "databas"]);
    }

    #[test]
    fn analyze_splits_contractions_and_keeps_unicode_words() {
        assert_eq!(analyze("Don't touch Zürich's café"), vec!["don", "touch", "zürich", "café"]);
    }

    /// The Unicode path, which the ASCII fast path must match word for word.
    fn unicode_words_of(text: &str) -> Vec<String> {
        let mut words = Vec::new();
        for word in text.unicode_words() {
            for part in word.split(|character: char| !character.is_alphanumeric()) {
                let lower = part.to_lowercase();
                if !lower.is_empty() && lower.len() <= MAX_TERM_BYTES && !is_stop_word(&lower) {
                    words.push(lower);
                }
            }
        }
        words
    }

    proptest::proptest! {
        #[test]
        fn ascii_words_are_the_unicode_words(text in "[ -~\t\n\r\u{b}\u{c}]{0,200}") {
            let mut words = Vec::new();
            for_each_word(&text, |word| words.push(word.to_string()));
            proptest::prop_assert_eq!(words, unicode_words_of(&text));
        }

        #[test]
        fn chunked_words_are_the_unicode_words(
            text in "([ -~\t\n]|[éÉ’‘“”—–…·ßİ]|\u{301}|\u{200d}|\u{a0}|\u{3000}|😀|👍|日本語|한국어|٣){0,120}"
        ) {
            let mut words = Vec::new();
            for_each_word(&text, |word| words.push(word.to_string()));
            proptest::prop_assert_eq!(words, unicode_words_of(&text));
        }
    }

    #[test]
    fn ascii_edge_cases_match_the_unicode_path() {
        for text in ["can't 3.14 foo_bar a-b e.g. U.S.A. x1y2 'quoted' --flag=value", "_ __init__ 1,000,000 a..b"] {
            let mut words = Vec::new();
            for_each_word(text, |word| words.push(word.to_string()));
            assert_eq!(words, unicode_words_of(text), "{text}");
        }
    }

    #[test]
    fn query_syntax_is_just_text() {
        assert_eq!(analyze("title:foo OR \"bar\" NEAR(baz) *"), vec!["titl", "foo", "bar", "near", "baz"]);
    }
}
