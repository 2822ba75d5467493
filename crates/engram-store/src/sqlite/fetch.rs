//! `Store::fetch` on SQLite: every request becomes a few index range scans with a LIMIT, one
//! per (visible space, partition), merged in Rust exactly as `memory/tables.rs` merges its
//! per-space walks. Partitions are the event kinds for events and the statuses for facts:
//! those columns lead the ordering columns of their indexes, so each scan reads only rows it
//! returns (bar the few residual filters noted below).

use engram_types::{EventKind, FactStatus, Scope, Timestamp};
use rusqlite::types::{ToSql, Value};
use rusqlite::{Connection, params_from_iter};

use super::error::storage;
use super::rows::{read_record, table_info};
use crate::error::Result;
use crate::record::{FetchRequest, Fetched, Reach, RecordKind, Selector, visible_spaces};

const EVENT_KINDS: [EventKind; 6] = [
    EventKind::Message,
    EventKind::ToolCall,
    EventKind::ToolResult,
    EventKind::StatePatch,
    EventKind::Observation,
    EventKind::System,
];
const FACT_STATUSES: [FactStatus; 4] =
    [FactStatus::Active, FactStatus::Superseded, FactStatus::Disputed, FactStatus::Deprecated];

/// One statement with its parameters.
#[derive(Debug)]
struct Query {
    sql: String,
    params: Vec<Value>,
}

pub(super) fn fetch(connection: &Connection, request: &FetchRequest) -> Result<Vec<Fetched>> {
    let limit = request.limit as usize;
    match &request.selector {
        Selector::Sequences(sequences) => {
            let query = sequences_query(request, sequences)?;
            let mut found = std::collections::HashMap::new();
            for fetched in run(connection, request.kind, &query)? {
                found.insert(fetched.sequence, fetched);
            }
            // Walk the request's list (duplicates included) as the in-memory store does.
            let mut selected: Vec<Fetched> = sequences
                .iter()
                .filter_map(|sequence| found.get(sequence))
                .filter(|fetched| request.matches(&fetched.record))
                .cloned()
                .collect();
            selected.sort_by_key(|fetched| std::cmp::Reverse(fetched.sequence));
            selected.truncate(limit);
            Ok(selected)
        }
        Selector::Newest | Selector::MostImportant => {
            let mut found = Vec::new();
            for query in range_queries(request) {
                found.extend(run(connection, request.kind, &query)?);
            }
            let newest = request.selector == Selector::Newest;
            let mut keyed: Vec<((u64, i64, i64), Fetched)> = found
                .into_iter()
                .map(|fetched| {
                    let time = fetched.record.time().timestamp_millis();
                    // Weights are validated to [0, 1]; for non-negative floats the bit pattern
                    // orders like the value (`+ 0.0` folds -0.0), as in the in-memory store.
                    let weight = if newest { 0 } else { (fetched.record.weight() + 0.0).to_bits() };
                    ((weight, time, fetched.sequence), fetched)
                })
                .collect();
            keyed.sort_by_key(|entry| std::cmp::Reverse(entry.0));
            keyed.truncate(limit);
            Ok(keyed.into_iter().map(|(_, fetched)| fetched).collect())
        }
    }
}

/// `EXPLAIN QUERY PLAN` of every statement `fetch` runs for this request.
pub(super) fn explain(connection: &Connection, request: &FetchRequest) -> Result<Vec<String>> {
    let queries = match &request.selector {
        Selector::Sequences(sequences) => vec![sequences_query(request, sequences)?],
        Selector::Newest | Selector::MostImportant => range_queries(request),
    };
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

/// One query per (visible space, partition), each ordered like its index and limited.
fn range_queries(request: &FetchRequest) -> Vec<Query> {
    let info = table_info(request.kind);
    let partitions: Vec<Option<(&str, &str)>> = match request.kind {
        RecordKind::Event => {
            let kinds: Vec<EventKind> = if request.event_kinds.is_empty() {
                EVENT_KINDS.to_vec()
            } else {
                // Each kind once: a repeated kind must not read its rows twice.
                EVENT_KINDS.into_iter().filter(|kind| request.event_kinds.contains(kind)).collect()
            };
            kinds.into_iter().map(|kind| Some(("kind", kind.as_str()))).collect()
        }
        RecordKind::Fact if request.active_only => vec![Some(("status", FactStatus::Active.as_str()))],
        RecordKind::Fact => FACT_STATUSES.into_iter().map(|status| Some(("status", status.as_str()))).collect(),
        RecordKind::Episode | RecordKind::Procedure | RecordKind::Insight => vec![None],
    };
    let order = if request.selector == Selector::Newest {
        format!("{time} DESC, seq DESC", time = info.time)
    } else {
        format!("{weight} DESC, {time} DESC, seq DESC", weight = info.weight, time = info.time)
    };
    let mut queries = Vec::new();
    for space in visible_spaces(&request.scope, request.kind) {
        for partition in &partitions {
            let mut conditions = vec!["tenant_id = ?".to_string(), "space = ?".to_string()];
            let mut params = vec![Value::Text(request.scope.tenant_id.clone()), Value::Text(space.clone())];
            // For events these columns lead their index; for the other kinds they are residual
            // filters on the space's rows (records of one space rarely span many sessions).
            reach_conditions(&request.scope, request.reach, &mut conditions, &mut params);
            if let Some((column, value)) = partition {
                conditions.push(format!("{column} = ?"));
                params.push(Value::Text((*value).to_string()));
            }
            if request.kind == RecordKind::Insight && request.active_only {
                conditions.push("validation <> 'rejected'".to_string());
            }
            // Stored times are whole milliseconds; a bound between two milliseconds is rounded
            // so that `time < before` and `time > after` keep the in-memory store's meaning.
            if let Some(before) = request.before {
                conditions.push(format!("{} < ?", info.time));
                params.push(Value::Integer(ceil_millis(before)));
            }
            if let Some(after) = request.after {
                conditions.push(format!("{} > ?", info.time));
                params.push(Value::Integer(after.timestamp_millis()));
            }
            // The limit is written into the SQL, not bound: SQLite expires a prepared statement
            // whenever a LIMIT parameter is bound, which re-prepared every fetch.
            queries.push(Query {
                sql: format!(
                    "SELECT {} FROM {} WHERE {} ORDER BY {order} LIMIT {}",
                    info.columns,
                    info.table,
                    conditions.join(" AND "),
                    request.limit
                ),
                params,
            });
        }
    }
    queries
}

/// The smallest whole millisecond at or after `instant` (`timestamp_millis` rounds down).
fn ceil_millis(instant: Timestamp) -> i64 {
    let millis = instant.timestamp_millis();
    if instant.timestamp_subsec_nanos().is_multiple_of(1_000_000) { millis } else { millis.saturating_add(1) }
}

fn reach_conditions(scope: &Scope, reach: Reach, conditions: &mut Vec<String>, params: &mut Vec<Value>) {
    match reach {
        Reach::Space => {}
        Reach::Session => {
            conditions.push("session_id = ?".to_string());
            params.push(Value::Text(scope.session_id.clone()));
        }
        Reach::Run => {
            conditions.push("session_id = ?".to_string());
            conditions.push("run_id = ?".to_string());
            params.push(Value::Text(scope.session_id.clone()));
            params.push(Value::Text(scope.run_id.clone()));
        }
    }
}
