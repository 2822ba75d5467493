//! A piece's token count from the vocabulary's ranks, as tiktoken's BPE gives it.

use std::sync::OnceLock;

use rustc_hash::FxHashMap;

use engram_types::Tokenizer;
use tiktoken_rs::CoreBPE;

/// Token bytes -> rank: tiktoken's encoder, which `CoreBPE` does not lend out, rebuilt once
/// from its decoder (special tokens left out: they are never a piece of ordinary text).
type Ranks = FxHashMap<Vec<u8>, tiktoken_rs::Rank>;

/// Highest rank either vocabulary uses (o200k_base's last special token is 200018).
const MOST_RANKS: u32 = 201_000;

pub(super) fn encoder(tokenizer: Tokenizer) -> &'static CoreBPE {
    match tokenizer {
        Tokenizer::O200kBase => tiktoken_rs::o200k_base_singleton(),
        Tokenizer::Cl100kBase => tiktoken_rs::cl100k_base_singleton(),
    }
}

fn ranks(tokenizer: Tokenizer) -> &'static Ranks {
    static O200K: OnceLock<Ranks> = OnceLock::new();
    static CL100K: OnceLock<Ranks> = OnceLock::new();
    let cell = match tokenizer {
        Tokenizer::O200kBase => &O200K,
        Tokenizer::Cl100kBase => &CL100K,
    };
    cell.get_or_init(|| {
        let encoder = encoder(tokenizer);
        let special = encoder.special_tokens();
        (0..MOST_RANKS)
            .filter_map(|rank| encoder.decode_bytes(&[rank]).ok().map(|bytes| (bytes, rank)))
            .filter(|(bytes, _)| std::str::from_utf8(bytes).map_or(true, |text| !special.contains(text)))
            .collect()
    })
}

/// The tokens BPE makes of one piece: one when the piece is a token (tiktoken's shortcut too),
/// else as many as the merges leave.
pub(super) fn piece_tokens(tokenizer: Tokenizer, piece: &[u8]) -> usize {
    let ranks = ranks(tokenizer);
    if piece.len() < 2 || ranks.contains_key(piece) {
        return piece.len().min(1);
    }
    tiktoken_rs::byte_pair_split(piece, ranks).len()
}
