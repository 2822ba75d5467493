//! `EXPLAIN QUERY PLAN` of the reads a packet makes, for the tests that pin each to its index.

use rusqlite::Connection as Rusqlite;
use rusqlite::ToSql;

use super::error::storage;
use crate::error::Result;
use crate::record::{FetchRequest, Selector, VectorRequest};
use crate::sql::{Dialect, Statement, range_queries, sequence_range_queries, sequences_statement, vector_range_sql};

/// `EXPLAIN QUERY PLAN` of every statement `fetch` runs for this request.
pub(super) fn fetch(connection: &Rusqlite, request: &FetchRequest) -> Result<Vec<String>> {
    let statements = match &request.selector {
        Selector::Sequences(sequences) => vec![sequences_statement(request, sequences, Dialect::Sqlite)?],
        Selector::Newest | Selector::MostImportant | Selector::Neighbours(_) => {
            range_queries(request).into_iter().map(Statement::from).collect()
        }
    };
    plans(connection, statements)
}

/// `EXPLAIN QUERY PLAN` of every statement `fetch_sequences` runs for a range request.
pub(super) fn fetch_sequences(connection: &Rusqlite, request: &FetchRequest) -> Result<Vec<String>> {
    plans(connection, sequence_range_queries(request).into_iter().map(Statement::from).collect())
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
pub(super) fn plans(connection: &Rusqlite, statements: Vec<Statement>) -> Result<Vec<String>> {
    let mut plans = Vec::new();
    for statement in statements {
        let params: Vec<&dyn ToSql> = statement.params.iter().map(|param| param as &dyn ToSql).collect();
        plans.extend(plan(connection, &statement.sql, &params)?);
    }
    Ok(plans)
}

/// The `detail` lines of `EXPLAIN QUERY PLAN sql`.
pub(super) fn plan(connection: &Rusqlite, sql: &str, params: &[&dyn ToSql]) -> Result<Vec<String>> {
    let mut statement = connection.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).map_err(storage)?;
    let mut rows = statement.query(params).map_err(storage)?;
    let mut details = Vec::new();
    while let Some(row) = rows.next().map_err(storage)? {
        details.push(row.get::<_, String>(3).map_err(storage)?);
    }
    Ok(details)
}
