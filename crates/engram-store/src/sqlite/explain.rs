//! `EXPLAIN QUERY PLAN` of the reads a packet makes, for the tests that pin each to its index.

use rusqlite::Connection as Rusqlite;

use super::postings;
use super::statements::SqliteConnection;
use crate::error::Result;
use crate::record::{FetchRequest, PostingsRequest, Selector, VectorRequest};
use crate::sql::{
    Dialect, Statement, frequencies_statement, lookup_space, range_queries, sequence_range_queries,
    sequences_statement, spaces_statement, vector_range_sql,
};

/// `EXPLAIN QUERY PLAN` of every statement `fetch` runs for this request.
pub(super) fn fetch(connection: &Rusqlite, request: &FetchRequest) -> Result<Vec<String>> {
    let statements = match &request.selector {
        Selector::Sequences(sequences) => vec![sequences_statement(request, sequences, Dialect::Sqlite)?],
        Selector::Newest | Selector::MostImportant | Selector::Neighbours(_) => range_queries(request),
    };
    plans(connection, statements)
}

/// `EXPLAIN QUERY PLAN` of every statement `fetch_sequences` runs for a range request.
pub(super) fn fetch_sequences(connection: &Rusqlite, request: &FetchRequest) -> Result<Vec<String>> {
    plans(connection, sequence_range_queries(request))
}

/// `EXPLAIN QUERY PLAN` of the range a vector read walks per space.
pub(super) fn vectors(connection: &Rusqlite, request: &VectorRequest) -> Result<Vec<String>> {
    let space = request.spaces.first().cloned().unwrap_or_default();
    let statement = Statement::new(vector_range_sql(request.limit))
        .bind(&request.tenant_id)
        .bind(request.kind.as_str())
        .bind(space);
    plans(connection, vec![statement])
}

/// The `detail` lines of every statement's plan, in order.
fn plans(connection: &Rusqlite, statements: Vec<Statement>) -> Result<Vec<String>> {
    let mut plans = Vec::new();
    for Statement { sql, params } in statements {
        let explain = Statement { sql: format!("EXPLAIN QUERY PLAN {sql}"), params };
        plans.extend(explain.rows(&mut SqliteConnection(connection), |row| row.text(3))?);
    }
    Ok(plans)
}

/// `EXPLAIN QUERY PLAN` of every statement a postings read runs, for the first space and term.
pub(super) fn postings(connection: &Rusqlite, request: &PostingsRequest) -> Result<Vec<String>> {
    let mut reader = SqliteConnection(connection);
    let space_id = match request.spaces.first() {
        Some(space) => lookup_space(&mut reader, &request.tenant_id, request.kind, space, false)?.unwrap_or(0),
        None => 0,
    };
    let term = request.terms.first().map_or("", String::as_str);
    let statements = vec![
        spaces_statement(request, Dialect::Sqlite)?,
        frequencies_statement(request, &[space_id], Dialect::Sqlite)?,
        postings::newest(&postings::newest_sql(request.kind, request.per_term), 0, space_id, term),
    ];
    plans(connection, statements)
}
