//! Counting a text's tokens, exactly, and bounds and caches of counts.

use std::sync::{OnceLock, RwLock};

use rustc_hash::FxHashMap;

use engram_types::Tokenizer;

use super::pieces::for_each_piece;
use super::vocabulary::{encoder, piece_tokens};

/// Lines counted recently, so repeated builds over the same records skip the BPE work.
const CACHE_CAPACITY: usize = 50_000;

/// The exact number of tokens of `text`. Special-token markup counts as plain text. ASCII text
/// is split into BPE pieces here (see `pieces.rs`); other text goes through tiktoken whole.
pub fn count_tokens(tokenizer: Tokenizer, text: &str) -> u32 {
    let mut count = Some(0);
    if text.is_ascii() {
        for_each_piece(tokenizer, text.as_bytes(), |piece| {
            count = count.and_then(|count| Some(count + piece_tokens(tokenizer, piece)?));
        });
    } else {
        count = None;
    }
    // Other text, or a piece too long to merge here: tiktoken counts the whole text.
    let count = count.unwrap_or_else(|| encoder(tokenizer).encode_ordinary(text).len());
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// A lower bound of [`count_tokens`] for either tokenizer, from one pass over the bytes: the
/// number of runs of non-whitespace. Both tokenizers first split text into pieces with a regex
/// none of whose alternatives holds non-whitespace, whitespace, then non-whitespace again (a
/// piece is a word with at most one leading space or punctuation char, a number, punctuation,
/// or whitespace), and every piece is at least one token. Splitting on ASCII whitespace only
/// (a subset of the regex's `\s`) can only merge runs, so the bound holds for any text.
pub fn token_floor(text: &str) -> u32 {
    // A run starts at a non-space byte that is first or follows a space: a branch-free count
    // the compiler vectorizes.
    let bytes = text.as_bytes();
    let starts_later = bytes.windows(2).filter(|pair| pair[0].is_ascii_whitespace() & !pair[1].is_ascii_whitespace());
    let first = bytes.first().is_some_and(|byte| !byte.is_ascii_whitespace());
    u32::try_from(starts_later.count() + usize::from(first)).unwrap_or(u32::MAX)
}

/// The cached count of `text`, if it was counted recently; never counts.
pub fn cached_count(tokenizer: Tokenizer, text: &str) -> Option<u32> {
    cache(tokenizer).read().ok().and_then(|guard| guard.get(text).copied())
}

type Cache = RwLock<FxHashMap<String, u32>>;

fn cache(tokenizer: Tokenizer) -> &'static Cache {
    static CACHES: OnceLock<[Cache; 2]> = OnceLock::new();
    let caches = CACHES.get_or_init(|| [RwLock::new(FxHashMap::default()), RwLock::new(FxHashMap::default())]);
    match tokenizer {
        Tokenizer::O200kBase => &caches[0],
        Tokenizer::Cl100kBase => &caches[1],
    }
}

/// [`count_tokens`] through a process-wide cache keyed by (tokenizer, text). The result is
/// the same with or without the cache; only the time differs.
pub fn count_tokens_cached(tokenizer: Tokenizer, text: &str) -> u32 {
    // Read-mostly: concurrent builds look up hundreds of lines each, and rarely add one.
    if let Some(count) = cached_count(tokenizer, text) {
        return count;
    }
    let count = count_tokens(tokenizer, text);
    if let Ok(mut guard) = cache(tokenizer).write() {
        if guard.len() >= CACHE_CAPACITY {
            guard.clear();
        }
        guard.insert(text.to_string(), count);
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_real_bpe_tokens() {
        assert_eq!(count_tokens(Tokenizer::O200kBase, ""), 0);
        assert_eq!(count_tokens(Tokenizer::O200kBase, "hello world"), 2);
        assert!(count_tokens(Tokenizer::Cl100kBase, "<|endoftext|>") > 1);
    }

    #[test]
    fn the_floor_counts_runs_of_non_whitespace() {
        assert_eq!(token_floor(""), 0);
        assert_eq!(token_floor("  \n"), 0);
        assert_eq!(token_floor("- [2024-01-02 10:00 user] hello, world!\n"), 6);
    }

    proptest::proptest! {
        #[test]
        fn the_floor_never_exceeds_the_count(text in "(\\PC|[ \t\n\u{a0}\u{3000}'.,!:-]){0,80}") {
            for tokenizer in [Tokenizer::O200kBase, Tokenizer::Cl100kBase] {
                proptest::prop_assert!(token_floor(&text) <= count_tokens(tokenizer, &text), "{text:?}");
            }
        }

        #[test]
        fn the_floor_never_exceeds_the_count_of_prose(text in "([A-Za-z']{1,14}[ .,;:!?()\n-]{1,3}){0,60}") {
            for tokenizer in [Tokenizer::O200kBase, Tokenizer::Cl100kBase] {
                proptest::prop_assert!(token_floor(&text) <= count_tokens(tokenizer, &text), "{text:?}");
            }
        }
    }

    /// tiktoken's own count, which the ASCII path must give for every text.
    fn tiktoken_count(tokenizer: Tokenizer, text: &str) -> u32 {
        u32::try_from(encoder(tokenizer).encode_ordinary(text).len()).unwrap_or(u32::MAX)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2_000))]

        #[test]
        fn ascii_counts_are_tiktokens(text in "[\\x00-\\x7f]{0,60}") {
            for tokenizer in [Tokenizer::O200kBase, Tokenizer::Cl100kBase] {
                proptest::prop_assert_eq!(count_tokens(tokenizer, &text), tiktoken_count(tokenizer, &text), "{:?}", text);
            }
        }

        #[test]
        fn ascii_prose_counts_are_tiktokens(
            text in "([A-Za-z]{1,12}|[0-9]{1,7}|'(s|t|re|ve|m|ll|d|S|T|RE|Ll|D)|[ ]{1,4}|[\t\n\r\x0b\x0c\x1c]{1,3}|[.,;:!?()/<|>_-]{1,3}){0,40}"
        ) {
            for tokenizer in [Tokenizer::O200kBase, Tokenizer::Cl100kBase] {
                proptest::prop_assert_eq!(count_tokens(tokenizer, &text), tiktoken_count(tokenizer, &text), "{:?}", text);
            }
        }
    }

    #[test]
    fn long_pieces_are_counted_as_tiktoken_counts_them() {
        for text in ["a".repeat(5_000), format!("x {} y", "ab1".repeat(2_000)), "!".repeat(3_000), " ".repeat(4_000)] {
            for tokenizer in [Tokenizer::O200kBase, Tokenizer::Cl100kBase] {
                assert_eq!(count_tokens(tokenizer, &text), tiktoken_count(tokenizer, &text), "{}", &text[..20]);
            }
        }
    }

    #[test]
    fn cache_returns_the_uncached_count() {
        let text = "The quick brown fox jumps over the lazy dog.";
        assert_eq!(count_tokens_cached(Tokenizer::O200kBase, text), count_tokens(Tokenizer::O200kBase, text));
        assert_eq!(count_tokens_cached(Tokenizer::O200kBase, text), count_tokens(Tokenizer::O200kBase, text));
    }
}
