//! Postgres and MySQL: the sqlx connection pool on its own runtime, the B-tree postings layout,
//! migrations, options, error mapping and the public store types. Everything else is the shared
//! SQL in `sql/`.

mod connection;
mod database;
mod error;
mod migrate;
mod options;
mod postings;
mod rows;
mod store;

pub use options::{DEFAULT_DATABASE, ServerOptions};
#[cfg(feature = "mysql")]
pub use store::MySqlStore;
#[cfg(feature = "postgres")]
pub use store::PostgresStore;
