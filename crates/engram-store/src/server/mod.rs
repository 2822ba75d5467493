//! What Postgres and MySQL share: one `Store` implementation over sqlx's `Any` driver. The
//! logic that builds queries and reads rows is written once; [`Dialect`] spells the few
//! statements the two servers write differently. Each server's folder only opens it.

mod compact;
mod database;
mod delegate;
mod dialect;
mod error;
mod events;
mod facts;
mod fetch;
mod items;
mod maintenance;
mod migrate;
mod options;
mod postings;
mod records;
mod rows;
mod state;
mod statement;
mod stats;
mod store;
mod vectors;

pub(crate) use delegate::delegate_store;
pub(crate) use dialect::Dialect;
pub use options::{DEFAULT_DATABASE, ServerOptions};
pub(crate) use store::ServerStore;
