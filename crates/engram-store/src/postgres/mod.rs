//! `PostgresStore`: engram on a Postgres server (`postgres` feature), through the shared server store.

mod store;

pub use store::PostgresStore;
