//! What every SQL backend shares: table and column names, and turning rows into records.
//! SQLite (rusqlite) and the servers (sqlx) each implement [`ColumnReader`] for their row type;
//! the decoding itself is written once here.

mod columns;
mod decode;
mod encode;
mod fetch;
mod items;
mod scan;
mod spaces;
mod term_counts;

pub(crate) use columns::{FACT_COLUMNS, INSIGHT_COLUMNS, PROCEDURE_COLUMNS, table_info};
pub(crate) use decode::{ColumnReader, json, read_fact, read_insight, read_procedure, read_record, stored_terms, time};
pub(crate) use encode::{millis, optional_millis, optional_vector_bytes, to_integer, to_json};
pub(crate) use fetch::{
    RangeQuery, SqlParam, merge_ranges, merge_sequences, range_queries, read_sequence_row, select_sequences,
    sequence_range_queries,
};
pub(crate) use items::{
    DELETE_EXPIRED_ITEMS, DELETE_ITEM, DELETE_ITEM_TERMS, EXPIRED_ITEMS, INSERT_ITEM, INSERT_ITEM_TERM, REFRESH_ITEM,
    REPLACED_ITEM_COLUMNS, STORED_ITEM_INDEX, item_scan_query, item_term_postings_query, item_totals_query, read_item,
    read_item_posting,
};
pub(crate) use scan::{scan_query, state_filter};
pub(crate) use spaces::NewSpaces;
pub(crate) use term_counts::TermCounts;
