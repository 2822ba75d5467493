//! `MySqlStore`: engram on a MySQL server (`mysql` feature), through the shared server store.

mod store;

pub use store::MySqlStore;
