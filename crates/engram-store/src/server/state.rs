//! Working state (per run) and short-term state (per session), each one JSON row.

use engram_types::{Scope, ShortTermState, ShortTermUpdate, WorkingState, WorkingStatePatch};
use sqlx::AnyConnection;

use super::dialect::{Dialect, Update};
use super::rows::get;
use super::statement::Statement;
use crate::error::Result;
use crate::prepare;
use crate::sql::{json, to_integer, to_json};

const RUN: &str = "tenant_id = ? AND user_id = ? AND agent_id = ? AND session_id = ? AND run_id = ?";
const SESSION: &str = "tenant_id = ? AND user_id = ? AND agent_id = ? AND session_id = ?";

fn bind_run(statement: Statement, scope: &Scope) -> Statement {
    bind_session(statement, scope).bind(&scope.run_id)
}

fn bind_session(statement: Statement, scope: &Scope) -> Statement {
    statement.bind(&scope.tenant_id).bind(&scope.user_id).bind(&scope.agent_id).bind(&scope.session_id)
}

/// The run's state; with `for_update`, its row stays locked until the transaction ends.
pub(super) async fn working_state(
    connection: &mut AnyConnection,
    dialect: Dialect,
    scope: &Scope,
    for_update: bool,
) -> Result<WorkingState> {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    let row = bind_run(Statement::new(format!("SELECT state FROM working_states WHERE {RUN}{lock}")), scope)
        .fetch_optional(connection, dialect)
        .await?;
    match row {
        Some(row) => json(dialect.backend(), "working_states.state", &get::<String>(&row, dialect, 0)?),
        None => Ok(WorkingState::default()),
    }
}

/// Reads (locked), checks `expected_version`, applies and writes back inside the caller's
/// transaction, so two patches of one run never both apply to the same version.
pub(super) async fn patch_working_state(
    connection: &mut AnyConnection,
    dialect: Dialect,
    patch: &WorkingStatePatch,
) -> Result<WorkingState> {
    let scope = &patch.scope;
    let mut state = working_state(connection, dialect, scope, true).await?;
    if let Some(expected) = patch.expected_version
        && expected != state.version
    {
        return Err(crate::Error::stale_version(scope, expected, state.version));
    }
    patch.apply_to(&mut state, prepare::now());
    let upsert = dialect.upsert(
        "working_states",
        "tenant_id, user_id, agent_id, session_id, run_id",
        &[("version", Update::Replace), ("state", Update::Replace)],
    );
    bind_run(
        Statement::new(format!(
            "INSERT INTO working_states (tenant_id, user_id, agent_id, session_id, run_id, version, state) VALUES (?, ?, ?, ?, ?, ?, ?) {upsert}"
        )),
        scope,
    )
    .bind(to_integer(state.version, "working_states.version")?)
    .bind(to_json(&state)?)
    .execute(connection, dialect)
    .await?;
    Ok(state)
}

pub(super) async fn working_state_version(
    connection: &mut AnyConnection,
    dialect: Dialect,
    scope: &Scope,
) -> Result<u64> {
    let row = bind_run(Statement::new(format!("SELECT version FROM working_states WHERE {RUN}")), scope)
        .fetch_optional(connection, dialect)
        .await?;
    Ok(match row {
        Some(row) => u64::try_from(get::<i64>(&row, dialect, 0)?).unwrap_or(0),
        None => 0,
    })
}

pub(super) async fn short_term(
    connection: &mut AnyConnection,
    dialect: Dialect,
    scope: &Scope,
    for_update: bool,
) -> Result<ShortTermState> {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    let row = bind_session(Statement::new(format!("SELECT state FROM short_terms WHERE {SESSION}{lock}")), scope)
        .fetch_optional(connection, dialect)
        .await?;
    match row {
        Some(row) => json(dialect.backend(), "short_terms.state", &get::<String>(&row, dialect, 0)?),
        None => Ok(ShortTermState::default()),
    }
}

pub(super) async fn update_short_term(
    connection: &mut AnyConnection,
    dialect: Dialect,
    update: &ShortTermUpdate,
) -> Result<ShortTermState> {
    let scope = &update.scope;
    let mut state = short_term(connection, dialect, scope, true).await?;
    update.apply_to(&mut state, prepare::now());
    let upsert =
        dialect.upsert("short_terms", "tenant_id, user_id, agent_id, session_id", &[("state", Update::Replace)]);
    bind_session(
        Statement::new(format!(
            "INSERT INTO short_terms (tenant_id, user_id, agent_id, session_id, state) VALUES (?, ?, ?, ?, ?) {upsert}"
        )),
        scope,
    )
    .bind(to_json(&state)?)
    .execute(connection, dialect)
    .await?;
    Ok(state)
}
