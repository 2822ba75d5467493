//! engram-store: the [`Store`] trait, its backends, and [`build_memory_packet`].
//!
//! Backends live behind cargo features: `memory/` is the reference; `sql/` is the one SQL
//! implementation, with `sqlite/` and `server/` saying only how their databases connect, migrate
//! and lay out postings. The packet builder (`packet/`) only talks to `&dyn Store`, so every
//! backend builds the same packet.

mod embedded;
mod embedding;
mod engine;
mod error;
mod items;
pub mod lexical;
pub mod lifecycle;
pub mod maintenance;
mod memory;
mod merge;
mod open;
mod packet;
mod preparation;
pub mod prepare;
pub mod reads;
pub mod record;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod server;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store;
mod tables;
pub mod tokens;
mod vectors;
mod walks;

pub use embedded::{
    append_episode_embedded, append_event_embedded, append_events_embedded, build_memory_packet_embedded,
    upsert_fact_embedded, upsert_procedure_embedded,
};
pub use embedding::{Embedder, embed_episode, embed_events, embed_fact, embed_procedure, embed_query};
pub use engine::Items;
pub use engine::StoreExt;
pub use error::{Error, ErrorKind, Result};
pub use items::{
    IndexedItem, ItemKey, ItemPosting, ItemPostings, ItemPostingsRequest, ItemRow, ItemRows, ItemScan,
    MAX_POSTINGS_PER_TERM, TotalsChanges,
};
pub use lifecycle::Lifecycle;
pub use maintenance::{DeleteRequest, ScanRequest, StateOwner, StateScan, StoredState};
pub use memory::InMemoryStore;
pub use open::{OpenOptions, Synchronous};
pub use packet::build_memory_packet;
pub use record::{
    Anchor, FetchRequest, Fetched, MAX_VECTOR_SPACES, Postings, PostingsRequest, Reach, Record, RecordKind, Selector,
    Stats, StoredVector, TermPostings, VectorRequest, Vectors,
};
#[cfg(feature = "mysql")]
pub use server::MySqlStore;
#[cfg(feature = "postgres")]
pub use server::PostgresStore;
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub use server::{DEFAULT_DATABASE, ServerOptions};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use store::{Snapshot, Store, Transaction, WriteMode};

pub use engram_types::BuildRequest;
