//! Building a memory packet: candidates -> score -> assemble (budget, degrade) -> explain ->
//! render. Everything here talks to `&dyn Store`, so every backend builds the same packet.

mod assemble;
mod build;
mod candidates;
mod changes;
mod context;
mod purpose;
mod render;
mod score;
mod similarity;
mod source;
mod sources;

pub use build::build_memory_packet;
pub(crate) use render::{SpokenDay, line_tail_tokens, main_text};
