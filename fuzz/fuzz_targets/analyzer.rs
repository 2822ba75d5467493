//! The analyzer and the token counter on arbitrary UTF-8: no panic, terms are non-empty and the
//! same on every run, the analyzer agrees with its streaming form, token counts are in bounds.

#![no_main]

use engram_store::lexical::{analyze, for_each_term};
use engram_store::tokens::count_tokens;
use engram_types::Tokenizer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let terms = analyze(text);
    assert!(terms.iter().all(|term| !term.is_empty()), "empty term from {text:?}: {terms:?}");
    let mut streamed = Vec::new();
    for_each_term(text, |term| streamed.push(term.to_string()));
    assert_eq!(terms, streamed, "analyze and for_each_term disagree on {text:?}");
    assert_eq!(terms, analyze(text), "analyze is not deterministic on {text:?}");
    // Byte-level BPE: every token covers at least one byte, and only nothing costs nothing.
    for tokenizer in [Tokenizer::O200kBase, Tokenizer::Cl100kBase] {
        let tokens = count_tokens(tokenizer, text) as usize;
        assert!(tokens <= text.len() && text.is_empty() == (tokens == 0), "{tokens} {tokenizer:?} tokens for {text:?}");
    }
});
