//! Working state (per run) and short-term state (per session), each one JSON row. Both tables
//! are written and read alike, keyed by their owner's columns (a session's owner has no run).

use engram_types::Scope;

use super::connection::Connection;
use super::dialect::Update;
use super::scan::state_filter;
use super::select::{ColumnClass, Select};
use super::statement::{Param, Statement, placeholders};
use super::stored_values::{json, optional_millis, to_integer, to_json};
use crate::error::Result;
use crate::maintenance::{StateOwner, StateScan, StoredState};

/// The owner columns, in key order: a working state's are all five, a short-term state's the
/// first four.
const OWNER: [&str; 5] = ["tenant_id", "user_id", "agent_id", "session_id", "run_id"];

/// The columns keying the states of runs (`working`) or of sessions.
fn owner_columns(working: bool) -> &'static [&'static str] {
    if working { &OWNER } else { &OWNER[..4] }
}

/// `{start} {table} WHERE` the row is `owner`'s, then `end`.
fn of_owner(start: &str, owner: &StateOwner, end: &str) -> Statement {
    let condition: Vec<String> =
        owner_columns(owner.run_id.is_some()).iter().map(|column| format!("{column} = ?")).collect();
    let mut statement = Statement::new(format!("{start} {} WHERE {}{end}", owner.table(), condition.join(" AND ")));
    bind_owner(&mut statement, owner);
    statement
}

fn bind_owner(statement: &mut Statement, owner: &StateOwner) {
    statement.push_all([&owner.tenant_id, &owner.user_id, &owner.agent_id, &owner.session_id]);
    statement.push_all(&owner.run_id);
}

/// The state of `owner`, `None` when it has no row yet.
pub(crate) fn stored(
    connection: &mut dyn Connection,
    owner: &StateOwner,
    for_update: bool,
) -> Result<Option<StoredState>> {
    let lock = if for_update { connection.dialect().update_lock() } else { "" };
    let backend = connection.dialect().backend();
    of_owner("SELECT state FROM", owner, lock).first_row(connection, |row| read(backend, owner.clone(), &row.text(0)?))
}

/// [`stored`] outside a write, as a select of the state's JSON.
pub(crate) fn owner_select(owner: &StateOwner) -> Select {
    let statement = of_owner("", owner, "");
    Select::of(&[("state", ColumnClass::Text)], format!("FROM{}", statement.sql), statement.params)
}

/// `owner`'s state from the JSON of its row.
pub(crate) fn read(backend: &'static str, owner: StateOwner, text: &str) -> Result<StoredState> {
    let column = format!("{}.state", owner.table());
    Ok(if owner.run_id.is_some() {
        StoredState::WorkingState { state: json(backend, &column, text)?, owner }
    } else {
        StoredState::ShortTerm { state: json(backend, &column, text)?, owner }
    })
}

/// Inserts a state; with `replace`, over the stored one. An owner's first state is inserted,
/// never upserted (there is no row to lock yet): a first state another process commits
/// meanwhile makes this insert a unique violation, a lost race run again on the winner's state,
/// instead of being overwritten.
pub(crate) fn write(connection: &mut dyn Connection, stored: &StoredState, replace: bool) -> Result<()> {
    let values: Vec<(&str, Param)> = match stored {
        StoredState::WorkingState { state, .. } => vec![
            ("version", to_integer(state.version, "working_states.version")?.into()),
            ("state", to_json(state)?.into()),
            ("ended_at", optional_millis(state.ended_at).into()),
        ],
        StoredState::ShortTerm { state, .. } => vec![("state", to_json(state)?.into())],
    };
    let (owner, table) = (stored.owner(), stored.table());
    let keys = owner_columns(owner.run_id.is_some());
    let upsert = if replace {
        let updates: Vec<(&str, Update)> = values.iter().map(|(column, _)| (*column, Update::Replace)).collect();
        connection.dialect().upsert(table, &keys.join(", "), &updates)
    } else {
        String::new()
    };
    let columns: Vec<&str> = keys.iter().copied().chain(values.iter().map(|(column, _)| *column)).collect();
    let mut statement = Statement::new(format!(
        "INSERT INTO {table} ({}) VALUES ({}) {upsert}",
        columns.join(", "),
        placeholders(columns.len())
    ));
    bind_owner(&mut statement, owner);
    statement.push_all(values.into_iter().map(|(_, value)| value));
    statement.execute(connection)?;
    Ok(())
}

pub(crate) fn working_state_version(connection: &mut dyn Connection, scope: &Scope) -> Result<u64> {
    let statement = of_owner("SELECT version FROM", &StateOwner::of_run(scope), "");
    let version = statement.first_row(connection, |row| row.integer(0))?;
    Ok(version.and_then(|version| u64::try_from(version).ok()).unwrap_or(0))
}

/// The working states (`working`) or short-term states matching the scan, ordered by owner
/// (by bytes, as the in-memory store orders them) and limited.
pub(crate) fn scan(connection: &mut dyn Connection, request: &StateScan, working: bool) -> Result<Vec<StoredState>> {
    let dialect = connection.dialect();
    let backend = dialect.backend();
    let (table, keys) = (if working { "working_states" } else { "short_terms" }, owner_columns(working));
    let (filter, params) = state_filter(request);
    let order: Vec<String> = keys.iter().map(|column| dialect.byte_order(column)).collect();
    let mut statement = Statement::new(format!(
        "SELECT {}, state FROM {table} WHERE {filter} ORDER BY {} LIMIT {}",
        keys.join(", "),
        order.join(", "),
        request.limit
    ));
    statement.params = params;
    statement.rows(connection, |row| {
        let owner = StateOwner {
            tenant_id: row.text(0)?,
            user_id: row.text(1)?,
            agent_id: row.text(2)?,
            session_id: row.text(3)?,
            run_id: if working { Some(row.text(4)?) } else { None },
        };
        read(backend, owner, &row.text(keys.len())?)
    })
}

/// Deletes one working state (owner with a run) or short-term state; the rows removed.
pub(crate) fn delete(connection: &mut dyn Connection, owner: &StateOwner) -> Result<u64> {
    Ok(of_owner("DELETE FROM", owner, "").execute(connection)?.rows)
}
