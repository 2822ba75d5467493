//! Exact token counting with a real BPE vocabulary (tiktoken's, embedded: no download).

mod count;
mod pieces;
mod vocabulary;

pub use count::{cached_count, count_tokens, count_tokens_cached, token_floor};
