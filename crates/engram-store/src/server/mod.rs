//! What Postgres and MySQL share: the sqlx connection pool on its own runtime, the B-tree
//! postings layout, migrations, options and error mapping. Everything else is the shared SQL in
//! `sql/`; each server's folder only opens it.

mod connection;
mod database;
mod error;
mod migrate;
mod options;
mod postings;
mod rows;
mod store;

pub(crate) use database::Database;
pub use options::{DEFAULT_DATABASE, ServerOptions};
pub(crate) use store::{drop_database, open, server_store};
