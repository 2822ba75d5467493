//! `SqliteStore`: engram in one SQLite file (rusqlite, bundled), with its own lexical index
//! kept in FTS5 tables used purely as postings stores.

mod connection;
mod error;
mod events;
mod facts;
mod fetch;
mod integrity;
mod items;
mod maintenance;
mod migrate;
mod postings;
mod records;
mod rows;
mod state;
mod stats;
mod store;
mod vectors;

pub use store::SqliteStore;
