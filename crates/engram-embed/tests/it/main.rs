//! engram-embed's integration tests, one binary.

mod support;
mod tokenizer;
mod vectors;
