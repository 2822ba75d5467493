//! A piece's token count from the vocabulary's ranks, as tiktoken's BPE gives it.

use std::sync::OnceLock;

use rustc_hash::FxHashMap;

use engram_types::Tokenizer;
use tiktoken_rs::CoreBPE;

/// Token bytes -> rank: tiktoken's encoder, which `CoreBPE` does not lend out, rebuilt once
/// from its decoder (special tokens left out: they are never a piece of ordinary text).
type Ranks = FxHashMap<Vec<u8>, tiktoken_rs::Rank>;

/// One more than the highest rank of the vocabulary, special tokens included.
const fn rank_bound(tokenizer: Tokenizer) -> u32 {
    match tokenizer {
        Tokenizer::O200kBase => 200_019,
        Tokenizer::Cl100kBase => 100_277,
    }
}

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
        let special: Vec<tiktoken_rs::Rank> =
            encoder.special_tokens().into_iter().flat_map(|token| encoder.encode_with_special_tokens(token)).collect();
        let bound = rank_bound(tokenizer);
        let mut ranks = Ranks::with_capacity_and_hasher(bound as usize, Default::default());
        for rank in (0..bound).filter(|rank| !special.contains(rank)) {
            if let Ok(bytes) = encoder.decode_bytes(&[rank]) {
                ranks.insert(bytes, rank);
            }
        }
        ranks
    })
}

/// Longest piece merged here: `byte_pair_split` merges in quadratic time, which tiktoken itself
/// uses only below this length (a longer piece, a run of one letter say, goes to its
/// heap-based merge).
pub(super) const LONGEST_PIECE: usize = 100;

/// The tokens BPE makes of one piece: one when the piece is a token (tiktoken's shortcut too),
/// else as many as the merges leave. `None` for a piece of [`LONGEST_PIECE`] bytes or more.
pub(super) fn piece_tokens(tokenizer: Tokenizer, piece: &[u8]) -> Option<usize> {
    let ranks = ranks(tokenizer);
    if piece.len() < 2 || ranks.contains_key(piece) {
        return Some(piece.len().min(1));
    }
    (piece.len() < LONGEST_PIECE).then(|| tiktoken_rs::byte_pair_split(piece, ranks).len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rank_bound_is_one_past_each_vocabulary() {
        for tokenizer in [Tokenizer::O200kBase, Tokenizer::Cl100kBase] {
            let bound = rank_bound(tokenizer);
            assert!(encoder(tokenizer).decode_bytes(&[bound - 1]).is_ok(), "{tokenizer:?}");
            assert!(encoder(tokenizer).decode_bytes(&[bound]).is_err(), "{tokenizer:?}");
        }
    }

    #[test]
    fn special_tokens_are_not_pieces() {
        assert_eq!(piece_tokens(Tokenizer::O200kBase, b"<|endoftext|>"), Some(7));
        assert_eq!(piece_tokens(Tokenizer::O200kBase, b" hello"), Some(1));
    }
}
