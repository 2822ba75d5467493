//! Working state (per run) and short-term state (per session), each one JSON row.

use engram_types::{Scope, ShortTermState, ShortTermUpdate, WorkingState, WorkingStatePatch};
use rusqlite::{Connection, OptionalExtension, params};

use super::error::storage;
use super::rows::{json, to_integer, to_json};
use crate::error::Result;
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
    let (version, text) = (to_integer(state.version, "working_states.version")?, to_json(&state)?);
    connection
        .prepare_cached(
            "INSERT INTO working_states (tenant_id, user_id, agent_id, session_id, run_id, version, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (tenant_id, user_id, agent_id, session_id, run_id) DO UPDATE SET version = excluded.version, state = excluded.state",
        )
        .and_then(|mut statement| statement.execute(params![scope.tenant_id, scope.user_id, scope.agent_id, scope.session_id, scope.run_id, version, text]))
        .map_err(storage)?;
    Ok(state)
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
    let text = to_json(&state)?;
    connection
        .prepare_cached(
            "INSERT INTO short_terms (tenant_id, user_id, agent_id, session_id, state) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (tenant_id, user_id, agent_id, session_id) DO UPDATE SET state = excluded.state",
        )
        .and_then(|mut statement| {
            statement.execute(params![scope.tenant_id, scope.user_id, scope.agent_id, scope.session_id, text])
        })
        .map_err(storage)?;
    Ok(state)
}
