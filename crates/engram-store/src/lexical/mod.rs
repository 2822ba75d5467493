//! engram's own lexical index: one analyzer for documents and queries on every backend, and
//! BM25 computed in Rust from postings, so every backend ranks identically.

mod analyzer;
mod bm25;
mod document;
mod indexed;

pub use analyzer::{analyze, cue_term, for_each_term};
pub use bm25::{Bm25, TermScore, TermScores};
pub use document::DocumentTerms;
pub use indexed::IndexedTerms;
