//! Working state (per run) and short-term state (per session), each one JSON row.

use engram_types::{Scope, ShortTermState, WorkingState};

use super::connection::Connection;
use super::decode::json;
use super::dialect::Update;
use super::encode::{optional_millis, to_integer, to_json};
use super::scan::state_filter;
use super::statement::Statement;
use crate::error::Result;
use crate::maintenance::{StateOwner, StateScan, StoredState};

const RUN: &str = "tenant_id = ? AND user_id = ? AND agent_id = ? AND session_id = ? AND run_id = ?";
const SESSION: &str = "tenant_id = ? AND user_id = ? AND agent_id = ? AND session_id = ?";

fn bind_run(statement: Statement, scope: &Scope) -> Statement {
    bind_session(statement, scope).bind(&scope.run_id)
}

fn bind_session(statement: Statement, scope: &Scope) -> Statement {
    statement.bind(&scope.tenant_id).bind(&scope.user_id).bind(&scope.agent_id).bind(&scope.session_id)
}

fn bind_owner(statement: Statement, owner: &StateOwner) -> Statement {
    statement.bind(&owner.tenant_id).bind(&owner.user_id).bind(&owner.agent_id).bind(&owner.session_id)
}

/// The run's stored state, `None` when it has no row yet.
pub(crate) fn stored_working_state(
    connection: &mut dyn Connection,
    scope: &Scope,
    for_update: bool,
) -> Result<Option<WorkingState>> {
    let lock = if for_update { connection.dialect().update_lock() } else { "" };
    let backend = connection.dialect().backend();
    bind_run(Statement::new(format!("SELECT state FROM working_states WHERE {RUN}{lock}")), scope)
        .first_row(connection, |row| json::<WorkingState>(backend, "working_states.state", &row.text(0)?))
}

/// Inserts a run's working state; with `replace`, over the stored one.
pub(crate) fn write_working_state(
    connection: &mut dyn Connection,
    owner: &StateOwner,
    state: &WorkingState,
    replace: bool,
) -> Result<()> {
    let upsert = if replace {
        connection.dialect().upsert(
            "working_states",
            "tenant_id, user_id, agent_id, session_id, run_id",
            &[("version", Update::Replace), ("state", Update::Replace), ("ended_at", Update::Replace)],
        )
    } else {
        String::new()
    };
    bind_owner(
        Statement::new(format!(
            "INSERT INTO working_states (tenant_id, user_id, agent_id, session_id, run_id, version, state, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) {upsert}"
        )),
        owner,
    )
    .bind(owner.run_id.as_deref().unwrap_or(""))
    .bind(to_integer(state.version, "working_states.version")?)
    .bind(to_json(state)?)
    .bind(optional_millis(state.ended_at))
    .execute(connection)?;
    Ok(())
}

pub(crate) fn working_state_version(connection: &mut dyn Connection, scope: &Scope) -> Result<u64> {
    let version = bind_run(Statement::new(format!("SELECT version FROM working_states WHERE {RUN}")), scope)
        .first_row(connection, |row| row.integer(0))?;
    Ok(version.and_then(|version| u64::try_from(version).ok()).unwrap_or(0))
}

/// The session's stored short-term state, `None` when it has no row yet.
pub(crate) fn stored_short_term(
    connection: &mut dyn Connection,
    scope: &Scope,
    for_update: bool,
) -> Result<Option<ShortTermState>> {
    let lock = if for_update { connection.dialect().update_lock() } else { "" };
    let backend = connection.dialect().backend();
    bind_session(Statement::new(format!("SELECT state FROM short_terms WHERE {SESSION}{lock}")), scope)
        .first_row(connection, |row| json::<ShortTermState>(backend, "short_terms.state", &row.text(0)?))
}

/// Inserts a session's short-term state; with `replace`, over the stored one. A session's first
/// state is inserted, never upserted (there is no row to lock yet): a first update another
/// process commits meanwhile makes this insert a unique violation, a lost race run again on the
/// winner's state, instead of being overwritten.
pub(crate) fn write_short_term(
    connection: &mut dyn Connection,
    owner: &StateOwner,
    state: &ShortTermState,
    replace: bool,
) -> Result<()> {
    let upsert = if replace {
        connection.dialect().upsert(
            "short_terms",
            "tenant_id, user_id, agent_id, session_id",
            &[("state", Update::Replace)],
        )
    } else {
        String::new()
    };
    bind_owner(
        Statement::new(format!(
            "INSERT INTO short_terms (tenant_id, user_id, agent_id, session_id, state) VALUES (?, ?, ?, ?, ?) {upsert}"
        )),
        owner,
    )
    .bind(to_json(state)?)
    .execute(connection)?;
    Ok(())
}

/// Working states then short-term states matching the scan, each ordered by owner (by bytes,
/// as the in-memory store orders them) and limited. A scan of ended runs reads no short-term
/// states.
pub(crate) fn scan(connection: &mut dyn Connection, request: &StateScan) -> Result<Vec<StoredState>> {
    let dialect = connection.dialect();
    let backend = dialect.backend();
    let mut found = Vec::new();
    for working in [true, false] {
        if !working && request.ended_at.is_some() {
            continue;
        }
        let (table, columns): (&str, &[&str]) = if working {
            ("working_states", &["tenant_id", "user_id", "agent_id", "session_id", "run_id"])
        } else {
            ("short_terms", &["tenant_id", "user_id", "agent_id", "session_id"])
        };
        let (filter, params) = state_filter(request);
        let order: Vec<String> = columns.iter().map(|column| dialect.byte_order(column)).collect();
        let mut statement = Statement::new(format!(
            "SELECT {}, state FROM {table} WHERE {filter} ORDER BY {} LIMIT {}",
            columns.join(", "),
            order.join(", "),
            request.limit
        ));
        for param in params {
            statement.push(param);
        }
        found.extend(statement.rows(connection, |row| {
            let owner = StateOwner {
                tenant_id: row.text(0)?,
                user_id: row.text(1)?,
                agent_id: row.text(2)?,
                session_id: row.text(3)?,
                run_id: if working { Some(row.text(4)?) } else { None },
            };
            let text = row.text(columns.len())?;
            Ok(if working {
                StoredState::WorkingState { owner, state: json(backend, "working_states.state", &text)? }
            } else {
                StoredState::ShortTerm { owner, state: json(backend, "short_terms.state", &text)? }
            })
        })?);
    }
    Ok(found)
}

/// Deletes one working state (owner with a run) or short-term state; the rows removed.
pub(crate) fn delete(connection: &mut dyn Connection, owner: &StateOwner) -> Result<u64> {
    let statement = match &owner.run_id {
        Some(run_id) => {
            bind_owner(Statement::new(format!("DELETE FROM working_states WHERE {RUN}")), owner).bind(run_id)
        }
        None => bind_owner(Statement::new(format!("DELETE FROM short_terms WHERE {SESSION}")), owner),
    };
    Ok(statement.execute(connection)?.rows)
}
