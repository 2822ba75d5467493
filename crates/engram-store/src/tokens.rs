//! Exact token counting with a real BPE vocabulary (tiktoken, embedded: no download).

use std::sync::{OnceLock, RwLock};

use rustc_hash::FxHashMap;

use engram_types::Tokenizer;
use tiktoken_rs::CoreBPE;

/// Lines counted recently, so repeated builds over the same records skip the BPE work.
const CACHE_CAPACITY: usize = 50_000;

fn encoder(tokenizer: Tokenizer) -> &'static CoreBPE {
    match tokenizer {
        Tokenizer::O200kBase => tiktoken_rs::o200k_base_singleton(),
        Tokenizer::Cl100kBase => tiktoken_rs::cl100k_base_singleton(),
    }
}

/// The exact number of tokens of `text`. Special-token markup counts as plain text.
pub fn count_tokens(tokenizer: Tokenizer, text: &str) -> u32 {
    u32::try_from(encoder(tokenizer).encode_ordinary(text).len()).unwrap_or(u32::MAX)
}

/// [`count_tokens`] through a process-wide cache keyed by (tokenizer, text). The result is
/// the same with or without the cache; only the time differs.
pub fn count_tokens_cached(tokenizer: Tokenizer, text: &str) -> u32 {
    // Read-mostly: concurrent builds look up hundreds of lines each, and rarely add one.
    type Cache = RwLock<FxHashMap<String, u32>>;
    static CACHES: OnceLock<[Cache; 2]> = OnceLock::new();
    let caches = CACHES.get_or_init(|| [RwLock::new(FxHashMap::default()), RwLock::new(FxHashMap::default())]);
    let cache = match tokenizer {
        Tokenizer::O200kBase => &caches[0],
        Tokenizer::Cl100kBase => &caches[1],
    };
    if let Some(count) = cache.read().ok().and_then(|guard| guard.get(text).copied()) {
        return count;
    }
    let count = count_tokens(tokenizer, text);
    if let Ok(mut guard) = cache.write() {
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
    fn cache_returns_the_uncached_count() {
        let text = "The quick brown fox jumps over the lazy dog.";
        assert_eq!(count_tokens_cached(Tokenizer::O200kBase, text), count_tokens(Tokenizer::O200kBase, text));
        assert_eq!(count_tokens_cached(Tokenizer::O200kBase, text), count_tokens(Tokenizer::O200kBase, text));
    }
}
