//! Postgres and MySQL: the sqlx connection pool on its own runtime (on the first usable host of
//! the DSN), the B-tree postings layout, migrations, options, error mapping and the public store
//! types. Everything else is the shared
//! SQL in `sql/`.

mod connection;
mod database;
mod error;
mod hosts;
mod migrate;
mod options;
mod pool;
mod postings;
mod rows;
mod store;

pub use options::{DEFAULT_DATABASE, ServerOptions};
#[cfg(feature = "mysql")]
pub use store::MySqlStore;
#[cfg(feature = "postgres")]
pub use store::PostgresStore;
