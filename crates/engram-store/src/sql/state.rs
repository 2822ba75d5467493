//! Working state (per run) and short-term state (per session), each one JSON row. Both tables
//! are written and read alike, keyed by their owner's columns.

use engram_types::Scope;
use serde::de::DeserializeOwned;

use super::connection::Connection;
use super::dialect::Update;
use super::scan::state_filter;
use super::statement::{Param, Statement, placeholders};
use super::stored_values::{json, optional_millis, to_integer, to_json};
use crate::error::Result;
use crate::maintenance::{StateOwner, StateScan, StoredState};

/// The owner columns, in key order: a working state's are all five, a short-term state's the
/// first four.
const OWNER: [&str; 5] = ["tenant_id", "user_id", "agent_id", "session_id", "run_id"];

/// A state table: its name and how many [`OWNER`] columns key it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StateTable {
    name: &'static str,
    keys: usize,
}

pub(crate) const WORKING: StateTable = StateTable { name: "working_states", keys: 5 };
pub(crate) const SHORT_TERM: StateTable = StateTable { name: "short_terms", keys: 4 };

impl StateTable {
    fn owner(self) -> &'static [&'static str] {
        &OWNER[..self.keys]
    }

    /// `{start} {table} WHERE` the owner is `scope`'s, then `end`.
    fn of_owner(self, start: &str, scope: &Scope, end: &str) -> Statement {
        let condition: Vec<String> = self.owner().iter().map(|column| format!("{column} = ?")).collect();
        let mut statement = Statement::new(format!("{start} {} WHERE {}{end}", self.name, condition.join(" AND ")));
        bind_owner(&mut statement, self, scope);
        statement
    }
}

fn bind_owner(statement: &mut Statement, table: StateTable, scope: &Scope) {
    let values = [&scope.tenant_id, &scope.user_id, &scope.agent_id, &scope.session_id, &scope.run_id];
    statement.push_all(values[..table.keys].iter().copied());
}

/// The stored state of the scope's run or session, `None` when it has no row yet.
pub(crate) fn stored<T: DeserializeOwned>(
    connection: &mut dyn Connection,
    table: StateTable,
    scope: &Scope,
    for_update: bool,
) -> Result<Option<T>> {
    let lock = if for_update { connection.dialect().update_lock() } else { "" };
    let backend = connection.dialect().backend();
    let column = format!("{}.state", table.name);
    table.of_owner("SELECT state FROM", scope, lock).first_row(connection, |row| json(backend, &column, &row.text(0)?))
}

/// Inserts a state; with `replace`, over the stored one. An owner's first state is inserted,
/// never upserted (there is no row to lock yet): a first state another process commits
/// meanwhile makes this insert a unique violation, a lost race run again on the winner's state,
/// instead of being overwritten.
pub(crate) fn write(connection: &mut dyn Connection, stored: &StoredState, replace: bool) -> Result<()> {
    let (table, values): (StateTable, Vec<(&str, Param)>) = match stored {
        StoredState::WorkingState { state, .. } => (
            WORKING,
            vec![
                ("version", to_integer(state.version, "working_states.version")?.into()),
                ("state", to_json(state)?.into()),
                ("ended_at", optional_millis(state.ended_at).into()),
            ],
        ),
        StoredState::ShortTerm { state, .. } => (SHORT_TERM, vec![("state", to_json(state)?.into())]),
    };
    let upsert = if replace {
        let updates: Vec<(&str, Update)> = values.iter().map(|(column, _)| (*column, Update::Replace)).collect();
        connection.dialect().upsert(table.name, &table.owner().join(", "), &updates)
    } else {
        String::new()
    };
    let columns: Vec<&str> = table.owner().iter().copied().chain(values.iter().map(|(column, _)| *column)).collect();
    let mut statement = Statement::new(format!(
        "INSERT INTO {} ({}) VALUES ({}) {upsert}",
        table.name,
        columns.join(", "),
        placeholders(columns.len())
    ));
    bind_owner(&mut statement, table, &stored.owner().scope());
    statement.push_all(values.into_iter().map(|(_, value)| value));
    statement.execute(connection)?;
    Ok(())
}

pub(crate) fn working_state_version(connection: &mut dyn Connection, scope: &Scope) -> Result<u64> {
    let version = WORKING.of_owner("SELECT version FROM", scope, "").first_row(connection, |row| row.integer(0))?;
    Ok(version.and_then(|version| u64::try_from(version).ok()).unwrap_or(0))
}

/// Working states then short-term states matching the scan, each ordered by owner (by bytes,
/// as the in-memory store orders them) and limited. A scan of ended runs reads no short-term
/// states.
pub(crate) fn scan(connection: &mut dyn Connection, request: &StateScan) -> Result<Vec<StoredState>> {
    let dialect = connection.dialect();
    let backend = dialect.backend();
    let mut found = Vec::new();
    for table in [WORKING, SHORT_TERM] {
        let working = table.keys == WORKING.keys;
        if !working && request.ended_at.is_some() {
            continue;
        }
        let (filter, params) = state_filter(request);
        let order: Vec<String> = table.owner().iter().map(|column| dialect.byte_order(column)).collect();
        let mut statement = Statement::new(format!(
            "SELECT {}, state FROM {} WHERE {filter} ORDER BY {} LIMIT {}",
            table.owner().join(", "),
            table.name,
            order.join(", "),
            request.limit
        ));
        statement.params = params;
        let column = format!("{}.state", table.name);
        found.extend(statement.rows(connection, |row| {
            let owner = StateOwner {
                tenant_id: row.text(0)?,
                user_id: row.text(1)?,
                agent_id: row.text(2)?,
                session_id: row.text(3)?,
                run_id: if working { Some(row.text(4)?) } else { None },
            };
            let text = row.text(table.keys)?;
            Ok(if working {
                StoredState::WorkingState { owner, state: json(backend, &column, &text)? }
            } else {
                StoredState::ShortTerm { owner, state: json(backend, &column, &text)? }
            })
        })?);
    }
    Ok(found)
}

/// Deletes one working state (owner with a run) or short-term state; the rows removed.
pub(crate) fn delete(connection: &mut dyn Connection, owner: &StateOwner) -> Result<u64> {
    let table = if owner.run_id.is_some() { WORKING } else { SHORT_TERM };
    Ok(table.of_owner("DELETE FROM", &owner.scope(), "").execute(connection)?.rows)
}
