//! SQLite through rusqlite: the connections (one writer, a pool of readers), the migrations,
//! the FTS5 postings layout and error mapping. Everything else is the shared SQL in `sql/`.

mod checkpoint;
mod connection;
mod error;
mod explain;
mod integrity;
mod migrate;
mod postings;
mod rows;
mod statements;
mod store;

pub use store::SqliteStore;
