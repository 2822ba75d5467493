//! engram-store: the [`Store`] trait, its backends, and [`build_memory_packet`].
//!
//! Backends live in mirrored folders (`memory/`, `sqlite/`, ...) behind cargo features; the
//! packet builder (`packet/`) only talks to `&dyn Store`, so every backend builds the same packet.

mod error;
pub mod lexical;
mod memory;
mod packet;
pub mod prepare;
pub mod record;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store;
pub mod tokens;

pub use error::{Error, ErrorKind, Result};
pub use memory::InMemoryStore;
pub use packet::build_memory_packet;
pub use record::{
    FetchRequest, Fetched, Postings, PostingsRequest, Reach, Record, RecordKind, Selector, Stats, TermPostings,
};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use store::{Store, StoreExt};

pub use engram_types::BuildRequest;
