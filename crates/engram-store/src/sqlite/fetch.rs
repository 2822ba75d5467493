//! `Store::fetch` on SQLite: the shared range queries of `sql::fetch`, run one by one, and
//! by-sequence reads through rowid lookups.

use rusqlite::types::{ToSql, Value};
use rusqlite::{Connection, params_from_iter};

use super::error::storage;
use super::rows::{read_record, table_info};
use crate::error::Result;
use crate::record::{FetchRequest, Fetched, RecordKind, Selector, visible_spaces};
use crate::sql::{
    RangeQuery, SqlParam, merge_ranges, merge_sequences, range_queries, read_sequence_row, select_sequences,
    sequence_range_queries,
};

/// One statement with its parameters.
#[derive(Debug)]
struct Query {
    sql: String,
    params: Vec<Value>,
}

impl From<RangeQuery> for Query {
    fn from(query: RangeQuery) -> Self {
        Self { sql: query.sql, params: query.params.into_iter().map(sql_value).collect() }
    }
}

pub(super) fn sql_value(param: SqlParam) -> Value {
    match param {
        SqlParam::Text(text) => Value::Text(text),
        SqlParam::Integer(integer) => Value::Integer(integer),
    }
}

/// `Store::scan`: one statement, oldest sequence first.
pub(super) fn scan(connection: &Connection, request: &crate::maintenance::ScanRequest) -> Result<Vec<Fetched>> {
    run(connection, request.kind, &Query::from(crate::sql::scan_query(request)))
}

pub(super) fn fetch(connection: &Connection, request: &FetchRequest) -> Result<Vec<Fetched>> {
    match &request.selector {
        Selector::Sequences(sequences) => {
            let found = run(connection, request.kind, &sequences_query(request, sequences)?)?;
            Ok(select_sequences(request, sequences, found))
        }
        Selector::Newest | Selector::MostImportant | Selector::Neighbours(_) => {
            let mut found = Vec::new();
            for query in range_queries(request) {
                found.extend(run(connection, request.kind, &Query::from(query))?);
            }
            Ok(merge_ranges(request, found))
        }
    }
}

/// `Store::fetch_sequences`: the range queries over index columns only.
pub(super) fn fetch_sequences(connection: &Connection, request: &FetchRequest) -> Result<Vec<i64>> {
    if matches!(request.selector, Selector::Sequences(_)) {
        return Ok(fetch(connection, request)?.into_iter().map(|fetched| fetched.sequence).collect());
    }
    let mut found = Vec::new();
    for query in sequence_range_queries(request) {
        let query = Query::from(query);
        let mut statement = connection.prepare_cached(&query.sql).map_err(storage)?;
        let mut rows = statement.query(params_from_iter(query.params.iter())).map_err(storage)?;
        while let Some(row) = rows.next().map_err(storage)? {
            found.push(read_sequence_row(request, row)?);
        }
    }
    Ok(merge_sequences(request, found))
}

/// `EXPLAIN QUERY PLAN` of every statement `fetch` runs for this request.
pub(super) fn explain(connection: &Connection, request: &FetchRequest) -> Result<Vec<String>> {
    let queries = match &request.selector {
        Selector::Sequences(sequences) => vec![sequences_query(request, sequences)?],
        Selector::Newest | Selector::MostImportant | Selector::Neighbours(_) => {
            range_queries(request).into_iter().map(Query::from).collect()
        }
    };
    plans(connection, queries)
}

/// `EXPLAIN QUERY PLAN` of every statement `fetch_sequences` runs for a range request.
pub(super) fn explain_sequences(connection: &Connection, request: &FetchRequest) -> Result<Vec<String>> {
    plans(connection, sequence_range_queries(request).into_iter().map(Query::from).collect())
}

/// The `detail` lines of every query's plan, in order.
fn plans(connection: &Connection, queries: Vec<Query>) -> Result<Vec<String>> {
    let mut plans = Vec::new();
    for query in queries {
        let params: Vec<&dyn ToSql> = query.params.iter().map(|value| value as &dyn ToSql).collect();
        plans.extend(plan(connection, &query.sql, &params)?);
    }
    Ok(plans)
}

/// The `detail` lines of `EXPLAIN QUERY PLAN sql`.
pub(super) fn plan(connection: &Connection, sql: &str, params: &[&dyn ToSql]) -> Result<Vec<String>> {
    let mut statement = connection.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).map_err(storage)?;
    let mut rows = statement.query(params).map_err(storage)?;
    let mut details = Vec::new();
    while let Some(row) = rows.next().map_err(storage)? {
        details.push(row.get::<_, String>(3).map_err(storage)?);
    }
    Ok(details)
}

fn run(connection: &Connection, kind: RecordKind, query: &Query) -> Result<Vec<Fetched>> {
    let mut statement = connection.prepare_cached(&query.sql).map_err(storage)?;
    let mut rows = statement.query(params_from_iter(query.params.iter())).map_err(storage)?;
    let mut found = Vec::new();
    while let Some(row) = rows.next().map_err(storage)? {
        found.push(read_record(kind, row)?);
    }
    Ok(found)
}

/// The records named by sequence, restricted to the scope's tenant and visible spaces; the
/// remaining filters run in Rust on the (bounded) rows found. The unary `+` keeps the planner
/// on rowid lookups: given an index on (tenant_id, space) it would otherwise walk every row
/// of the space and test each against the list.
fn sequences_query(request: &FetchRequest, sequences: &[i64]) -> Result<Query> {
    let info = table_info(request.kind);
    let spaces = visible_spaces(&request.scope, request.kind);
    Ok(Query {
        sql: format!(
            "SELECT {} FROM {} WHERE seq IN (SELECT value FROM json_each(?1)) AND +tenant_id = ?2 AND +space IN (SELECT value FROM json_each(?3))",
            info.columns, info.table
        ),
        params: vec![
            Value::Text(super::rows::to_json(sequences)?),
            Value::Text(request.scope.tenant_id.clone()),
            Value::Text(super::rows::to_json(&spaces)?),
        ],
    })
}
