//! Working state (per run) and short-term state (per session), each one JSON row.

use engram_types::{Scope, ShortTermState, ShortTermUpdate, WorkingState, WorkingStatePatch};
use rusqlite::{Connection, OptionalExtension, params};

use super::error::storage;
use super::rows::{get, json, optional_millis, to_integer, to_json};
use crate::error::Result;
use crate::maintenance::{StateOwner, StateScan, StoredState};
use crate::prepare;

pub(super) fn working_state(connection: &Connection, scope: &Scope) -> Result<WorkingState> {
    let stored: Option<String> = connection
        .prepare_cached("SELECT state FROM working_states WHERE tenant_id = ?1 AND user_id = ?2 AND agent_id = ?3 AND session_id = ?4 AND run_id = ?5")
        .and_then(|mut statement| {
            statement.query_row(params![scope.tenant_id, scope.user_id, scope.agent_id, scope.session_id, scope.run_id], |row| row.get(0)).optional()
        })
        .map_err(storage)?;
    stored.map_or_else(|| Ok(WorkingState::default()), |text| json("working_states.state", &text))
}

/// Reads, checks `expected_version`, applies and writes back, inside the caller's (immediate)
/// transaction, so two patches of one run never both apply to the same version.
pub(super) fn patch_working_state(connection: &Connection, patch: &WorkingStatePatch) -> Result<WorkingState> {
    let scope = &patch.scope;
    let mut state = working_state(connection, scope)?;
    if let Some(expected) = patch.expected_version
        && expected != state.version
    {
        return Err(crate::Error::stale_version(scope, expected, state.version));
    }
    patch.apply_to(&mut state, prepare::now());
    store_working_state(connection, &StateOwner::of_run(scope), &state)?;
    Ok(state)
}

/// Writes a run's working state whole (inserted or replaced).
pub(super) fn store_working_state(connection: &Connection, owner: &StateOwner, state: &WorkingState) -> Result<()> {
    let (version, text) = (to_integer(state.version, "working_states.version")?, to_json(state)?);
    let ended_at = optional_millis(state.ended_at);
    connection
        .prepare_cached(
            "INSERT INTO working_states (tenant_id, user_id, agent_id, session_id, run_id, version, state, ended_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (tenant_id, user_id, agent_id, session_id, run_id) DO UPDATE SET version = excluded.version, state = excluded.state, ended_at = excluded.ended_at",
        )
        .and_then(|mut statement| statement.execute(params![owner.tenant_id, owner.user_id, owner.agent_id, owner.session_id, owner.run_id.as_deref().unwrap_or(""), version, text, ended_at]))
        .map_err(storage)?;
    Ok(())
}

pub(super) fn working_state_version(connection: &Connection, scope: &Scope) -> Result<u64> {
    let version: Option<i64> = connection
        .prepare_cached("SELECT version FROM working_states WHERE tenant_id = ?1 AND user_id = ?2 AND agent_id = ?3 AND session_id = ?4 AND run_id = ?5")
        .and_then(|mut statement| {
            statement.query_row(params![scope.tenant_id, scope.user_id, scope.agent_id, scope.session_id, scope.run_id], |row| row.get(0)).optional()
        })
        .map_err(storage)?;
    Ok(version.and_then(|version| u64::try_from(version).ok()).unwrap_or(0))
}

pub(super) fn short_term(connection: &Connection, scope: &Scope) -> Result<ShortTermState> {
    let stored: Option<String> = connection
        .prepare_cached(
            "SELECT state FROM short_terms WHERE tenant_id = ?1 AND user_id = ?2 AND agent_id = ?3 AND session_id = ?4",
        )
        .and_then(|mut statement| {
            statement
                .query_row(params![scope.tenant_id, scope.user_id, scope.agent_id, scope.session_id], |row| row.get(0))
                .optional()
        })
        .map_err(storage)?;
    stored.map_or_else(|| Ok(ShortTermState::default()), |text| json("short_terms.state", &text))
}

pub(super) fn update_short_term(connection: &Connection, update: &ShortTermUpdate) -> Result<ShortTermState> {
    let scope = &update.scope;
    let mut state = short_term(connection, scope)?;
    update.apply_to(&mut state, prepare::now());
    store_short_term(connection, &StateOwner::of_session(scope), &state)?;
    Ok(state)
}

/// Writes a session's short-term state whole (inserted or replaced).
pub(super) fn store_short_term(connection: &Connection, owner: &StateOwner, state: &ShortTermState) -> Result<()> {
    let text = to_json(state)?;
    connection
        .prepare_cached(
            "INSERT INTO short_terms (tenant_id, user_id, agent_id, session_id, state) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (tenant_id, user_id, agent_id, session_id) DO UPDATE SET state = excluded.state",
        )
        .and_then(|mut statement| {
            statement.execute(params![owner.tenant_id, owner.user_id, owner.agent_id, owner.session_id, text])
        })
        .map_err(storage)?;
    Ok(())
}

/// Working states then short-term states matching the scan, each ordered by owner.
pub(super) fn scan(connection: &Connection, request: &StateScan) -> Result<Vec<StoredState>> {
    let mut found = Vec::new();
    for working in [true, false] {
        if !working && request.ended_at.is_some() {
            continue;
        }
        let (table, run) = if working { ("working_states", "run_id") } else { ("short_terms", "NULL") };
        let (filter, values) = crate::sql::state_filter(request);
        let values: Vec<rusqlite::types::Value> = values.into_iter().map(super::fetch::sql_value).collect();
        let sql = format!(
            "SELECT tenant_id, user_id, agent_id, session_id, {run}, state FROM {table} WHERE {filter} ORDER BY tenant_id, user_id, agent_id, session_id{order} LIMIT {limit}",
            order = if working { ", run_id" } else { "" },
            limit = request.limit,
        );
        let mut statement = connection.prepare(&sql).map_err(storage)?;
        let mut rows = statement.query(rusqlite::params_from_iter(values.iter())).map_err(storage)?;
        while let Some(row) = rows.next().map_err(storage)? {
            let owner = StateOwner {
                tenant_id: get(row, 0)?,
                user_id: get(row, 1)?,
                agent_id: get(row, 2)?,
                session_id: get(row, 3)?,
                run_id: get(row, 4)?,
            };
            let text: String = get(row, 5)?;
            found.push(if working {
                StoredState::WorkingState { owner, state: json("working_states.state", &text)? }
            } else {
                StoredState::ShortTerm { owner, state: json("short_terms.state", &text)? }
            });
        }
    }
    Ok(found)
}

/// Deletes one working state (owner with a run) or short-term state; the rows removed.
pub(super) fn delete(connection: &Connection, owner: &StateOwner) -> Result<u64> {
    let removed = match &owner.run_id {
        Some(run_id) => connection
            .prepare_cached("DELETE FROM working_states WHERE tenant_id = ?1 AND user_id = ?2 AND agent_id = ?3 AND session_id = ?4 AND run_id = ?5")
            .and_then(|mut statement| statement.execute(params![owner.tenant_id, owner.user_id, owner.agent_id, owner.session_id, run_id])),
        None => connection
            .prepare_cached("DELETE FROM short_terms WHERE tenant_id = ?1 AND user_id = ?2 AND agent_id = ?3 AND session_id = ?4")
            .and_then(|mut statement| statement.execute(params![owner.tenant_id, owner.user_id, owner.agent_id, owner.session_id])),
    }
    .map_err(storage)?;
    Ok(removed as u64)
}
