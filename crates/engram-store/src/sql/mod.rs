//! The SQL backends' one implementation: the statements, how rows become records, and the one
//! [`Store`](crate::Store) implementation over a [`Connection`]. SQLite (rusqlite) and the
//! servers (sqlx) each implement [`Connection`], [`Database`] and a [`PostingsLayout`]; what
//! differs in their SQL is spelled by the [`Dialect`].

mod batch;
mod column_reader;
mod column_value;
mod columns;
mod connection;
mod decode;
mod dialect;
mod documents;
mod encode;
mod events;
mod facts;
mod fetch;
mod index_changes;
mod item_store;
mod items;
mod maintenance;
mod migrations;
mod postings;
mod record_columns;
mod records;
mod run;
mod scan;
mod select;
mod spaces;
mod state;
mod statement;
mod stats;
mod store;
mod stored_values;
mod term_counts;
mod totals;
mod vectors;

pub(crate) use column_reader::ColumnReader;
pub(crate) use columns::table_info;
pub(crate) use connection::{Connection, Executed, PostingsLayout};
pub(crate) use dialect::Dialect;
pub(crate) use documents::Document;
#[cfg(feature = "sqlite")]
pub(crate) use fetch::{range_queries, sequence_range_queries, sequences_statement};
pub(crate) use migrations::{Migration, migrations, pending};
pub(crate) use postings::read as read_postings;
#[cfg(feature = "sqlite")]
pub(crate) use postings::{frequencies_statement, spaces_statement};
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) use run::in_list;
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) use run::insert_rows;
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) use select::{ColumnClass, Select};
#[cfg(feature = "sqlite")]
pub(crate) use spaces::lookup as lookup_space;
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) use statement::placeholders;
pub(crate) use statement::{Param, Statement};
pub(crate) use store::{Database, SqlStore};
#[cfg(feature = "sqlite")]
pub(crate) use vectors::range_sql as vector_range_sql;
